"""reviews of books (tests/data/long_history/migrations/h05_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h05"
down_revision = "h04"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        "reviews",
        sa.Column("id", sa.BigInteger, autoincrement=False),
        sa.Column("book_id", sa.BigInteger, nullable=False),
        sa.Column("stars", sa.Integer, nullable=False),
        sa.Column("body", sa.Text),
        sa.PrimaryKeyConstraint("id", name="reviews_pkey"),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE",
                                name="reviews_book_id_fkey"),
    )
    op.execute("INSERT INTO reviews (id, book_id, stars, body) VALUES (1, 1, 5, 'great'), "
               "(2, 1, 3, 'ok'), (3, 3, 4, NULL), (4, 4, 2, 'meh')")


def downgrade():
    op.drop_table("reviews")
