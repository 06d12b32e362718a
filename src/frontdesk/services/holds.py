"""Holds: a slot reserved for `hold_minutes` while the desk takes the patient's details.

create -> active -> confirmed (an appointment now), released, or expired (read from the
clock; nothing runs in the background). Creating and confirming lock the clinician and
rooms first (`locking.lock_resources`), so two desks never both get one slot.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.domain import appointments as rules
from frontdesk.domain.errors import (
    HOLD_EXPIRED,
    HOLD_NOT_ACTIVE,
    SLOT_UNAVAILABLE,
    FrontdeskError,
    not_found,
    validation,
)
from frontdesk.domain.statuses import DEFAULT_HOLD_MINUTES, HoldState
from frontdesk.domain.timeutil import iso, local_to_utc, parse_date, parse_hhmm, zone
from frontdesk.services.appointments import (
    add_status,
    appointment_view,
    new_id,
    write_links,
)
from frontdesk.services.availability import find_offered_slot
from frontdesk.services.booking import (
    booking_of,
    clear_expired_holds,
    free_time,
    take_time,
)
from frontdesk.services.busy import resource_zones
from frontdesk.services.context import Context
from frontdesk.services.locking import lock_resources
from frontdesk.services.objects import (
    AppointmentView,
    ConfirmRequest,
    HoldRequest,
    HoldView,
)
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Clinic,
    Hold,
    Location,
    Patient,
    Resource,
    hold_resources,
)


def hold_view(hold: Hold, now: datetime, resource_ids: list[str] | None = None) -> HoldView:
    return HoldView(
        id=hold.id,
        status=rules.hold_state(hold.status, hold.expires_at, now),
        appointment_type_id=hold.appointment_type_id,
        clinician_id=hold.clinician_id,
        location_id=hold.location_id,
        resource_ids=resource_ids if resource_ids is not None else [r.id for r in hold.resources],
        is_remote=hold.is_remote,
        start_time=hold.start_time,
        end_time=hold.end_time,
        expires_at=hold.expires_at,
        created_at=hold.created_at,
        created_by=hold.created_by,
        appointment_id=hold.appointment.id if hold.appointment is not None else None,
        desk=hold.desk,
    )


def _load(session: Session, hold_id: str, *, for_update: bool = False) -> Hold:
    query = select(Hold).where(Hold.id == hold_id)
    if for_update:
        # Re-read under the lock: another desk may have confirmed or released it meanwhile.
        query = query.with_for_update().execution_options(populate_existing=True)
    hold = session.execute(query).scalar_one_or_none()
    if hold is None:
        raise not_found("hold", hold_id)
    return hold


def _hold_minutes(session: Session) -> int:
    clinic = session.get(Clinic, 1)
    return clinic.hold_minutes if clinic is not None and clinic.hold_minutes else DEFAULT_HOLD_MINUTES


# --- create ------------------------------------------------------------------------------


def _start(session: Session, req: HoldRequest, location: Location | None) -> datetime:
    """The instant asked for: `start`, or `date` + `start_time` read in the location's
    timezone (a remote hold: the clinician's)."""
    if req.start is not None:
        if req.date is not None or req.start_time is not None:
            raise validation("Give either start or date and start_time, not both", field="start")
        if req.start.tzinfo is None:
            raise validation("start needs a UTC offset", field="start")
        return req.start
    if req.date is None or req.start_time is None:
        raise validation("start (an instant), or date and start_time, is required", field="start")
    day, minute = parse_date(req.date), parse_hhmm(req.start_time)
    if minute >= 24 * 60:
        raise validation(f"{req.start_time!r} is not a start time", field="start_time")
    tz = zone(location.timezone) if location is not None else resource_zones(session, [req.clinician_id])[req.clinician_id]
    return local_to_utc(day, minute, tz)


def create_hold(ctx: Context, req: HoldRequest) -> HoldView:
    """Reserve exactly the slot asked for, only if availability would offer it now; else
    SLOT_UNAVAILABLE. It lasts the clinic's `hold_minutes`."""
    with ctx.db.session() as session:
        appointment_type = session.get(AppointmentType, req.appointment_type_id)
        if appointment_type is None:
            raise not_found("appointment type", req.appointment_type_id)
        clinician = session.get(Resource, req.clinician_id)
        if clinician is None or clinician.kind != "clinician":
            raise not_found("clinician", req.clinician_id)
        location_id = req.location_id
        rules.check_place(req.is_remote, location_id)
        if not req.is_remote and location_id is None:
            # An in-person type offered at one place only needs no --location.
            if len(appointment_type.locations) != 1:
                raise validation("location_id is required for an in-person hold", field="location_id")
            location_id = appointment_type.locations[0].id
        location = session.get(Location, location_id) if location_id else None
        if location_id and location is None:
            raise not_found("location", location_id)
        start = _start(session, req, location)

        # Lock the clinician and every room the slot could take before looking at busy time.
        if req.room_id:
            rooms = [req.room_id]
        elif req.is_remote:
            rooms = []
        else:
            rooms = [r.id for r in appointment_type.rooms if r.location_id == location_id]
        lock_resources(session, [req.clinician_id, *rooms])
        now = ctx.clock.now()  # read under the lock: what is decided below holds until commit
        clear_expired_holds(session, [req.clinician_id, *rooms], now)
        slot = find_offered_slot(
            session,
            now,
            appointment_type_id=appointment_type.id,
            clinician_id=req.clinician_id,
            start=start,
            duration_minutes=req.duration_minutes,
            location_id=location_id,
            is_remote=req.is_remote,
            room_id=req.room_id,
        )
        if slot is None:
            raise FrontdeskError(
                SLOT_UNAVAILABLE,
                "That slot is not free (or not offered) now",
                {
                    "appointment_type_id": appointment_type.id,
                    "clinician_id": req.clinician_id,
                    "start_time": iso(start),
                    "location_id": location_id,
                    "is_remote": req.is_remote,
                },
            )
        start, end = slot.start_time.astimezone(UTC), slot.end_time.astimezone(UTC)
        resource_ids = sorted(set(slot.resource_ids) | {req.clinician_id})
        hold = Hold(
            id=new_id("hold_"),
            status=HoldState.ACTIVE,
            appointment_type_id=appointment_type.id,
            clinician_id=req.clinician_id,
            location_id=location_id if not req.is_remote else None,
            is_remote=req.is_remote,
            start_time=start,
            end_time=end,
            duration_minutes=int((end - start) // timedelta(minutes=1)),
            expires_at=now + timedelta(minutes=_hold_minutes(session)),
            created_at=now,
            created_by=ctx.operator,
            desk=ctx.desk,
            updated_at=now,
        )
        session.add(hold)
        session.flush()
        session.execute(hold_resources.insert(), [{"hold_id": hold.id, "resource_id": rid} for rid in resource_ids])
        booking = booking_of(appointment_type, start, end, [req.clinician_id], set(resource_ids) - {req.clinician_id})
        take_time(session, now, booking, hold_id=hold.id, expires_at=hold.expires_at)
        return hold_view(hold, now, resource_ids)


# --- read, release -----------------------------------------------------------------------


def get_hold(ctx: Context, hold_id: str) -> HoldView:
    now = ctx.clock.now()
    with ctx.db.session(write=False) as session:
        return hold_view(_load(session, hold_id), now)


def _check_active(hold: Hold, now: datetime) -> None:
    state = rules.hold_state(hold.status, hold.expires_at, now)
    if state == HoldState.EXPIRED:
        raise FrontdeskError(
            HOLD_EXPIRED,
            f"The hold expired at {iso(hold.expires_at)}",
            {"hold_id": hold.id, "expires_at": iso(hold.expires_at)},
        )
    if state != HoldState.ACTIVE:
        appointment_id = hold.appointment.id if hold.appointment is not None else None
        raise FrontdeskError(
            HOLD_NOT_ACTIVE,
            f"The hold is {state}" + (f" (appointment {appointment_id})" if appointment_id else ""),
            {"hold_id": hold.id, "status": state, "appointment_id": appointment_id},
        )


def release_hold(ctx: Context, hold_id: str) -> HoldView:
    """Give the slot back. Only an active hold can be released."""
    with ctx.db.session() as session:
        hold = _load(session, hold_id, for_update=True)
        now = ctx.clock.now()
        _check_active(hold, now)
        hold.status = HoldState.RELEASED
        hold.updated_at = now
        free_time(session, hold_id=hold.id)
        session.flush()
        return hold_view(hold, now)


# --- confirm -----------------------------------------------------------------------------


def confirm_hold(ctx: Context, hold_id: str, req: ConfirmRequest) -> AppointmentView:
    """Turn an active hold into a `confirmed` appointment for an existing or a new patient,
    in one transaction: after expiry HOLD_EXPIRED, when not active HOLD_NOT_ACTIVE, and in
    both cases nothing is created. The clock is read once the locks are held, and the slot
    is checked again by the booking rule: a slot another desk took after this hold lapsed
    (however the desks' clocks disagree) is SLOT_UNAVAILABLE."""
    today = ctx.clock.now().date()  # for a date of birth's plausibility only
    if (req.patient_id is None) == (req.new_patient is None):
        raise validation("Give either patient_id or new patient details", field="patient_id")
    details = None
    if req.new_patient is not None:
        p = req.new_patient
        details = rules.check_new_patient(p.first_name, p.last_name, p.email, p.phone, p.date_of_birth, today)
    attendee_email = rules.check_email(req.attendee_email or None, "attendee_email")
    attendee_name = rules.check_attendee_name(req.attendee_name)

    with ctx.db.session() as session:
        link = hold_resources.c
        hold = _load(session, hold_id)
        resource_ids = sorted(session.execute(select(link.resource_id).where(link.hold_id == hold.id)).scalars())
        lock_resources(session, resource_ids)
        hold = _load(session, hold_id, for_update=True)
        now = ctx.clock.now()
        _check_active(hold, now)

        if details is None:
            assert req.patient_id is not None  # one of the two, checked above
            patient = session.get(Patient, req.patient_id)
            if patient is None:
                raise not_found("patient", req.patient_id)
        else:
            patient = Patient(
                id=new_id("pat_"),
                first_name=details.first_name,
                last_name=details.last_name,
                email=details.email,
                phone=details.phone,
                date_of_birth=details.date_of_birth,
            )
            session.add(patient)

        appointment_type = session.get(AppointmentType, hold.appointment_type_id)
        assert appointment_type is not None  # a hold's type is a foreign key
        appointment = Appointment(
            id=new_id("apt_"),
            patient_id=patient.id,
            clinician_profile_id=hold.clinician_id,
            title=appointment_type.name,
            start_time=hold.start_time,
            end_time=hold.end_time,
            appointment_type_id=hold.appointment_type_id,
            location_id=hold.location_id,
            is_remote=hold.is_remote,
            duration_minutes=hold.duration_minutes,
            attendee_name=attendee_name or f"{patient.first_name} {patient.last_name}",
            attendee_email=attendee_email or patient.email,
            booking_source="frontdesk",
            hold_id=hold.id,
            created_by=ctx.operator,
            created_at=now,
            updated_at=now,
        )
        add_status(appointment, "confirmed", ctx.operator, now)
        session.add(appointment)
        session.flush()
        write_links(session, appointment.id, resource_ids)
        free_time(session, hold_id=hold.id)
        booking = booking_of(appointment_type, hold.start_time, hold.end_time, [hold.clinician_id],
                             set(resource_ids) - {hold.clinician_id})
        take_time(session, now, booking, appointment_id=appointment.id)
        hold.status = HoldState.CONFIRMED
        hold.updated_at = now
        session.flush()
        _pause_for_crash_test()
        return appointment_view(appointment, resource_ids)


def _pause_for_crash_test() -> None:
    """Test-only (tests/test_concurrency.py): with FRONTDESK_TEST_CONFIRM_PAUSE=FILE set, a
    confirm that has written everything but not committed creates FILE and waits to be
    killed, to show that a crash there leaves nothing half-written."""
    marker = os.environ.get("FRONTDESK_TEST_CONFIRM_PAUSE")
    if marker:
        Path(marker).touch()
        time.sleep(60)
