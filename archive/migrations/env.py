"""Alembic's environment for the catalogue: run by `sohoa.archive.migrate` with the
connection to migrate in `config.attributes["connection"]` (never from alembic.ini)."""
from alembic import context

from sohoa.archive.pg import WRITER_LOCK

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # machines creating or upgrading the catalogue at once wait for each other
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
    context.run_migrations()
