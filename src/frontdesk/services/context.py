"""What every service call needs: the database, the clock and the operator."""

from __future__ import annotations

import getpass
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from frontdesk.clock import Clock, SystemClock
from frontdesk.domain.errors import validation
from frontdesk.domain.text import check_operator

if TYPE_CHECKING:
    from frontdesk.store.db import Database


def default_operator() -> str:
    try:
        return os.environ.get("FRONTDESK_OPERATOR") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def default_desk() -> str:
    """The terminal this process runs at (host and tty), so a desk can tell its holds apart."""
    import socket

    try:
        tty = os.ttyname(0).removeprefix("/dev/")
    except OSError:
        tty = f"pid {os.getpid()}"
    return f"{socket.gethostname()}:{tty}"[:100]


class Context:
    """The database, the clock and the operator for one desk.

    The database opens (and its schema is created or upgraded) on first use of `db`, so the
    UI can draw its first frame before SQLAlchemy is even imported and open it in a worker.
    `prepare`, if given, runs once right after opening (the demo fills its clinic there).
    """

    def __init__(
        self,
        db_url: str | os.PathLike | None = None,
        clock: Clock | None = None,
        operator: str | None = None,
        prepare: Callable[[Context], None] | None = None,
    ):
        self.db_url = db_url
        self.clock = clock or SystemClock()
        self.operator = check_operator(operator or default_operator())
        self.desk = default_desk()
        self._prepare = prepare
        self._db: Database | None = None
        self._opening = threading.RLock()

    @classmethod
    def open(cls, db_url=None, clock: Clock | None = None, operator: str | None = None) -> Context:
        """A context whose database is opened now (command line, tests, benchmarks)."""
        context = cls(db_url, clock, operator)
        context.db  # noqa: B018 - open now, so a bad --db fails here
        return context

    def open_now(self) -> None:
        """Open the database now, turning one that cannot be opened into a plain refusal. (A
        busy or failing database is already DATABASE_BUSY or DATABASE_ERROR.)"""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            self.db  # noqa: B018
        except SQLAlchemyError as exc:  # e.g. a URL naming an unknown dialect
            raise validation(f"Cannot open the database {str(self.db_url)!r} ({exc.__class__.__name__})") from None
        except OSError as exc:
            raise validation(f"Cannot open the database: {exc}") from None
        except ImportError as exc:  # e.g. a mysql:// URL without its driver installed
            raise validation(f"Cannot open the database: its driver is not installed ({exc.name})") from None

    @property
    def db(self) -> Database:
        with self._opening:  # two UI workers asking at once open it once
            if self._db is None:
                from frontdesk.store.db import open_database

                self._db = open_database(self.db_url)
                if self._prepare is not None:
                    try:
                        self._prepare(self)
                    except BaseException:
                        self._db.dispose()  # the next use tries again from the start
                        self._db = None
                        raise
                    self._prepare = None
            return self._db
