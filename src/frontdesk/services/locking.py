"""Serializing check-and-write per resource.

SQLite: every transaction already began with BEGIN IMMEDIATE (store/db.py), so the whole
database is locked for writing and the SELECT below is a plain read. PostgreSQL: the rows of
the resources are locked FOR UPDATE, in id order so two transactions never wait on each
other in a cycle. Whoever checks a resource's busy time and then books it holds its lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.domain.errors import DATABASE_BUSY, FrontdeskError
from frontdesk.store.models import Clinic, Resource


def lock_resources(session: Session, ids: Iterable[str | None]) -> None:
    """Lock the resources named (None and repeats ignored) until the transaction ends.

    SQLite: nothing to do, the transaction holds the database's write lock already.
    PostgreSQL: FOR NO KEY UPDATE, which two bookers of one resource cannot both hold, but
    which does not wait for the KEY SHARE lock that any insert referring to the resource
    takes (a busy row, a link, a clinic file's hours): with FOR UPDATE, a reload inserting
    hours and a desk booking could each wait for the other (a deadlock). Resources this
    transaction locked already are not asked for again."""
    if session.get_bind().dialect.name == "sqlite":
        return
    held: set[str] = session.info.setdefault("locked_resources", set())
    wanted = sorted({i for i in ids if i} - held)
    if not wanted:
        return
    query = select(Resource.id).where(Resource.id.in_(wanted)).order_by(Resource.id).with_for_update(key_share=True)
    session.execute(query).all()
    held.update(wanted)
    setup_still_current(session)


def setup_still_current(session: Session) -> None:
    """What this transaction read of the clinic's setup before it waited for its locks is
    still the setup (services/setup.py): a clinic-file load may have committed meanwhile.
    If not, DATABASE_BUSY: nothing was written, and asked again it reads the new setup."""
    seen = session.info.get("setup_version")
    if seen is None:
        return
    now = session.execute(select(Clinic.setup_version).where(Clinic.id == 1)).scalar()
    if now != seen:
        raise FrontdeskError(DATABASE_BUSY, "The clinic's setup was changed (a clinic file was loaded) while this "
                                            "was being booked; nothing was written; try again", {})


def lock_all_resources(session: Session) -> None:
    """Lock every resource, in id order: a clinic-file load, which may change any of them,
    waits for the desks booking now and then goes first, never crossing their locks."""
    session.execute(select(Resource.id).order_by(Resource.id).with_for_update(key_share=True)).all()
