"""book_tags keyed by label first (tests/data/long_history/migrations/h15_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h15"
down_revision = "h14"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("book_tags") as b:
        b.drop_constraint("book_tags_pkey", type_="primary")
        b.create_primary_key("book_tags_pkey", ["tag_id", "book_id"])


def downgrade():
    with op.batch_alter_table("book_tags") as b:
        b.drop_constraint("book_tags_pkey", type_="primary")
        b.create_primary_key("book_tags_pkey", ["book_id", "tag_id"])
