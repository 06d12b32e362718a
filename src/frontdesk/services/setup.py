"""The clinic's setup as plain values, read once per version of it, not once per question.

The setup is what availability reads besides busy time: appointment types and their
clinicians, places and rooms; clinicians and rooms; locations and their hours; working
hours; the clinic's settings. Only a clinic-file load changes it, and every flush that does
bumps `clinic.setup_version` (store/db.py `bump_setup_version`). Each transaction reads that
version once (one small statement) and then uses what this process already read under it:
an uncontended hold reads nothing from the database but busy time.

What is kept is read-only (frozen dataclasses, tuples, mapping proxies), so no caller can
change it for the next one. Only ORM flushes bump the version: a change to a setup table
written with Core (an UPDATE statement, a data migration) must bump it itself.
"""

from __future__ import annotations

import threading
import weakref
from types import MappingProxyType
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.domain.statuses import DEFAULT_HOLD_MINUTES, IN_PERSON
from frontdesk.store.models import (
    AppointmentType,
    Clinic,
    Location,
    Resource,
    type_clinicians,
    type_locations,
    type_rooms,
)

T = TypeVar("T")
MEMO_SIZE = 512  # answers kept per database: a desk's questions repeat within a version


@dataclass(frozen=True)
class TypeSetup:
    """An appointment type with its links; attribute names are the model's."""

    id: str
    name: str
    duration_minutes: int
    interval_minutes: int | None
    padding_before_minutes: int
    padding_after_minutes: int
    duration_options: tuple[int, ...]
    min_notice_minutes: int
    capacity: int
    modes: tuple[str, ...]
    clinician_ids: tuple[str, ...]  # sorted
    location_ids: tuple[str, ...]  # sorted
    rooms_by_location: Mapping[str | None, tuple[str, ...]]  # each sorted


@dataclass(frozen=True)
class ResourceSetup:
    id: str
    kind: str  # "clinician" or "room"
    name: str
    timezone: str | None
    location_id: str | None


@dataclass(frozen=True)
class LocationSetup:
    id: str
    name: str
    timezone: str


class _Memo:
    """One database's answers under one setup version (oldest dropped first)."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.values: OrderedDict[Hashable, Any] = OrderedDict()
        self.lock = threading.Lock()  # the UI's workers share one database


# By the engine's pool: a read-only engine (execution options) shares its base's.
_memos: weakref.WeakKeyDictionary[Any, _Memo] = weakref.WeakKeyDictionary()
_memos_lock = threading.Lock()


def _version(session: Session) -> int | None:
    """The setup's version as this transaction sees it (read once per transaction)."""
    if "setup_version" not in session.info:
        session.info["setup_version"] = session.execute(select(Clinic.setup_version).where(Clinic.id == 1)).scalar()
    return session.info["setup_version"]


def cached(session: Session, key: Hashable, compute: Callable[[Session], T]) -> T:
    """`compute(session)`, or what it gave under the same setup version in this process."""
    # A transaction that changed the setup reads it afresh; with no clinic row (nothing
    # loaded, or rows a test wrote by hand) there is no version to trust.
    version = None if session.info.get("setup_changed") else _version(session)
    if version is None:
        return compute(session)
    pool = session.get_bind().engine.pool
    with _memos_lock:
        memo = _memos.get(pool)
        if memo is None:
            memo = _memos[pool] = _Memo()
    with memo.lock:
        if memo.version == version and key in memo.values:
            memo.values.move_to_end(key)
            return memo.values[key]
    value = compute(session)
    with memo.lock:
        if memo.version is None or version > memo.version:  # versions only go up
            memo.version = version
            memo.values.clear()
        if memo.version == version:
            memo.values[key] = value
            if len(memo.values) > MEMO_SIZE:
                memo.values.popitem(last=False)
    return value


# --- the setup's parts -----------------------------------------------------------------------


def appointment_type(session: Session, type_id: str) -> TypeSetup | None:
    return cached(session, ("type", type_id), lambda s: _read_type(s, type_id))


def _read_type(session: Session, type_id: str) -> TypeSetup | None:
    row = session.get(AppointmentType, type_id)
    if row is None:
        return None
    clinicians = session.scalars(
        select(type_clinicians.c.clinician_id).where(type_clinicians.c.appointment_type_id == type_id)
    )
    locations = session.scalars(
        select(type_locations.c.location_id).where(type_locations.c.appointment_type_id == type_id)
    )
    rooms: dict[str | None, list[str]] = defaultdict(list)
    for room_id, location_id in session.execute(
        select(Resource.id, Resource.location_id)
        .join(type_rooms, type_rooms.c.room_id == Resource.id)
        .where(type_rooms.c.appointment_type_id == type_id)
    ):
        rooms[location_id].append(room_id)
    return TypeSetup(
        id=row.id,
        name=row.name,
        duration_minutes=row.duration_minutes,
        interval_minutes=row.interval_minutes,
        padding_before_minutes=row.padding_before_minutes or 0,
        padding_after_minutes=row.padding_after_minutes or 0,
        duration_options=tuple(row.duration_options or ()),
        min_notice_minutes=row.min_notice_minutes or 0,
        capacity=row.capacity or 1,
        modes=tuple(row.modes or (IN_PERSON,)),
        clinician_ids=tuple(sorted(clinicians)),
        location_ids=tuple(sorted(locations)),
        rooms_by_location=MappingProxyType({loc: tuple(sorted(ids)) for loc, ids in rooms.items()}),
    )


def resources(session: Session) -> Mapping[str, ResourceSetup]:
    """Every clinician and room by id (a group of clinics has hundreds: one small read)."""
    return cached(session, ("resources",), lambda s: MappingProxyType({
        row.id: ResourceSetup(row.id, row.kind, row.name, row.timezone, row.location_id)
        for row in s.execute(select(Resource.id, Resource.kind, Resource.name, Resource.timezone, Resource.location_id))
    }))


def locations(session: Session) -> Mapping[str, LocationSetup]:
    return cached(session, ("locations",), lambda s: MappingProxyType({
        row.id: LocationSetup(row.id, row.name, row.timezone)
        for row in s.execute(select(Location.id, Location.name, Location.timezone))
    }))


def hold_minutes(session: Session) -> int:
    """How long a hold lasts: the clinic's `hold_minutes`."""
    def read(s: Session) -> int:
        minutes = s.execute(select(Clinic.hold_minutes).where(Clinic.id == 1)).scalar()
        return minutes or DEFAULT_HOLD_MINUTES

    return cached(session, ("hold_minutes",), read)
