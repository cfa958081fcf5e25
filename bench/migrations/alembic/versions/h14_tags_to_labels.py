"""tags are called labels (tests/data/long_history/migrations/h14_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h14"
down_revision = "h13"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.rename_table("tags", "labels")


def downgrade():
    op.rename_table("labels", "tags")
