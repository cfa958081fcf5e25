"""review stars are bigint, bodies at most 500 characters (tests/data/long_history/migrations/h22_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h22"
down_revision = "h21"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("reviews") as b:
        b.alter_column("stars", existing_type=sa.Integer, type_=sa.BigInteger,
                       existing_nullable=False)
        b.alter_column("body", existing_type=sa.Text, type_=sa.String(500))


def downgrade():
    with op.batch_alter_table("reviews") as b:
        b.alter_column("body", existing_type=sa.String(500), type_=sa.Text)
        b.alter_column("stars", existing_type=sa.BigInteger, type_=sa.Integer,
                       existing_nullable=False)
