"""What every service call needs: the database, the clock and the operator."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

from frontdesk.clock import Clock, SystemClock
from frontdesk.store.db import Database, open_database


def default_operator() -> str:
    try:
        return os.environ.get("FRONTDESK_OPERATOR") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


@dataclass
class Context:
    db: Database
    clock: Clock
    operator: str

    @classmethod
    def open(cls, db_url: str | None = None, clock: Clock | None = None, operator: str | None = None) -> Context:
        """Open (creating or upgrading) the database and bind the clock and operator."""
        return cls(open_database(db_url), clock or SystemClock(), operator or default_operator())
