"""The one booking rule: whether a booking's time is free on its resources.

Availability offers a start only where this rule would let it be written, because both
ask the same `Timeline` (domain/availability.py): padding, blocks, holds, appointments,
a group's capacity and the rule that a room is shared only with the same clinician's
group. Every path that writes busy time (hold, confirm, direct create, time change,
move, clinic-file load, ...) asks `conflicts` inside its write transaction, and the
database refuses an overlapping busy row on its own as well (migration 0002).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from frontdesk.domain.availability import Timeline, _spans
from frontdesk.domain.busy import BLOCK, Busy, BusySpan
from frontdesk.domain.intervals import Interval
from frontdesk.domain.timeutil import iso


@dataclass(frozen=True)
class Booking:
    """A booking about to be written: its own (unpadded) time, its type's rules, its resources."""

    start: datetime
    end: datetime
    clinician_ids: tuple[str, ...] = ()
    room_ids: tuple[str, ...] = ()
    appointment_type_id: str | None = None
    padding_before_minutes: int = 0
    padding_after_minutes: int = 0
    capacity: int = 1
    seats: int = 1  # a group appointment's attendees going; a seat hold or a one-to-one booking 1

    @property
    def padded(self) -> Interval:
        """Its busy time: its own time widened by its type's padding (booking.md rule 4)."""
        return padded(self.start, self.end, self.padding_before_minutes, self.padding_after_minutes)

    @property
    def resource_ids(self) -> list[str]:
        return sorted({*self.clinician_ids, *self.room_ids})

    @property
    def is_group(self) -> bool:
        return self.capacity > 1


def padded(start: datetime, end: datetime, before_minutes: int, after_minutes: int) -> Interval:
    return Interval(start - timedelta(minutes=before_minutes), end + timedelta(minutes=after_minutes))


def share_key(booking_id: str, group: bool, appointment_type_id: str | None, start: datetime, clinician_id: str | None) -> str:
    """What lets two busy rows of one resource overlap in the database: the seats of one
    group (same type, start and clinician) share a key; any other booking has its own."""
    if group and appointment_type_id is not None:
        return f"group:{appointment_type_id}:{int(start.timestamp())}:{clinician_id or ''}"
    return booking_id


def conflicts(busy: Mapping[str, Sequence[Busy | BusySpan]], booking: Booking) -> list[BusySpan]:
    """The busy time that keeps `booking` from being written; empty when it is free.

    `busy` holds each resource's busy time around the booking (blocks, active appointments
    and holds, padded by their own types), with the booking's own rows left out.
    """
    t = int(booking.start.timestamp())
    before = booking.padding_before_minutes * 60
    ahead = math.ceil((booking.end - booking.start).total_seconds()) + booking.padding_after_minutes * 60

    def timeline(resource_id: str, counts_capacity: bool) -> Timeline:
        return Timeline(
            busy.get(resource_id, ()), before=before, ahead=ahead, appointment_type_id=booking.appointment_type_id,
            capacity=booking.capacity, counts_capacity=counts_capacity, need=booking.seats,
        )

    blocking: list[BusySpan] = []
    refs: set[str] = set()
    for clinician_id in booking.clinician_ids:
        line = timeline(clinician_id, counts_capacity=True)
        refs |= line.shared.get(t, set())
        if not line.free(t):
            blocking += _in_the_way(busy.get(clinician_id, ()), booking, t - before, t + ahead)
    for room_id in booking.room_ids:
        if not timeline(room_id, counts_capacity=False).free_for(t, refs):
            blocking += _in_the_way(busy.get(room_id, ()), booking, t - before, t + ahead, room=True)
    return blocking


def _in_the_way(items: Sequence[Busy | BusySpan], booking: Booking, low: int, high: int, room: bool = False) -> list[BusySpan]:
    """The busy spans overlapping [low, high) that a group booking does not share; when the
    group is full (or the room is another clinician's group) the seats themselves."""
    overlapping = [s for s in _spans(items) if s.start < high and low < s.end]
    shared = [
        s for s in overlapping
        if booking.is_group and s.source != BLOCK and s.appointment_type_id == booking.appointment_type_id
        and s.booked_start == int(booking.start.timestamp()) and not room
    ]
    others = [s for s in overlapping if s not in shared]
    return others or shared or overlapping


def describe_conflicts(items: Sequence[BusySpan]) -> list[dict[str, Any]]:
    """Conflicts as the error's details: each booking or block once."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for item in items:
        key = (item.source, item.ref_id)
        if key in seen:
            continue
        seen.add(key)
        span = item.busy().interval
        out.append({"source": item.source, "id": item.ref_id, "busy_start": iso(span.start), "busy_end": iso(span.end)})
    return out
