"""Engine and session setup, the default database location, and automatic schema upgrades."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text, update
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from frontdesk.domain.errors import (
    DATABASE_BUSY,
    DATABASE_ERROR,
    FrontdeskError,
    validation,
)
from frontdesk.store.limits import guard_writes

# The newest migration; checked against Alembic's head by a test, so start-up can skip Alembic.
HEAD_REVISION = "0009"
# How long a desk waits for another desk's write lock before it is told DATABASE_BUSY: one
# wait in all (SQLite's busy timeout; PostgreSQL's lock_timeout and connect timeout).
# $FRONTDESK_BUSY_TIMEOUT (seconds) overrides it, for tests and unusual sites.
BUSY_TIMEOUT_SECONDS = 10.0
# PostgreSQL: no single statement runs longer than this, whatever it waits for.
STATEMENT_TIMEOUT_SECONDS = 60
BUSY_MESSAGE = "Another desk is writing to the database; nothing was written; try again"


def busy_timeout() -> float:
    text_value = os.environ.get("FRONTDESK_BUSY_TIMEOUT", "")
    try:
        seconds = float(text_value)
    except ValueError:
        return BUSY_TIMEOUT_SECONDS
    return seconds if 0 <= seconds <= 3600 else BUSY_TIMEOUT_SECONDS


def default_database_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("frontdesk", appauthor=False) / "frontdesk.db"


def private_folder(folder: Path) -> Path:
    """Create frontdesk's own data folder readable by its owner only (it holds patient data)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _tighten(folder, 0o700)
    return folder


def resolve_url(db: str | os.PathLike | None) -> URL:
    """`--db` as given (URL or plain path), else $FRONTDESK_DB, else the user's data folder."""
    value = os.fspath(db) if db else None
    value = value or os.environ.get("FRONTDESK_DB")
    if not value:
        default = default_database_path()
        private_folder(default.parent)
        value = str(default)
    if "://" not in value:
        return URL.create("sqlite", database=str(Path(value).expanduser().resolve()))
    try:
        return make_url(value)
    except ArgumentError:
        raise validation(f"{value!r} is not a database URL or path", db=value) from None


def _tighten(path: Path, private_mode: int) -> bool:
    """Take every permission of group and others away (never add one); True if any was."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077 == 0:
            return False
        os.chmod(path, mode & private_mode)
        return True
    except OSError:  # not ours to change: leave it as it is
        return False


def _prepare_sqlite_file(path: str) -> None:
    """Create the file readable by its owner only: it holds patient data. An older file (and
    its -wal and -shm files) readable by others is tightened, with a note the first time."""
    if path in ("", ":memory:"):
        return
    file = Path(path)
    if not file.parent.is_dir():  # a mistyped --db should not quietly make a new clinic
        raise validation(f"There is no folder {str(file.parent)!r} for the database {path!r}", db=path)
    if not file.exists():
        os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(file, 0o600)
        return
    tightened = [str(f) for f in (file, Path(f"{path}-wal"), Path(f"{path}-shm")) if f.exists() and _tighten(f, 0o600)]
    if tightened:
        print(f"frontdesk: made {', '.join(tightened)} readable by its owner only (it holds patient data)", file=sys.stderr)


# SQLite's primary result codes (sqlite3 errors carry them as sqlite_errorcode).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 5, 6, 8, 10, 11, 13, 14
_SQLITE_NOTADB = 26


def refusal(error: BaseException) -> FrontdeskError:
    """The plain refusal for an error of the database driver. Never its text: a driver's
    message can quote the values of a statement (names, dates of birth, phones)."""
    cause = getattr(error, "orig", None) or error
    code = getattr(cause, "sqlite_errorcode", None)
    state = getattr(cause, "sqlstate", None) or ""
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or state in ("55P03", "40P01", "40001"):
        return FrontdeskError(DATABASE_BUSY, BUSY_MESSAGE, {"waited_seconds": busy_timeout()})
    if primary == _SQLITE_READONLY or state == "25006":
        reason, message = "read_only", "The database cannot be written (its file or folder is read-only); nothing was written"
    elif primary == _SQLITE_FULL or state.startswith("53"):
        reason, message = "disk_full", "The disk holding the database is full; nothing was written"
    elif primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        reason, message = "damaged", "The database file is damaged or is not a frontdesk database"
    elif primary in (_SQLITE_CANTOPEN, _SQLITE_IOERR):
        reason, message = "cannot_open", "The database file cannot be opened or read"
    elif state == "57014":
        reason, message = "timeout", "The database took too long to answer; nothing was written; try again"
    elif state.startswith("08") or getattr(error, "connection_invalidated", False) or (not state and code is None):
        reason, message = "connection", "The database cannot be reached or the connection was lost; try again"
    else:
        reason, message = "refused", "The database refused the change; nothing was written"
    name = getattr(cause, "sqlite_errorname", None) or state or type(cause).__name__
    return FrontdeskError(DATABASE_ERROR, message, {"reason": reason, "driver_error": name})


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a failure of the database into DATABASE_BUSY or DATABASE_ERROR. IntegrityError is
    left to the service that wrote the row (it knows what a clash means)."""
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as error:
        raise refusal(error) from None


def _setup_sqlite(engine: Engine, timeout: float) -> None:
    """SQLAlchemy's documented recipe: let SQLAlchemy own BEGIN and make it BEGIN IMMEDIATE.

    The driver otherwise starts no transaction before a SELECT, so two processes can both
    read "free" and both write: a double booking. IMMEDIATE takes the write lock up front.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A read (session(write=False)) begins DEFERRED: under WAL it reads a snapshot and
        # never waits for a writer. It can still write, but only if nothing was written since
        # it began (else SQLite refuses), so a check it made can never be stale.
        if connection.get_execution_options().get("frontdesk_read"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


# A pooled connection unused for this long is checked before it is used again.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """A server connection that sat in the pool a while is pinged before use (the server may
    have restarted meanwhile: a dead one is replaced, as with `pool_pre_ping`); one given back
    a moment ago is not, which spares a round trip for each transaction of a busy desk."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _fresh(dbapi_connection, record, *_args) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception:  # any failure to answer: the pool opens a new connection
            alive = False
        if not alive:
            raise DisconnectionError()


class Database:
    """One database: an engine, sessions that are each one transaction, and its schema."""

    def __init__(self, url: str | os.PathLike | URL | None = None, busy_seconds: float | None = None):
        self.url = url if isinstance(url, URL) else resolve_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.busy_seconds = busy_timeout() if busy_seconds is None else busy_seconds
        # hide_parameters: an error's text never carries what a user typed.
        if self.is_sqlite:
            _prepare_sqlite_file(self.url.database or "")
            self.engine = create_engine(self.url, connect_args={"timeout": self.busy_seconds}, hide_parameters=True)
            _setup_sqlite(self.engine, self.busy_seconds)
        else:
            self.engine = create_engine(self.url, hide_parameters=True, connect_args=self._postgres_timeouts())
            _ping_when_idle(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        reads = self.engine.execution_options(frontdesk_read=True)
        self._read_sessions = sessionmaker(reads, expire_on_commit=False)
        guard_writes(self._sessions)
        guard_writes(self._read_sessions)
        event.listen(self._sessions, "before_flush", bump_setup_version)

    def _postgres_timeouts(self) -> dict:
        if self.url.get_backend_name() != "postgresql":
            return {}
        lock_ms = int(self.busy_seconds * 1000)
        return {
            "connect_timeout": max(1, round(self.busy_seconds)),
            "options": f"-c lock_timeout={lock_ms} -c statement_timeout={STATEMENT_TIMEOUT_SECONDS * 1000}",
        }

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error. A read
        (`write=False`) takes no write lock, so it never waits for another desk's write.
        A failure of the database comes out as DATABASE_BUSY or DATABASE_ERROR."""
        with refusals(), (self._sessions if write else self._read_sessions).begin() as session:
            yield session

    def current_revision(self) -> str | None:
        """The schema's revision (None for an empty database), read without the write lock."""
        with refusals(), self.engine.connect().execution_options(frontdesk_read=True) as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def ensure_schema(self) -> None:
        """Create or upgrade the schema on first use; cheap when it is already current."""
        if self.current_revision() == HEAD_REVISION:
            return
        from frontdesk.store.migrate import upgrade

        with refusals():
            upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def bump_setup_version(session: Session, flush_context: object, instances: object) -> None:
    """A flush that changes the clinic's setup bumps its version, so every process reads the
    setup again (services/setup.py); this transaction no longer trusts what it read of it."""
    from frontdesk.store.models import SETUP_MODELS, Clinic  # loaded by then: the session has objects

    changed = [*session.new, *session.deleted, *(obj for obj in session.dirty if session.is_modified(obj))]
    if not any(isinstance(obj, SETUP_MODELS) for obj in changed):
        return
    clinic = Clinic.__table__
    session.connection().execute(
        update(clinic).where(clinic.c.id == 1).values(setup_version=clinic.c.setup_version + 1)
    )
    session.info["setup_changed"] = True


def open_database(url: str | os.PathLike | URL | None = None) -> Database:
    database = Database(url)
    database.ensure_schema()
    return database
