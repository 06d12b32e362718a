"""Loading a clinic (its file, or the demo built from sample_data/) and reading it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from frontdesk.clock import Clock
from frontdesk.domain.errors import VALIDATION_ERROR, FrontdeskError
from frontdesk.domain.statuses import (
    ACTIVE_APPOINTMENT_STATUSES,
    DEFAULT_HOLD_MINUTES,
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_WAITING_ALERT_MINUTES,
)
from frontdesk.domain.timeutil import iso
from frontdesk.services.booking import (
    appointment_booking,
    find_conflicts,
    free_time,
    take_time,
)
from frontdesk.services.busy import clinician_zone_names
from frontdesk.services.context import Context
from frontdesk.services.locking import lock_all_resources, lock_resources
from frontdesk.services.video import settle_video
from frontdesk.services.objects import (
    AppointmentTypeView,
    ClinicianView,
    ClinicOverview,
    LoadReport,
    LocationView,
    RoomView,
)
from frontdesk.store.clinic_file import (
    LoadResult,
    check_file,
    load_into_session,
    read_clinic_file,
    stamp_loaded,
)
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    BusyTime,
    Clinic,
    Location,
    Resource,
)

DEFAULT_CLINIC_NAME = "frontdesk"


class _DryRun(Exception):
    """Leaves the load's transaction by rolling it back, carrying what it would have done."""

    def __init__(self, report: LoadReport) -> None:
        self.report = report


def load_clinic_data(ctx: Context, data: dict[str, Any], source: str = "<data>", dry_run: bool = False) -> LoadReport:
    """Write a clinic's data in one transaction: all of it, or (with any error) none of it.
    The report lists what was added, changed, kept (a desk's change) and removed.

    The whole file is checked first, without the write lock, and again under it (the
    database may have changed in between). `dry_run` runs the very same load and rolls it
    back, so its report is exactly what a load would do. Refuses with VALIDATION_ERROR
    whose details list every error with its place.
    """
    with ctx.db.session(write=False) as session:
        check_file(session, data, source)
    try:
        with ctx.db.session() as session:
            session.connection()  # SQLite: BEGIN IMMEDIATE takes the write lock before the clock is read
            lock_all_resources(session)  # PostgreSQL: the desks' locks first, in their order
            result = load_into_session(session, data, source, ctx.clock.now(), ctx.operator,
                                       settle=lambda appointment: _settle_video(session, appointment))
            _book_loaded(session, ctx.clock, result, source)
            stamp_loaded(session, result.stamp_ids)
            report = LoadReport(path=source, counts=result.counts, changes=result.changes, dry_run=dry_run)
            if dry_run:
                raise _DryRun(report)
    except _DryRun as done:
        return done.report
    return report


def _settle_video(session: Session, appointment: Appointment) -> None:
    """A remote appointment still to happen that the file gives no link gets its meeting
    (a past or cancelled one needs none); one the file moved in person loses the meeting
    frontdesk gave it. (A link the file gives is the file's own.)"""
    if (appointment.is_remote and appointment.status in ACTIVE_APPOINTMENT_STATUSES) or appointment.meeting_id:
        settle_video(session, appointment)


def _book_loaded(session: Session, clock: Clock, result: LoadResult, source: str) -> None:
    """The busy time of the file's appointments (and of every booking whose type's padding
    changed), written through the booking rule in start order: appointments that overlap
    each other or what is already booked load nothing, and each clash is named. Their
    resources are locked first, and the clock read after that."""
    ids = set(result.appointment_ids)
    if result.repadded_type_ids:
        ids |= set(session.scalars(select(Appointment.id).where(
            Appointment.appointment_type_id.in_(result.repadded_type_ids),
            Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES),
        )))
    if not ids:
        return
    # Looked up by each appointment's type id, which may be None (no type: no padding).
    types: dict[str | None, AppointmentType] = {t.id: t for t in session.scalars(select(AppointmentType))}
    chunks = [sorted(ids)[i : i + 500] for i in range(0, len(ids), 500)]
    appointments = sorted(
        (a for chunk in chunks for a in session.scalars(
            select(Appointment).where(Appointment.id.in_(chunk)).options(selectinload(Appointment.resources))
        )),
        key=lambda a: (a.start_time, a.id),
    )
    bookings = {
        a.id: appointment_booking(a, types.get(a.appointment_type_id or ""))
        for a in appointments if a.status in ACTIVE_APPOINTMENT_STATUSES
    }
    lock_resources(session, [rid for booking in bookings.values() for rid in booking.resource_ids])
    now = clock.now()
    # Only what changed is booked anew, so loading the same file twice changes nothing.
    b = BusyTime.__table__.c
    taken: dict[str, set] = {}
    for chunk in chunks:
        for aid, rid, low, high, exempt, seats in session.execute(
            select(b.appointment_id, b.resource_id, b.busy_start, b.busy_end, b.exempt, b.seats)
            .where(b.appointment_id.in_(chunk))
        ):
            taken.setdefault(aid, set()).add((rid, low, high, exempt, seats))
    changed = []
    for a in appointments:
        booking = bookings.get(a.id)
        wanted = set() if booking is None else {
            (rid, booking.padded.start, booking.padded.end, a.overlap_reason is not None, booking.seats)
            for rid in booking.resource_ids
        }
        if taken.get(a.id, set()) != wanted:
            free_time(session, appointment_id=a.id)
            if booking is not None:
                changed.append(a)
    clashes = []
    for a in changed:
        booking = bookings[a.id]
        allowed = a.overlap_reason is not None
        found = [] if allowed else find_conflicts(session, now, booking, exclude_appointment_id=a.id)
        if found:
            others = ", ".join(sorted({str(c["id"]) for c in found}))
            clashes.append(f"appointment {a.id} at {iso(a.start_time)} overlaps {others}")
            continue
        take_time(session, now, booking, appointment_id=a.id, overlap_allowed=allowed)
    if clashes:
        n = len(clashes)
        raise FrontdeskError(
            VALIDATION_ERROR, f"{n} appointment{'s' if n != 1 else ''} in {source} would double-book",
            {"errors": clashes},
        )


def load_clinic_file(ctx: Context, path: str | Path, dry_run: bool = False) -> LoadReport:
    """`frontdesk load [--dry-run] FILE`: a TOML or JSON clinic file (by its ending)."""
    data = read_clinic_file(path)
    _anchor_calendar_files(data, Path(path).parent)
    return load_clinic_data(ctx, data, str(path), dry_run=dry_run)


def _anchor_calendar_files(data: Any, folder: Path) -> None:
    """A clinician's external calendar named relative to the clinic file is kept as the path
    it means (`--sync-external` runs from anywhere); the checker judges the rest."""
    clinicians = data.get("clinicians") if isinstance(data, dict) else None
    for clinician in clinicians if isinstance(clinicians, list) else []:
        calendars = clinician.get("external_calendars") if isinstance(clinician, dict) else None
        for entry in calendars if isinstance(calendars, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("file"), str) and entry["file"].strip():
                if not Path(entry["file"]).is_absolute():
                    entry["file"] = str((folder / entry["file"]).absolute())


def default_sample() -> Path:
    from frontdesk.paths import packaged_dir

    return packaged_dir("sample_data") / "clinic.toml"


def has_clinic(ctx: Context) -> bool:
    """Whether a clinic has been loaded into this database (its sites exist)."""
    with ctx.db.session(write=False) as session:
        return session.execute(select(Location.id).limit(1)).first() is not None


def clinic_overview(ctx: Context) -> ClinicOverview:
    """The clinic's name, hold length, flow-board thresholds, sites, people, rooms and services, each sorted by id."""
    with ctx.db.session(write=False) as session:
        clinic = session.get(Clinic, 1)
        locations = session.scalars(select(Location).order_by(Location.id)).all()
        resources = session.scalars(select(Resource).order_by(Resource.id)).all()
        types = session.scalars(
            select(AppointmentType)
            .options(
                selectinload(AppointmentType.clinicians),
                selectinload(AppointmentType.locations),
                selectinload(AppointmentType.rooms),
            )
            .order_by(AppointmentType.id)
        ).all()
        zones = clinician_zone_names(session)
        return ClinicOverview(
            name=clinic.name if clinic else DEFAULT_CLINIC_NAME,
            hold_minutes=clinic.hold_minutes if clinic else DEFAULT_HOLD_MINUTES,
            late_after_minutes=clinic.late_after_minutes if clinic else DEFAULT_LATE_AFTER_MINUTES,
            waiting_alert_minutes=clinic.waiting_alert_minutes if clinic else DEFAULT_WAITING_ALERT_MINUTES,
            country=clinic.country if clinic else "GB",
            date_order=clinic.date_order if clinic else "DMY",
            locations=[LocationView(loc.id, loc.name, loc.timezone) for loc in locations],
            clinicians=[
                ClinicianView(r.id, r.name, zones.get(r.id))
                for r in resources
                if r.kind == "clinician"
            ],
            rooms=[RoomView(r.id, r.name, r.location_id or "") for r in resources if r.kind == "room"],
            appointment_types=[
                AppointmentTypeView(
                    id=t.id,
                    name=t.name,
                    duration_minutes=t.duration_minutes,
                    interval_minutes=t.interval_minutes,
                    padding_before_minutes=t.padding_before_minutes,
                    padding_after_minutes=t.padding_after_minutes,
                    duration_options=list(t.duration_options or []),
                    min_notice_minutes=t.min_notice_minutes,
                    capacity=t.capacity,
                    modes=list(t.modes or []),
                    clinician_ids=[c.id for c in t.clinicians],
                    location_ids=[loc.id for loc in t.locations],
                    room_ids=[r.id for r in t.rooms],
                )
                for t in types
            ],
        )
