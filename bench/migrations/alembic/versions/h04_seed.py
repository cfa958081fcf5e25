"""first authors and books (tests/data/long_history/migrations/h04_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h04"
down_revision = "h03"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.execute("INSERT INTO authors (id, name, born) VALUES (1, 'Ann', 1950), (2, 'Bob', NULL), "
               "(3, 'Cy', 1980)")
    op.execute("INSERT INTO books (id, author_id, title, pages) VALUES (1, 1, 'A1', 100), "
               "(2, 1, 'A2', NULL), (3, 2, 'B1', 300), (4, 3, 'C1', 50)")
    if pg():
        op.execute("SELECT setval(pg_get_serial_sequence('authors', 'id'), 3)")
        op.execute("SELECT setval(pg_get_serial_sequence('books', 'id'), 4)")


def downgrade():
    op.execute("DELETE FROM books")
    op.execute("DELETE FROM authors")
