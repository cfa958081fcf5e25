"""tests/data/long_history/schema.yaml (the head of the 27-revision history) as a
SQLAlchemy model, for `alembic revision --autogenerate`."""
import sqlalchemy as sa

metadata = sa.MetaData()

# keel's autoincrement bigint: an identity on PostgreSQL, the rowid on SQLite.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

sa.Table(
    "authors", metadata,
    sa.Column("id", ID, sa.Identity(), primary_key=True),
    sa.Column("full_name", sa.String(200), nullable=False, server_default="anonymous"),
    sa.Column("born", sa.Integer),
    sa.Column("email", sa.String(100), nullable=False),
    sa.CheckConstraint("full_name <> ''", name="authors_name_nonempty"),
)
sa.Table(
    "books", metadata,
    sa.Column("id", ID, sa.Identity(), primary_key=True),
    sa.Column("author_id", sa.BigInteger, sa.ForeignKey("authors.id", ondelete="CASCADE",
                                                        name="books_author_id_fkey"),
              nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("page_count", sa.Integer, server_default="1"),
    sa.Index("ix_books_long", "page_count", sqlite_where=sa.text("page_count >= 100"),
             postgresql_where=sa.text("page_count >= 100")),
    sa.Index("ux_books_author_title", "author_id", "title", unique=True),
)
sa.Table(
    "reviews", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("book_id", sa.BigInteger, sa.ForeignKey("books.id", ondelete="CASCADE",
                                                      name="reviews_book_id_fkey"),
              nullable=False),
    sa.Column("stars", sa.BigInteger, nullable=False),
    sa.Column("body", sa.String(500)),
)
sa.Table(
    "labels", metadata,
    sa.Column("id", sa.Integer, autoincrement=False),
    sa.Column("label", sa.String(40), nullable=False),
    sa.PrimaryKeyConstraint("id", name="tags_pkey"),
)
