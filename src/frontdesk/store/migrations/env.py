"""Alembic environment: runs on the engine frontdesk hands it, in one transaction."""

from alembic import context
from sqlalchemy import text

from frontdesk.store.models import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two first-use processes must not both create the schema.
            connection.execute(text("SELECT pg_advisory_xact_lock(7305)"))
        context.run_migrations()
