"""authors may share an e-mail address (tests/data/long_history/migrations/h18_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h18"
down_revision = "h17"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("authors") as b:
        b.drop_constraint("authors_email_key", type_="unique")


def downgrade():
    with op.batch_alter_table("authors") as b:
        b.create_unique_constraint("authors_email_key", ["email"])
