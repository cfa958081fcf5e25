"""pages is called page_count (tests/data/long_history/migrations/h10_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h10"
down_revision = "h09"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    if pg():
        op.alter_column("books", "pages", new_column_name="page_count", existing_type=sa.Integer)
        return
    # Batch mode copies the reflected CHECK and partial index as written: they must be
    # rewritten by hand.
    op.drop_index("ix_books_long", "books")
    with op.batch_alter_table("books") as b:
        b.drop_constraint("books_pages_positive", type_="check")
        b.alter_column("pages", new_column_name="page_count", existing_type=sa.Integer)
        b.create_check_constraint("books_pages_positive", "page_count IS NULL OR page_count > 0")
    op.create_index("ix_books_long", "books", ["page_count"],
                    sqlite_where=sa.text("page_count >= 100"))


def downgrade():
    with op.batch_alter_table("books") as b:
        b.alter_column("page_count", new_column_name="pages", existing_type=sa.Integer)
