"""book_tags no longer checks labels (tests/data/long_history/migrations/h16_*.yaml)"""
from alembic import op
import sqlalchemy as sa

revision = "h16"
down_revision = "h15"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def pg():
    return op.get_context().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("book_tags") as b:
        b.drop_constraint("book_tags_tag_id_fkey", type_="foreignkey")


def downgrade():
    with op.batch_alter_table("book_tags") as b:
        b.create_foreign_key("book_tags_tag_id_fkey", "labels", ["tag_id"], ["id"],
                             ondelete="CASCADE")
