"""e-mail addresses are unique (tests/data/long_history/migrations/h08_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h08"
down_revision = "h07"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("authors") as b:
        b.create_unique_constraint("authors_email_key", ["email"])


def downgrade():
    with op.batch_alter_table("authors") as b:
        b.drop_constraint("authors_email_key", type_="unique")
