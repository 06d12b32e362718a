"""Holds: a slot reserved for `hold_minutes` while the desk takes the patient's details.

create -> active -> confirmed (an appointment now), released, or expired (read from the
clock; nothing runs in the background). An active hold may be extended once. Creating and confirming lock the clinician and
rooms first (`locking.lock_resources`), so two desks never both get one slot.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from frontdesk.domain import appointments as rules
from frontdesk.domain import series
from frontdesk.domain.busy import BLOCK, EXTERNAL
from frontdesk.domain.errors import (
    HOLD_ALREADY_EXTENDED,
    HOLD_EXPIRED,
    HOLD_NOT_ACTIVE,
    INVALID_STATE_TRANSITION,
    SLOT_UNAVAILABLE,
    FrontdeskError,
    not_found,
    validation,
)
from frontdesk.domain.staff_video import refuse_move_by_hold
from frontdesk.domain.statuses import HOLD_STATES, HoldState
from frontdesk.domain.text import check_text
from frontdesk.domain.timeutil import (
    iso,
    local_to_utc,
    parse_date,
    parse_hhmm,
    parse_instant,
    zone,
)
from frontdesk.services import setup
from frontdesk.services.appointments import check_version
from frontdesk.services.attendees import seat_from_hold
from frontdesk.services.availability import find_offered_slots
from frontdesk.services.booking import (
    booking_of,
    find_conflicts,
    free_time,
    hold_booking,
    take_time,
    take_times,
)
from frontdesk.services.busy import resource_zones
from frontdesk.services.context import Context
from frontdesk.services.locking import lock_resources, setup_checked
from frontdesk.services.objects import (
    AppointmentView,
    ConfirmRequest,
    HoldFilter,
    HoldRequest,
    HoldView,
    Page,
)
from frontdesk.services.patients import add_patient, check_new_patient
from frontdesk.services.records import (
    add_status,
    appointment_view,
    load_appointment,
    log_change,
    new_id,
    read_page,
    write_links,
)
from frontdesk.services.setup import LocationSetup, TypeSetup
from frontdesk.services.video import settle_video
from frontdesk.services.waitlist import settle_waitlist
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Hold,
    Location,
    Patient,
    appointment_resources,
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
        appointment_id=_booked_by(hold),
        desk=hold.desk,
        reschedule_appointment_id=hold.reschedule_appointment_id,
        extended_at=hold.extended_at,
        extended_by=hold.extended_by,
        series_rule=hold.series_rule,
        occurrences=hold.occurrences,
        skipped=hold.skipped or [],
        appointment_ids=_booked_all(hold),
    )


def _booked_all(hold: Hold) -> list[str]:
    """Every appointment a confirmed hold booked: a series' occurrences in order (only the
    first carries the hold's id), else its one appointment."""
    first = hold.appointment
    if first is None:
        return []
    if first.series_id is None:
        return [first.id]
    session = object_session(hold)
    assert session is not None  # a view is made inside its session
    return list(session.scalars(
        select(Appointment.id).where(Appointment.series_id == first.series_id).order_by(Appointment.series_index)
    ))


def _booked_by(hold: Hold) -> str | None:
    """The appointment a confirmed hold became, or the one it moved."""
    if hold.appointment is not None:
        return hold.appointment.id
    if hold.seat is not None:  # a seat that joined a group another hold began
        return hold.seat.appointment_id
    return hold.reschedule_appointment_id if hold.status == HoldState.CONFIRMED else None


def _load(session: Session, hold_id: str, *, for_update: bool = False) -> Hold:
    query = select(Hold).where(Hold.id == hold_id)
    if for_update:
        # Re-read under the lock: another desk may have confirmed or released it meanwhile.
        query = query.with_for_update().execution_options(populate_existing=True)
    hold = session.execute(query).scalar_one_or_none()
    if hold is None:
        raise not_found("hold", hold_id)
    return hold


# --- create ------------------------------------------------------------------------------


def _start(session: Session, req: HoldRequest, location: LocationSetup | None) -> datetime:
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
        # The setup as this process last read it under the same version: no reads but one.
        appointment_type = setup.appointment_type(session, req.appointment_type_id)
        if appointment_type is None:
            raise not_found("appointment type", req.appointment_type_id)
        clinician = setup.resources(session).get(req.clinician_id)
        if clinician is None or clinician.kind != "clinician":
            raise not_found("clinician", req.clinician_id)
        location_id = req.location_id
        rules.check_place(req.is_remote, location_id)
        if not req.is_remote and location_id is None:
            # An in-person type offered at one place only needs no --location.
            if len(appointment_type.location_ids) != 1:
                raise validation("location_id is required for an in-person hold", field="location_id")
            location_id = appointment_type.location_ids[0]
        location = setup.locations(session).get(location_id) if location_id else None
        if location_id and location is None:
            raise not_found("location", location_id)
        start = _start(session, req, location)
        rule = series.check_rule(req.rrule) if req.rrule is not None else None
        if rule is not None and req.reschedule_appointment_id:
            raise validation("A move holds one slot; a series (rrule) cannot move an appointment",
                             field="rrule", reschedule=req.reschedule_appointment_id)
        if rule is not None and (appointment_type.capacity or 1) > 1:
            # A seat joins one class's roster; each class of a run is its own group appointment.
            raise validation("A class is booked one seat at a time: hold each class's seat on its own (no rrule)",
                             field="rrule", appointment_type_id=appointment_type.id)
        moving = _movable(session, req.reschedule_appointment_id) if req.reschedule_appointment_id else None
        if moving is not None and moving.appointment_type_id not in (None, appointment_type.id):
            raise validation(
                f"{moving.id} is a {moving.appointment_type_id}: a move keeps the type, so hold a {moving.appointment_type_id} slot",
                appointment_type_id=appointment_type.id, reschedule=moving.id,
            )

        if req.room_id:
            rooms = [req.room_id]
        elif req.is_remote:
            rooms = []
        else:
            rooms = list(appointment_type.rooms_by_location.get(location_id, ()))
        # The question availability answers, for one start or (a series) many.
        question = functools.partial(
            find_offered_slots, session, appointment_type_id=appointment_type.id, clinician_id=req.clinician_id,
            duration_minutes=req.duration_minutes, location_id=location_id, is_remote=req.is_remote,
            room_id=req.room_id, exclude_appointment_id=moving.id if moving else None,
        )
        # PostgreSQL: a slot that committed bookings already take is refused before queueing
        # for the locks (desks racing for one slot mostly lose). This look writes nothing; a
        # slot it finds free is checked again, whole, under the locks.
        look_first = rule is None and session.get_bind().dialect.name != "sqlite"
        if look_first:
            looked_at = ctx.clock.now()
            if question(looked_at, starts=[start], bookings_only=True)[0] is None:
                raise _slot_unavailable(appointment_type.id, req, start, location_id, looked_at)

        # Lock the clinician and every room the slot could take before looking at busy time.
        lock_resources(session, [req.clinician_id, *rooms, *(r.id for r in (moving.resources if moving else ()))],
                       setup_read_with_busy_time=rule is None)
        now = ctx.clock.now()  # read under the lock: what is decided below holds until commit
        if moving is not None:
            moving = _movable(session, moving.id, for_update=True)
        # Under the locks: the read clears expired holds in the way and serves the booking
        # rule's check below.
        offered = functools.partial(question, now, for_booking=True)
        if rule is None:
            # A desk that waited for the locks has most often lost the slot to the desk it
            # waited for: the bookings are looked at again first, the blocks read only after.
            taken = look_first and offered(starts=[start], bookings_only=True)[0] is None
            slot = None if taken else offered(starts=[start])[0]
            setup_checked(session)  # before any answer: what was read under the old setup is void
            if slot is None:
                raise _slot_unavailable(appointment_type.id, req, start, location_id, now)
            held = [_held_slot(0, slot, req.clinician_id)]
            skipped: list[dict] = []
        else:
            held, skipped = _hold_series(session, now, req, rule, start, appointment_type, location, rooms, offered)
        first = held[0]
        resource_ids = sorted({rid for item in held for rid in item["resource_ids"]})
        hold = Hold(
            id=new_id("hold_"),
            status=HoldState.ACTIVE,
            appointment_type_id=appointment_type.id,
            clinician_id=req.clinician_id,
            location_id=location_id if not req.is_remote else None,
            is_remote=req.is_remote,
            start_time=first["start"],
            end_time=first["end"],
            duration_minutes=int((first["end"] - first["start"]) // timedelta(minutes=1)),
            expires_at=now + timedelta(minutes=setup.hold_minutes(session)),
            created_at=now,
            created_by=ctx.operator,
            desk=ctx.desk,
            reschedule_appointment_id=moving.id if moving else None,
            series_rule=rule,
            occurrences=[_occurrence_json(item) for item in held] if rule else None,
            skipped=skipped if rule else None,
            updated_at=now,
        )
        session.add(hold)
        session.flush()
        # A new hold has booked nothing yet: known, so its view asks the database nothing.
        set_committed_value(hold, "appointment", None)
        set_committed_value(hold, "seat", None)
        session.execute(hold_resources.insert(), [{"hold_id": hold.id, "resource_id": rid} for rid in resource_ids])
        _take_hold_time(session, now, hold, appointment_type, resource_ids)
        return hold_view(hold, now, resource_ids)


def _slot_unavailable(type_id: str, req: HoldRequest, start: datetime, location_id: str | None,
                      now: datetime) -> FrontdeskError:
    return FrontdeskError(
        SLOT_UNAVAILABLE,
        "That slot is not free (or not offered) now",
        {
            "appointment_type_id": type_id,
            "clinician_id": req.clinician_id,
            "start_time": iso(start),
            "location_id": location_id,
            "is_remote": req.is_remote,
            # A slot whose time has begun is never offered: say so, not "taken".
            "reason": "started" if start <= now else "not_free",
        },
    )


def _held_slot(index: int, slot, clinician_id: str) -> dict:
    """One occurrence a hold takes: its index in the rule, its time and its resources."""
    return {
        "index": index,
        "start": slot.start_time.astimezone(UTC),
        "end": slot.end_time.astimezone(UTC),
        "resource_ids": sorted(set(slot.resource_ids) | {clinician_id}),
    }


def _occurrence_json(item: dict) -> dict:
    return {"index": item["index"], "start_time": iso(item["start"]), "end_time": iso(item["end"]),
            "resource_ids": item["resource_ids"]}


def _hold_series(session: Session, now: datetime, req: HoldRequest, rule: str, start: datetime,
                 appointment_type: AppointmentType | TypeSetup, location: Location | LocationSetup | None, rooms: list[str],
                 offered) -> tuple[list[dict], list[dict]]:
    """The occurrences of a series hold, each one what availability offers now (the same
    check as a hold of one slot), and those skipped with why. All or nothing unless
    `skip_conflicts`: SLOT_UNAVAILABLE with `details.conflicts`; none free is always so."""
    minutes = req.duration_minutes or appointment_type.duration_minutes
    held, conflicts = series_answers(session, now, rule, start, minutes, appointment_type, req.clinician_id, location,
                                     rooms, offered)
    if conflicts and (not req.skip_conflicts or not held):
        raise FrontdeskError(
            SLOT_UNAVAILABLE,
            f"{len(conflicts)} of the series' {len(conflicts) + len(held)} occurrences are not free"
            + ("" if held else " (none is)"),
            {"appointment_type_id": appointment_type.id, "clinician_id": req.clinician_id, "rrule": rule,
             "location_id": location.id if location else None, "is_remote": req.is_remote, "conflicts": conflicts},
        )
    return held, conflicts


def series_answers(session: Session, now: datetime, rule: str, start: datetime, minutes: int,
                   appointment_type: AppointmentType | TypeSetup, clinician_id: str, location: Location | LocationSetup | None, rooms: list[str], offered,
                   exclude_hold_id: str | None = None) -> tuple[list[dict], list[dict]]:
    """Each occurrence of `rule` from `start`, `minutes` long: those availability offers now (`offered`, the
    hold's own question) and those it does not, with why. `exclude_hold_id`: a hold whose
    own time does not count (a single hold asked about growing into this series)."""
    if location is not None:
        tz = zone(location.timezone)
    else:
        tz = resource_zones(session, [clinician_id])[clinician_id]
    gap = timedelta(minutes=(appointment_type.padding_before_minutes or 0) + (appointment_type.padding_after_minutes or 0))
    held: list[dict] = []
    conflicts: list[dict] = []
    occurrences = series.expand(rule, start, timedelta(minutes=minutes), tz, gap=gap)
    for occurrence, slot in zip(occurrences, offered(starts=[o.start for o in occurrences]), strict=True):
        if slot is not None:
            held.append(_held_slot(occurrence.index, slot, clinician_id))
        else:
            reason = _why_not(session, now, appointment_type, occurrence, clinician_id, rooms, exclude_hold_id)
            conflicts.append({**occurrence.as_json(), "reason": reason})
    return held, conflicts


def _why_not(session: Session, now: datetime, appointment_type: AppointmentType | TypeSetup, occurrence: series.Occurrence,
             clinician_id: str, rooms: list[str], exclude_hold_id: str | None = None) -> str:
    """Why availability does not offer an occurrence, in a desk's words."""
    if occurrence.start <= now:
        return series.IN_THE_PAST
    if occurrence.start < now + timedelta(minutes=appointment_type.min_notice_minutes or 0):
        return series.TOO_SOON
    conflicts = functools.partial(find_conflicts, session, now, exclude_hold_id=exclude_hold_id)
    found = conflicts(booking_of(appointment_type, occurrence.start, occurrence.end, [clinician_id], []))
    if found:
        return series.BLOCKED if all(c["source"] in (BLOCK, EXTERNAL) for c in found) else series.TAKEN
    room_free = any(
        not conflicts(booking_of(appointment_type, occurrence.start, occurrence.end, [], [room]))
        for room in rooms
    )
    if rooms and not room_free:
        return series.NO_ROOM
    return series.OUTSIDE_HOURS


def _take_hold_time(session: Session, now: datetime, hold: Hold, appointment_type: AppointmentType | TypeSetup | None,
                    resource_ids: list[str]) -> None:
    """The hold's busy rows, every occurrence through the booking rule, with its expiry."""
    bookings = [
        booking_of(appointment_type, start, end, [hold.clinician_id], set(ids) - {hold.clinician_id})
        for start, end, ids in _held_times(hold, resource_ids)
    ]
    take_times(session, now, bookings, hold_id=hold.id, expires_at=hold.expires_at,
               moving_appointment_id=hold.reschedule_appointment_id)


def _held_times(hold: Hold, resource_ids: list[str]) -> list[tuple[datetime, datetime, list[str]]]:
    """What a hold takes: each occurrence of a series (with its own room), else its one slot."""
    if not hold.occurrences:
        return [(hold.start_time, hold.end_time, resource_ids)]
    return [(parse_instant(o["start_time"]), parse_instant(o["end_time"]), o["resource_ids"]) for o in hold.occurrences]


def _movable(session: Session, appointment_id: str, *, for_update: bool = False) -> Appointment:
    """An appointment that may be moved: in an active status and not yet arrived."""
    appointment = load_appointment(session, appointment_id, for_update=for_update)
    refuse_move_by_hold(appointment.internal, appointment.status, appointment.attendance_status)
    if appointment.status not in rules.OPEN_STATUSES or appointment.attendance_status is not None:
        state = appointment.attendance_status or appointment.status
        raise FrontdeskError(
            INVALID_STATE_TRANSITION,
            f"A {state.replace('_', ' ')} appointment cannot be moved",
            {"current_status": appointment.status, "attendance_status": appointment.attendance_status,
             "attempted_action": "reschedule"},
        )
    return appointment


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


def _lock_hold(session: Session, hold_id: str) -> tuple[Hold, list[str]]:
    """The hold and its resources' ids, the resources locked (in id order) and then the hold."""
    link = hold_resources.c
    hold = _load(session, hold_id)
    resource_ids = sorted(session.execute(select(link.resource_id).where(link.hold_id == hold.id)).scalars())
    lock_resources(session, resource_ids)
    return _load(session, hold_id, for_update=True), resource_ids


def extend_hold(ctx: Context, hold_id: str) -> HoldView:
    """Give an active hold one more `hold_minutes` from its current expiry, once: a second
    time HOLD_ALREADY_EXTENDED, after expiry HOLD_EXPIRED, when not active HOLD_NOT_ACTIVE.
    Its busy rows carry the expiry too (expired holds are cleared by it inside every booking
    transaction), so they are written again with the new one, through the booking rule."""
    with ctx.db.session() as session:
        hold, resource_ids = _lock_hold(session, hold_id)
        now = ctx.clock.now()  # read under the lock, as every writer does
        _check_active(hold, now)
        if hold.extended_at is not None:
            raise FrontdeskError(
                HOLD_ALREADY_EXTENDED,
                f"The hold was already extended once (at {iso(hold.extended_at)}); it expires at {iso(hold.expires_at)}",
                {"hold_id": hold.id, "extended_at": iso(hold.extended_at), "extended_by": hold.extended_by,
                 "expires_at": iso(hold.expires_at)},
            )
        hold.expires_at = hold.expires_at + timedelta(minutes=setup.hold_minutes(session))
        hold.extended_at = now
        hold.extended_by = ctx.operator
        hold.updated_at = now
        # The rows may be gone already: a desk whose clock runs ahead clears what it sees expired.
        free_time(session, hold_id=hold.id)
        _take_hold_time(session, now, hold, session.get(AppointmentType, hold.appointment_type_id), resource_ids)
        session.flush()
        return hold_view(hold, now, resource_ids)


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
        details = check_new_patient(ctx, today, p.first_name, p.last_name, p.email, p.phone, p.date_of_birth)
    attendee_email = rules.check_email(req.attendee_email or None, "attendee_email")
    attendee_name = rules.check_attendee_name(req.attendee_name)

    with ctx.db.session() as session:
        hold, resource_ids = _lock_hold(session, hold_id)
        now = ctx.clock.now()
        _check_active(hold, now)
        if hold.reschedule_appointment_id is not None:
            raise validation(f"This hold moves {hold.reschedule_appointment_id}: use appointments reschedule",
                             hold_id=hold.id, appointment_id=hold.reschedule_appointment_id)

        if details is None:
            assert req.patient_id is not None  # one of the two, checked above
            patient = session.get(Patient, req.patient_id)
            if patient is None:
                raise not_found("patient", req.patient_id)
        else:
            # Stored normalised, and refused when it matches a patient already there.
            patient = add_patient(session, details, now, allow_duplicate=req.allow_duplicate)

        appointment_type = session.get(AppointmentType, hold.appointment_type_id)
        assert appointment_type is not None  # a hold's type is a foreign key
        if (appointment_type.capacity or 1) > 1:
            return _confirm_seat(session, ctx, now, hold, patient, appointment_type, resource_ids, req)
        attendee = (attendee_name or f"{patient.first_name} {patient.last_name}", attendee_email or patient.email)
        series_id = new_id("ser_") if hold.series_rule else None
        free_time(session, hold_id=hold.id)
        # A series books each occurrence it holds as its own appointment (index 0..n-1).
        booked = [
            _book_occurrence(ctx, session, now, hold, appointment_type, patient, attendee, start, end, ids,
                             series_id, index)
            for index, (start, end, ids) in enumerate(_held_times(hold, resource_ids))
        ]
        hold.status = HoldState.CONFIRMED
        hold.updated_at = now
        session.flush()
        settle_waitlist(session, now, booked[0][0])  # the patient no longer waits for this
        first, first_ids = booked[0]
        return appointment_view(first, first_ids)


def _book_occurrence(ctx: Context, session: Session, now: datetime, hold: Hold, appointment_type: AppointmentType,
                     patient: Patient, attendee: tuple[str, str | None], start: datetime, end: datetime,
                     resource_ids: list[str], series_id: str | None, index: int) -> tuple[Appointment, list[str]]:
    """One held slot (or occurrence of a series) becomes a `confirmed` appointment, through
    the booking rule. Only the first carries the hold's id (one appointment per hold id)."""
    appointment = Appointment(
        id=new_id("apt_"),
        patient_id=patient.id,
        clinician_profile_id=hold.clinician_id,
        title=appointment_type.name,
        start_time=start,
        end_time=end,
        appointment_type_id=hold.appointment_type_id,
        location_id=hold.location_id,
        is_remote=hold.is_remote,
        duration_minutes=int((end - start) // timedelta(minutes=1)),
        attendee_name=attendee[0],
        attendee_email=attendee[1],
        booking_source="frontdesk",
        hold_id=hold.id if index == 0 else None,
        series_id=series_id,
        series_rule=hold.series_rule if series_id else None,
        series_index=index if series_id else None,
        created_by=ctx.operator,
        created_at=now,
        updated_at=now,
    )
    add_status(appointment, "confirmed", ctx.operator, now)
    settle_video(session, appointment)
    session.add(appointment)
    session.flush()
    write_links(session, appointment.id, resource_ids)
    booking = booking_of(appointment_type, start, end, [hold.clinician_id], set(resource_ids) - {hold.clinician_id})
    take_time(session, now, booking, appointment_id=appointment.id)
    return appointment, resource_ids


def _confirm_seat(session: Session, ctx: Context, now: datetime, hold: Hold, patient: Patient,
                  appointment_type: AppointmentType, resource_ids: list[str], req: ConfirmRequest) -> AppointmentView:
    """A seat hold of a group type: the patient joins the group appointment (booking.md "Groups")."""
    group = seat_from_hold(session, ctx.operator, now, hold, patient, appointment_type, resource_ids,
                           req.payment_status)
    hold.status = HoldState.CONFIRMED
    hold.updated_at = now
    settle_waitlist(session, now, group, patient.id)  # a seat in a class ends a wait for one too
    session.flush()
    return appointment_view(group)


# --- list --------------------------------------------------------------------------------


def list_holds(ctx: Context, f: HoldFilter) -> Page[HoldView]:
    """Holds by expiry (soonest first), one page: those in force (active and not yet expired
    by the clock) unless `status` asks for another state; `created_by` names an operator."""
    rules.check_paging(f.limit, f.offset)
    status = HoldState.ACTIVE if f.status is None else f.status
    if status not in HOLD_STATES:
        raise validation(f"{status!r} is not a hold status ({', '.join(HOLD_STATES)})", field="status")
    now = ctx.clock.now()
    # 'expired' is never written: an active hold whose time has passed.
    if status == HoldState.ACTIVE:
        conditions = [Hold.status == HoldState.ACTIVE, Hold.expires_at > now]
    elif status == HoldState.EXPIRED:
        conditions = [Hold.status == HoldState.ACTIVE, Hold.expires_at <= now]
    else:
        conditions = [Hold.status == status]
    if f.created_by is not None:
        conditions.append(Hold.created_by == check_text(f.created_by, "created_by", max_len=100, required=True))
    with ctx.db.session(write=False) as session:
        query = (
            select(Hold).where(*conditions)
            .options(selectinload(Hold.resources), selectinload(Hold.appointment))
            .order_by(Hold.expires_at, Hold.id)
        )
        return read_page(session, query, f.limit, f.offset, lambda hold: hold_view(hold, now))


# --- moving an appointment onto a hold ----------------------------------------------------------


def reschedule_appointment(ctx: Context, appointment_id: str, hold_id: str,
                           expect_version: int | None = None) -> AppointmentView:
    """Move an appointment onto a hold made for it (`HoldRequest.reschedule_appointment_id`),
    in one transaction: it keeps its id, patient, notes and history, takes the hold's time,
    clinician, location, room and mode (through the booking rule), and the change log
    records every field that changed (booking.md "Moving an appointment")."""
    with ctx.db.session() as session:
        appointment = load_appointment(session, appointment_id)
        hold = _load(session, hold_id)
        link = hold_resources.c
        new_ids = sorted(session.execute(select(link.resource_id).where(link.hold_id == hold.id)).scalars())
        lock_resources(session, [*(r.id for r in appointment.resources), *new_ids])
        appointment = _movable(session, appointment_id, for_update=True)
        hold = _load(session, hold_id, for_update=True)
        now = ctx.clock.now()  # read under the lock
        check_version(appointment, expect_version)
        _check_active(hold, now)
        if hold.reschedule_appointment_id != appointment.id:
            raise validation(f"Hold {hold.id} was not made to move {appointment.id}", hold_id=hold.id,
                             appointment_id=appointment.id)

        appointment_type = session.get(AppointmentType, appointment.appointment_type_id) if appointment.appointment_type_id else None
        free_time(session, appointment_id=appointment.id)
        free_time(session, hold_id=hold.id)
        take_time(session, now, hold_booking(hold, appointment_type, new_ids), appointment_id=appointment.id)
        old_ids = sorted(r.id for r in appointment.resources)
        if old_ids != new_ids:
            session.execute(delete(appointment_resources).where(appointment_resources.c.appointment_id == appointment.id))
            write_links(session, appointment.id, new_ids)
            log_change(appointment, "resource_ids", old_ids, new_ids, ctx.operator, now)
        moved = {
            "start_time": hold.start_time, "end_time": hold.end_time, "duration_minutes": hold.duration_minutes,
            "clinician_profile_id": hold.clinician_id, "location_id": hold.location_id, "is_remote": hold.is_remote,
        }
        for field, value in moved.items():
            if getattr(appointment, field) != value:
                log_change(appointment, field, getattr(appointment, field), value, ctx.operator, now)
                setattr(appointment, field, value)
        settle_video(session, appointment, ctx.operator, now)
        appointment.updated_at = now
        hold.status = HoldState.CONFIRMED
        hold.updated_at = now
        session.flush()
        return appointment_view(appointment, new_ids)
