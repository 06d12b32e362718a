"""The engine against a deliberately naive reference that checks every minute.

Hypothesis builds clinics (locations in zones with daylight saving, clinicians with weekly
hours, overrides and opening hours, some with a timezone of their own that differs from a
location's), busy time (blocks, appointments and holds of this and
another type, padded by their own type), rooms, groups, padding, notice and ranges around
daylight-saving changes. The reference below knows nothing of the engine's sorted
forbidden intervals: it marks working minutes in a set, finds runs of them, walks the grid
and looks at every minute of every padded candidate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.domain.availability import (
    Channel,
    DayHours,
    SlotSearch,
    WeeklyHours,
    find_slots,
)
from frontdesk.domain.busy import Busy
from frontdesk.domain.intervals import Interval
from frontdesk.domain.timeutil import in_person_hours_zone

ZONES = [ZoneInfo(n) for n in ("UTC", "Europe/London", "America/New_York", "Australia/Sydney", "America/Chicago")]
# Days with a daylight-saving change somewhere among ZONES (America/* 9 March and 2 November,
# London 30 March and 26 October: three weeks a year when Chicago and London are 5 hours
# apart, not 6), and an ordinary one.
BASE_DAYS = [date(2025, 3, 9), date(2025, 3, 30), date(2025, 4, 6), date(2025, 10, 5), date(2025, 10, 26),
             date(2025, 11, 2), date(2025, 6, 16)]
TYPE = "type_x"
MINUTE = 60


# --- the naive reference -------------------------------------------------------------------


def local_minute(day: date, minute_of_day: int, tz: ZoneInfo) -> int:
    """Epoch minute of a wall time: fold=0 moves a gap time forward and takes a repeated time's first."""
    moment = datetime.combine(day, time()) + timedelta(minutes=minute_of_day)
    return int(moment.replace(tzinfo=tz, fold=0).timestamp()) // MINUTE


def days_around(search: SlotSearch, tz: ZoneInfo) -> list[date]:
    first = search.start.astimezone(tz).date() - timedelta(days=2)
    last = search.end.astimezone(tz).date() + timedelta(days=2)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def minutes_of(weekly, overrides, tz, days) -> set[int]:
    marked: set[int] = set()
    for day in days:
        todays = [o for o in overrides if o.day == day]
        if todays:
            spans = [(o.start_minute, o.end_minute) for o in todays if o.start_minute is not None]
        else:
            spans = [
                (r.start_minute, r.end_minute)
                for r in weekly
                if day.weekday() in r.weekdays
                and (r.valid_from is None or r.valid_from <= day)
                and (r.valid_until is None or day <= r.valid_until)
            ]
        for start, end in spans:
            marked.update(range(local_minute(day, start, tz), local_minute(day, end, tz)))
    return marked


def runs(minutes: set[int]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for m in sorted(minutes):
        if out and out[-1][1] == m:
            out[-1][1] = m + 1
        else:
            out.append([m, m + 1])
    return [(a, b) for a, b in out]


def reference(search: SlotSearch, own_zones: dict[str, ZoneInfo] | None = None) -> list[tuple]:
    """`own_zones`: the timezones set on clinicians (booking.md, Time). A clinician's in-person
    hours at a location are read in its own zone when set, else the location's; remote hours
    in the channel's zone. Opening hours are read in the location's zone and cut them."""
    own_zones = own_zones or {}
    d, step = search.duration_minutes, search.interval_minutes
    before, after = search.padding_before_minutes, search.padding_after_minutes
    first = math.ceil(max(search.start.timestamp(), search.now.timestamp() + search.min_notice_minutes * 60))
    last = math.floor(search.end.timestamp())

    def sharing(resource: str, t: int) -> set[str]:
        if search.capacity <= 1:
            return set()
        return {
            b.ref_id
            for b in search.busy.get(resource, ())
            if b.source != "block" and b.appointment_type_id == TYPE and int(b.start.timestamp()) // MINUTE == t
        }

    def free(resource: str, t: int, clinician_refs: set[str] | None) -> bool:
        shared = sharing(resource, t)
        for m in range(t - before, t + d + after):
            for b in search.busy.get(resource, ()):
                if b.ref_id in shared:
                    continue
                if int(b.interval.start.timestamp()) // MINUTE <= m < int(b.interval.end.timestamp()) // MINUTE:
                    return False
        if clinician_refs is None:  # a clinician: the group is full
            return len(shared) < search.capacity
        return shared <= clinician_refs

    found = []
    for ch in search.channels:
        if ch.location_id is None:
            hours_tz = ch.tz
        else:
            hours_tz = own_zones.get(ch.clinician_id) or search.location_zones[ch.location_id]
        work = minutes_of(ch.weekly, ch.overrides, hours_tz, days_around(search, hours_tz))
        if ch.location_id is not None and ch.location_id in search.opening_hours:
            tz = search.location_zones[ch.location_id]
            work &= minutes_of(search.opening_hours[ch.location_id], (), tz, days_around(search, tz))
        for run_start, run_end in runs(work):
            t = run_start
            while t + d <= run_end:
                if first <= t * MINUTE <= last and free(ch.clinician_id, t, None):
                    room = None
                    if search.needs_room and ch.location_id is not None:
                        refs = sharing(ch.clinician_id, t)
                        room = next((r for r in search.rooms.get(ch.location_id, ()) if free(r, t, refs)), "none")
                    if room != "none":
                        found.append((t, ch.clinician_id, ch.location_id, room))
                t += step

    def start(t):
        return datetime.fromtimestamp(t * MINUTE, UTC)

    slots = []
    if search.round_robin is None:
        for t, c, loc, room in found:
            slots.append((start(t), start(t + d), c, loc, loc is None, (c, room) if room else (c,)))
    else:  # NONE
        pools = defaultdict(set)
        for t, c, loc, _ in found:
            pools[(t, loc)].add(c)
        for (t, loc), clinicians in pools.items():
            ids = tuple(sorted(clinicians))
            slots.append((start(t), start(t + d), ids[0] if len(ids) == 1 else None, loc, loc is None, ids))
    slots.sort(key=lambda s: (s[0], s[2] or "", s[4], s[3] or ""))
    return slots


# --- generated clinics ---------------------------------------------------------------------

quarter = st.integers(0, 95).map(lambda q: q * 15)


@st.composite
def weekly_hours(draw, around: date) -> WeeklyHours:
    start = draw(quarter)
    end = draw(st.integers(start // 15 + 1, 96)) * 15
    some_day = st.integers(-3, 3).map(lambda n: around + timedelta(days=n))
    valid_from = draw(st.sampled_from([None, None, None, 1]).flatmap(lambda x: some_day if x else st.none()))
    valid_until = draw(st.sampled_from([None, None, None, 1]).flatmap(lambda x: some_day if x else st.none()))
    days = draw(st.frozensets(st.integers(0, 6), min_size=3))
    return WeeklyHours(days, start, end, valid_from, valid_until)


@st.composite
def day_hours(draw, around: date) -> DayHours:
    day = around + timedelta(days=draw(st.integers(-2, 3)))
    if draw(st.booleans()):
        return DayHours(day, None, None)
    start = draw(quarter)
    return DayHours(day, start, draw(st.integers(start // 15 + 1, 96)) * 15)


@st.composite
def busy_items(draw, around: datetime, resource: str) -> list[Busy]:
    items = []
    for n in range(draw(st.integers(0, 6))):
        start = around + timedelta(minutes=draw(st.integers(-24 * 4, 72 * 4)) * 15 + draw(st.sampled_from([0, 0, 0, 7])))
        end = start + timedelta(minutes=draw(st.integers(1, 180)))
        source = draw(st.sampled_from(["block", "appointment", "hold"]))
        if source == "block":
            items.append(Busy(Interval(start, end), "block", ref_id=f"blk_{resource}_{n}"))
            continue
        own_before, own_after = draw(st.integers(0, 20)), draw(st.integers(0, 20))
        padded = Interval(start - timedelta(minutes=own_before), end + timedelta(minutes=own_after))
        type_id = draw(st.sampled_from([TYPE, TYPE, "type_other"]))
        items.append(Busy(padded, source, type_id, start, f"{source}_{resource}_{n}"))
    return items


@st.composite
def searches(draw) -> tuple[SlotSearch, dict[str, ZoneInfo]]:
    """A question, and the timezones set on its clinicians (the rest have none of their own)."""
    base = draw(st.sampled_from(BASE_DAYS))
    start = datetime.combine(base, time(), UTC) + timedelta(minutes=draw(st.integers(-36 * 4, 36 * 4)) * 15)
    end = start + timedelta(minutes=draw(st.integers(0, 48 * 60) | st.integers(12 * 60, 48 * 60)))
    locations = {f"loc_{i}": draw(st.sampled_from(ZONES)) for i in range(draw(st.integers(1, 2)))}
    channels = []
    own_zones = {}
    for c in range(draw(st.integers(1, 3))):
        clinician = f"cli_{c}"
        own = draw(st.sampled_from([None, None, *ZONES]))
        if own is not None:
            own_zones[clinician] = own
        places = draw(st.lists(st.sampled_from([*locations, None]), min_size=1, max_size=3, unique=True))
        for place in places:
            if place:  # the service's rule, which the reference works out on its own
                tz = in_person_hours_zone(locations[place], own)
            else:
                tz = own or draw(st.sampled_from(ZONES))
            weekly = tuple(draw(st.lists(weekly_hours(base), min_size=1, max_size=3)))
            overrides = tuple(draw(st.lists(day_hours(base), max_size=2)))
            channels.append(Channel(clinician, place, tz, weekly, overrides))
    opening = {}
    for loc in locations:
        if draw(st.integers(0, 2)) == 0:  # often enough that hours in another zone meet a cut
            opening[loc] = tuple(draw(st.lists(weekly_hours(base), min_size=1, max_size=3)))
    needs_room = draw(st.booleans())
    rooms = {loc: tuple(f"res_{loc}_{i}" for i in range(draw(st.integers(0, 2)))) for loc in locations}
    resources = [f"cli_{c}" for c in range(3)] + [r for rs in rooms.values() for r in rs]
    busy = {r: draw(busy_items(datetime.combine(base, time(), UTC), r)) for r in resources}
    duration = draw(st.sampled_from([15, 30, 45, 60, 90, 20]))
    interval = draw(st.sampled_from([duration, 15, 30, 45, 60, 10, 25, 7]))
    # Group bookings on grid points, so that a later booking may join them (sometimes in a room).
    for n in range(draw(st.integers(0, 4))):
        ch = draw(st.sampled_from(channels))
        rule = draw(st.sampled_from(ch.weekly))
        within = int((end - start).total_seconds() // 60)
        day = (start + timedelta(minutes=draw(st.integers(0, within)))).astimezone(ch.tz).date()
        at = datetime.combine(day, time(), ch.tz) + timedelta(minutes=rule.start_minute + draw(st.integers(0, 3)) * interval)
        at = at.replace(tzinfo=None).replace(tzinfo=ch.tz).astimezone(UTC)
        item = Busy(Interval(at, at + timedelta(minutes=duration)), draw(st.sampled_from(["appointment", "hold"])),
                    TYPE, at, f"grp_{n}")
        busy[ch.clinician_id].append(item)
        if ch.location_id and rooms[ch.location_id] and draw(st.booleans()):
            busy[draw(st.sampled_from(rooms[ch.location_id]))].append(item)
    return SlotSearch(
        appointment_type_id=TYPE,
        start=start,
        end=end,
        now=start + timedelta(minutes=draw(st.integers(-240, 300))),
        duration_minutes=duration,
        interval_minutes=interval,
        channels=tuple(channels),
        busy=busy,
        padding_before_minutes=draw(st.sampled_from([0, 0, 5, 10, 30])),
        padding_after_minutes=draw(st.sampled_from([0, 0, 5, 15])),
        min_notice_minutes=draw(st.sampled_from([0, 0, 60, 240])),
        capacity=draw(st.sampled_from([1, 2, 3, 3])),
        opening_hours=opening,
        location_zones=locations,
        needs_room=needs_room,
        rooms=rooms,
        round_robin=draw(st.sampled_from([None, "NONE"])),
    ), own_zones


def engine(search: SlotSearch) -> list[tuple]:
    return [(o.start, o.end, o.clinician_id, o.location_id, o.is_remote, o.resource_ids) for o in find_slots(search)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(searches())
def test_engine_matches_the_minute_by_minute_reference(question):
    search, own_zones = question
    assert engine(search) == reference(search, own_zones)
