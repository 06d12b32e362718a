"""Persistence: SQLAlchemy models, engine and sessions, migrations, clinic-file loading."""
