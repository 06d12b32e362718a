"""The day list: a location's appointments of one local day, paged, with the names a desk
reads; and the change token that tells every desk when to read again."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from frontdesk.domain import appointments as rules
from frontdesk.domain.day import ARRIVED
from frontdesk.domain.errors import not_found
from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES
from frontdesk.domain.timeutil import local_to_utc, zone
from frontdesk.services.booking import seats_going
from frontdesk.services.context import Context
from frontdesk.services.objects import AgendaRow, Page
from frontdesk.services.records import WITH_DETAILS, appointment_view, of_clinician
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    ExternalBusy,
    FieldChange,
    Hold,
    Location,
    Patient,
    Resource,
    ScheduleRule,
    StatusChange,
)


def agenda(
    ctx: Context,
    *,
    location_id: str | None,
    day: date,
    clinician_id: str | None = None,
    status: str | None = None,
    search: str | None = None,
    to_do: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Page[AgendaRow]:
    """The appointments starting on `day` (a local date in the location's timezone) at the
    location, and the remote ones of clinicians who work there; by start time, paged.

    `search` matches the patient's name or the attendee's name, in any case. `to_do`: only
    the visits the desk still has to see to, those in an active status not yet arrived (to
    come, or late) or arrived and waiting. Without a location: every appointment, the day
    read in UTC.

    Staff time (`internal`) is listed at its location, or (with none) among the day of its
    host's site; it is never a visit, so the to-do list leaves it out. `clinician_id` finds
    staff time of any of its clinicians.
    """
    rules.check_paging(limit, offset, max_limit=rules.DAY_LIST_LIMIT)
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
                        or_(Appointment.is_remote.is_(True), Appointment.internal.is_(True)),
                        Appointment.clinician_profile_id.in_(works_here),
                    ),
                )
            )
        if clinician_id:
            conditions.append(of_clinician(clinician_id))
        if status:
            conditions.append(Appointment.status == status)
        if to_do:
            conditions.append(Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES))
            conditions.append(Appointment.internal.is_(False))
            conditions.append(or_(Appointment.attendance_status.is_(None), Appointment.attendance_status == ARRIVED))
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
                .options(*WITH_DETAILS)
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
            name = f"{patient.first_name} {patient.last_name}" if patient else None
            if a.is_group and kind is not None:
                # A class has no one patient: its seats taken, "Group 3/8" (the type column names it).
                name = f"Group {seats_going(a)}/{kind.capacity}"
            clinician_name = clinician.name if clinician else None
            if a.internal:  # every clinician on it, the host first
                others = [r.name for r in a.resources if r.kind == "clinician" and r.id != a.clinician_profile_id]
                clinician_name = ", ".join(n for n in (clinician_name, *others) if n) or None
            items.append(
                AgendaRow(
                    appointment=appointment_view(a),
                    patient_name=name,
                    clinician_name=clinician_name,
                    type_name=kind.name if kind else None,
                    room_names=[r.name for r in a.resources if r.kind == "room"],
                    patient_phone=patient.phone if patient else None,
                )
            )
        return Page(items, limit, offset, next_offset, has_more)


def _by_id(session: Session, model, ids: set[str | None]) -> dict:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {row.id: row for row in session.execute(select(model).where(model.id.in_(wanted))).scalars()}


def change_token(ctx: Context) -> str:
    """Changes whenever any appointment or hold is created or changed, or a clinician's
    calendar is imported, on any desk.

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
                # A calendar imported again replaces its rows: new ids, or fewer of them.
                select(func.max(ExternalBusy.id)),
                select(func.count(ExternalBusy.id)),
            )
        )
