"""slugs are computed by the application (tests/data/long_history/migrations/h26_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h26"
down_revision = "h25"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.drop_index("ix_books_slug", "books")
    with op.batch_alter_table("books") as b:
        b.drop_column("slug")


def downgrade():
    op.add_column("books", sa.Column("slug", sa.String(60)))
    if pg():
        op.execute("UPDATE books SET slug = lower(title) || '-' || id::text")
    else:
        op.execute("UPDATE books SET slug = lower(title) || '-' || id")
    op.create_index("ix_books_slug", "books", ["slug"])
