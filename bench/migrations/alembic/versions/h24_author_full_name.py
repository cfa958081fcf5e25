"""name is called full_name (tests/data/long_history/migrations/h24_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h24"
down_revision = "h23"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    if pg():
        op.alter_column("authors", "name", new_column_name="full_name",
                        existing_type=sa.String(200), existing_nullable=False)
        return
    # Batch mode copies the reflected CHECK as written: it must be rewritten by hand.
    with op.batch_alter_table("authors") as b:
        b.drop_constraint("authors_name_nonempty", type_="check")
        b.alter_column("name", new_column_name="full_name", existing_type=sa.String(200),
                       existing_nullable=False)
        b.create_check_constraint("authors_name_nonempty", "full_name <> ''")


def downgrade():
    with op.batch_alter_table("authors") as b:
        b.alter_column("full_name", new_column_name="name", existing_type=sa.String(200),
                       existing_nullable=False)
