"""every author gets an e-mail address (tests/data/long_history/migrations/h07_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h07"
down_revision = "h06"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    op.add_column("authors", sa.Column("email", sa.String(100)))
    if pg():
        op.execute("UPDATE authors SET email = concat(lower(name), '@example.org')")
    else:
        op.execute("UPDATE authors SET email = lower(name) || '@example.org'")
    with op.batch_alter_table("authors") as b:
        b.alter_column("email", existing_type=sa.String(100), nullable=False)


def downgrade():
    with op.batch_alter_table("authors") as b:
        b.drop_column("email")
