"""Appointments: list, read, create, change, cancel.

Every write that takes time on a clinician or room locks those resources first
(`locking.lock_resources`), then checks their busy time and writes, in one transaction: two
desks can never book the same time.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.domain import appointments as rules
from frontdesk.domain import day, series
from frontdesk.domain.staff_video import booking_clinicians, refuse_visit_action
from frontdesk.domain.errors import (
    IDEMPOTENCY_CONFLICT,
    INVALID_STATE_TRANSITION,
    SLOT_UNAVAILABLE,
    VERSION_CONFLICT,
    FrontdeskError,
    not_found,
    validation,
)
from frontdesk.domain.timeutil import iso, zone
from frontdesk.services.booking import (
    appointment_booking,
    booking_of,
    find_conflicts,
    free_time,
    take_time,
)
from frontdesk.services.busy import resource_zones
from frontdesk.services.context import Context
from frontdesk.services.locking import lock_resources
from frontdesk.services.paging import decode_cursor, encode_cursor, read_keys
from frontdesk.services.objects import (
    ActionResult,
    AppointmentCreate,
    AppointmentFilter,
    AppointmentView,
    Page,
    SeriesChange,
)
from frontdesk.services.records import (
    WITH_DETAILS,
    add_status,
    appointment_view,
    jsonable,
    load_appointment,
    log_change,
    new_id,
    of_patient,
    write_links,
)
from frontdesk.services.video import settle_video
from frontdesk.services.waitlist import settle_waitlist
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Attendee,
    IdempotencyKey,
    Location,
    Patient,
    Resource,
    appointment_resources,
    reference_patients,
    type_rooms,
)


def list_appointments(ctx: Context, f: AppointmentFilter) -> Page[AppointmentView]:
    """The appointments matching every filter given, by start time then id, one page: at
    `offset`, or after `cursor` (a page's `next_cursor`), which seeks instead of skipping."""
    rules.check_paging(f.limit, f.offset)
    for status in (f.status, *f.status_in):
        if status is not None:
            rules.check_status(status)
    after = decode_cursor(f.cursor, (_instant, str)) if f.cursor else None
    branches, order = list_branches(f, after)
    with ctx.db.session(write=False) as session:
        keys, has_more = read_keys(session, branches, order, f.limit, f.offset, after)
        ids = [key[1] for key in keys]
        # Then only the page's own rows, by primary key.
        found = select(Appointment).where(Appointment.id.in_(ids)).options(*WITH_DETAILS)
        rows = {a.id: a for a in session.scalars(found)}
        items = [appointment_view(rows[i]) for i in ids]
    next_offset = f.offset + f.limit if has_more else None
    return Page(items, f.limit, f.offset, next_offset, has_more, encode_cursor(keys[-1]) if has_more else None)


def list_branches(f: AppointmentFilter, after: tuple | None = None) -> tuple[list[Select], tuple]:
    """The (start_time, id) keys of the appointments `f` matches, as disjoint queries (an OR
    split into branches, each read in order along its own index), and that order."""
    conditions = []
    if f.patient_id:
        conditions.append(of_patient(f.patient_id))
    if f.status:
        conditions.append(Appointment.status == f.status)
    # A cursor past the lower date already implies it; left in, SQLite would seek by the date
    # rather than by the cursor and walk every row between them.
    if f.date_gte is not None and (after is None or after[0] < f.date_gte):
        conditions.append(Appointment.start_time >= f.date_gte)
    if f.date_lte is not None:
        conditions.append(Appointment.start_time <= f.date_lte)
    if f.appointment_type_id:
        conditions.append(Appointment.appointment_type_id == f.appointment_type_id)
    if f.location_id:
        conditions.append(Appointment.location_id == f.location_id)
    # An OR is split into disjoint branches, each read in order along its own index.
    choices: list[list] = []
    if f.status_in:
        choices.append([Appointment.status == s for s in sorted(set(f.status_in))])
    if f.clinician_id:
        choices.append(_of_clinician_branches(f.clinician_id))
    order = (Appointment.start_time, Appointment.id)
    branches = [select(*order).where(*conditions, *chosen) for chosen in itertools.product(*choices)]
    return branches, order


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(text)
    return value


def _of_clinician_branches(clinician_id: str) -> list:
    """`of_clinician` as two disjoint conditions, each served by an index in start order:
    the appointments the clinician holds, and staff time they are on but do not host."""
    on_it = (
        select(appointment_resources.c.appointment_id)
        .where(appointment_resources.c.appointment_id == Appointment.id,
               appointment_resources.c.resource_id == clinician_id)
        .exists()
    )
    hosted_by_another = or_(Appointment.clinician_profile_id.is_(None), Appointment.clinician_profile_id != clinician_id)
    return [Appointment.clinician_profile_id == clinician_id,
            and_(Appointment.internal == true(), hosted_by_another, on_it)]


def get_appointment(ctx: Context, appointment_id: str) -> AppointmentView:
    """One appointment. The id of a one-seat booking that migration 0005 merged into a group
    leads to that group (its attendee's `former_appointment_id` names it)."""
    with ctx.db.session(write=False) as session:
        if session.get(Appointment, appointment_id) is None:
            group_id = session.scalars(
                select(Attendee.appointment_id).where(Attendee.former_appointment_id == appointment_id).limit(1)
            ).first()
            if group_id is not None:
                appointment_id = group_id
        return appointment_view(load_appointment(session, appointment_id))


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
    body = {k: jsonable(v) for k, v in asdict(req).items() if k != "idempotency_key"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def create_appointment(ctx: Context, req: AppointmentCreate) -> AppointmentView:
    """A new appointment, refused with SLOT_UNAVAILABLE when its clinician or room is busy
    (unless `allow_overlap_reason` is given). Working hours are not enforced.

    Staff time (`internal`) has no patient and no type, and is busy time for every one of its
    clinicians: refused when any of them is not free. A remote booking gets its video meeting
    (services/video.py).

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
    clinicians = booking_clinicians(req.internal, req.clinician_profile_id, req.other_clinician_ids, req.patient_id,
                                    req.appointment_type_id, req.reference_patient_ids)
    with ctx.db.session() as session:
        # A type that needs a room takes the first free one of its rooms there (booking.md,
        # availability rule 6), so lock those rooms too.
        room_choices = [] if req.room_id else _type_rooms_at(session, req)
        resource_ids = sorted({r for r in (*clinicians, req.room_id, *room_choices) if r})
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
        # Staff time is settled when it is put in the diary: confirmed unless told otherwise.
        status = rules.initial_status(req.status or ("confirmed" if req.internal else None))
        attendee_email = rules.check_email(req.attendee_email, "attendee_email")
        overlap_reason = rules.check_overlap_reason(req.allow_overlap_reason)
        rules.check_place(req.is_remote, req.location_id)
        if req.patient_id is not None and session.get(Patient, req.patient_id) is None:
            raise not_found("patient", req.patient_id)
        for clinician_id in clinicians:
            _resource(session, clinician_id, "clinician")
        about = sorted(set(req.reference_patient_ids))
        if about:
            known = set(session.scalars(select(Patient.id).where(Patient.id.in_(about))))
            unknown = [p for p in about if p not in known]
            if unknown:
                raise validation(f"No patient with id {', '.join(map(repr, unknown))}: reference_patients names "
                                 "existing patients", field="reference_patients", unknown=unknown)
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
            internal=req.internal,
            created_by=ctx.operator,
            created_at=now,
            updated_at=now,
        )
        settle_video(session, appointment)
        add_status(appointment, status, ctx.operator, now)
        settle_waitlist(session, now, appointment)  # a patient booked this way waits no longer
        if overlap_reason is not None:
            log_change(appointment, "overlap_reason", None, overlap_reason, ctx.operator, now)
        session.add(appointment)
        session.flush()
        write_links(session, appointment.id, resource_ids)
        if about:
            session.execute(reference_patients.insert(),
                            [{"appointment_id": appointment.id, "patient_id": p} for p in about])
            session.expire(appointment, ["reference_patients"])
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


# --- update ------------------------------------------------------------------------------


def update_appointment(
    ctx: Context, appointment_id: str, changes: dict, expect_version: int | None = None, scope: str | None = None
) -> AppointmentView:
    """Change only the fields given (API names). `status` is refused: it changes through
    actions. A new time goes through the booking rule (the appointment's own time does not
    stand in its way); `allow_overlap_reason` in `changes` lets it overlap. With
    `expect_version`, a change since that version is VERSION_CONFLICT and nothing changes.
    `scope` (see `update_in_scope`) carries text edits to other occurrences of a series."""
    return update_in_scope(ctx, appointment_id, changes, expect_version, scope).appointment


def update_in_scope(
    ctx: Context, appointment_id: str, changes: dict, expect_version: int | None = None, scope: str | None = None
) -> ActionResult:
    """`update_appointment`, with what the scope reached: `one` (the default) this
    appointment; `following` or `all` (an occurrence of a series only) the same text edits
    on this one and on the later (or all) occurrences still active, in one transaction; the
    others (cancelled, completed, no-show) are left as they were and named. A time change
    takes scope `one` only. `expect_version` is the named appointment's."""
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
    if moving and scope not in (None, series.SCOPE_ONE):
        raise validation("A time change moves one occurrence; use scope one (move the others one by one)",
                         field="scope", scope=scope)

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
        scope = series.check_scope(scope, appointment.series_id is not None)

        if moving:
            start = changes.get("start_time", appointment.start_time)
            end = changes.get("end_time", appointment.end_time)
            minutes = rules.check_times(start, end)
            if start != appointment.start_time or end != appointment.end_time:
                free_time(session, appointment_id=appointment.id)
                take_time(session, now, appointment_booking(appointment, _type_of(session, appointment), start, end),
                          appointment_id=appointment.id, overlap_allowed=overlap_reason is not None)
                new_values.update(start_time=start, end_time=end, duration_minutes=minutes)
                if overlap_reason is not None:
                    new_values["overlap_reason"] = overlap_reason

        _apply(appointment, new_values, who, now)
        reached = None
        if scope != series.SCOPE_ONE:
            changed, left = [appointment.id], []
            for other in _others_in_scope(session, appointment, scope):
                if other.status in rules.OPEN_STATUSES:
                    _apply(other, new_values, who, now)
                    changed.append(other.id)
                else:
                    left.append(_left(other))
            reached = SeriesChange(scope, appointment.series_id, changed, left)
        session.flush()
        return ActionResult(appointment_view(appointment), "updated", now, who, reached)


def _apply(appointment: Appointment, new_values: dict[str, Any], who: str, now: datetime) -> None:
    """Set the fields that differ, each recorded in the change log."""
    changed = False
    for field, value in new_values.items():
        old = getattr(appointment, field)
        if old != value:
            log_change(appointment, field, old, value, who, now)
            setattr(appointment, field, value)
            changed = True
    if changed:
        appointment.updated_at = now


def _others_in_scope(session: Session, appointment: Appointment, scope: str) -> list[Appointment]:
    """The other occurrences of the appointment's series that `scope` reaches, locked, in order."""
    query = (
        select(Appointment)
        .where(Appointment.series_id == appointment.series_id, Appointment.id != appointment.id)
        .options(*WITH_DETAILS)
        .order_by(Appointment.series_index, Appointment.id)
        .with_for_update(of=Appointment)
        .execution_options(populate_existing=True)
    )
    return [a for a in session.scalars(query) if series.in_scope(scope, appointment.series_index, a.series_index)]


def _left(appointment: Appointment) -> dict:
    return {"id": appointment.id, "index": appointment.series_index, "status": appointment.status}


# --- actions -----------------------------------------------------------------------------


def cancel_appointment(
    ctx: Context, appointment_id: str, reason: str | None, expect_version: int | None = None,
    scope: str | None = None,
) -> ActionResult:
    """Cancel from pending_approval, pending, confirmed or scheduled; anything else is
    INVALID_STATE_TRANSITION. The time is free again at once.

    `scope` `following` or `all` (an occurrence of a series only) cancels this one and the
    later (or all) occurrences in one transaction; those that can no longer be cancelled are
    left as they were and named in `series.left_as_is`; when none in scope can be,
    INVALID_STATE_TRANSITION. `expect_version` is the named appointment's."""
    reason = rules.check_cancellation_reason(reason)
    with ctx.db.session() as session:
        appointment = load_appointment(session, appointment_id, for_update=True)
        now = ctx.clock.now()
        check_version(appointment, expect_version)
        scope = series.check_scope(scope, appointment.series_id is not None)
        if scope == series.SCOPE_ONE:
            _cancel(session, appointment, rules.apply_action(appointment.status, "cancel"), reason, ctx.operator, now)
            session.flush()
            return ActionResult(appointment_view(appointment), rules.ACTION_NAMES["cancel"], now, ctx.operator)
        changed, left = [], []
        for occurrence in [appointment, *_others_in_scope(session, appointment, scope)]:
            if rules.can_cancel(occurrence.status):
                _cancel(session, occurrence, rules.apply_action(occurrence.status, "cancel"), reason, ctx.operator, now)
                changed.append(occurrence.id)
            else:
                left.append(_left(occurrence))
        if not changed:
            rules.apply_action(appointment.status, "cancel")  # INVALID_STATE_TRANSITION, in its words
        session.flush()
        reached = SeriesChange(scope, appointment.series_id, changed, left)
        return ActionResult(appointment_view(appointment), rules.ACTION_NAMES["cancel"], now, ctx.operator, reached)


def _cancel(session: Session, appointment: Appointment, target: str, reason: str | None, who: str, now: datetime) -> None:
    free_time(session, appointment_id=appointment.id)
    add_status(appointment, target, who, now)
    if reason is not None:
        log_change(appointment, "cancellation_reason", appointment.cancellation_reason, reason, who, now)
        appointment.cancellation_reason = reason
    appointment.updated_at = now


def act_on_appointment(
    ctx: Context, appointment_id: str, action: str, expect_version: int | None = None
) -> ActionResult:
    """A day action (booking.md "The day"): confirm, check-in, start, complete, no-show or
    revert, in one transaction with its status history and change log. Completed and
    no-show visits stop being busy time; reverting them takes the time again, through the
    booking rule (SLOT_UNAVAILABLE if it was given away meanwhile)."""
    if action not in day.DAY_ACTIONS:
        raise validation(f"{action!r} is not an action; use one of {', '.join(day.DAY_ACTIONS)}", action=action)
    with ctx.db.session() as session:
        appointment = load_appointment(session, appointment_id)
        lock_resources(session, [r.id for r in appointment.resources])
        appointment = load_appointment(session, appointment_id, for_update=True)
        now = ctx.clock.now()  # read under the lock
        check_version(appointment, expect_version)
        if appointment.internal:
            refuse_visit_action(action, appointment.status, appointment.attendance_status)
        tz = appointment_zone(session, appointment)
        today = now.astimezone(tz).date()
        before = day.Visit(appointment.status, appointment.attendance_status, appointment.arrived_at,
                           appointment.actual_start_time, appointment.actual_end_time)
        history = list(appointment.day_actions or [])
        if action == day.REVERT:
            after, history = day.revert(before, history, today=today)
        else:
            after = day.apply(action, before, now=now, start=appointment.start_time, today=today,
                              local_day=appointment.start_time.astimezone(tz).date())
            history.append(day.record(action, before, today))

        # Busy time first: its statements would otherwise flush the row (and its version) twice.
        if day.takes_time(before.status) and not day.takes_time(after.status):
            free_time(session, appointment_id=appointment.id)
        elif not day.takes_time(before.status) and day.takes_time(after.status):
            take_time(session, now, appointment_booking(appointment, _type_of(session, appointment)),
                      appointment_id=appointment.id, overlap_allowed=appointment.overlap_reason is not None)

        if after.status != before.status:
            add_status(appointment, after.status, ctx.operator, now)
        for field in ("attendance_status", "arrived_at", "actual_start_time", "actual_end_time"):
            old, new = getattr(before, field), getattr(after, field)
            if old != new:
                log_change(appointment, field, old, new, ctx.operator, now)
                setattr(appointment, field, new)
        appointment.day_actions = history
        appointment.updated_at = now
        session.flush()
        return ActionResult(appointment_view(appointment), day.DONE[action], now, ctx.operator)


def _type_of(session: Session, appointment: Appointment) -> AppointmentType | None:
    return session.get(AppointmentType, appointment.appointment_type_id) if appointment.appointment_type_id else None


def appointment_zone(session: Session, appointment: Appointment) -> ZoneInfo:
    """The zone an appointment's day is read in: its location's, else (remote) its clinician's."""
    if appointment.location_id is not None:
        location = session.get(Location, appointment.location_id)
        if location is not None:
            return zone(location.timezone)
    if appointment.clinician_profile_id:
        return resource_zones(session, [appointment.clinician_profile_id])[appointment.clinician_profile_id]
    return zone("UTC")
