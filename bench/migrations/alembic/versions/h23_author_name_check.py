"""author names are not empty (tests/data/long_history/migrations/h23_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h23"
down_revision = "h22"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("authors") as b:
        b.create_check_constraint("authors_name_nonempty", "name <> ''")


def downgrade():
    with op.batch_alter_table("authors") as b:
        b.drop_constraint("authors_name_nonempty", type_="check")
