"""The waitlist (booking.md "Waitlist"): patients waiting for a slot that fits their wishes.

An entry is added, listed, read and removed here, each in one transaction. Its offers are
asked of the availability engine (`query_availability`) when wanted, never stored: the
waiting entries of one appointment type share its questions, a span of days at a time from
now on, until each has its earliest fitting slots or its horizon is reached. Booking the patient
into a fitting slot ends the entry (`settle_waitlist`, called by the confirm path).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.domain import waitlist as rules
from frontdesk.domain.errors import INVALID_STATE_TRANSITION, FrontdeskError, not_found, validation
from frontdesk.domain.text import check_text
from frontdesk.services import setup
from frontdesk.services.availability import query_availability
from frontdesk.services.busy import clinician_zone_names
from frontdesk.services.context import Context
from frontdesk.services.objects import AvailabilityQuery, Page, Slot
from frontdesk.services.records import new_id
from frontdesk.store.models import Appointment, AppointmentType, Location, Patient, Resource, WaitlistEntry

WAITING, BOOKED, REMOVED = "waiting", "booked", "removed"
HORIZON = timedelta(weeks=8)  # how far ahead offers are looked for when no latest date bounds it
FIRST_STEP = timedelta(days=2)  # the first question to the engine; most entries are served by it
MAX_STEP = timedelta(days=31)  # availability's longest range
DEFAULT_OFFERS = 3


@dataclass(frozen=True)
class WaitlistRequest:
    patient_id: str
    appointment_type_id: str
    clinician_id: str | None = None
    location_id: str | None = None
    remote: bool | None = None
    earliest: str | None = None  # YYYY-MM-DD
    latest: str | None = None
    days: str | list[int] | None = None  # "mon,tue" or weekday numbers (0 = Monday)
    times: str | None = None  # "HH:MM-HH:MM"
    note: str | None = None


@dataclass(frozen=True)
class WaitlistEntryView:
    id: str
    status: str  # waiting, booked, removed
    patient_id: str
    patient_name: str
    appointment_type_id: str
    clinician_id: str | None
    location_id: str | None
    remote: bool | None
    earliest: date | None
    latest: date | None
    days: list[str] | None  # mon..sun
    times: str | None  # HH:MM-HH:MM
    note: str | None
    created_at: datetime
    created_by: str | None
    waited_minutes: int  # since it was added (until it ended)
    waited: str  # the same, for a person: "2d 4h"
    ended_at: datetime | None
    appointment_id: str | None


@dataclass(frozen=True)
class WaitlistOffers:
    entry: WaitlistEntryView
    offers: list[Slot] = field(default_factory=list)  # the earliest fitting free slots, soonest first


# --- views -----------------------------------------------------------------------------------


def _view(entry: WaitlistEntry, patient: Patient, now: datetime) -> WaitlistEntryView:
    until = entry.ended_at or now
    waited = max(0, int((until - entry.created_at) // timedelta(minutes=1)))
    return WaitlistEntryView(
        id=entry.id,
        status=entry.status,
        patient_id=entry.patient_id,
        patient_name=f"{patient.first_name} {patient.last_name}",
        appointment_type_id=entry.appointment_type_id,
        clinician_id=entry.clinician_id,
        location_id=entry.location_id,
        remote=entry.remote,
        earliest=entry.earliest,
        latest=entry.latest,
        days=[rules.DAY_NAMES[d] for d in entry.weekdays] if entry.weekdays is not None else None,
        times=f"{entry.time_from}-{entry.time_to}" if entry.time_from and entry.time_to else None,
        note=entry.note,
        created_at=entry.created_at,
        created_by=entry.created_by,
        waited_minutes=waited,
        waited=rules.waited_words(waited),
        ended_at=entry.ended_at,
        appointment_id=entry.appointment_id,
    )


def _wishes(entry: WaitlistEntry) -> rules.Wishes:
    return rules.Wishes(
        clinician_id=entry.clinician_id,
        location_id=entry.location_id,
        remote=entry.remote,
        earliest=entry.earliest,
        latest=entry.latest,
        weekdays=frozenset(entry.weekdays) if entry.weekdays is not None else None,
        time_from=_minutes(entry.time_from),
        time_to=_minutes(entry.time_to),
    )


def _minutes(hhmm: str | None) -> int | None:
    return None if hhmm is None else int(hhmm[:2]) * 60 + int(hhmm[3:])


def _ordered():
    """First come, first offered."""
    return select(WaitlistEntry, Patient).order_by(WaitlistEntry.created_at, WaitlistEntry.id)


# --- add, list, get, remove ------------------------------------------------------------------


def add_entry(ctx: Context, req: WaitlistRequest) -> WaitlistEntryView:
    """A patient joins the waitlist. Every wish is checked before anything is written."""
    earliest = rules.parse_day(req.earliest, "earliest")
    latest = rules.parse_day(req.latest, "latest")
    rules.check_window(earliest, latest)
    weekdays = rules.parse_days(req.days) if isinstance(req.days, str) else rules.check_weekdays(req.days)
    times = rules.parse_times(req.times)
    note = check_text(req.note, "note", max_len=2000, multiline=True)
    if req.remote is True and req.location_id is not None:
        raise validation("A remote wish names no location", field="location", location=req.location_id)
    with ctx.db.session() as session:
        now = ctx.clock.now()
        patient = session.get(Patient, req.patient_id)
        if patient is None:
            raise not_found("patient", req.patient_id)
        if session.get(AppointmentType, req.appointment_type_id) is None:
            raise not_found("appointment type", req.appointment_type_id)
        if req.clinician_id is not None:
            clinician = session.get(Resource, req.clinician_id)
            if clinician is None or clinician.kind != "clinician":
                raise not_found("clinician", req.clinician_id)
        if req.location_id is not None and session.get(Location, req.location_id) is None:
            raise not_found("location", req.location_id)
        entry = WaitlistEntry(
            id=new_id("wl_"),
            patient_id=patient.id,
            appointment_type_id=req.appointment_type_id,
            clinician_id=req.clinician_id,
            location_id=req.location_id,
            remote=req.remote,
            earliest=earliest,
            latest=latest,
            weekdays=weekdays,
            time_from=times[0] if times else None,
            time_to=times[1] if times else None,
            note=note,
            status=WAITING,
            created_at=now,
            created_by=ctx.operator,
        )
        session.add(entry)
        session.flush()
        return _view(entry, patient, now)


def list_entries(ctx: Context, *, status: str | None = WAITING, patient_id: str | None = None,
                 limit: int = 100, offset: int = 0) -> Page[WaitlistEntryView]:
    """Entries first come first (the waiting ones unless another status is asked for)."""
    if status is not None and status not in (WAITING, BOOKED, REMOVED):
        raise validation("status must be waiting, booked or removed", field="status", value=status)
    if limit < 1 or offset < 0:
        raise validation("limit must be 1 or more and offset 0 or more", limit=limit, offset=offset)
    with ctx.db.session(write=False) as session:
        now = ctx.clock.now()
        query = _ordered().join(Patient, Patient.id == WaitlistEntry.patient_id)
        if status is not None:
            query = query.where(WaitlistEntry.status == status)
        if patient_id is not None:
            query = query.where(WaitlistEntry.patient_id == patient_id)
        rows = session.execute(query.limit(limit + 1).offset(offset)).all()
        has_more = len(rows) > limit
        return Page([_view(e, p, now) for e, p in rows[:limit]], limit, offset,
                    offset + limit if has_more else None, has_more)


def get_entry(ctx: Context, entry_id: str) -> WaitlistEntryView:
    with ctx.db.session(write=False) as session:
        entry, patient = _load(session, entry_id)
        return _view(entry, patient, ctx.clock.now())


def _load(session: Session, entry_id: str) -> tuple[WaitlistEntry, Patient]:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise not_found("waitlist entry", entry_id)
    patient = session.get(Patient, entry.patient_id)
    assert patient is not None  # a foreign key
    return entry, patient


def remove_entry(ctx: Context, entry_id: str) -> WaitlistEntryView:
    """The patient no longer waits: the entry ends (kept, as `removed`)."""
    with ctx.db.session() as session:
        entry, patient = _load(session, entry_id)
        if entry.status != WAITING:
            raise FrontdeskError(INVALID_STATE_TRANSITION, f"This waitlist entry is already {entry.status}",
                                 {"id": entry.id, "status": entry.status})
        now = ctx.clock.now()
        entry.status, entry.ended_at = REMOVED, now
        session.flush()
        return _view(entry, patient, now)


# --- booking ends an entry -------------------------------------------------------------------


def settle_waitlist(session: Session, now: datetime, appointment: Appointment, patient_id: str | None = None) -> list[str]:
    """The patient (`patient_id`, else the appointment's own; a class's attendee) was booked
    into `appointment`: their waiting entries of its type whose wishes it fits end as
    `booked`. Runs in the booking's transaction; returns their ids."""
    patient_id = patient_id or appointment.patient_id
    if patient_id is None or appointment.appointment_type_id is None:
        return []
    entries = session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.status == WAITING,
            WaitlistEntry.patient_id == patient_id,
            WaitlistEntry.appointment_type_id == appointment.appointment_type_id,
        )
    ).all()
    if not entries:
        return []
    zones = _Zones(session)
    tz = zones.of(appointment.location_id, appointment.clinician_profile_id, appointment.is_remote)
    ended = []
    for entry in entries:
        if rules.fits(_wishes(entry), clinician_id=appointment.clinician_profile_id,
                      location_id=appointment.location_id, is_remote=appointment.is_remote,
                      local_start=appointment.start_time.astimezone(tz),
                      local_end=appointment.end_time.astimezone(tz)):
            entry.status, entry.ended_at, entry.appointment_id = BOOKED, now, appointment.id
            ended.append(entry.id)
    return ended


class _Zones:
    """The wall clock an entry's times of day are read in: the slot's location's, and for a
    remote slot its clinician's (UTC when nothing says)."""

    def __init__(self, session: Session):
        self.locations = {lid: ZoneInfo(loc.timezone) for lid, loc in setup.locations(session).items()}
        self.clinicians = {cid: ZoneInfo(name or "UTC") for cid, name in clinician_zone_names(session).items()}

    def of(self, location_id: str | None, clinician_id: str | None, is_remote: bool) -> ZoneInfo:
        if not is_remote and location_id in self.locations:
            return self.locations[location_id]
        return self.clinicians.get(clinician_id or "", ZoneInfo("UTC"))


# --- offers ----------------------------------------------------------------------------------


@dataclass
class _Search:
    """One entry's search: its wishes, the instants searched, the slots found."""

    entry: WaitlistEntry
    view: WaitlistEntryView
    wishes: rules.Wishes
    start: datetime
    end: datetime
    found: list[Slot] = field(default_factory=list)


def waitlist_offers(ctx: Context, entry_id: str | None = None, limit: int = DEFAULT_OFFERS) -> list[WaitlistOffers]:
    """Each waiting entry (first come first) with its earliest fitting free slots from now on,
    as the availability engine answers at this moment; or only `entry_id`'s. An entry not
    naming a clinician is offered pooled slots (`round_robin` NONE): one per start and place,
    `resource_ids` the clinicians free then."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
        raise validation("limit must be a whole number from 1 to 50", field="limit", value=limit)
    with ctx.db.session(write=False) as session:
        now = ctx.clock.now()
        query = _ordered().join(Patient, Patient.id == WaitlistEntry.patient_id)
        if entry_id is not None:
            entry, _patient = _load(session, entry_id)
            if entry.status != WAITING:
                raise FrontdeskError(INVALID_STATE_TRANSITION, f"This waitlist entry is {entry.status}: it has no offers",
                                     {"id": entry.id, "status": entry.status})
            query = query.where(WaitlistEntry.id == entry_id)
        rows = session.execute(query.where(WaitlistEntry.status == WAITING)).all()
        zones = _Zones(session)
    searches = [_search(entry, _view(entry, patient, now), now, zones) for entry, patient in rows]
    by_type: dict[str, list[_Search]] = defaultdict(list)
    for search in searches:
        if search.start <= search.end:
            by_type[search.entry.appointment_type_id].append(search)
    for type_id, group in by_type.items():
        _search_type(ctx, type_id, group, limit, zones)
    return [WaitlistOffers(s.view, s.found) for s in searches]


def _search(entry: WaitlistEntry, view: WaitlistEntryView, now: datetime, zones: _Zones) -> _Search:
    """From now (or the entry's earliest date) to its latest date, at most HORIZON ahead.
    The dates are widened by a day each side (zones); `fits` reads them exactly."""
    start = now
    if entry.earliest is not None:
        start = max(start, datetime.combine(entry.earliest - timedelta(days=1), time(0), UTC))
    end = start + HORIZON
    if entry.latest is not None:
        end = min(end, datetime.combine(entry.latest + timedelta(days=2), time(0), UTC))
    return _Search(entry, view, _wishes(entry), start, end)


def _search_type(ctx: Context, type_id: str, group: list[_Search], limit: int, zones: _Zones) -> None:
    """Ask the engine for the type's free slots, a span at a time from the earliest search on
    (2 days, then twice as long each time, at most 31), until each entry has `limit` slots or
    its search ends. Two questions a span serve every entry of the type: the entries naming a
    clinician read those clinicians' slots; the others read the pooled answer (`NONE`: one
    slot per start and place, with every clinician free then), which is the same free time."""
    pending = list(group)
    cursor = min(s.start for s in pending)
    step = FIRST_STEP
    while pending:
        cursor = max(cursor, min(s.start for s in pending))
        step_end = min(cursor + step, max(s.end for s in pending))
        named = sorted({s.wishes.clinician_id for s in pending if s.wishes.clinician_id})
        anyone = any(s.wishes.clinician_id is None for s in pending)

        def ask(**narrowing) -> list[Slot]:
            return query_availability(ctx, AvailabilityQuery(  # noqa: B023 - used at once
                appointment_type_id=type_id, start_date=cursor.isoformat(),
                end_date=(step_end - timedelta(seconds=1)).isoformat(),
                **narrowing)).slots

        span = _Span(ask(resource_ids=tuple(named)) if named else [], ask(round_robin="NONE") if anyone else [], zones)
        for search in pending:
            if search.start < step_end and search.end > cursor:
                span.collect(search, limit)
        pending = [s for s in pending if len(s.found) < limit and s.end > step_end]
        cursor = step_end
        step = min(step * 2, MAX_STEP)


class _Span:
    """The engine's answers for one span, read for the entries: each named clinician's own
    slots, and the pooled slots (by start and place) for the entries naming none, each with
    its wall-clock times worked out once for all the entries."""

    def __init__(self, named: list[Slot], pooled: list[Slot], zones: _Zones):
        local: dict[tuple, tuple[datetime, datetime]] = {}  # many slots share a start

        def with_times(slot: Slot) -> tuple[Slot, datetime, datetime]:
            # A pooled remote slot is read on its first clinician's clock.
            tz = zones.of(slot.location_id, slot.clinician_id or slot.resource_ids[0], slot.is_remote)
            key = (tz, slot.start_time, slot.end_time)
            times = local.get(key)
            if times is None:
                times = local[key] = (slot.start_time.astimezone(tz), slot.end_time.astimezone(tz))
            return slot, *times

        self.pooled = [with_times(slot) for slot in pooled]
        self.by_clinician: dict[str | None, list[tuple[Slot, datetime, datetime]]] = defaultdict(list)
        for slot in named:
            self.by_clinician[slot.clinician_id].append(with_times(slot))

    def collect(self, search: _Search, limit: int) -> None:
        wishes = search.wishes
        candidates = self.by_clinician.get(wishes.clinician_id, []) if wishes.clinician_id else self.pooled
        fits, start, end = rules.fits, search.start, search.end
        for slot, local_start, local_end in candidates:
            if slot.start_time < start or slot.start_time >= end:
                continue
            if fits(wishes, clinician_id=slot.clinician_id, location_id=slot.location_id,
                    is_remote=slot.is_remote, local_start=local_start, local_end=local_end):
                search.found.append(slot)
                if len(search.found) >= limit:
                    return


def offers_count(ctx: Context) -> int:
    """How many waiting entries have at least one offer now (the desks' header)."""
    return sum(1 for item in waitlist_offers(ctx, limit=1) if item.offers)


def waitlist_token(ctx: Context) -> str:
    """Changes when an entry is added or ends, or a hold runs out by the clock (its time is
    free again though nothing was written): with the change token, when the desks' offers
    count is worth working out again. Reads of counts only."""
    from sqlalchemy import func

    from frontdesk.store.models import Hold

    with ctx.db.session(write=False) as session:
        now = ctx.clock.now()
        waiting = session.execute(select(func.count(WaitlistEntry.id)).where(WaitlistEntry.status == WAITING)).scalar()
        ended = session.execute(select(func.count(WaitlistEntry.id)).where(WaitlistEntry.status != WAITING)).scalar()
        lapsed = session.execute(
            select(func.count(Hold.id)).where(Hold.status == "active", Hold.expires_at <= now)).scalar()
        return f"{waiting}:{ended}:{lapsed}"
