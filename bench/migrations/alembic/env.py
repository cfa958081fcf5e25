"""Alembic environment of the migrations benchmark: online mode only, the URL from
`-x url=…`, the SQLAlchemy model of tests/data/long_history/schema.yaml for
autogenerate, batch mode on SQLite (Alembic's way around SQLite's ALTER TABLE)."""
from alembic import context
from sqlalchemy import create_engine

from model import metadata

url = context.get_x_argument(as_dictionary=True)["url"]
engine = create_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
