"""The availability engine: working windows, busy time and the grid make the slots.

Pure: everything it needs (hours, busy time, the clock's value) comes in as values.

Inside, instants are whole seconds since the epoch (UTC): the engine runs on sorted lists
of integers, never minute by minute. For a candidate start `t` of duration `d`, a busy
interval [bs, be) takes the resource away exactly when bs - d - pad_after < t < be + pad_before,
so each resource's busy time becomes a sorted list of *forbidden open intervals* of starts,
and the free starts of a working window are the grid points in the gaps between them.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import NamedTuple, cast
from zoneinfo import ZoneInfo

from frontdesk.domain.busy import APPOINTMENT, BLOCK, Busy, BusySpan
from frontdesk.domain.intervals import Interval
from frontdesk.domain.timeutil import local_to_utc

RANDOM = "RANDOM"
BALANCED = "BALANCED"
NONE = "NONE"
COMBINED = "COMBINED"
ROUND_ROBIN_MODES = (RANDOM, BALANCED, NONE, COMBINED)

# Extra local dates read before and after the range: windows run across midnight and
# zones sit up to 14 hours from UTC.
_DAYS_AROUND = 2


# --- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyHours:
    """Hours on some weekdays (0 = Monday) in local wall time; end may be 1440 (24:00)."""

    weekdays: frozenset[int]
    start_minute: int
    end_minute: int
    valid_from: date | None = None
    valid_until: date | None = None  # inclusive

    def applies(self, day: date) -> bool:
        return (
            day.weekday() in self.weekdays
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )


@dataclass(frozen=True)
class DayHours:
    """An override: one date's hours for a channel; no start/end closes the channel that day."""

    day: date
    start_minute: int | None
    end_minute: int | None


@dataclass(frozen=True)
class Channel:
    """A clinician's hours in one place: in person at a location, or remote (location None).

    `tz` is the zone its weekly hours and overrides are read in: for in-person hours the
    location's, or the clinician's own when set (timeutil.in_person_hours_zone); opening hours
    stay in the location's zone (SlotSearch.location_zones), so only shared hours remain."""

    clinician_id: str
    location_id: str | None
    tz: ZoneInfo
    weekly: tuple[WeeklyHours, ...] = ()
    overrides: tuple[DayHours, ...] = ()

    @property
    def is_remote(self) -> bool:
        return self.location_id is None


@dataclass(frozen=True)
class SlotSearch:
    """Everything one availability question needs. Range edges are inclusive instants."""

    appointment_type_id: str
    start: datetime
    end: datetime
    now: datetime
    duration_minutes: int
    interval_minutes: int
    channels: tuple[Channel, ...]
    busy: Mapping[str, Sequence[Busy | BusySpan]]  # by resource; BusySpan is the fast form
    padding_before_minutes: int = 0
    padding_after_minutes: int = 0
    min_notice_minutes: int = 0
    capacity: int = 1
    # Opening hours by location, in that location's zone; a location not listed is never cut.
    opening_hours: Mapping[str, tuple[WeeklyHours, ...]] = field(default_factory=dict)
    location_zones: Mapping[str, ZoneInfo] = field(default_factory=dict)
    needs_room: bool = False  # the type lists rooms: in-person slots need one
    rooms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # by location, sorted
    round_robin: str | None = None
    combined_ids: tuple[str, ...] = ()  # COMBINED: every resource that must be free
    seed: int | None = None
    output_tz: ZoneInfo | timezone = UTC  # the zone of the offers' datetimes (instants are the same)


class Offer(NamedTuple):
    """One slot the engine offers; datetimes in the search's output_tz. (A tuple: the engine
    makes tens of thousands.)"""

    start: datetime
    end: datetime
    clinician_id: str | None  # when the slot has exactly one clinician
    location_id: str | None
    is_remote: bool
    resource_ids: tuple[str, ...]


# --- working windows -------------------------------------------------------------------------


def _secs(instant: datetime) -> int:
    return int(instant.timestamp())


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _merge(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, overlapping or touching pairs joined (half-open windows)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(pairs):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    first = start.astimezone(tz).date() - timedelta(days=_DAYS_AROUND)
    last = end.astimezone(tz).date() + timedelta(days=_DAYS_AROUND)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _hours_to_pairs(
    weekly: Sequence[WeeklyHours], overrides: Sequence[DayHours], tz: ZoneInfo, days: list[date]
) -> list[tuple[int, int]]:
    by_day: dict[date, list[DayHours]] = defaultdict(list)
    for override in overrides:
        by_day[override.day].append(override)
    pairs = []
    for day in days:
        if day in by_day:  # the date's overrides replace its weekly hours
            # An override has both times or neither (it closes the day): the clinic file checks it.
            spans = [
                (o.start_minute, o.end_minute)
                for o in by_day[day]
                if o.start_minute is not None and o.end_minute is not None
            ]
        else:
            spans = [(r.start_minute, r.end_minute) for r in weekly if r.applies(day)]
        for start_minute, end_minute in spans:
            start, end = _secs(local_to_utc(day, start_minute, tz)), _secs(local_to_utc(day, end_minute, tz))
            if start < end:  # a window wholly inside a spring-forward gap is empty
                pairs.append((start, end))
    return _merge(pairs)


def working_windows(
    channel: Channel,
    start: datetime,
    end: datetime,
    opening_hours: Sequence[WeeklyHours] | None = None,
    location_tz: ZoneInfo | None = None,
) -> list[Interval]:
    """The channel's merged working windows around [start, end], cut to opening hours."""
    return [Interval(_instant(s), _instant(e)) for s, e in _window_pairs(channel, start, end, opening_hours, location_tz)]


def _window_pairs(channel, start, end, opening_hours, location_tz) -> list[tuple[int, int]]:
    pairs = _hours_to_pairs(channel.weekly, channel.overrides, channel.tz, _local_days(start, end, channel.tz))
    if opening_hours is not None and not channel.is_remote:
        tz = location_tz or channel.tz
        pairs = _intersect(pairs, _hours_to_pairs(opening_hours, (), tz, _local_days(start, end, tz)))
    return pairs


# --- busy time as forbidden starts -----------------------------------------------------------


class Timeline:
    """One resource's busy time as the starts it forbids, for one question.

    A group type (capacity above 1): bookings of the same type starting at the same instant
    share it rather than block it, until their seats (`seats`: a group appointment's
    attendees going, one per seat hold) leave fewer than `need` of `capacity`.
    """

    __slots__ = ("lows", "highs", "shared", "seats")

    def __init__(
        self,
        busy: Sequence[Busy | BusySpan],
        *,
        before: int,
        ahead: int,
        appointment_type_id: str | None,
        capacity: int,
        counts_capacity: bool,
        need: int = 1,
    ):
        """`before`/`ahead`: seconds the booking being placed reaches before its start and
        after it (its padding before; its duration plus its padding after); `need`: the
        seats it takes."""
        group = capacity > 1
        self.shared: dict[int, set[str]] = {}
        self.seats: dict[int, int] = {}
        if not group:
            pairs = [(item.start - ahead, item.end + before) for item in _spans(busy)]
        else:
            pairs = []
            for item in _spans(busy):
                low, high = item.start - ahead, item.end + before
                at = item.booked_start
                if item.source != BLOCK and item.appointment_type_id == appointment_type_id and at is not None:
                    self.shared.setdefault(at, set()).add(item.ref_id or "")
                    self.seats[at] = self.seats.get(at, 0) + item.seats
                    pairs.append((low, at))  # every start but the shared one is blocked
                    pairs.append((at, high))
                else:
                    pairs.append((low, high))
        if counts_capacity:
            for at, taken in self.seats.items():
                if taken + need > capacity:
                    pairs.append((at - 1, at + 1))
        self.lows, self.highs = _merge_open(pairs)

    def free(self, t: int) -> bool:
        i = bisect_right(self.lows, t - 1)  # intervals with low < t
        return i == 0 or self.highs[i - 1] <= t

    def free_for(self, t: int, clinician_refs: set[str]) -> bool:
        """A room: free, and any group sharing it at `t` is this clinician's group."""
        if not self.free(t):
            return False
        refs = self.shared.get(t)
        return refs is None or refs <= clinician_refs

    def free_starts(self, window: tuple[int, int], step: int, duration: int, first: int, last: int) -> list[int]:
        """Grid points ws + k*step of the window, in [first, last], fitting in it and free."""
        ws, we = window
        last = min(last, we - duration)
        if first > ws:
            first = ws + -(-(first - ws) // step) * step
        else:
            first = ws
        if first > last:
            return []
        out: list[int] = []
        lows, highs = self.lows, self.highs
        t = first
        # Forbidden intervals ending after `first`, in order, until one starts at or after `last`.
        for i in range(bisect_right(highs, first), len(lows)):
            low = lows[i]
            if low >= last:
                break
            high = highs[i]
            if high <= t:
                continue
            if low >= t:  # the gap before it, low itself included (open interval)
                out.extend(range(t, low + 1, step))
            t = ws + -(-(high - ws) // step) * step  # the first grid point from high
            if t > last:
                return out
        out.extend(range(t, last + 1, step))
        return out


def _spans(busy: Sequence[Busy | BusySpan]) -> Sequence[BusySpan]:
    """A resource's busy time as BusySpans (the service hands them over as such already)."""
    if not busy or set(map(type, busy)) == {BusySpan}:
        return cast(Sequence[BusySpan], busy)
    return [item if isinstance(item, BusySpan) else item.span() for item in busy]


def _merge_open(pairs: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Open intervals (low, high) joined when they overlap, as their lows and highs; touching
    ones leave their shared point free, which is how a group's own start stays open."""
    lows: list[int] = []
    highs: list[int] = []
    top = None  # the high of the last interval kept
    for low, high in sorted(pairs):
        if low >= high - 1:
            continue  # (a, a+1) holds no whole second
        if top is not None and low < top:
            if high > top:
                highs[-1] = top = high
        else:
            lows.append(low)
            highs.append(high)
            top = high
    return lows, highs


# --- the slots -------------------------------------------------------------------------------


def find_slots(search: SlotSearch) -> list[Offer]:
    """Every slot of the question, sorted by start, clinician, in person before remote, location."""
    step = search.interval_minutes * 60
    duration = search.duration_minutes * 60
    earliest = max(search.start.timestamp(), search.now.timestamp() + search.min_notice_minutes * 60)
    first, last = math.ceil(earliest), math.floor(search.end.timestamp())
    if first > last:
        return []

    timelines: dict[str, Timeline] = {}
    before = search.padding_before_minutes * 60
    ahead = duration + search.padding_after_minutes * 60

    def timeline(resource_id: str, counts_capacity: bool = True) -> Timeline:
        if resource_id not in timelines:
            timelines[resource_id] = Timeline(
                search.busy.get(resource_id, ()), before=before, ahead=ahead,
                appointment_type_id=search.appointment_type_id, capacity=search.capacity,
                counts_capacity=counts_capacity,
            )
        return timelines[resource_id]

    windows: dict[tuple, list[tuple[int, int]]] = {}

    def windows_of(channel: Channel) -> list[tuple[int, int]]:
        location = channel.location_id
        hours = search.opening_hours.get(location) if location is not None else None
        location_tz = search.location_zones.get(location or "")
        # Colleagues on the same hours in the same zone have the same windows: work them out once.
        key = (channel.weekly, channel.overrides, channel.tz, channel.is_remote, hours, location_tz)
        found = windows.get(key)
        if found is None:
            found = windows[key] = _window_pairs(channel, search.start, search.end, hours, location_tz)
        return found

    def room_for(location_id: str, t: int, clinician_refs: set[str]) -> str | None:
        for room_id in search.rooms.get(location_id, ()):
            if timeline(room_id, counts_capacity=False).free_for(t, clinician_refs):
                return room_id
        return None

    if search.round_robin == COMBINED:
        return _combined(search, windows_of, timeline, first, last, step, duration)

    # Rows (start, clinician or "", is_remote, location or "", resources) sort as plain tuples
    # in the result's order: start, clinician, in person before remote, location.
    rows: list[tuple[int, str, bool, str, tuple[str, ...]]] = []
    pooled = search.round_robin is not None
    # Pooled modes: per place (is_remote, location), start -> clinicians (with their room).
    pools: dict[tuple[bool, str], dict[int, list]] = defaultdict(lambda: defaultdict(list))
    # Clinicians in id order, so every pool is already sorted by clinician.
    for channel in sorted(search.channels, key=lambda c: (c.clinician_id, c.is_remote, c.location_id or "")):
        cid, location_id = channel.clinician_id, channel.location_id
        place = (location_id is None, location_id or "")
        clinician = timeline(cid)
        needs_room = search.needs_room and location_id is not None
        pool = pools[place]
        for window in windows_of(channel):
            starts = clinician.free_starts(window, step, duration, first, last)
            if needs_room:
                assert location_id is not None  # needs_room says so
                for t in starts:
                    room = room_for(location_id, t, clinician.shared.get(t, set()))
                    if room is None:
                        continue
                    if pooled:
                        pool[t].append((cid, room))
                    else:
                        rows.append((t, cid, *place, (cid, room)))
            elif pooled:
                for t in starts:
                    pool[t].append(cid)
            else:
                resources = (cid,)
                rows.extend([(t, cid, *place, resources) for t in starts])

    if pooled:
        rng = random.Random(search.seed)
        load = _appointment_counts(search) if search.round_robin == BALANCED else {}
        for place in sorted(pools):
            with_rooms = search.needs_room and not place[0]
            if search.round_robin == NONE:  # rooms are chosen when the slot is held
                for t, members in sorted(pools[place].items()):
                    clinicians = tuple(c for c, _ in members) if with_rooms else tuple(members)
                    rows.append((t, clinicians[0] if len(clinicians) == 1 else "", *place, clinicians))
                continue
            for t, members in sorted(pools[place].items()):
                choices = members if with_rooms else [(c, None) for c in members]
                if search.round_robin == BALANCED:
                    fewest = min(load.get(c, 0) for c, _ in choices)
                    choices = [p for p in choices if load.get(p[0], 0) == fewest]
                c, room = choices[0] if len(choices) == 1 else rng.choice(choices)
                rows.append((t, c, *place, (c, room) if room else (c,)))
    rows.sort()

    # Many slots share an instant: make each datetime once.
    instants = {row[0] for row in rows}
    instants.update([t + duration for t in instants])
    zone = search.output_tz
    moments = {t: datetime.fromtimestamp(t, zone) for t in instants}
    make = tuple.__new__  # Offer(...) without a NamedTuple's Python-level __new__, thousands of times
    return [
        make(Offer, (moments[t], moments[t + duration], cid or None, loc or None, remote, resources))
        for t, cid, remote, loc, resources in rows
    ]


def _appointment_counts(search: SlotSearch) -> dict[str, int]:
    """Active appointments per clinician starting in the queried range (BALANCED)."""
    counts: dict[str, int] = {}
    for channel in search.channels:
        rid = channel.clinician_id
        if rid not in counts:
            first, last = search.start.timestamp(), search.end.timestamp()
            counts[rid] = sum(
                1
                for item in _spans(search.busy.get(rid, ()))
                if item.source == APPOINTMENT and item.booked_start is not None and first <= item.booked_start <= last
            )
    return counts


def _combined(
    search: SlotSearch,
    windows_of: Callable[[Channel], list[tuple[int, int]]],
    timeline: Callable[..., Timeline],
    first: int,
    last: int,
    step: int,
    duration: int,
) -> list[Offer]:
    """Slots where every given resource is free at once: the clinicians' windows intersected."""
    wanted = set(search.combined_ids)
    channels = [c for c in search.channels if c.clinician_id in wanted]
    clinicians = sorted({c.clinician_id for c in channels} & wanted)
    rooms = sorted(wanted - set(clinicians))
    by_place: dict[str | None, dict[str, Channel]] = defaultdict(dict)
    for channel in channels:
        by_place[channel.location_id][channel.clinician_id] = channel
    offers = []
    for location_id, members in by_place.items():
        if not clinicians or set(members) != set(clinicians):
            continue  # somebody does not work there
        if rooms and (location_id is None or not set(rooms) <= set(search.rooms.get(location_id, ()))):
            continue  # rooms are in person, at their own location
        needs_room = search.needs_room and location_id is not None and not rooms
        windows = windows_of(members[clinicians[0]])
        for clinician_id in clinicians[1:]:
            windows = _intersect(windows, windows_of(members[clinician_id]))
        lead = timeline(clinicians[0])
        for window in windows:
            for t in lead.free_starts(window, step, duration, first, last):
                refs: set[str] = set()
                if not all(timeline(c).free(t) for c in clinicians[1:]):
                    continue
                for c in clinicians:
                    refs |= timeline(c).shared.get(t, set())
                if not all(timeline(r, counts_capacity=False).free_for(t, refs) for r in rooms):
                    continue
                resources = tuple(clinicians + rooms)
                if needs_room:
                    assert location_id is not None  # needs_room says so
                    room = next(
                        (r for r in search.rooms.get(location_id, ()) if timeline(r, False).free_for(t, refs)), None
                    )
                    if room is None:
                        continue
                    resources += (room,)
                offers.append(
                    Offer(
                        datetime.fromtimestamp(t, search.output_tz),
                        datetime.fromtimestamp(t + duration, search.output_tz),
                        clinicians[0] if len(clinicians) == 1 else None,
                        location_id, location_id is None, resources,
                    )
                )
    offers.sort(key=lambda o: (o.start, o.clinician_id or "", o.is_remote, o.location_id or ""))
    return offers
