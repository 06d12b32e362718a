"""Availability: read the rows one question needs, ask the engine, name the slots.

The reads are bounded by the window and the clinicians asked about, never by the history:
hours and overrides of those clinicians (overrides only for the dates around the window),
and busy time through busy_time's indexed range reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnExpressionArgument, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from frontdesk.domain.availability import (
    BALANCED,
    COMBINED,
    ROUND_ROBIN_MODES,
    Channel,
    DayHours,
    Offer,
    SlotSearch,
    Timeline,
    WeeklyHours,
    find_slots,
)
from frontdesk.domain.busy import BusySpan
from frontdesk.domain.errors import (
    DATE_RANGE_TOO_LARGE,
    FrontdeskError,
    not_found,
    validation,
)
from frontdesk.domain.intervals import Interval
from frontdesk.domain.statuses import IN_PERSON, REMOTE
from frontdesk.domain.timeutil import (
    in_person_hours_zone,
    parse_date,
    parse_instant,
    zone,
)
from frontdesk.services import setup
from frontdesk.services.busy import BusyIndex, busy_spans, clinician_zone_names
from frontdesk.services.context import Context
from frontdesk.services.objects import AvailabilityQuery, AvailabilityResult, Slot
from frontdesk.services.setup import ResourceSetup, TypeSetup
from frontdesk.store.models import (
    Appointment,
    LocationHours,
    ScheduleOverride,
    ScheduleRule,
)

MAX_RANGE = timedelta(days=31)


# --- the question's edges --------------------------------------------------------------------


def _edge(text: str, tz: ZoneInfo, *, end: bool, name: str) -> datetime:
    """A date means 00:00:00 (start) or 23:59:59 (end) there in `tz`; else an ISO instant."""
    if not isinstance(text, str) or not text.strip():
        raise validation(f"{name} is required", field=name)
    text = text.strip()
    if len(text) == 10:
        day = parse_date(text)
        wall = time(23, 59, 59) if end else time(0, 0)
        return datetime.combine(day, wall).replace(tzinfo=tz, fold=0).astimezone(UTC)
    try:
        return parse_instant(text)
    except FrontdeskError as exc:
        raise validation(f"{name}: {exc.message}", field=name, value=text) from None


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _range(start_text: str, end_text: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = _edge(start_text, tz, end=False, name="start_date")
    end = _edge(end_text, tz, end=True, name="end_date")
    if end < start:
        raise validation("end_date is before start_date", start_date=start_text, end_date=end_text)
    # Counted in the zone's wall-clock time: 31 dates holding an autumn clock change last
    # 31 days and an hour, and are still 31 dates.
    if _wall(end, tz) - _wall(start, tz) > MAX_RANGE:
        raise FrontdeskError(
            DATE_RANGE_TOO_LARGE,
            "The date range is longer than 31 days; ask for a shorter range",
            {"start_date": start_text, "end_date": end_text, "max_days": 31},
        )
    return start, end


def _minutes(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1440:
        raise validation(f"{name} must be a whole number of minutes from 1 to 1440", field=name, value=value)
    return value


def _duration(appointment_type: TypeSetup, requested: int | None, moving: Appointment | None = None) -> int:
    """The slot length asked for, else the type's. A move keeps the appointment's own length
    when the type offers it (a 30-minute nurse visit moves as 30 minutes, not the type's 15)."""
    requested = _minutes(requested, "duration")
    offered = {appointment_type.duration_minutes, *(appointment_type.duration_options or [])}
    if requested is None and moving is not None:
        length = int((moving.end_time - moving.start_time) // timedelta(minutes=1))
        if length in offered:
            return length
    if requested is None:
        return appointment_type.duration_minutes
    if requested not in offered:
        allowed = sorted(offered)
        raise validation(
            f"A duration of {requested} minutes is not offered for {appointment_type.id}; choose one of {allowed}",
            duration=requested,
            allowed=allowed,
        )
    return requested


# --- reading the rows ------------------------------------------------------------------------


@dataclass
class _Ask:
    """One question to the engine, as the service understands it."""

    appointment_type: TypeSetup
    start: datetime
    end: datetime
    duration: int
    interval: int
    clinician_ids: Sequence[str]  # already narrowed
    location_ids: Sequence[str]  # in-person places, already narrowed
    remote: bool  # remote hours asked for
    rooms: dict[str, tuple[str, ...]]  # by location, sorted
    needs_room: bool = False  # in-person slots need one of `rooms`
    extra_busy_ids: Sequence[str] = ()  # COMBINED rooms
    round_robin: str | None = None
    combined_ids: tuple[str, ...] = ()
    seed: int | None = None
    tz: ZoneInfo | timezone = UTC  # of the slots' datetimes
    exclude_appointment_id: str | None = None  # an appointment being moved: its time is not busy
    exclude_hold_id: str | None = None  # a hold asked about growing into a series: its own time is not busy
    for_booking: bool = False  # a writer's check under its locks: expired holds cleared, the read kept for the rule
    bookings_only: bool = False  # a writer's look before its locks: only bookings' busy rows (no blocks)


def _moving(session: Session, appointment_id: str | None) -> Appointment | None:
    """The appointment being moved, if any (its own length is kept)."""
    return session.get(Appointment, appointment_id) if appointment_id else None


def _type(session: Session, type_id: str) -> TypeSetup:
    appointment_type = setup.appointment_type(session, type_id)
    if appointment_type is None:
        raise not_found("appointment type", type_id)
    return appointment_type


def _location_exists(session: Session, location_id: str) -> None:
    if location_id not in setup.locations(session):
        raise not_found("location", location_id)


def _modes(appointment_type: TypeSetup, location_id: str | None, is_remote: bool | None) -> tuple[bool, bool]:
    modes = set(appointment_type.modes or [IN_PERSON])
    in_person = IN_PERSON in modes and is_remote is not True
    remote = REMOTE in modes and is_remote is not False and location_id is None
    return in_person, remote


def _asked_channels(
    hours: type[ScheduleRule | ScheduleOverride], places: list[str], remote: bool
) -> ColumnElement[bool]:
    """Rows of the channels asked about: in person at these places, and remote if asked."""
    channels: list[ColumnExpressionArgument[bool]] = []
    if places:
        channels.append(hours.location_id.in_(places) & ~hours.remote)
    if remote:
        channels.append(hours.remote)
    return or_(*channels)


def _channels(session: Session, ask: _Ask) -> tuple[list[Channel], dict[str, ZoneInfo], dict[str, tuple]]:
    """The clinicians' hours channel by channel, the locations' zones and opening hours (the
    setup's, so read once per setup version for the same question)."""
    clinicians = tuple(ask.clinician_ids)
    places = tuple(ask.location_ids)
    if not clinicians or (not places and not ask.remote):
        return [], {}, {}
    first_day = ask.start.date() - timedelta(days=3)
    last_day = ask.end.date() + timedelta(days=3)
    channels, location_zones, opening = setup.cached(
        session, ("channels", clinicians, places, ask.remote, first_day, last_day),
        lambda s: _read_channels(s, list(clinicians), list(places), ask.remote, first_day, last_day),
    )
    return list(channels), dict(location_zones), dict(opening)


def _read_channels(session: Session, clinicians: list[str], places: list[str], remote: bool,
                   first_day: date, last_day: date) -> tuple[tuple[Channel, ...], dict[str, ZoneInfo], dict[str, tuple]]:
    rules = session.scalars(
        select(ScheduleRule)
        .where(
            ScheduleRule.clinician_id.in_(clinicians),
            _asked_channels(ScheduleRule, places, remote),
            or_(ScheduleRule.valid_from.is_(None), ScheduleRule.valid_from <= last_day),
            or_(ScheduleRule.valid_until.is_(None), ScheduleRule.valid_until >= first_day),
        )
        .order_by(ScheduleRule.id)
    ).all()
    overrides = session.scalars(
        select(ScheduleOverride)
        .where(
            ScheduleOverride.clinician_id.in_(clinicians),
            ScheduleOverride.date >= first_day,
            ScheduleOverride.date <= last_day,
            _asked_channels(ScheduleOverride, places, remote),
        )
        .order_by(ScheduleOverride.id)
    ).all()

    weekly: dict[tuple[str, str | None], list[WeeklyHours]] = defaultdict(list)
    days: dict[tuple[str, str | None], list[DayHours]] = defaultdict(list)
    for rule in rules:
        key = (rule.clinician_id, None if rule.remote else rule.location_id)
        weekly[key].append(
            WeeklyHours(frozenset(rule.weekdays), rule.start_minute, rule.end_minute, rule.valid_from, rule.valid_until)
        )
    for override in overrides:
        key = (override.clinician_id, None if override.remote else override.location_id)
        days[key].append(DayHours(override.date, override.start_minute, override.end_minute))

    known = setup.locations(session)
    location_zones = {place: ZoneInfo(known[place].timezone) for place in places if place in known}
    opening: dict[str, list[WeeklyHours]] = defaultdict(list)
    for location_id, weekday, start, end in session.execute(
        select(LocationHours.location_id, LocationHours.weekday, LocationHours.start_minute, LocationHours.end_minute).where(
            LocationHours.location_id.in_(places)
        )
    ):
        opening[location_id].append(WeeklyHours(frozenset({weekday}), start, end))

    keys = sorted(set(weekly) | set(days), key=lambda k: (k[0], k[1] is None, k[1] or ""))
    own_zones, remote_zones = _clinician_zones(session, keys)
    channels = [
        Channel(
            clinician_id=clinician_id,
            location_id=location_id,
            tz=in_person_hours_zone(location_zones[location_id], own_zones.get(clinician_id))
            if location_id is not None
            else remote_zones[clinician_id],
            weekly=tuple(weekly.get((clinician_id, location_id), ())),
            overrides=tuple(days.get((clinician_id, location_id), ())),
        )
        for clinician_id, location_id in keys
    ]
    return tuple(channels), location_zones, {k: tuple(v) for k, v in opening.items()}


def _clinician_zones(
    session: Session, keys: list[tuple[str, str | None]]
) -> tuple[dict[str, ZoneInfo], dict[str, ZoneInfo]]:
    """The zones set on the clinicians of these channels (in-person hours are read in them),
    and the zone of each clinician with remote hours: its own, else its first location's."""
    clinician_ids = sorted({c for c, _ in keys})
    if not clinician_ids:
        return {}, {}
    known = setup.resources(session)
    own = {cid: ZoneInfo(name) for cid in clinician_ids if cid in known and (name := known[cid].timezone)}
    inherited = {c for c, loc in keys if loc is None and c not in own}
    names = clinician_zone_names(session, inherited) if inherited else {}
    remote = {cid: ZoneInfo(names.get(cid) or "UTC") for cid in inherited}  # UTC when nothing says
    return own, {**remote, **own}


def _read(session: Session, now: datetime, ask: _Ask) -> tuple:
    """What the engine reads for `ask`: the channels, the locations' zones and opening hours,
    and the busy time of every resource concerned over the padded range."""
    channels, location_zones, opening = _channels(session, ask)
    if not channels:
        return [], {}, {}, {}
    t = ask.appointment_type
    window = Interval(
        ask.start - timedelta(minutes=t.padding_before_minutes),
        ask.end + timedelta(minutes=ask.duration + t.padding_after_minutes),
    )
    room_ids = [r for rooms in ask.rooms.values() for r in rooms]
    resource_ids = [*{c.clinician_id for c in channels}, *room_ids, *ask.extra_busy_ids]
    # Only a group type (bookings share a start) and BALANCED (counts bookings) look at them.
    bookings = (t.capacity or 1) > 1 or ask.round_robin == BALANCED or ask.for_booking
    busy = busy_spans(session, resource_ids, window, now, exclude_appointment_id=ask.exclude_appointment_id,
                      exclude_hold_id=ask.exclude_hold_id, bookings=bookings, clear_expired=ask.for_booking,
                      blocks=not ask.bookings_only)
    return channels, location_zones, opening, busy


def _offers(session: Session, now: datetime, ask: _Ask, read: tuple | None = None) -> tuple[list[Offer], dict[str, dict[int, int]]]:
    """The engine's slots, and for a group type the seats taken (see _seats_taken). `read`:
    what `_read` found for a question covering this one (a series reads once)."""
    channels, location_zones, opening, busy = read if read is not None else _read(session, now, ask)
    if not channels:
        return [], {}
    t = ask.appointment_type
    offers = find_slots(
        SlotSearch(
            appointment_type_id=t.id,
            start=ask.start,
            end=ask.end,
            now=now,
            duration_minutes=ask.duration,
            interval_minutes=ask.interval,
            channels=tuple(channels),
            busy=busy,
            padding_before_minutes=t.padding_before_minutes or 0,
            padding_after_minutes=t.padding_after_minutes or 0,
            min_notice_minutes=t.min_notice_minutes or 0,
            capacity=t.capacity or 1,
            opening_hours=opening,
            location_zones=location_zones,
            needs_room=ask.needs_room,
            rooms=ask.rooms,
            round_robin=ask.round_robin,
            combined_ids=ask.combined_ids,
            seed=ask.seed,
            output_tz=ask.tz,
        )
    )
    return offers, _seats_taken(busy, channels, t) if (t.capacity or 1) > 1 else {}


def _seats_taken(
    busy: dict[str, list[BusySpan]], channels: list[Channel], appointment_type: TypeSetup
) -> dict[str, dict[int, int]]:
    """Seats of a group type taken, by clinician and start (epoch seconds): the seats of the
    bookings of the type sharing that start (attendees going, seat holds), as the engine's own
    Timeline counts them (a group is one clinician's)."""
    taken: dict[str, dict[int, int]] = {}
    for clinician_id in {c.clinician_id for c in channels}:
        line = Timeline(busy.get(clinician_id, ()), before=0, ahead=0, appointment_type_id=appointment_type.id,
                        capacity=appointment_type.capacity, counts_capacity=True)
        taken[clinician_id] = dict(line.seats)
    return taken




def _slots(
    session: Session, offers: list[Offer], capacity: int = 1, taken: dict[str, dict[int, int]] | None = None
) -> list[Slot]:
    """Named slots; a group type's (capacity above 1) also tell their seats left, out of `taken`."""
    clinicians: dict[str | None, str] = {rid: r.name for rid, r in setup.resources(session).items()} if offers else {}
    locations: dict[str | None, str] = {lid: loc.name for lid, loc in setup.locations(session).items()} if offers else {}
    # Positional: a month holds thousands of slots (fields: start_time, end_time,
    # clinician_id, clinician_name, location_id, location_name, is_remote, resource_ids).
    slots = [
        Slot(start, end, cid, clinicians.get(cid), loc, locations.get(loc), remote, list(resources))
        for start, end, cid, loc, remote, resources in offers
    ]
    if capacity > 1:
        taken = taken or {}
        for slot in slots:
            at = int(slot.start_time.timestamp())
            # A slot several clinicians share (round robin NONE): the most seats any one of them has.
            members = [slot.clinician_id] if slot.clinician_id else [r for r in slot.resource_ids if r in taken]
            slot.seats_left = max((capacity - taken.get(c, {}).get(at, 0) for c in members), default=capacity)
    return slots


def _existing(session: Session, ids: set[str], kind: str | None, label: str) -> dict[str, ResourceSetup]:
    known = setup.resources(session) if ids else {}
    found = {rid: known[rid] for rid in ids if rid in known}
    for rid in sorted(ids):
        if rid not in found or (kind is not None and found[rid].kind != kind):
            raise not_found(label, rid)
    return found


# --- the two questions -----------------------------------------------------------------------


def query_availability(ctx: Context, query: AvailabilityQuery) -> AvailabilityResult:
    """Free slots of an appointment type in a range (availability-api's GET /availability)."""
    tz_name = "UTC" if query.timezone is None else query.timezone
    tz = zone(tz_name)  # an empty or unknown name is a VALIDATION_ERROR
    start, end = _range(query.start_date, query.end_date, tz)
    mode = query.round_robin.upper() if query.round_robin else None
    if mode is not None and mode not in ROUND_ROBIN_MODES:
        raise validation(
            f"round_robin must be one of {', '.join(ROUND_ROBIN_MODES)}", round_robin=query.round_robin
        )
    given = set(query.resource_ids)
    if mode == COMBINED and not given:
        raise validation("round_robin COMBINED needs the resource ids that must all be free", round_robin=mode)
    interval = _minutes(query.interval, "interval")

    with ctx.db.session(write=False) as session:
        now = ctx.clock.now()
        appointment_type = _type(session, query.appointment_type_id)
        duration = _duration(appointment_type, query.duration, _moving(session, query.reschedule_appointment_id))
        if query.clinician_id is not None:
            _existing(session, {query.clinician_id}, "clinician", "clinician")
        if query.location_id is not None:
            _location_exists(session, query.location_id)
        resources = _existing(session, given, None, "resource")
        given_clinicians = {r for r in given if resources[r].kind == "clinician"}
        given_rooms = given - given_clinicians
        if mode == COMBINED and not given_clinicians:
            raise validation("round_robin COMBINED needs at least one clinician among the resource ids")

        linked_locations, type_rooms_by_location = appointment_type.location_ids, appointment_type.rooms_by_location
        clinicians = list(appointment_type.clinician_ids)
        if query.clinician_id is not None:
            clinicians = [c for c in clinicians if c == query.clinician_id]
        if given_clinicians:
            if mode == COMBINED and not given_clinicians <= set(clinicians):
                clinicians = []  # one of them cannot take this type: never all free together
            else:
                clinicians = [c for c in clinicians if c in given_clinicians]
        in_person, remote = _modes(appointment_type, query.location_id, query.is_remote)
        locations = list(linked_locations) if in_person else []
        if query.location_id is not None:
            locations = [loc for loc in locations if loc == query.location_id]
        rooms_at = {loc: tuple(type_rooms_by_location.get(loc, ())) for loc in locations}
        given_at = {
            loc: tuple(sorted(r for r in given_rooms if resources[r].location_id == loc)) for loc in locations
        }
        needs_room = bool(type_rooms_by_location)
        if mode == COMBINED:
            # The rooms given must be free; a type's own room is only chosen when none is given.
            rooms = {loc: tuple(sorted({*rooms_at[loc], *given_at[loc]})) for loc in locations}
        elif given_rooms:
            # Asking for rooms narrows the choice to them.
            rooms = {loc: tuple(r for r in given_at[loc] if r in rooms_at[loc] or not needs_room) for loc in locations}
            needs_room = True
        else:
            rooms = rooms_at
        offers, taken = _offers(
            session,
            now,
            _Ask(
                appointment_type=appointment_type,
                start=start,
                end=end,
                duration=duration,
                interval=interval or appointment_type.interval_minutes or duration,
                clinician_ids=clinicians,
                location_ids=locations,
                remote=remote,
                rooms=rooms,
                needs_room=needs_room,
                extra_busy_ids=sorted(given_rooms),
                round_robin=mode,
                combined_ids=tuple(sorted(given)),
                seed=query.seed,
                tz=UTC if tz_name == "UTC" else tz,
                exclude_appointment_id=query.reschedule_appointment_id,
            ),
        )
        slots = _slots(session, offers[:1] if query.first_available else offers, appointment_type.capacity or 1, taken)
        del offers  # thousands of tuples the collector need not walk when it resumes

    days: dict[str, list[Slot]] = {}
    day, last_day = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last_day:
        days[day.isoformat()] = []
        day += timedelta(days=1)
    for day, group in groupby(slots, key=lambda slot: slot.start_time.date()):  # slots are sorted
        days.setdefault(day.isoformat(), []).extend(group)
    return AvailabilityResult(slots=slots, days=days, timezone=tz_name)


def find_offered_slot(session: Session, now: datetime, *, start: datetime, **question) -> Slot | None:
    """The exact slot, if availability would offer it now; else None. Runs in the caller's
    transaction (the hold check), so the answer holds until that transaction ends.

    With `interval_minutes` None any whole minute inside a working window is a start (the
    desk may have asked with a finer --interval than the type's); give it to insist on a grid.
    Unknown ids are NOT_FOUND and a duration the type does not offer is VALIDATION_ERROR.
    """
    return find_offered_slots(session, now, starts=[start], **question)[0]


def find_offered_slots(
    session: Session,
    now: datetime,
    *,
    appointment_type_id: str,
    clinician_id: str,
    starts: Sequence[datetime],
    duration_minutes: int | None,
    location_id: str | None,
    is_remote: bool,
    room_id: str | None,
    interval_minutes: int | None = None,
    exclude_appointment_id: str | None = None,
    exclude_hold_id: str | None = None,
    for_booking: bool = False,
    bookings_only: bool = False,
) -> list[Slot | None]:
    """`find_offered_slot` for each of `starts` (a series' occurrences), in order: the rows
    are read once over the whole span, and each start is asked of the engine with the busy
    time around it, so the answers are those of one question per start.

    `bookings_only`: a quick look that reads only the busy rows of appointments and holds
    (one statement; blocks and imported calendars are left out; expired holds are cleared
    only with `for_booking`, under the locks). More
    busy time only takes slots away, so a start it does not offer is not offered at all;
    one it offers may still be refused by the whole check."""
    appointment_type = _type(session, appointment_type_id)
    duration = _duration(appointment_type, duration_minutes, _moving(session, exclude_appointment_id))
    _existing(session, {clinician_id}, "clinician", "clinician")
    if location_id is not None:
        _location_exists(session, location_id)
    room = _existing(session, {room_id}, "room", "room").get(room_id) if room_id else None
    starts = [start.astimezone(UTC) for start in starts]
    none: list[Slot | None] = [None] * len(starts)
    linked_locations, type_rooms_by_location = appointment_type.location_ids, appointment_type.rooms_by_location
    if clinician_id not in appointment_type.clinician_ids:
        return none
    in_person, remote = _modes(appointment_type, location_id, is_remote)
    if is_remote:
        if not remote or room is not None:
            return none
        locations: list[str] = []
    else:
        if not in_person or location_id is None or location_id not in linked_locations:
            return none
        locations, remote = [location_id], False
    rooms: dict[str, tuple[str, ...]] = {}
    needs_room = False
    if not is_remote:
        assert location_id is not None  # in person: checked above
        if room is not None:
            # Availability would only offer a room of the type's own at that location.
            if room.location_id != location_id or (
                type_rooms_by_location and room.id not in type_rooms_by_location.get(location_id, ())
            ):
                return none
            rooms, needs_room = {location_id: (room.id,)}, True
        elif type_rooms_by_location:
            rooms, needs_room = {location_id: tuple(type_rooms_by_location.get(location_id, ()))}, True
    asks = [
        _Ask(
            appointment_type=appointment_type,
            start=start,
            end=start,
            duration=duration,
            interval=interval_minutes or 1,
            clinician_ids=[clinician_id],
            location_ids=locations,
            remote=remote,
            rooms=rooms,
            needs_room=needs_room,
            exclude_appointment_id=exclude_appointment_id,
            exclude_hold_id=exclude_hold_id,
            for_booking=for_booking,
            bookings_only=bookings_only,
        )
        for start in starts
    ]
    if not asks:
        return []
    read = _read(session, now, replace(asks[0], end=max(starts))) if len(asks) > 1 else None
    index = BusyIndex(read[3]) if read else None
    found: list[Offer | None] = []
    for ask in asks:
        offers, _taken = _offers(session, now, ask, _around(read, index, ask) if read and index else None)
        match = [o for o in offers if o.start == ask.start and o.is_remote == is_remote and o.location_id == location_id]
        found.append(match[0] if match else None)
    named = iter(_slots(session, [o for o in found if o is not None]))
    return [next(named) if o is not None else None for o in found]


def _around(read: tuple, index: BusyIndex, ask: _Ask) -> tuple:
    """What was read over a series' span, with only the busy time near `ask`'s start: the
    engine then works on a few spans, not a year's."""
    channels, location_zones, opening, _busy = read
    t = ask.appointment_type
    low = int(ask.start.timestamp()) - (t.padding_before_minutes or 0) * 60 - 1
    high = int(ask.end.timestamp()) + (ask.duration + (t.padding_after_minutes or 0)) * 60 + 1
    return channels, location_zones, opening, index.around(low, high)
