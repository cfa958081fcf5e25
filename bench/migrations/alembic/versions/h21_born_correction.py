"""birth years were recorded one year early (tests/data/long_history/migrations/h21_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h21"
down_revision = "h20"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.execute("UPDATE authors SET born = born + 1 WHERE born IS NOT NULL")


def downgrade():
    op.execute("UPDATE authors SET born = born - 1 WHERE born IS NOT NULL")
