"""labels are no longer attached to books (tests/data/long_history/migrations/h27_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h27"
down_revision = "h26"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.drop_table("book_tags")


def downgrade():
    op.create_table(
        "book_tags",
        sa.Column("book_id", sa.BigInteger, nullable=False),
        sa.Column("tag_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tag_id", "book_id", name="book_tags_pkey"),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE",
                                name="book_tags_book_id_fkey"),
    )
    op.execute("INSERT INTO book_tags (book_id, tag_id) VALUES (1, 1), (1, 3), (2, 1), (3, 2), "
               "(4, 3)")
