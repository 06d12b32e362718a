"""Appointments: list, read, create, change, cancel; the day list; the change token.

Every write that takes time on a clinician or room locks those resources first
(`locking.lock_resources`), then checks their busy time and writes, in one transaction: two
desks can never book the same time.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from frontdesk.domain import appointments as rules
from frontdesk.domain.errors import (
    IDEMPOTENCY_CONFLICT,
    INVALID_STATE_TRANSITION,
    SLOT_UNAVAILABLE,
    VERSION_CONFLICT,
    FrontdeskError,
    not_found,
    validation,
)
from frontdesk.domain.timeutil import iso, local_to_utc, zone
from frontdesk.services.booking import booking_of, find_conflicts, free_time, take_time
from frontdesk.services.context import Context
from frontdesk.services.locking import lock_resources
from frontdesk.services.objects import (
    ActionResult,
    AgendaRow,
    AppointmentCreate,
    AppointmentFilter,
    AppointmentView,
    ChangeLogEntry,
    Page,
    StatusHistoryEntry,
)
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    FieldChange,
    Hold,
    IdempotencyKey,
    Location,
    Patient,
    Resource,
    ScheduleRule,
    StatusChange,
    appointment_resources,
    type_rooms,
)

# --- reading -----------------------------------------------------------------------------

_WITH_DETAILS = (
    selectinload(Appointment.resources),
    selectinload(Appointment.status_history),
    selectinload(Appointment.change_log),
)


def appointment_view(a: Appointment, resource_ids: list[str] | None = None) -> AppointmentView:
    return AppointmentView(
        id=a.id,
        patient_id=a.patient_id,
        clinician_profile_id=a.clinician_profile_id,
        title=a.title,
        description=a.description,
        start_time=a.start_time,
        end_time=a.end_time,
        status=a.status,
        appointment_type_id=a.appointment_type_id,
        location_id=a.location_id,
        is_remote=a.is_remote,
        remote_channel=a.remote_channel,
        video_link=a.video_link,
        video_provider=a.video_provider,
        duration_minutes=a.duration_minutes,
        attendee_email=a.attendee_email,
        attendee_name=a.attendee_name,
        meeting_url=a.meeting_url,
        attendance_status=a.attendance_status,
        cancellation_reason=a.cancellation_reason,
        booking_source=a.booking_source,
        episode_id=a.episode_id,
        created_at=a.created_at,
        updated_at=a.updated_at,
        resource_ids=resource_ids if resource_ids is not None else [r.id for r in a.resources],
        hold_id=a.hold_id,
        status_history=[StatusHistoryEntry(h.status, h.changed_by, h.changed_at) for h in a.status_history],
        change_log=[ChangeLogEntry(c.field, c.old, c.new, c.changed_by, c.changed_at) for c in a.change_log],
        overlap_reason=a.overlap_reason,
        version=a.version,
        created_by=a.created_by,
    )


def load_appointment(session: Session, appointment_id: str, *, for_update: bool = False) -> Appointment:
    query = select(Appointment).where(Appointment.id == appointment_id).options(*_WITH_DETAILS)
    if for_update:
        # Re-read under the lock: another desk may have changed it since we last looked.
        query = query.with_for_update(of=Appointment).execution_options(populate_existing=True)
    appointment = session.execute(query).scalar_one_or_none()
    if appointment is None:
        raise not_found("appointment", appointment_id)
    return appointment


def list_appointments(ctx: Context, f: AppointmentFilter) -> Page[AppointmentView]:
    """The appointments matching every filter given, by start time then id, one page."""
    rules.check_paging(f.limit, f.offset)
    for status in (f.status, *f.status_in):
        if status is not None:
            rules.check_status(status)
    conditions = []
    if f.patient_id:
        conditions.append(Appointment.patient_id == f.patient_id)
    if f.clinician_id:
        conditions.append(Appointment.clinician_profile_id == f.clinician_id)
    if f.status:
        conditions.append(Appointment.status == f.status)
    if f.status_in:
        conditions.append(Appointment.status.in_(f.status_in))
    if f.date_gte is not None:
        conditions.append(Appointment.start_time >= f.date_gte)
    if f.date_lte is not None:
        conditions.append(Appointment.start_time <= f.date_lte)
    if f.appointment_type_id:
        conditions.append(Appointment.appointment_type_id == f.appointment_type_id)
    if f.location_id:
        conditions.append(Appointment.location_id == f.location_id)
    with ctx.db.session(write=False) as session:
        rows = (
            session.execute(
                select(Appointment)
                .where(*conditions)
                .options(*_WITH_DETAILS)
                .order_by(Appointment.start_time, Appointment.id)
                .limit(f.limit + 1)
                .offset(f.offset)
            )
            .scalars()
            .all()
        )
        has_more, next_offset = rules.page_bounds(len(rows), f.limit, f.offset)
        return Page([appointment_view(a) for a in rows[: f.limit]], f.limit, f.offset, next_offset, has_more)


def get_appointment(ctx: Context, appointment_id: str) -> AppointmentView:
    with ctx.db.session(write=False) as session:
        return appointment_view(load_appointment(session, appointment_id))


# --- helpers shared with holds -----------------------------------------------------------


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4()}"


def add_status(appointment: Appointment, status: str, who: str, when: datetime) -> None:
    appointment.status = status
    appointment.status_history.append(StatusChange(status=status, changed_by=who, changed_at=when))


def log_change(appointment: Appointment, field: str, old: Any, new: Any, who: str, when: datetime) -> None:
    appointment.change_log.append(
        FieldChange(field=field, old=_jsonable(old), new=_jsonable(new), changed_by=who, changed_at=when)
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def check_version(appointment: Appointment, expect_version: int | None) -> None:
    """VERSION_CONFLICT when the appointment changed since the version the desk saw; the
    details say what the last change was and who made it, so the desk can look again."""
    if expect_version is None or expect_version == appointment.version:
        return
    last = appointment.change_log[-1] if appointment.change_log else None
    status = appointment.status_history[-1] if appointment.status_history else None
    by: str | None
    at: datetime | None
    if status is not None and (last is None or status.changed_at >= last.changed_at):
        by, at = status.changed_by, status.changed_at
    else:
        by, at = (last.changed_by, last.changed_at) if last else (None, None)
    fields = sorted({c.field for c in appointment.change_log if at is not None and c.changed_at == at})
    if status is not None and status.changed_at == at:
        fields = sorted({*fields, "status"})
    raise FrontdeskError(
        VERSION_CONFLICT,
        f"This appointment was changed{f' by {by}' if by else ''} since you opened it; "
        "look at it again before saving",
        {
            "appointment_id": appointment.id,
            "expected_version": expect_version,
            "current_version": appointment.version,
            "changed_by": by,
            "changed_at": iso(at) if at else None,
            "fields": fields,
        },
    )


def _resource(session: Session, resource_id: str, kind: str) -> Resource:
    resource = session.get(Resource, resource_id)
    if resource is None or resource.kind != kind:
        raise not_found(kind, resource_id)
    return resource


# --- create ------------------------------------------------------------------------------


def _digest(req: AppointmentCreate) -> str:
    body = {k: _jsonable(v) for k, v in asdict(req).items() if k != "idempotency_key"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def create_appointment(ctx: Context, req: AppointmentCreate) -> AppointmentView:
    """A new appointment, refused with SLOT_UNAVAILABLE when its clinician or room is busy
    (unless `allow_overlap_reason` is given). Working hours are not enforced.

    With an idempotency key the same body gives back the first appointment and creates
    nothing; another body is IDEMPOTENCY_CONFLICT.
    """
    try:
        return _create(ctx, req)
    except IntegrityError:
        # PostgreSQL: another desk stored the same idempotency key a moment ago. Its row is
        # committed now, so a second try answers from it.
        if req.idempotency_key is None:
            raise
        return _create(ctx, req)


def _create(ctx: Context, req: AppointmentCreate) -> AppointmentView:
    digest = _digest(req)
    with ctx.db.session() as session:
        # A type that needs a room takes the first free one of its rooms there (booking.md,
        # availability rule 6), so lock those rooms too.
        room_choices = [] if req.room_id else _type_rooms_at(session, req)
        resource_ids = sorted({r for r in (req.clinician_profile_id, req.room_id, *room_choices) if r})
        # Lock first: a desk that waited here for another one with the same idempotency key
        # then finds that desk's key, rather than its appointment in the way.
        lock_resources(session, resource_ids)
        if req.idempotency_key is not None:
            seen = session.get(IdempotencyKey, req.idempotency_key)
            if seen is not None:
                if seen.request_digest != digest:
                    raise FrontdeskError(
                        IDEMPOTENCY_CONFLICT,
                        "This idempotency key was used with a different request",
                        {"idempotency_key": req.idempotency_key, "appointment_id": seen.appointment_id},
                    )
                return appointment_view(load_appointment(session, seen.appointment_id))

        title = rules.check_title(req.title)
        minutes = rules.check_times(req.start_time, req.end_time)
        status = rules.initial_status(req.status)
        attendee_email = rules.check_email(req.attendee_email, "attendee_email")
        overlap_reason = rules.check_overlap_reason(req.allow_overlap_reason)
        rules.check_place(req.is_remote, req.location_id)
        if req.patient_id is not None and session.get(Patient, req.patient_id) is None:
            raise not_found("patient", req.patient_id)
        if req.clinician_profile_id is not None:
            _resource(session, req.clinician_profile_id, "clinician")
        appointment_type = None
        if req.appointment_type_id is not None:
            appointment_type = session.get(AppointmentType, req.appointment_type_id)
            if appointment_type is None:
                raise not_found("appointment type", req.appointment_type_id)
        if req.location_id is not None and session.get(Location, req.location_id) is None:
            raise not_found("location", req.location_id)
        if req.room_id is not None:
            room = _resource(session, req.room_id, "room")
            if req.is_remote:
                raise validation("A remote appointment takes no room", room_id=req.room_id)
            if req.location_id is not None and room.location_id != req.location_id:
                raise validation(f"Room {req.room_id} is not at {req.location_id}", room_id=req.room_id)

        now = ctx.clock.now()  # read under the lock
        start, end = req.start_time, req.end_time
        clinicians = [req.clinician_profile_id] if req.clinician_profile_id else []
        if room_choices:
            # The first room the booking rule lets this booking have (availability rule 6).
            free_rooms = [
                room_id for room_id in room_choices
                if not find_conflicts(session, now, booking_of(appointment_type, start, end, clinicians, [room_id]))
            ]
            clinician_free = not find_conflicts(session, now, booking_of(appointment_type, start, end, clinicians, []))
            if not free_rooms and clinician_free and overlap_reason is None:
                raise FrontdeskError(
                    SLOT_UNAVAILABLE,
                    "No room this appointment type needs is free at that time",
                    {"room_ids": room_choices, "start_time": iso(start), "end_time": iso(end)},
                )
            rooms = [(free_rooms or room_choices)[0]]
        else:
            rooms = [req.room_id] if req.room_id else []
        booking = booking_of(appointment_type, start, end, clinicians, rooms)
        resource_ids = booking.resource_ids

        appointment = Appointment(
            id=new_id("apt_"),
            patient_id=req.patient_id,
            clinician_profile_id=req.clinician_profile_id,
            title=title,
            description=rules.check_description(req.description),
            start_time=start,
            end_time=end,
            appointment_type_id=req.appointment_type_id,
            location_id=req.location_id,
            is_remote=req.is_remote,
            duration_minutes=minutes,
            attendee_email=attendee_email,
            attendee_name=rules.check_attendee_name(req.attendee_name),
            booking_source=req.booking_source,
            episode_id=rules.check_episode_id(req.episode_id),
            overlap_reason=overlap_reason,
            created_by=ctx.operator,
            created_at=now,
            updated_at=now,
        )
        add_status(appointment, status, ctx.operator, now)
        if overlap_reason is not None:
            log_change(appointment, "overlap_reason", None, overlap_reason, ctx.operator, now)
        session.add(appointment)
        session.flush()
        write_links(session, appointment.id, resource_ids)
        take_time(session, now, booking, appointment_id=appointment.id, overlap_allowed=overlap_reason is not None)
        if req.idempotency_key is not None:
            session.add(
                IdempotencyKey(
                    key=req.idempotency_key, request_digest=digest, appointment_id=appointment.id, created_at=now
                )
            )
        session.flush()
        return appointment_view(appointment, resource_ids)


def _type_rooms_at(session: Session, req: AppointmentCreate) -> list[str]:
    """The rooms an in-person appointment of this type could take at its location, by id."""
    if req.is_remote or req.location_id is None or req.appointment_type_id is None:
        return []
    return list(
        session.scalars(
            select(type_rooms.c.room_id)
            .join(Resource, Resource.id == type_rooms.c.room_id)
            .where(type_rooms.c.appointment_type_id == req.appointment_type_id, Resource.location_id == req.location_id)
            .order_by(type_rooms.c.room_id)
        )
    )


def write_links(session: Session, appointment_id: str, resource_ids: list[str]) -> None:
    """Which clinician and rooms an appointment uses (kept after it stops taking time)."""
    if resource_ids:
        session.execute(
            appointment_resources.insert(),
            [{"appointment_id": appointment_id, "resource_id": rid} for rid in resource_ids],
        )


# --- update ------------------------------------------------------------------------------


def update_appointment(
    ctx: Context, appointment_id: str, changes: dict, expect_version: int | None = None
) -> AppointmentView:
    """Change only the fields given (API names). `status` is refused: it changes through
    actions. A new time goes through the booking rule (the appointment's own time does not
    stand in its way); `allow_overlap_reason` in `changes` lets it overlap. With
    `expect_version`, a change since that version is VERSION_CONFLICT and nothing changes."""
    unknown = sorted(set(changes) - set(rules.UPDATABLE_FIELDS) - {"status", "allow_overlap_reason"})
    if unknown:
        raise validation(f"Unknown field(s): {', '.join(unknown)}", fields=unknown)
    if "status" in changes:
        raise validation(
            "The status changes only through actions (cancel), not through an update", field="status"
        )
    who = ctx.operator
    new_values: dict[str, Any] = {}
    if "title" in changes:
        new_values["title"] = rules.check_title(changes["title"])
    if "description" in changes:
        new_values["description"] = rules.check_description(changes["description"])
    if "attendee_name" in changes:
        new_values["attendee_name"] = rules.check_attendee_name(changes["attendee_name"])
    if "attendee_email" in changes:
        new_values["attendee_email"] = rules.check_email(changes["attendee_email"], "attendee_email")
    for field in ("start_time", "end_time"):
        if field in changes and not (isinstance(changes[field], datetime) and changes[field].tzinfo):
            raise validation(f"{field} must be an instant with a UTC offset", field=field)
    overlap_reason = rules.check_overlap_reason(changes.get("allow_overlap_reason"))
    moving = "start_time" in changes or "end_time" in changes

    with ctx.db.session() as session:
        appointment = load_appointment(session, appointment_id)
        if moving:
            if appointment.status not in rules.OPEN_STATUSES:
                raise FrontdeskError(
                    INVALID_STATE_TRANSITION,
                    f'Cannot change the time of an appointment with status "{appointment.status}"',
                    {"current_status": appointment.status, "attempted_action": "reschedule"},
                )
            lock_resources(session, [r.id for r in appointment.resources])
        appointment = load_appointment(session, appointment_id, for_update=True)
        now = ctx.clock.now()  # read under the lock
        check_version(appointment, expect_version)

        if moving:
            start = changes.get("start_time", appointment.start_time)
            end = changes.get("end_time", appointment.end_time)
            minutes = rules.check_times(start, end)
            if start != appointment.start_time or end != appointment.end_time:
                appointment_type = (
                    session.get(AppointmentType, appointment.appointment_type_id)
                    if appointment.appointment_type_id
                    else None
                )
                rooms = [r.id for r in appointment.resources if r.kind == "room"]
                clinicians = [r.id for r in appointment.resources if r.kind != "room"]
                free_time(session, appointment_id=appointment.id)
                take_time(session, now, booking_of(appointment_type, start, end, clinicians, rooms),
                          appointment_id=appointment.id, overlap_allowed=overlap_reason is not None)
                new_values.update(start_time=start, end_time=end, duration_minutes=minutes)
                if overlap_reason is not None:
                    new_values["overlap_reason"] = overlap_reason

        changed = False
        for field, value in new_values.items():
            old = getattr(appointment, field)
            if old != value:
                log_change(appointment, field, old, value, who, now)
                setattr(appointment, field, value)
                changed = True
        if changed:
            appointment.updated_at = now
        session.flush()
        return appointment_view(appointment)


# --- actions -----------------------------------------------------------------------------


def cancel_appointment(
    ctx: Context, appointment_id: str, reason: str | None, expect_version: int | None = None
) -> ActionResult:
    """Cancel from pending_approval, pending, confirmed or scheduled; anything else is
    INVALID_STATE_TRANSITION. The time is free again at once."""
    reason = rules.check_cancellation_reason(reason)
    with ctx.db.session() as session:
        appointment = load_appointment(session, appointment_id, for_update=True)
        now = ctx.clock.now()
        check_version(appointment, expect_version)
        target = rules.apply_action(appointment.status, "cancel")
        free_time(session, appointment_id=appointment.id)
        add_status(appointment, target, ctx.operator, now)
        if reason is not None:
            log_change(appointment, "cancellation_reason", appointment.cancellation_reason, reason, ctx.operator, now)
            appointment.cancellation_reason = reason
        appointment.updated_at = now
        session.flush()
        return ActionResult(appointment_view(appointment), rules.ACTION_NAMES["cancel"], now, ctx.operator)


# --- the day list ------------------------------------------------------------------------


def agenda(
    ctx: Context,
    *,
    location_id: str | None,
    day: date,
    clinician_id: str | None = None,
    status: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[AgendaRow]:
    """The appointments starting on `day` (a local date in the location's timezone) at the
    location, and the remote ones of clinicians who work there; by start time, paged.

    `search` matches the patient's name or the attendee's name, in any case. Without a
    location: every appointment, the day read in UTC.
    """
    rules.check_paging(limit, offset)
    if status is not None:
        rules.check_status(status)
    with ctx.db.session(write=False) as session:
        if location_id is not None:
            location = session.get(Location, location_id)
            if location is None:
                raise not_found("location", location_id)
            tz = zone(location.timezone)
        else:
            tz = zone("UTC")
        day_start, day_end = local_to_utc(day, 0, tz), local_to_utc(day + timedelta(days=1), 0, tz)
        conditions = [Appointment.start_time >= day_start, Appointment.start_time < day_end]
        if location_id is not None:
            works_here = select(ScheduleRule.clinician_id).where(ScheduleRule.location_id == location_id)
            conditions.append(
                or_(
                    Appointment.location_id == location_id,
                    and_(
                        Appointment.location_id.is_(None),
                        Appointment.is_remote.is_(True),
                        Appointment.clinician_profile_id.in_(works_here),
                    ),
                )
            )
        if clinician_id:
            conditions.append(Appointment.clinician_profile_id == clinician_id)
        if status:
            conditions.append(Appointment.status == status)
        query = select(Appointment).outerjoin(Patient, Patient.id == Appointment.patient_id)
        if search and search.strip():
            needle = search.strip().lower()
            conditions.append(
                or_(
                    func.lower(Patient.first_name + " " + Patient.last_name).contains(needle, autoescape=True),
                    func.lower(Patient.last_name + " " + Patient.first_name).contains(needle, autoescape=True),
                    func.lower(Appointment.attendee_name).contains(needle, autoescape=True),
                )
            )
        rows = (
            session.execute(
                query.where(*conditions)
                .options(*_WITH_DETAILS)
                .order_by(Appointment.start_time, Appointment.id)
                .limit(limit + 1)
                .offset(offset)
            )
            .scalars()
            .all()
        )
        has_more, next_offset = rules.page_bounds(len(rows), limit, offset)
        rows = rows[:limit]
        patients = _by_id(session, Patient, {a.patient_id for a in rows})
        types = _by_id(session, AppointmentType, {a.appointment_type_id for a in rows})
        items = []
        for a in rows:
            patient = patients.get(a.patient_id)
            clinician = next((r for r in a.resources if r.id == a.clinician_profile_id), None)
            if clinician is None and a.clinician_profile_id:
                clinician = session.get(Resource, a.clinician_profile_id)
            kind = types.get(a.appointment_type_id)
            items.append(
                AgendaRow(
                    appointment=appointment_view(a),
                    patient_name=f"{patient.first_name} {patient.last_name}" if patient else None,
                    clinician_name=clinician.name if clinician else None,
                    type_name=kind.name if kind else None,
                    room_names=[r.name for r in a.resources if r.kind == "room"],
                )
            )
        return Page(items, limit, offset, next_offset, has_more)


def _by_id(session: Session, model, ids: set[str | None]) -> dict:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {row.id: row for row in session.execute(select(model).where(model.id.in_(wanted))).scalars()}


def change_token(ctx: Context) -> str:
    """Changes whenever any appointment or hold is created or changed, on any desk.

    Built from counters that only grow, so desks with different clocks (`--now`) still see
    each other's changes: every create or cancel adds a status-history row, every update a
    change-log row, every hold a row, and every confirm or release ends an active hold.
    All but the last are reads of an index's last entry or a count.
    """
    with ctx.db.session(write=False) as session:
        return ":".join(
            str(session.execute(query).scalar() or 0)
            for query in (
                select(func.count(Appointment.id)),
                select(func.max(StatusChange.id)),
                select(func.max(FieldChange.id)),
                select(func.count(Hold.id)),
                select(func.count(Hold.id)).where(Hold.status != "active"),
            )
        )
