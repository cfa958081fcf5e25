"""authors (tests/data/long_history/migrations/h01_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h01"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        "authors",
        sa.Column("id", ID, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("born", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="authors_pkey"),
    )


def downgrade():
    op.drop_table("authors")
