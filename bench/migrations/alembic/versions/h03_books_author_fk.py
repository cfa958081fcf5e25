"""books belong to authors (tests/data/long_history/migrations/h03_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h03"
down_revision = "h02"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("books") as b:
        b.create_foreign_key("books_author_id_fkey", "authors", ["author_id"], ["id"],
                             ondelete="CASCADE")
    op.create_index("ix_books_author_id", "books", ["author_id"])


def downgrade():
    op.drop_index("ix_books_author_id", "books")
    with op.batch_alter_table("books") as b:
        b.drop_constraint("books_author_id_fkey", type_="foreignkey")
