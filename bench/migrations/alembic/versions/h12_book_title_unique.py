"""an author's titles are unique (tests/data/long_history/migrations/h12_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h12"
down_revision = "h11"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.create_index("ux_books_author_title", "books", ["author_id", "title"], unique=True)


def downgrade():
    op.drop_index("ux_books_author_title", "books")
