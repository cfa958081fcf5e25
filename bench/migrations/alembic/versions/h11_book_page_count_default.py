"""a book has one page unless told otherwise (tests/data/long_history/migrations/h11_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h11"
down_revision = "h10"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("books") as b:
        b.alter_column("page_count", existing_type=sa.Integer, server_default="1")


def downgrade():
    with op.batch_alter_table("books") as b:
        b.alter_column("page_count", existing_type=sa.Integer, server_default=None)
