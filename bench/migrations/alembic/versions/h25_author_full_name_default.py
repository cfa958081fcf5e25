"""an author without a name is anonymous (tests/data/long_history/migrations/h25_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h25"
down_revision = "h24"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("authors") as b:
        b.alter_column("full_name", existing_type=sa.String(200), existing_nullable=False,
                       server_default="anonymous")


def downgrade():
    with op.batch_alter_table("authors") as b:
        b.alter_column("full_name", existing_type=sa.String(200), existing_nullable=False,
                       server_default=None)
