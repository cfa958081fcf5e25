"""tags for books (tests/data/long_history/migrations/h13_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h13"
down_revision = "h12"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, autoincrement=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="tags_pkey"),
    )
    op.create_table(
        "book_tags",
        sa.Column("book_id", sa.BigInteger, nullable=False),
        sa.Column("tag_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("book_id", "tag_id", name="book_tags_pkey"),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE",
                                name="book_tags_book_id_fkey"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE",
                                name="book_tags_tag_id_fkey"),
    )
    op.execute("INSERT INTO tags (id, label) VALUES (1, 'fiction'), (2, 'poetry'), (3, 'essay')")
    op.execute("INSERT INTO book_tags (book_id, tag_id) VALUES (1, 1), (1, 3), (2, 1), (3, 2), "
               "(4, 3)")


def downgrade():
    op.drop_table("book_tags")
    op.drop_table("tags")
