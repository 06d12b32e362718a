"""A clinician's own calendars (iCalendar files) read in as busy time: the availability
guide's `syncExternal` (shared/spec/interop.md, "iCalendar in").

`icalendar` parses the file and `recurring-ical-events` expands it (RRULE, RDATE, EXDATE,
RECURRENCE-ID); nothing of RFC 5545 is read by hand. Each occurrence that takes time in
the horizon (a day before now to a year ahead) becomes a row of `external_busy`, in UTC,
with nothing of the event but its time. Availability and the booking rule read those rows
as busy time of the clinician, like a block (services/busy.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events  # type: ignore[import-untyped]
from sqlalchemy import CursorResult, delete, insert, select
from sqlalchemy.orm import Session

from frontdesk.domain.busy import LONG_SPAN
from frontdesk.domain.errors import FrontdeskError, not_found, validation
from frontdesk.domain.text import refusal
from frontdesk.domain.timeutil import local_to_utc, zone
from frontdesk.services.busy import clinician_zone_names
from frontdesk.services.context import Context
from frontdesk.services.locking import lock_resources
from frontdesk.services.objects import CalendarImport, ExternalBusyView
from frontdesk.store.models import ExternalBusy, Location, Resource, ScheduleRule

# The occurrences kept: a day back (today's earlier events still block today) to a year
# ahead (the longest availability range). A calendar imported again moves it along.
HORIZON_BEFORE = timedelta(days=1)
HORIZON_AHEAD = timedelta(days=366)
MAX_BYTES = 20_000_000  # a busy person's whole calendar history is a few megabytes
MAX_SOURCE = 100  # the column's length


@dataclass(frozen=True)
class _Parsed:
    name: str  # the file, as errors name it
    calendar: icalendar.Calendar


def import_calendar(
    ctx: Context, clinician_id: str, path_or_text: str | Path, source: str | None = None
) -> CalendarImport:
    """Make the events of a calendar busy time of the clinician, replacing what the same
    `source` (default: the file's name) brought before. `path_or_text` is a file's path, or
    the calendar's text itself (a string beginning with BEGIN:VCALENDAR).

    VALIDATION_ERROR naming the file when it is not iCalendar (nothing changes); NOT_FOUND
    for an unknown clinician."""
    parsed = _parse(path_or_text)
    if source is None:
        source = Path(parsed.name).name if parsed.name != "<text>" else "calendar"
    _check_source(source)
    # Parsed and expanded before the write transaction: a large calendar takes a second or
    # two, and the other desks should not wait for it.
    with ctx.db.session(write=False) as session:
        tz = _clinician_zone(session, clinician_id)
    expanded = _expand(parsed, tz, ctx.clock.now())
    with ctx.db.session() as session:
        lock_resources(session, [clinician_id])  # a hold being taken sees it before or after, whole
        if session.get(Resource, clinician_id) is None:
            raise not_found("clinician", clinician_id)
        return _write(session, clinician_id, source, parsed, expanded, ctx.clock.now())


def sync_external(ctx: Context, clinician_ids: Iterable[str] | None = None) -> list[CalendarImport]:
    """Import again every calendar the clinic file lists for these clinicians (all of them
    when None), written in one transaction: a file missing or not iCalendar is
    VALIDATION_ERROR naming it, and then nothing changes."""
    with ctx.db.session(write=False) as session:
        query = select(Resource.id, Resource.external_calendars).where(Resource.kind == "clinician")
        if clinician_ids is not None:
            query = query.where(Resource.id.in_(sorted(set(clinician_ids))))
        listed = [(cid, calendars) for cid, calendars in session.execute(query.order_by(Resource.id)) if calendars]
        zones = {cid: _clinician_zone(session, cid) for cid, _ in listed}
    now = ctx.clock.now()
    work = []
    for cid, calendars in listed:
        for entry in calendars:
            parsed = _parse(Path(entry["file"]))
            work.append((cid, entry.get("source") or Path(entry["file"]).name, parsed, _expand(parsed, zones[cid], now)))
    if not work:
        return []
    with ctx.db.session() as session:
        lock_resources(session, list(zones))
        now = ctx.clock.now()
        return [_write(session, cid, source, parsed, expanded, now) for cid, source, parsed, expanded in work]


def external_busy_of_day(
    ctx: Context, *, location_id: str, day: date, clinician_id: str | None = None
) -> list[ExternalBusyView]:
    """The imported busy time overlapping a local day at a location, of the clinicians who
    work there (or of one clinician), cut to the day, by start: what the day list shows as
    "external"."""
    with ctx.db.session(write=False) as session:
        location = session.get(Location, location_id)
        if location is None:
            raise not_found("location", location_id)
        tz = zone(location.timezone)
        day_start, day_end = local_to_utc(day, 0, tz), local_to_utc(day + timedelta(days=1), 0, tz)
        works_here = select(ScheduleRule.clinician_id).where(ScheduleRule.location_id == location_id)
        query = (
            select(ExternalBusy.clinician_id, Resource.name, ExternalBusy.source, ExternalBusy.busy_start,
                   ExternalBusy.busy_end)
            .join(Resource, Resource.id == ExternalBusy.clinician_id)
            .where(ExternalBusy.clinician_id.in_(works_here), ExternalBusy.busy_end > day_start,
                   ExternalBusy.busy_start < day_end)
            .order_by(ExternalBusy.busy_start, Resource.name, ExternalBusy.busy_end)
        )
        if clinician_id:
            query = query.where(ExternalBusy.clinician_id == clinician_id)
        periods: list[list] = []  # [clinician, name, source, start, end]
        last: dict[tuple[str, str], list] = {}
        for cid, name, source, start, end in session.execute(query):
            start, end = max(start, day_start), min(end, day_end)
            joined = last.get((cid, source))
            if joined is not None and joined[4] == start:  # the next piece of a long period
                joined[4] = end
            else:
                last[cid, source] = row = [cid, name, source, start, end]
                periods.append(row)
        # Two calendars holding the same meeting (or holiday): one row, once joined whole.
        seen: set[tuple] = set()
        out = []
        for cid, name, source, start, end in sorted(periods, key=lambda p: (p[3], p[1], p[4])):
            if (cid, start, end) not in seen:
                seen.add((cid, start, end))
                out.append(ExternalBusyView(cid, name, source, start, end, (start, end) == (day_start, day_end)))
        return out


# --- reading --------------------------------------------------------------------------------


def _parse(path_or_text: str | Path) -> _Parsed:
    """The calendar, or VALIDATION_ERROR naming the file."""
    if isinstance(path_or_text, str) and path_or_text.lstrip().upper().startswith("BEGIN:"):
        name, raw = "<text>", path_or_text.encode()
    else:
        path = Path(path_or_text)
        name = str(path)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise validation(f"{name}: is larger than {MAX_BYTES // 1_000_000} MB", file=name)
            raw = path.read_bytes()
        except OSError as exc:
            raise validation(f"{name}: cannot be read ({exc.strerror or exc})", file=name) from None
    try:
        calendar = icalendar.Calendar.from_ical(raw)
    except Exception as exc:  # the library's words for a broken file: ValueError, KeyError, ...
        raise _not_icalendar(name, exc) from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise validation(f"{name}: is not an iCalendar file (no VCALENDAR)", file=name)
    return _Parsed(name, calendar)


def _not_icalendar(name: str, exc: Exception) -> FrontdeskError:
    # The library's words may quote the file: shortened, and nothing a terminal would obey.
    detail = str(exc).splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
    detail = "".join(ch if ch.isprintable() else "?" for ch in detail)
    return validation(f"{name}: is not a valid iCalendar file ({detail})", file=name)


def _check_source(source: str) -> None:
    problem = refusal(source) or ("is empty" if not source.strip() else None)
    if problem is None and len(source) > MAX_SOURCE:
        problem = f"is longer than {MAX_SOURCE} characters"
    if problem:
        raise validation(f"source {problem}", field="source")


def _clinician_zone(session: Session, clinician_id: str) -> ZoneInfo:
    zones = clinician_zone_names(session, [clinician_id])
    if clinician_id not in zones:
        raise not_found("clinician", clinician_id)
    return ZoneInfo(zones[clinician_id] or "UTC")


# --- expanding and writing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Expanded:
    periods: list[tuple[datetime, datetime]]  # UTC, sorted
    skipped: int
    low: datetime  # the horizon
    high: datetime


def _expand(parsed: _Parsed, tz: ZoneInfo, now: datetime) -> _Expanded:
    now = now.replace(microsecond=0)
    low, high = now - HORIZON_BEFORE, now + HORIZON_AHEAD
    periods, skipped = _busy_periods(parsed, tz, low, high)
    return _Expanded(periods, skipped, low, high)


def _write(session: Session, clinician_id: str, source: str, parsed: _Parsed, expanded: _Expanded,
           now: datetime) -> CalendarImport:
    """The source's rows replaced by the expanded calendar's."""
    replaced = cast(CursorResult, session.execute(
        delete(ExternalBusy).where(ExternalBusy.clinician_id == clinician_id, ExternalBusy.source == source)
    )).rowcount
    if expanded.periods:
        session.execute(insert(ExternalBusy.__table__), [  # Core: no ORM bookkeeping per row
            {"clinician_id": clinician_id, "source": source, "busy_start": start, "busy_end": end, "imported_at": now}
            for period in expanded.periods for start, end in _pieces(*period)
        ])
    return CalendarImport(
        clinician_id=clinician_id, source=source, file=parsed.name,
        events=len(parsed.calendar.walk("VEVENT")), busy_periods=len(expanded.periods), skipped=expanded.skipped,
        replaced=replaced or 0, horizon_start=expanded.low, horizon_end=expanded.high,
    )


def _pieces(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """A period as rows of at most LONG_SPAN (a week's holiday is seven): a window's read of
    them is then bounded on both sides (services/busy.py), however far ahead they run."""
    pieces = []
    while end - start > LONG_SPAN:
        pieces.append((start, start + LONG_SPAN))
        start += LONG_SPAN
    return [*pieces, (start, end)]


def _busy_periods(parsed: _Parsed, tz: ZoneInfo, low: datetime, high: datetime) -> tuple[list[tuple[datetime, datetime]], int]:
    """The occurrences between low and high that take time, as UTC (start, end) sorted, and
    how many took none."""
    try:
        periods: set[tuple[datetime, datetime]] = set()
        skipped = 0
        for start, end, event in _occurrences(parsed.calendar, low, high):
            span = _takes_time(start, end, event, tz)
            if span is None:
                skipped += 1
            else:
                periods.add(span)
    except FrontdeskError:
        raise
    except Exception as exc:  # a rule or date the library cannot read: the file's fault
        raise _not_icalendar(parsed.name, exc) from None
    return sorted(periods), skipped


def _occurrences(calendar: icalendar.Calendar, low: datetime, high: datetime) -> list[tuple[Any, Any, icalendar.Event]]:
    """(start, end, the event it comes from) of every occurrence overlapping [low, high), as
    recurring-ical-events expands them. Each series' own `between` gives its occurrences'
    times without the copy of the whole event that `CalendarQuery.between` makes for each
    (five times slower on a 2,000-event calendar); should a later version hide the event an
    occurrence comes from, the copies are used."""
    query = recurring_ical_events.of(calendar, components=["VEVENT"])
    first, last = query.to_datetime(low), query.to_datetime(high)
    found = []
    for series in query.series:
        for occurrence in series.between(first, last):
            event = getattr(getattr(occurrence, "_adapter", None), "_component", None)
            if not isinstance(event, icalendar.Event):  # the slow, public way
                return [(e["DTSTART"].dt, _end(e), e) for e in query.between(first, last)]
            found.append((occurrence.start, occurrence.end, event))
    return found


def _end(event) -> date | datetime:
    start = event["DTSTART"].dt
    if "DTEND" in event:
        return event["DTEND"].dt
    if "DURATION" in event:
        return start + event["DURATION"].dt
    return start + timedelta(days=1) if not isinstance(start, datetime) else start  # RFC 5545


def _takes_time(start: date | datetime, end: date | datetime, event, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """An occurrence's busy time in UTC, or None: free (TRANSP:TRANSPARENT), cancelled, or of
    no length. An all-day event takes its whole local days in the clinician's zone, and a
    floating time is read in that zone too."""
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
        return None
    start, end = _utc(start, tz), _utc(end, tz)
    return (start, end) if end > start else None


def _utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # a whole day: from its local midnight
        return local_to_utc(value, 0, tz)
    if value.tzinfo is None:  # floating: the clinician's wall time
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)
