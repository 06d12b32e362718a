"""A group's attendees (booking.md "Groups"): add, remove, update, and the seat a confirmed
hold takes.

A group appointment (a type with capacity above 1) is one appointment per start, clinician
and room; its busy rows stand for its attendees going (`busy_times.seats`), so the booking
rule counts seats taken = attendees going + active seat holds. Every change here is one
transaction: the resources are locked, the version checked, the busy rows' seats kept
right, the version bumped and the change logged (field `attendees`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from frontdesk.domain import appointments as rules
from frontdesk.domain.errors import INVALID_STATE_TRANSITION, FrontdeskError, validation
from frontdesk.domain.statuses import ATTENDEE_STATUSES, GOING, PAYMENT_STATUSES
from frontdesk.services.appointments import check_version
from frontdesk.services.booking import (
    appointment_booking,
    booking_of,
    fewer_seats,
    free_time,
    seats_going,
    take_time,
    takes_time,
)
from frontdesk.services.context import Context
from frontdesk.services.locking import lock_resources
from frontdesk.services.objects import AppointmentView
from frontdesk.services.records import add_status, appointment_view, load_appointment, log_change, new_id, write_links
from frontdesk.services.video import settle_video
from frontdesk.services.waitlist import settle_waitlist
from frontdesk.store.models import Appointment, AppointmentType, Attendee, Hold, Patient

ATTENDANCE_STATUSES = ATTENDEE_STATUSES
# Who is in the class can change while it is still to happen; payment and a no-show are
# also marked afterwards (a completed or no-show class), never on a cancelled one.
ROSTER_STATUSES = rules.OPEN_STATUSES
MARKING_STATUSES = (*rules.OPEN_STATUSES, "completed", "no_show")


def check_payment_status(value: str | None) -> str | None:
    if value is not None and value not in PAYMENT_STATUSES:
        raise validation(f"{value!r} is not a payment status ({', '.join(PAYMENT_STATUSES)})", field="payment_status")
    return value


def check_attendance_status(value: str | None) -> str | None:
    if value is not None and value not in ATTENDANCE_STATUSES:
        raise validation(f"{value!r} is not an attendance status ({', '.join(ATTENDANCE_STATUSES)})",
                         field="attendance_status")
    return value


def attendee_record(a: Attendee | None) -> dict | None:
    """What the change log keeps of an attendee."""
    if a is None:
        return None
    return {"patient_id": a.patient_id, "attendance_status": a.attendance_status, "no_show": a.no_show,
            "payment_status": a.payment_status}


# --- the desk's changes ---------------------------------------------------------------------


def add_attendee(ctx: Context, appointment_id: str, patient_id: str, payment_status: str | None = None,
                 expect_version: int | None = None) -> AppointmentView:
    """Add a patient to a group, going, if a seat is free (SLOT_UNAVAILABLE when full). A
    patient already going is VALIDATION_ERROR; one marked not going is going again."""
    check_payment_status(payment_status)
    with ctx.db.session() as session:
        group, now = _locked_group(session, ctx, appointment_id, expect_version, "add_attendee", ROSTER_STATUSES)
        patient = _patient(session, patient_id)
        _join(session, ctx.operator, now, group, patient.id, payment_status)
        settle_waitlist(session, now, group, patient.id)  # a seat in the class ends a wait for one
        return _saved(session, group, now)


def remove_attendee(ctx: Context, appointment_id: str, patient_id: str,
                    expect_version: int | None = None) -> AppointmentView:
    """Take a patient off the group (their seat is free again)."""
    with ctx.db.session() as session:
        group, now = _locked_group(session, ctx, appointment_id, expect_version, "remove_attendee", ROSTER_STATUSES)
        attendee = _attendee(group, patient_id)
        before = seats_going(group)
        group.attendees.remove(attendee)
        session.flush()
        _reseat(session, now, group, before)
        log_change(group, "attendees", attendee_record(attendee), None, ctx.operator, now)
        return _saved(session, group, now)


def update_attendee(ctx: Context, appointment_id: str, patient_id: str, *, attendance_status: str | None = None,
                    payment_status: str | None = None, no_show: bool | None = None,
                    expect_version: int | None = None) -> AppointmentView:
    """Change one attendee: `attendance_status` (not_going frees the seat; going takes one if
    free), `payment_status`, `no_show` (only once the class has begun)."""
    check_attendance_status(attendance_status)
    check_payment_status(payment_status)
    if attendance_status is None and payment_status is None and no_show is None:
        raise validation("Nothing to change: give attendance_status, payment_status or no_show",
                         field="attendance_status")
    statuses = ROSTER_STATUSES if attendance_status is not None else MARKING_STATUSES
    with ctx.db.session() as session:
        group, now = _locked_group(session, ctx, appointment_id, expect_version, "update_attendee", statuses)
        attendee = _attendee(group, patient_id)
        if no_show and now < group.start_time:
            raise _refused(group, "no-show", "A class that has not begun has no no-shows yet")
        old = attendee_record(attendee)
        before = seats_going(group)
        for field, value in (("attendance_status", attendance_status), ("payment_status", payment_status),
                             ("no_show", no_show)):
            if value is not None:
                setattr(attendee, field, value)
        if attendee_record(attendee) != old:
            attendee.last_updated_at = now
            session.flush()
            _reseat(session, now, group, before)
            log_change(group, "attendees", old, attendee_record(attendee), ctx.operator, now)
            return _saved(session, group, now)
        return appointment_view(group)


# --- a confirmed seat hold ----------------------------------------------------------------


def seat_from_hold(session: Session, who: str, now: datetime, hold: Hold, patient: Patient,
                   appointment_type: AppointmentType, resource_ids: list[str],
                   payment_status: str | None = None) -> Appointment:
    """Confirm a seat hold (its resources locked, it is active): the patient joins the active
    group at the hold's type, start, clinician, place and rooms, or a new group is made for
    the first seat. The hold's own row stops counting; the group's rows then count one
    seat more, through the booking rule."""
    check_payment_status(payment_status)
    group = _group_at(session, hold, resource_ids)
    if group is None:
        group = Appointment(
            id=new_id("apt_"), patient_id=None, is_group=True, clinician_profile_id=hold.clinician_id,
            title=appointment_type.name, start_time=hold.start_time, end_time=hold.end_time,
            appointment_type_id=hold.appointment_type_id, location_id=hold.location_id, is_remote=hold.is_remote,
            duration_minutes=hold.duration_minutes, booking_source="frontdesk", hold_id=hold.id, created_by=who,
            created_at=now, updated_at=now,
        )
        add_status(group, "confirmed", who, now)
        settle_video(session, group)  # a remote class has one meeting for everyone
        session.add(group)
        session.flush()
        write_links(session, group.id, resource_ids)
        free_time(session, hold_id=hold.id)
        first = _new_attendee(patient.id, payment_status, who, now, hold_id=hold.id)
        group.attendees.append(first)
        log_change(group, "attendees", None, attendee_record(first), who, now)
        session.flush()
        take_time(session, now, booking_of(appointment_type, hold.start_time, hold.end_time, [hold.clinician_id],
                                           set(resource_ids) - {hold.clinician_id}, seats=1),
                  appointment_id=group.id)
        return group
    free_time(session, hold_id=hold.id)
    attendee = _join(session, who, now, group, patient.id, payment_status)
    attendee.hold_id = hold.id
    group.updated_at = now
    flag_modified(group, "updated_at")
    session.flush()
    return group


def _group_at(session: Session, hold: Hold, resource_ids: list[str]) -> Appointment | None:
    """The active group a seat hold belongs to (read under the resources' locks)."""
    candidates = session.scalars(
        select(Appointment.id).where(
            Appointment.is_group.is_(True),
            Appointment.appointment_type_id == hold.appointment_type_id,
            Appointment.start_time == hold.start_time,
            Appointment.clinician_profile_id == hold.clinician_id,
            Appointment.location_id.is_(None) if hold.location_id is None else Appointment.location_id == hold.location_id,
            Appointment.is_remote.is_(hold.is_remote),
            Appointment.status.in_(rules.OPEN_STATUSES),
        ).order_by(Appointment.created_at, Appointment.id)
    ).all()
    for appointment_id in candidates:
        group = load_appointment(session, appointment_id, for_update=True)
        if sorted(r.id for r in group.resources) == sorted(resource_ids):
            return group
    return None


# --- shared steps --------------------------------------------------------------------------


def _locked_group(session: Session, ctx: Context, appointment_id: str, expect_version: int | None,
                  action: str, statuses: tuple[str, ...]) -> tuple[Appointment, datetime]:
    """The group, its resources locked and it re-read under the lock; the clock read then."""
    group = load_appointment(session, appointment_id)
    if not group.is_group:
        raise validation(f"{group.id} is not a group appointment: it has a patient, not attendees",
                         field="appointment_id", appointment_id=group.id)
    lock_resources(session, [r.id for r in group.resources])
    group = load_appointment(session, appointment_id, for_update=True)
    now = ctx.clock.now()
    check_version(group, expect_version)
    if group.status not in statuses or (statuses == ROSTER_STATUSES and group.attendance_status is not None):
        raise _refused(group, action, f"A {(group.attendance_status or group.status).replace('_', ' ')} class's "
                                      "attendees cannot be changed that way")
    return group, now


def _refused(group: Appointment, action: str, message: str) -> FrontdeskError:
    return FrontdeskError(INVALID_STATE_TRANSITION, message, {
        "current_status": group.status, "attendance_status": group.attendance_status, "attempted_action": action,
    })


def _patient(session: Session, patient_id: str) -> Patient:
    patient = session.get(Patient, patient_id) if patient_id else None
    if patient is None:
        raise validation(f"No patient with id {patient_id!r}", field="patient_id", patient_id=patient_id)
    return patient


def _attendee(group: Appointment, patient_id: str) -> Attendee:
    for attendee in group.attendees:
        if attendee.patient_id == patient_id:
            return attendee
    raise validation(f"{patient_id!r} is not an attendee of {group.id}", field="patient_id", patient_id=patient_id)


def _new_attendee(patient_id: str, payment_status: str | None, who: str, now: datetime,
                  hold_id: str | None = None) -> Attendee:
    return Attendee(patient_id=patient_id, attendance_status=GOING, no_show=False,
                    payment_status=payment_status or "not_applicable", hold_id=hold_id, added_by=who, added_at=now,
                    last_updated_at=now)


def _join(session: Session, who: str, now: datetime, group: Appointment, patient_id: str,
          payment_status: str | None) -> Attendee:
    """The patient going in the group: added, or going again; then the seat counted."""
    existing = next((a for a in group.attendees if a.patient_id == patient_id), None)
    if existing is not None and existing.attendance_status == GOING:
        raise validation(f"{patient_id} is already going to {group.id}", field="patient_id",
                         patient_id=patient_id, appointment_id=group.id)
    before = seats_going(group)
    old = attendee_record(existing)
    if existing is None:
        attendee = _new_attendee(patient_id, payment_status, who, now)
        group.attendees.append(attendee)
    else:
        attendee = existing
        attendee.attendance_status = GOING
        attendee.payment_status = payment_status or attendee.payment_status
        attendee.last_updated_at = now
    session.flush()
    _reseat(session, now, group, before)
    log_change(group, "attendees", old, attendee_record(attendee), who, now)
    return attendee


def _reseat(session: Session, now: datetime, group: Appointment, before: int) -> None:
    """Keep the group's busy rows at its seats going. One more seat asks the booking rule
    (SLOT_UNAVAILABLE when full); fewer only lowers the count."""
    after = seats_going(group)
    if after == before or not takes_time(session, group.id):
        return
    if after > before:
        appointment_type = session.get(AppointmentType, group.appointment_type_id) if group.appointment_type_id else None
        free_time(session, appointment_id=group.id)
        take_time(session, now, appointment_booking(group, appointment_type), appointment_id=group.id,
                  overlap_allowed=group.overlap_reason is not None)
    else:
        fewer_seats(session, group.id, after)


def _saved(session: Session, group: Appointment, now: datetime) -> AppointmentView:
    """Bump the version (the roster is part of the appointment) and answer with it."""
    group.updated_at = now
    flag_modified(group, "updated_at")
    session.flush()
    return appointment_view(group)
