"""books (tests/data/long_history/migrations/h02_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h02"
down_revision = "h01"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        "books",
        sa.Column("id", ID, sa.Identity(), primary_key=True),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("pages", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="books_pkey"),
    )


def downgrade():
    op.drop_table("books")
