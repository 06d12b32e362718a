"""How an appointment is kept: its view for the faces, its loading, new ids, and the status
history and change log every change writes (shared by appointments, holds and the day list);
and the paging every list answers with."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from frontdesk.domain.appointments import page_bounds
from frontdesk.domain.errors import not_found
from frontdesk.domain.timeutil import iso
from frontdesk.services.objects import (
    AppointmentView,
    AttendeeView,
    VideoCall,
    ChangeLogEntry,
    Page,
    StatusHistoryEntry,
)
from frontdesk.store.models import (
    Appointment,
    Attendee,
    FieldChange,
    StatusChange,
    appointment_resources,
)

WITH_DETAILS = (
    selectinload(Appointment.resources),
    selectinload(Appointment.attendees).selectinload(Attendee.patient),
    selectinload(Appointment.reference_patients),
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
        arrived_at=a.arrived_at,
        actual_start_time=a.actual_start_time,
        actual_end_time=a.actual_end_time,
        last_action_on=date.fromisoformat(a.day_actions[-1]["on"]) if a.day_actions else None,
        group=a.is_group,
        internal=a.internal,
        host=a.clinician_profile_id,
        attendees=[attendee_view(x) for x in a.attendees] if a.is_group else [],
        reference_patients=[p.id for p in a.reference_patients] if a.internal else [],
        recurring=(
            {"is_recurring": True, "series_id": a.series_id, "rule": a.series_rule, "index": a.series_index}
            if a.series_id else {"is_recurring": False}
        ),
        interaction_type="video_call" if a.is_remote else "in_person",
        video_call=(
            VideoCall(a.video_link or a.meeting_url, a.meeting_id)
            if a.is_remote and (a.meeting_id or a.video_link or a.meeting_url) else None
        ),
    )


def of_clinician(clinician_id: str) -> ColumnElement[bool]:
    """A clinician's appointments: those they hold, and staff time they are on (its other
    clinicians are among its resources)."""
    on_it = select(appointment_resources.c.appointment_id).where(appointment_resources.c.resource_id == clinician_id)
    return or_(Appointment.clinician_profile_id == clinician_id,
               and_(Appointment.internal.is_(True), Appointment.id.in_(on_it)))


def of_patient(patient_id: str) -> ColumnElement[bool]:
    """A patient's appointments: their own, and the groups they attend (going or not)."""
    attending = select(Attendee.appointment_id).where(Attendee.patient_id == patient_id)
    return or_(Appointment.patient_id == patient_id, Appointment.id.in_(attending))


def attendee_view(x: Attendee) -> AttendeeView:
    return AttendeeView(
        id=x.patient_id,
        name=f"{x.patient.first_name} {x.patient.last_name}",
        attendance_status=x.attendance_status,
        no_show=x.no_show,
        payment_status=x.payment_status,
        last_updated_at=x.last_updated_at,
    )


def load_appointment(session: Session, appointment_id: str, *, for_update: bool = False) -> Appointment:
    query = select(Appointment).where(Appointment.id == appointment_id).options(*WITH_DETAILS)
    if for_update:
        # Re-read under the lock: another desk may have changed it since we last looked.
        query = query.with_for_update(of=Appointment).execution_options(populate_existing=True)
    appointment = session.execute(query).scalar_one_or_none()
    if appointment is None:
        raise not_found("appointment", appointment_id)
    return appointment


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4()}"


def add_status(appointment: Appointment, status: str, who: str, when: datetime) -> None:
    appointment.status = status
    appointment.status_history.append(StatusChange(status=status, changed_by=who, changed_at=when))


def log_change(appointment: Appointment, field: str, old: Any, new: Any, who: str, when: datetime) -> None:
    appointment.change_log.append(
        FieldChange(field=field, old=jsonable(old), new=jsonable(new), changed_by=who, changed_at=when)
    )


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_links(session: Session, appointment_id: str, resource_ids: list[str]) -> None:
    """Which clinician and rooms an appointment uses (kept after it stops taking time)."""
    if resource_ids:
        session.execute(
            appointment_resources.insert(),
            [{"appointment_id": appointment_id, "resource_id": rid} for rid in resource_ids],
        )


T = TypeVar("T")


def read_page(session: Session, query: Select, limit: int, offset: int, view: Callable[[Any], T]) -> Page[T]:
    """One page of a sorted query's rows, as views, with `has_more` and `next_offset`: the
    paging every list answers with (one row more than the page tells whether there is more)."""
    rows = session.execute(query.limit(limit + 1).offset(offset)).scalars().all()
    has_more, next_offset = page_bounds(len(rows), limit, offset)
    return Page([view(row) for row in rows[:limit]], limit, offset, next_offset, has_more)
