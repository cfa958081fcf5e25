"""page counts are positive; long books indexed (tests/data/long_history/migrations/h09_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h09"
down_revision = "h08"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("books") as b:
        b.create_check_constraint("books_pages_positive", "pages IS NULL OR pages > 0")
    op.create_index("ix_books_long", "books", ["pages"], sqlite_where=sa.text("pages >= 100"),
                    postgresql_where=sa.text("pages >= 100"))


def downgrade():
    op.drop_index("ix_books_long", "books")
    with op.batch_alter_table("books") as b:
        b.drop_constraint("books_pages_positive", type_="check")
