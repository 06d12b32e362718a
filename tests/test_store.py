"""The store: migrations match the models, SQLite is set up to serialize writers, files are private."""

from __future__ import annotations

import os
import stat

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from frontdesk.store.db import HEAD_REVISION, Database, open_database, resolve_url
from frontdesk.store.migrate import alembic_config
from frontdesk.store.models import SEARCH_INDEX_NAMES, Base


def _modelled(name, type_, _parent) -> bool:
    """Everything but the search index the migrations make for one engine only."""
    return not (name or "").startswith(SEARCH_INDEX_NAMES)


def test_migrations_produce_exactly_the_models_schema(tmp_path):
    database = open_database(tmp_path / "m.db")
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _modelled})
        assert compare_metadata(context, Base.metadata) == []


def test_head_revision_constant_matches_alembic_head():
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == HEAD_REVISION


def test_schema_is_created_on_first_use_and_left_alone_after(tmp_path):
    url = tmp_path / "first.db"
    database = open_database(url)
    assert database.current_revision() == HEAD_REVISION
    database.dispose()
    again = open_database(url)  # no error, nothing to do
    assert again.current_revision() == HEAD_REVISION


def test_database_file_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "frontdesk.db"
    database = open_database(path)
    with database.session() as session:  # a write makes the WAL files appear
        session.execute(text("INSERT INTO clinic (id, name, hold_minutes) VALUES (1, 'x', 15)"))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    database = Database(tmp_path / "p.db")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_every_sqlite_transaction_takes_the_write_lock_at_begin(tmp_path):
    """Two sessions: the second cannot even begin while the first is open (BEGIN IMMEDIATE)."""
    import sqlite3

    database = open_database(tmp_path / "lock.db")
    with database.session() as session:
        session.execute(text("SELECT 1"))  # a read-only transaction still holds the lock
        other = sqlite3.connect(tmp_path / "lock.db", timeout=0.1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            locked = False
        except sqlite3.OperationalError as exc:
            locked = "locked" in str(exc)
        finally:
            other.close()
    assert locked


def test_db_option_takes_a_plain_path_or_an_url(tmp_path, monkeypatch):
    assert resolve_url(str(tmp_path / "a.db")).database == str(tmp_path / "a.db")
    assert resolve_url("sqlite:///x.db").database == "x.db"
    assert resolve_url("postgresql+psycopg://u@h/db").get_backend_name() == "postgresql"
    monkeypatch.setenv("FRONTDESK_DB", str(tmp_path / "env.db"))
    assert resolve_url(None).database == str(tmp_path / "env.db")


def test_default_database_lives_in_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("FRONTDESK_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_url(None).database == str(tmp_path / "xdg" / "frontdesk" / "frontdesk.db")
    assert (tmp_path / "xdg" / "frontdesk").is_dir()


def test_a_db_path_in_a_missing_folder_is_refused_not_created(tmp_path):
    import pytest

    from frontdesk.domain.errors import FrontdeskError

    with pytest.raises(FrontdeskError) as refused:
        open_database(tmp_path / "no-such-folder" / "x.db")
    assert refused.value.code == "VALIDATION_ERROR"
    assert not (tmp_path / "no-such-folder").exists()
