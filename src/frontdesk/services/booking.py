"""The one way busy time is written: lock, read the clock, clear expired holds, ask the
booking rule (domain/booking.py), write the rows the database checks again.

Every writer (holds, confirm, direct create, time change, clinic-file load, ...) calls
`take_time` inside its own transaction and `free_time` when a booking stops taking time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.domain.booking import Booking, conflicts, describe_conflicts, share_key
from frontdesk.domain.busy import LONG_SPAN
from frontdesk.domain.errors import SLOT_UNAVAILABLE, FrontdeskError
from frontdesk.domain.intervals import Interval
from frontdesk.domain.timeutil import iso
from frontdesk.services.busy import BusyIndex, busy_spans, forget_busy_reads
from frontdesk.services.locking import lock_resources
from frontdesk.services.setup import TypeSetup
from frontdesk.store.models import Appointment, AppointmentType, BusyTime, Hold


def booking_of(appointment_type: AppointmentType | TypeSetup | None, start: datetime, end: datetime,
               clinician_ids, room_ids, seats: int = 1) -> Booking:
    """A booking of a type (None: a booking with no type, no padding, one seat) taking
    `seats` of a group's (a seat hold 1, a group appointment its attendees going)."""
    return Booking(
        start=start,
        end=end,
        clinician_ids=tuple(sorted({c for c in clinician_ids if c})),
        room_ids=tuple(sorted({r for r in room_ids if r})),
        appointment_type_id=appointment_type.id if appointment_type else None,
        padding_before_minutes=(appointment_type.padding_before_minutes or 0) if appointment_type else 0,
        padding_after_minutes=(appointment_type.padding_after_minutes or 0) if appointment_type else 0,
        capacity=(appointment_type.capacity or 1) if appointment_type else 1,
        seats=seats,
    )


def appointment_booking(appointment: Appointment, appointment_type: AppointmentType | None,
                        start: datetime | None = None, end: datetime | None = None) -> Booking:
    """An appointment's booking on its own clinician and rooms, at its time or at `start`-`end`;
    a group's takes a seat for each attendee going."""
    return booking_of(
        appointment_type, start or appointment.start_time, end or appointment.end_time,
        [r.id for r in appointment.resources if r.kind != "room"],
        [r.id for r in appointment.resources if r.kind == "room"],
        seats=seats_going(appointment),
    )


def seats_going(appointment: Appointment) -> int:
    """The seats an appointment takes: a group's attendees going, any other one 1."""
    if not appointment.is_group:
        return 1
    return sum(1 for a in appointment.attendees if a.attendance_status == "going")


def hold_booking(hold: Hold, appointment_type: AppointmentType | None, resource_ids: Iterable[str]) -> Booking:
    """A hold's booking: its time, on its clinician and the other resources it holds."""
    return booking_of(appointment_type, hold.start_time, hold.end_time, [hold.clinician_id],
                      set(resource_ids) - {hold.clinician_id})


def clear_expired_holds(session: Session, resource_ids: list[str], now: datetime) -> None:
    """Expired holds stop taking time. Done inside each booking transaction, before its
    insert, since the database's own check cannot read the clock."""
    b = BusyTime.__table__.c
    forget_busy_reads(session)
    session.execute(
        delete(BusyTime.__table__).where(b.resource_id.in_(resource_ids), b.expires_at.is_not(None), b.expires_at <= now)
    )


def find_conflicts(
    session: Session,
    now: datetime,
    booking: Booking,
    *,
    exclude_appointment_id: str | None = None,
    exclude_hold_id: str | None = None,
) -> list[dict]:
    """What keeps `booking` off its resources now ([] when free), as error details. The
    caller holds the resources' locks (`lock_resources`)."""
    busy = busy_spans(
        session, booking.resource_ids, booking.padded, now,
        exclude_appointment_id=exclude_appointment_id, exclude_hold_id=exclude_hold_id,
    )
    return describe_conflicts(conflicts(busy, booking)) + over_capacity(booking)


def over_capacity(booking: Booking) -> list[dict]:
    """A group with more attendees going than it has seats, whatever else is booked."""
    if booking.seats <= booking.capacity:
        return []
    return [{"source": "capacity", "id": booking.appointment_type_id, "seats": booking.seats,
             "capacity": booking.capacity}]


def slot_unavailable(booking: Booking, found: list[dict]) -> FrontdeskError:
    return FrontdeskError(
        SLOT_UNAVAILABLE,
        "That time is not free for " + ", ".join(booking.resource_ids),
        {
            "resource_ids": booking.resource_ids,
            "start_time": iso(booking.start),
            "end_time": iso(booking.end),
            "conflicts": found,
        },
    )


def take_time(
    session: Session,
    now: datetime,
    booking: Booking,
    *,
    appointment_id: str | None = None,
    hold_id: str | None = None,
    expires_at: datetime | None = None,
    overlap_allowed: bool = False,
    moving_appointment_id: str | None = None,
) -> None:
    """Write the busy rows of one appointment or hold, after the booking rule said yes
    (SLOT_UNAVAILABLE otherwise). With `overlap_allowed` (a reason was recorded) the rule is
    not asked and the rows are exempt from the database's check. A hold made to move an
    appointment (`moving_appointment_id`) does not count that appointment's own time, and
    shares its key, so the database lets the two overlap."""
    take_times(session, now, [booking], appointment_id=appointment_id, hold_id=hold_id, expires_at=expires_at,
               overlap_allowed=overlap_allowed, moving_appointment_id=moving_appointment_id)


def take_times(
    session: Session,
    now: datetime,
    bookings: Sequence[Booking],
    *,
    appointment_id: str | None = None,
    hold_id: str | None = None,
    expires_at: datetime | None = None,
    overlap_allowed: bool = False,
    moving_appointment_id: str | None = None,
) -> None:
    """`take_time` for several bookings of one appointment or hold (a series' occurrences,
    which never overlap one another): one lock, one read of busy time over their span, each
    booking asked of the rule, one insert. All or nothing: the first refused one raises."""
    ids = sorted({rid for booking in bookings for rid in booking.resource_ids})
    if not ids:
        return
    lock_resources(session, ids)
    if overlap_allowed:
        clear_expired_holds(session, ids, now)
    else:
        span = Interval(min(b.padded.start for b in bookings), max(b.padded.end for b in bookings))
        # Expired holds in the way are cleared by the read (before the insert, which the
        # database checks); a hold's own check of its slot has read this already.
        busy = busy_spans(session, ids, span, now, exclude_appointment_id=appointment_id or moving_appointment_id,
                          exclude_hold_id=hold_id, clear_expired=True)
        index = BusyIndex(busy) if len(bookings) > 1 else None
        for booking in bookings:
            near = index.around(*_seconds(booking.padded)) if index is not None else busy
            found = describe_conflicts(conflicts(near, booking)) + over_capacity(booking)
            if found:
                raise slot_unavailable(booking, found)
    rows = []
    for booking in bookings:
        interval = booking.padded
        key = share_key(moving_appointment_id or appointment_id or hold_id or "", booking.is_group,
                        booking.appointment_type_id, booking.start,
                        booking.clinician_ids[0] if booking.clinician_ids else None)
        rows += [
            {
                "resource_id": rid, "busy_start": interval.start, "busy_end": interval.end,
                "appointment_id": appointment_id, "hold_id": hold_id, "expires_at": expires_at,
                "appointment_type_id": booking.appointment_type_id, "booked_start": booking.start,
                "share_key": key, "exempt": overlap_allowed, "seats": booking.seats,
                "long_span": interval.end - interval.start > LONG_SPAN,
            }
            for rid in booking.resource_ids
        ]
    forget_busy_reads(session)
    try:
        session.execute(insert(BusyTime.__table__), rows)
    except IntegrityError as exc:
        if not is_overlap_refusal(exc):
            raise
        # The database saw an overlap the rule did not: refuse the same way.
        raise slot_unavailable(bookings[0], []) from None


def _seconds(interval: Interval) -> tuple[int, int]:
    """An interval in whole epoch seconds, widened to cover every span that can touch it."""
    return int(interval.start.timestamp()) - 1, int(interval.end.timestamp()) + 1


def free_time(session: Session, *, appointment_id: str | None = None, hold_id: str | None = None) -> None:
    """The booking stops taking time (cancelled, ended, released, confirmed into an appointment)."""
    b = BusyTime.__table__.c
    forget_busy_reads(session)
    if appointment_id is not None:
        session.execute(delete(BusyTime.__table__).where(b.appointment_id == appointment_id))
    if hold_id is not None:
        session.execute(delete(BusyTime.__table__).where(b.hold_id == hold_id))


def fewer_seats(session: Session, appointment_id: str, seats: int) -> None:
    """A group's busy rows stand for fewer seats (an attendee left): nothing can clash, so the
    rule need not be asked; more seats go through `take_time`."""
    b = BusyTime.__table__.c
    forget_busy_reads(session)
    session.execute(update(BusyTime.__table__).where(b.appointment_id == appointment_id).values(seats=seats))


def takes_time(session: Session, appointment_id: str) -> bool:
    b = BusyTime.__table__.c
    return session.execute(select(b.id).where(b.appointment_id == appointment_id).limit(1)).first() is not None


def is_overlap_refusal(exc: IntegrityError) -> bool:
    """The database's own overlap check: PostgreSQL's exclusion constraint (SQLSTATE 23P01)
    or the SQLite trigger's message."""
    code = getattr(exc.orig, "sqlstate", None)
    return code == "23P01" or "busy time overlaps" in str(exc.orig)
