"""page counts are no longer checked (tests/data/long_history/migrations/h19_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h19"
down_revision = "h18"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("books") as b:
        b.drop_constraint("books_pages_positive", type_="check")


def downgrade():
    with op.batch_alter_table("books") as b:
        b.create_check_constraint("books_pages_positive", "page_count IS NULL OR page_count > 0")
