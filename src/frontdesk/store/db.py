"""Engine and session setup, the default database location, and automatic schema upgrades."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from frontdesk.domain.errors import validation

# The newest migration; checked against Alembic's head by a test, so start-up can skip Alembic.
HEAD_REVISION = "0002"
BUSY_TIMEOUT_SECONDS = 30


def default_database_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("frontdesk", appauthor=False) / "frontdesk.db"


def resolve_url(db: str | os.PathLike | None) -> URL:
    """`--db` as given (URL or plain path), else $FRONTDESK_DB, else the user's data folder."""
    value = os.fspath(db) if db else None
    value = value or os.environ.get("FRONTDESK_DB")
    if not value:
        default = default_database_path()
        default.parent.mkdir(parents=True, exist_ok=True)
        value = str(default)
    if "://" not in value:
        return URL.create("sqlite", database=str(Path(value).expanduser().resolve()))
    try:
        return make_url(value)
    except ArgumentError:
        raise validation(f"{value!r} is not a database URL or path", db=value) from None


def _prepare_sqlite_file(path: str) -> None:
    """Create the file readable by its owner only: it holds patient data."""
    if path in ("", ":memory:"):
        return
    file = Path(path)
    if not file.parent.is_dir():  # a mistyped --db should not quietly make a new clinic
        raise validation(f"There is no folder {str(file.parent)!r} for the database {path!r}", db=path)
    if not file.exists():
        os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(file, 0o600)


def _setup_sqlite(engine: Engine) -> None:
    """SQLAlchemy's documented recipe: let SQLAlchemy own BEGIN and make it BEGIN IMMEDIATE.

    The driver otherwise starts no transaction before a SELECT, so two processes can both
    read "free" and both write: a double booking. IMMEDIATE takes the write lock up front.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One database: an engine, sessions that are each one transaction, and its schema."""

    def __init__(self, url: str | os.PathLike | URL | None = None):
        self.url = url if isinstance(url, URL) else resolve_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            _prepare_sqlite_file(self.url.database or "")
            self.engine = create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
            _setup_sqlite(self.engine)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    def current_revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError):
            return None

    def ensure_schema(self) -> None:
        """Create or upgrade the schema on first use; cheap when it is already current."""
        if self.current_revision() == HEAD_REVISION:
            return
        from frontdesk.store.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str | os.PathLike | URL | None = None) -> Database:
    database = Database(url)
    database.ensure_schema()
    return database
