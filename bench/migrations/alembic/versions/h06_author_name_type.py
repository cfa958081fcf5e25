"""author names become string(200) (tests/data/long_history/migrations/h06_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h06"
down_revision = "h05"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("authors") as b:
        b.alter_column("name", existing_type=sa.Text, type_=sa.String(200), existing_nullable=False)


def downgrade():
    with op.batch_alter_table("authors") as b:
        b.alter_column("name", existing_type=sa.String(200), type_=sa.Text, existing_nullable=False)
