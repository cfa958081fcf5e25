"""the unique (author_id, title) index serves author look-ups (tests/data/long_history/migrations/h17_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h17"
down_revision = "h16"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.drop_index("ix_books_author_id", "books")


def downgrade():
    op.create_index("ix_books_author_id", "books", ["author_id"])
