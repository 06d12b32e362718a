"""Serializing check-and-write per resource.

SQLite: every transaction already began with BEGIN IMMEDIATE (store/db.py), so the whole
database is locked for writing and the SELECT below is a plain read. PostgreSQL: the rows of
the resources are locked FOR UPDATE, in id order so two transactions never wait on each
other in a cycle. Whoever checks a resource's busy time and then books it holds its lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from frontdesk.domain.errors import DATABASE_BUSY, FrontdeskError
from frontdesk.store.models import Clinic, Resource

# Set while the setup's version is still to be read again under the locks.
SETUP_CHECK_DUE = "setup_check_due"

# Built once: every hold sends it.
_LOCK = (select(Resource.id).where(Resource.id.in_(bindparam("ids", expanding=True))).order_by(Resource.id)
         .with_for_update(key_share=True))


def lock_resources(session: Session, ids: Iterable[str | None], *, setup_read_with_busy_time: bool = False) -> None:
    """Lock the resources named (None and repeats ignored) until the transaction ends.

    SQLite: nothing to do, the transaction holds the database's write lock already.
    PostgreSQL: FOR NO KEY UPDATE, which two bookers of one resource cannot both hold, but
    which does not wait for the KEY SHARE lock that any insert referring to the resource
    takes (a busy row, a link, a clinic file's hours): with FOR UPDATE, a reload inserting
    hours and a desk booking could each wait for the other (a deadlock). Resources this
    transaction locked already are not asked for again.

    Then the setup is checked (`setup_still_current`). With `setup_read_with_busy_time` its
    version comes instead with the next read of bookings' busy rows that clears expired holds
    (services/busy.py `_read_bookings`, one statement fewer): a caller passing it reads busy
    time next and must call `setup_checked` before it writes or answers."""
    if session.get_bind().dialect.name == "sqlite":
        return
    held: set[str] = session.info.setdefault("locked_resources", set())
    wanted = sorted({i for i in ids if i} - held)
    if not wanted:
        return
    session.execute(_LOCK, {"ids": wanted}).all()
    held.update(wanted)
    if setup_read_with_busy_time and session.info.get("setup_version") is not None:
        session.info[SETUP_CHECK_DUE] = True
    else:
        setup_still_current(session)


def setup_still_current(session: Session) -> None:
    """What this transaction read of the clinic's setup before it waited for its locks is
    still the setup (services/setup.py): a clinic-file load may have committed meanwhile.
    If not, DATABASE_BUSY: nothing was written, and asked again it reads the new setup.

    The version is read by a statement of its own that starts after the locks are held: a
    waiter's lock statement itself reads with the snapshot taken before it waited."""
    session.info.pop(SETUP_CHECK_DUE, None)
    if session.info.get("setup_version") is None:
        return
    setup_version_is(session, session.execute(select(Clinic.setup_version).where(Clinic.id == 1)).scalar())


def setup_version_is(session: Session, version: int | None) -> None:
    """DATABASE_BUSY unless `version`, read under the locks, is the one this transaction read
    the setup under."""
    session.info.pop(SETUP_CHECK_DUE, None)
    seen = session.info.get("setup_version")
    if seen is not None and version != seen:
        raise FrontdeskError(DATABASE_BUSY, "The clinic's setup was changed (a clinic file was loaded) while this "
                                            "was being booked; nothing was written; try again", {})


def setup_checked(session: Session) -> None:
    """The check `lock_resources(..., setup_read_with_busy_time=True)` left to the next read of
    bookings' busy rows, made now by a statement of its own if that read did not happen (a
    read served from an earlier one)."""
    if session.info.get(SETUP_CHECK_DUE):
        setup_still_current(session)


def lock_all_resources(session: Session) -> None:
    """Lock every resource, in id order: a clinic-file load, which may change any of them,
    waits for the desks booking now and then goes first, never crossing their locks."""
    session.execute(select(Resource.id).order_by(Resource.id).with_for_update(key_share=True)).all()
