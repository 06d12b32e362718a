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

from frontdesk.store.models import Resource


def lock_resources(session: Session, ids: Iterable[str | None]) -> list[str]:
    """Lock the resources named (None and repeats ignored); returns the ids that exist."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return []
    query = select(Resource.id).where(Resource.id.in_(wanted)).order_by(Resource.id).with_for_update()
    return list(session.execute(query).scalars())
