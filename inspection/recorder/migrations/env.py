"""Alembic environment: the station passes its own connection in ``config.attributes``."""

from alembic import context

from inspection.recorder.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through inspection.recorder.migrate (it passes the connection)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
