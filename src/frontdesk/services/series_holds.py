"""A held slot that grows into a series (booking.md "Series"): the desk holds one slot while
it takes the patient's details, then asks for it to repeat.

`preview_series` reads each occurrence's answer (the held slot's own time does not count
against it); `repeat_hold` turns the hold into a series hold in one transaction. Both ask the
questions `create_hold(rrule=...)` asks (`holds.series_answers`), so a preview never
disagrees with the hold that follows it.
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from frontdesk.domain import series
from frontdesk.domain.errors import validation
from frontdesk.domain.timeutil import parse_instant
from frontdesk.services.availability import find_offered_slots
from frontdesk.services.booking import clear_expired_holds, free_time
from frontdesk.services.context import Context
from frontdesk.services.holds import (
    _check_active,
    _hold_series,
    _load,
    _occurrence_json,
    _take_hold_time,
    hold_view,
    series_answers,
)
from frontdesk.services.locking import lock_resources
from frontdesk.services.objects import HoldRequest, HoldView, SeriesOccurrence
from frontdesk.store.models import Appointment, AppointmentType, Hold, Location, hold_resources


def _question(session: Session, hold: Hold) -> tuple[AppointmentType, Location | None, list[str]]:
    """The hold's type, location, and the rooms an occurrence may take (any of the type's
    rooms there, as `create_hold` without a room)."""
    appointment_type = session.get(AppointmentType, hold.appointment_type_id)
    assert appointment_type is not None  # a hold's type is a foreign key
    location = session.get(Location, hold.location_id) if hold.location_id else None
    rooms = [] if hold.is_remote else [r.id for r in appointment_type.rooms if r.location_id == hold.location_id]
    return appointment_type, location, rooms


def _offered(session: Session, now: datetime, hold: Hold):
    """Availability's question for the hold's starts, its own time not counted."""
    return functools.partial(
        find_offered_slots, session, now, appointment_type_id=hold.appointment_type_id, clinician_id=hold.clinician_id,
        duration_minutes=hold.duration_minutes, location_id=hold.location_id, is_remote=hold.is_remote,
        room_id=None, exclude_hold_id=hold.id,
    )


def _refuse_unrepeatable(hold: Hold) -> None:
    if hold.reschedule_appointment_id is not None:
        raise validation("A move holds one slot; a series (rrule) cannot move an appointment",
                         field="rrule", hold_id=hold.id, reschedule=hold.reschedule_appointment_id)
    if hold.series_rule is not None:
        raise validation(f"Hold {hold.id} is already a series ({hold.series_rule})", field="rrule", hold_id=hold.id)


def preview_series(ctx: Context, hold_id: str, rrule: str) -> list[SeriesOccurrence]:
    """Each occurrence of `rrule` from an active single hold's slot, free or why not, as
    `repeat_hold` would find it now. Reads only."""
    rule = series.check_rule(rrule)
    now = ctx.clock.now()
    with ctx.db.session(write=False) as session:
        hold = _load(session, hold_id)
        _check_active(hold, now)
        _refuse_unrepeatable(hold)
        appointment_type, location, rooms = _question(session, hold)
        held, conflicts = series_answers(session, now, rule, hold.start_time, hold.duration_minutes, appointment_type,
                                         hold.clinician_id, location, rooms, _offered(session, now, hold),
                                         exclude_hold_id=hold.id)
    answers = [SeriesOccurrence(o["index"], o["start"], o["end"], True) for o in held] + [
        SeriesOccurrence(c["index"], parse_instant(c["start_time"]), parse_instant(c["end_time"]), False, c["reason"])
        for c in conflicts
    ]
    return sorted(answers, key=lambda o: o.index)


def repeat_hold(ctx: Context, hold_id: str, rrule: str, skip_conflicts: bool = False) -> HoldView:
    """Turn an active hold of one slot into a hold of every occurrence of `rrule` from that
    slot, in one transaction: its own time is freed, each occurrence taken through the
    booking rule, and the expiry stays as it was (the countdown does not restart). All or
    nothing unless `skip_conflicts`; a refusal (SLOT_UNAVAILABLE with `details.conflicts`)
    leaves the single hold exactly as it was."""
    rule = series.check_rule(rrule)
    with ctx.db.session() as session:
        hold = _load(session, hold_id)
        link = hold_resources.c
        held_ids = list(session.scalars(select(link.resource_id).where(link.hold_id == hold.id)))
        appointment_type, location, rooms = _question(session, hold)
        lock_resources(session, [hold.clinician_id, *rooms, *held_ids])
        hold = _load(session, hold_id, for_update=True)
        now = ctx.clock.now()  # read under the lock
        _check_active(hold, now)
        _refuse_unrepeatable(hold)
        # Its own time must not stand in its way; a refusal below rolls this back with the rest.
        free_time(session, hold_id=hold.id)
        clear_expired_holds(session, [hold.clinician_id, *rooms], now)
        req = HoldRequest(hold.appointment_type_id, hold.clinician_id, start=hold.start_time,
                          duration_minutes=hold.duration_minutes, location_id=hold.location_id,
                          is_remote=hold.is_remote, rrule=rule, skip_conflicts=skip_conflicts)
        held, skipped = _hold_series(session, now, req, rule, hold.start_time, appointment_type, location, rooms,
                                     _offered(session, now, hold))
        resource_ids = sorted({rid for item in held for rid in item["resource_ids"]})
        first = held[0]
        hold.series_rule = rule
        hold.occurrences = [_occurrence_json(item) for item in held]
        hold.skipped = skipped
        hold.start_time, hold.end_time = first["start"], first["end"]
        hold.updated_at = now
        session.execute(delete(hold_resources).where(link.hold_id == hold.id))
        session.execute(hold_resources.insert(), [{"hold_id": hold.id, "resource_id": rid} for rid in resource_ids])
        session.flush()
        _take_hold_time(session, now, hold, appointment_type, resource_ids)
        session.expire(hold, ["resources"])
        return hold_view(hold, now, resource_ids)


def series_size(ctx: Context, series_id: str) -> int:
    """How many appointments a series booked (cancelled ones included): the "of N" a desk reads."""
    with ctx.db.session(write=False) as session:
        return session.scalar(select(func.count()).select_from(Appointment).where(Appointment.series_id == series_id)) or 0
