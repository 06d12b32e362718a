"""Busy time of resources in a window, read from the few rows that can touch it.

Indexed reads, whatever the size of the history: blocks by (resource_id, span_end) and, in
the same statement, a clinician's imported calendars by (clinician_id, busy_end) from
`external_busy`; the busy rows of active appointments and holds by (resource_id, busy_end)
from `busy_times`, which carries each interval already padded by the booking's own type and holds rows of
active bookings only, so nothing is joined in.
"""

from __future__ import annotations

import functools
import sqlite3
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, bindparam, cast, delete, null, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from frontdesk.domain.blocks import expand_block
from frontdesk.domain.busy import (
    APPOINTMENT,
    BLOCK,
    EXTERNAL,
    HOLD,
    LONG_SPAN,
    Busy,
    BusySpan,
)
from frontdesk.domain.intervals import Interval
from frontdesk.domain.timeutil import clinician_zone_name
from frontdesk.services import setup
from frontdesk.services.locking import SETUP_CHECK_DUE, setup_version_is
from frontdesk.store.models import (
    Block,
    BusyTime,
    Clinic,
    ExternalBusy,
    Location,
    Resource,
    ScheduleRule,
)

UTC_ZONE = ZoneInfo("UTC")


def clinician_zone_names(session: Session, clinician_ids: Iterable[str] | None = None) -> dict[str, str | None]:
    """Each clinician's timezone name (`clinician_zone_name`), None when nothing says; every
    clinician when no ids are given."""
    ids = None if clinician_ids is None else tuple(sorted(set(clinician_ids)))
    return dict(setup.cached(session, ("clinician_zone_names", ids), lambda s: _read_clinician_zone_names(s, ids)))


def _read_clinician_zone_names(session: Session, clinician_ids: Iterable[str] | None) -> dict[str, str | None]:
    query = select(Resource.id, Resource.timezone).where(Resource.kind == "clinician")
    if clinician_ids is not None:
        query = query.where(Resource.id.in_(sorted(set(clinician_ids))))
    own = dict(session.execute(query).all())
    unset = [cid for cid, zone_name in own.items() if not zone_name]
    first: dict[str, str] = {}
    if unset:
        for cid, zone_name in session.execute(
            select(ScheduleRule.clinician_id, Location.timezone)
            .join(Location, Location.id == ScheduleRule.location_id)
            .where(ScheduleRule.clinician_id.in_(unset))
            .order_by(ScheduleRule.id)
        ):
            first.setdefault(cid, zone_name)
    return {cid: clinician_zone_name(zone_name, first.get(cid)) for cid, zone_name in own.items()}


def resource_zones(session: Session, resource_ids: Iterable[str]) -> dict[str, ZoneInfo]:
    """Each resource's timezone: a room's location's, a clinician's `clinician_zone_names`;
    UTC when nothing says."""
    ids = tuple(sorted(set(resource_ids)))
    if not ids:
        return {}
    return dict(setup.cached(session, ("resource_zones", ids), lambda s: _read_resource_zones(s, ids)))


def _read_resource_zones(session: Session, ids: tuple[str, ...]) -> dict[str, ZoneInfo]:
    zones: dict[str, ZoneInfo] = {}
    for rid, location_zone in session.execute(
        select(Resource.id, Location.timezone)
        .join(Location, Location.id == Resource.location_id)
        .where(Resource.id.in_(ids), Resource.kind == "room")
    ):
        zones[rid] = ZoneInfo(location_zone)
    for cid, zone_name in clinician_zone_names(session, [rid for rid in ids if rid not in zones]).items():
        zones[cid] = ZoneInfo(zone_name) if zone_name else UTC_ZONE
    for rid in ids:
        zones.setdefault(rid, UTC_ZONE)
    return zones


class epoch_seconds(FunctionElement):
    """A stored UTC instant as whole seconds since the epoch, computed by the database and
    rounded down. Reading 20,000 integers costs far less than parsing 20,000 datetimes."""

    type = BigInteger()
    inherit_cache = True


class epoch_seconds_up(epoch_seconds):
    """Rounded up: a busy end never shrinks."""

    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (naive UTC); unixepoch() drops the fraction.
    column = compiler.process(element.clauses, **kw)
    if sqlite3.sqlite_version_info >= (3, 38):
        seconds = f"unixepoch({column})"
    else:
        seconds = f"CAST(strftime('%s', {column}) AS INTEGER)"
    if isinstance(element, epoch_seconds_up):
        seconds = f"({seconds} + (substr({column}, 20) > '.000000'))"
    return seconds


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw) -> str:
    # PostgreSQL: the EPOCH of a timestamp without time zone reads it as UTC.
    rounding = "CEIL" if isinstance(element, epoch_seconds_up) else "FLOOR"
    return f"CAST({rounding}(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def blocks_statement(ids, window: Interval):
    """The read of blocks and imported calendars that can touch `window`, one statement of
    index ranges each bounded on both sides: blocks by (resource_id, span_end) (rules that
    recur forever; spans ending within LONG_SPAN of the window's end; the few long ones ending
    after that), and a clinician's imported busy time (services/calendars.py) by
    (clinician_id, busy_end), as no such row is longer than LONG_SPAN. Imported rows come with
    no id and their source where a block has its rule; their times are naive UTC."""
    columns = (Block.id, Block.resource_id, Block.start_local, Block.end_local, Block.rrule)
    e = ExternalBusy.__table__.c
    bound = window.end + LONG_SPAN
    return union_all(
        select(*columns).where(Block.resource_id.in_(ids), Block.span_end.is_(None)),
        select(*columns).where(Block.resource_id.in_(ids), Block.span_end > window.start, Block.span_end < bound,
                               Block.span_start < window.end),
        select(*columns).where(Block.resource_id.in_(ids), Block.long_span.is_(True), Block.span_end >= bound,
                               Block.span_start < window.end),
        select(cast(null(), Integer), e.clinician_id, e.busy_start, e.busy_end, e.source).where(
            e.clinician_id.in_(ids), e.busy_end > window.start, e.busy_end < bound,
            e.busy_start < window.end,
        ),
    )


def bookings_statement(ids, window: Interval, now: datetime, exclude_appointment_id: str | None = None,
                       exclude_hold_id: str | None = None, bookings: bool = False, with_expired: bool = False,
                       with_setup_version: bool = False):
    """The read of active appointments' and holds' busy rows touching `window`: two index
    ranges of (resource_id, busy_end), each bounded on both sides however much future the
    table holds: rows ending within LONG_SPAN of the window's end (every row but a long one
    that touches the window), and the few long rows ending after that (tests/test_busy_plans.py
    checks PostgreSQL's plan of it). The statement `_read_bookings` sends, its values bound."""
    shape = _bookings_shape(bookings, with_expired, exclude_appointment_id is not None, exclude_hold_id is not None,
                            with_setup_version)
    return shape.params(_bookings_values(ids, window, now, exclude_appointment_id, exclude_hold_id, with_expired))


def _bookings_select(ids, start, end, bound, now, exclude_appointment_id, exclude_hold_id, bookings: bool,
                     with_expired: bool, with_setup_version: bool = False):
    b = BusyTime.__table__.c
    filters = [b.busy_start < end]
    if not with_expired:
        filters.append(or_(b.expires_at.is_(None), b.expires_at > now))
    if exclude_appointment_id is not None:
        filters.append(or_(b.appointment_id.is_(None), b.appointment_id != exclude_appointment_id))
    if exclude_hold_id is not None:
        filters.append(or_(b.hold_id.is_(None), b.hold_id != exclude_hold_id))
    columns = [b.resource_id, epoch_seconds(b.busy_start), epoch_seconds_up(b.busy_end)]
    if bookings:
        columns += [b.appointment_id, b.hold_id, b.appointment_type_id, epoch_seconds(b.booked_start), b.seats]
    if with_expired:
        columns.append(b.expires_at)
    # A writer's first read under its locks: one more row, with no resource, carrying the
    # clinic's setup version as this statement sees it (locking.py).
    setup_row = select(null(), Clinic.setup_version, *[null()] * (len(columns) - 2)).where(Clinic.id == 1)
    return union_all(
        select(*columns).where(b.resource_id.in_(ids), b.busy_end > start, b.busy_end < bound, *filters),
        select(*columns).where(b.resource_id.in_(ids), b.long_span.is_(True), b.busy_end >= bound, *filters),
        *([setup_row] if with_setup_version else []),
    )


@functools.cache
def _bookings_shape(bookings: bool, with_expired: bool, exclude_appointment: bool, exclude_hold: bool,
                    with_setup_version: bool):
    """`bookings_statement` with its values left as parameters, built once per shape: building
    it costs more than a desk's whole look at one slot otherwise."""
    return _bookings_select(
        bindparam("ids", expanding=True), bindparam("start"), bindparam("end"), bindparam("bound"),
        None if with_expired else bindparam("now"), bindparam("appointment") if exclude_appointment else None,
        bindparam("hold") if exclude_hold else None, bookings, with_expired, with_setup_version,
    )


def _bookings_values(ids, window: Interval, now: datetime, exclude_appointment_id: str | None,
                     exclude_hold_id: str | None, with_expired: bool) -> dict:
    values = {"ids": list(ids), "start": window.start, "end": window.end, "bound": window.end + LONG_SPAN}
    if not with_expired:
        values["now"] = now
    if exclude_appointment_id is not None:
        values["appointment"] = exclude_appointment_id
    if exclude_hold_id is not None:
        values["hold"] = exclude_hold_id
    return values


def _read_bookings(session: Session, ids, window, now, exclude_appointment_id, exclude_hold_id, busy, bookings,
                   clear_expired: bool = False) -> None:
    """Add the padded spans of active appointments and holds from `busy_times` alone (its
    covering index); an expired hold's rows are skipped until a booking clears them.

    With `clear_expired` (a booking about to insert its rows) expired holds' rows are read
    too, and only if some lie in the window are they deleted (the database's check would
    refuse the insert over them): one statement fewer when there are none. The first such read
    after `lock_resources(..., setup_read_with_busy_time=True)` brings the setup's version
    and checks it."""
    check_setup = clear_expired and bool(session.info.get(SETUP_CHECK_DUE))
    shape = _bookings_shape(bookings, clear_expired, exclude_appointment_id is not None, exclude_hold_id is not None,
                            check_setup)
    connection = session.connection()
    rows: Any = connection.execute(shape, _bookings_values(ids, window, now, exclude_appointment_id,
                                                           exclude_hold_id, clear_expired))
    if clear_expired:
        b = BusyTime.__table__.c
        rows_left, expired = [], False
        for row in rows:
            if row[0] is None:  # the setup row
                setup_version_is(session, row[1])
            elif row[-1] is not None and row[-1] <= now:
                expired = True
            else:
                rows_left.append(row[:-1])
        if expired:
            connection.execute(delete(BusyTime.__table__).where(
                b.resource_id.in_(ids), b.expires_at.is_not(None), b.expires_at <= now))
        rows = _Rows(rows_left)
    for chunk in rows.partitions(1000):  # a month's rows in chunks: less memory touched
        if bookings:
            for rid, low, high, appointment_id, hold_id, type_id, at, seats in chunk:
                if appointment_id is not None:
                    busy[rid].append(BusySpan(low, high, APPOINTMENT, type_id, at, appointment_id, seats))
                else:
                    busy[rid].append(BusySpan(low, high, HOLD, type_id, at, hold_id, seats))
        else:
            make = tuple.__new__  # BusySpan(low, high, source) without the Python-level __new__
            for rid, low, high in chunk:
                busy[rid].append(make(BusySpan, (low, high, APPOINTMENT, None, None, None, 1)))


class _Rows(list):
    """Rows already fetched, handed out in chunks like a result's `partitions`."""

    def partitions(self, size: int):
        for start in range(0, len(self), size):
            yield self[start:start + size]


@dataclass(frozen=True)
class _Read:
    """One read of busy time in this transaction, kept until busy time is written."""

    ids: frozenset[str]
    window: Interval
    now: datetime
    exclude_appointment_id: str | None
    exclude_hold_id: str | None
    bookings: bool
    blocks: bool  # False: the bookings' rows only (a writer's first look under its locks)
    busy: dict[str, list[BusySpan]]

    def serves(self, ids: list[str], window: Interval, now: datetime, exclude_appointment_id: str | None,
               exclude_hold_id: str | None, bookings: bool) -> bool:
        return (
            self.ids.issuperset(ids) and self.window.start <= window.start and window.end <= self.window.end
            and self.now == now and self.exclude_appointment_id == exclude_appointment_id
            and self.exclude_hold_id in (None, exclude_hold_id) and (self.bookings or not bookings)
            # A hold's own rows are left out by their id, which only a read with bookings has:
            # the hold's check of its slot (no hold excluded, with bookings) serves the booking
            # rule's read that excludes the new hold's id (its rows are not written yet).
            and (exclude_hold_id in (None, self.exclude_hold_id) or self.bookings)
        )


def forget_busy_reads(session: Session) -> None:
    """Busy time was written in this transaction: what was read of it no longer holds."""
    session.info.pop("busy_read", None)


def busy_spans(
    session: Session,
    resource_ids: Iterable[str],
    window: Interval,
    now: datetime,
    exclude_appointment_id: str | None = None,
    exclude_hold_id: str | None = None,
    bookings: bool = True,
    clear_expired: bool = False,
    blocks: bool = True,
) -> dict[str, list[BusySpan]]:
    """busy_time in whole epoch seconds, unsorted: what the availability engine reads.

    Without `bookings` an appointment's or hold's span leaves out its id, type and own
    start (only a group type or BALANCED needs them), which makes a month's read cheaper.
    With `clear_expired` (a booking about to write, holding its locks) expired holds' rows
    in the window are deleted. A read that an earlier one of this transaction covers (the
    hold's check of the slot, then the booking rule) is served from it, until busy time is
    written (`forget_busy_reads`). Without `blocks` only the bookings' rows are read (a
    writer's quick look, before its locks or first under them); a read with blocks after one
    under the locks reads only the blocks.
    """
    ids = sorted(set(resource_ids))
    busy: dict[str, list[BusySpan]] = {rid: [] for rid in ids}
    if not ids:
        return busy
    earlier: _Read | None = session.info.get("busy_read")
    if earlier is not None and earlier.serves(ids, window, now, exclude_appointment_id, exclude_hold_id, bookings):
        booked = {rid: [span for span in earlier.busy[rid]
                        if exclude_hold_id is None or span.source != HOLD or span.ref_id != exclude_hold_id]
                  for rid in ids}
        if earlier.blocks or not blocks:
            return booked
        # A writer looked at the bookings first under its locks (services/holds.py): now the
        # blocks, once.
    else:
        booked = {rid: [] for rid in ids}
        # Core rows straight from the connection: no ORM loading for thousands of tuples.
        _read_bookings(session, ids, window, now, exclude_appointment_id, exclude_hold_id, booked, bookings,
                       clear_expired)
    busy = _read_blocks(session, ids, window) if blocks else {rid: [] for rid in ids}
    for rid in ids:
        busy[rid].extend(booked[rid])
    if clear_expired:  # only a booking's reads are asked again in its transaction
        session.info["busy_read"] = _Read(frozenset(ids), window, now, exclude_appointment_id, exclude_hold_id,
                                          bookings, blocks, {rid: list(spans) for rid, spans in busy.items()})
    return busy


def _read_blocks(session: Session, ids: list[str], window: Interval) -> dict[str, list[BusySpan]]:
    """The spans of blocks and imported calendars touching `window`, by resource."""
    busy: dict[str, list[BusySpan]] = {rid: [] for rid in ids}
    rows = session.execute(blocks_statement(ids, window)).all()
    blocks = [row for row in rows if row.id is not None]
    for row in rows:
        if row.id is None:
            low = row.start_local.replace(tzinfo=UTC_ZONE).timestamp()
            high = row.end_local.replace(tzinfo=UTC_ZONE).timestamp()
            busy[row.resource_id].append(BusySpan(int(low // 1), -int(-high // 1), EXTERNAL, ref_id=row.rrule))
    if blocks:
        zones = resource_zones(session, {row.resource_id for row in blocks})
        # Many resources share a block's rule (the same lunch for a whole team): expand once.
        expanded: dict[tuple, list[tuple[int, int]]] = {}
        for row in blocks:
            key = (row.start_local, row.end_local, row.rrule, zones[row.resource_id])
            pairs = expanded.get(key)
            if pairs is None:
                pairs = expanded[key] = [
                    (int(o.start.timestamp()), int(o.end.timestamp())) for o in expand_block(*key, window)
                ]
            ref = str(row.id)
            busy[row.resource_id].extend(BusySpan(start, end, BLOCK, ref_id=ref) for start, end in pairs)
    return busy


def busy_time(
    session: Session,
    resource_ids: Iterable[str],
    window: Interval,
    now: datetime,
    exclude_appointment_id: str | None = None,
    exclude_hold_id: str | None = None,
) -> dict[str, list[Busy]]:
    """Busy time overlapping `window` of each resource: blocks, imported calendars, active
    appointments and active holds (padded by their own type), each list sorted by interval.

    `exclude_appointment_id` leaves out an appointment being moved; `exclude_hold_id` a
    hold being confirmed.
    """
    spans = busy_spans(session, resource_ids, window, now, exclude_appointment_id, exclude_hold_id)
    return {rid: [span.busy() for span in sorted(items)] for rid, items in spans.items()}


class BusyIndex:
    """Busy spans read once over a long range (a series' year), handed out near one time at a
    time: each occurrence is then checked against a few spans, not the whole year's."""

    def __init__(self, busy: dict[str, list[BusySpan]]):
        self._spans = {rid: sorted(spans, key=_start) for rid, spans in busy.items()}
        self._starts = {rid: [s.start for s in spans] for rid, spans in self._spans.items()}
        self._longest = {rid: max((s.end - s.start for s in spans), default=0) for rid, spans in self._spans.items()}

    def around(self, low: int, high: int) -> dict[str, list[BusySpan]]:
        """Every resource's spans overlapping [low, high) (epoch seconds)."""
        out = {}
        for rid, spans in self._spans.items():
            starts = self._starts[rid]
            first, last = bisect_left(starts, low - self._longest[rid]), bisect_left(starts, high)
            out[rid] = [s for s in spans[first:last] if s.end > low]
        return out


def _start(span: BusySpan) -> int:
    return span.start
