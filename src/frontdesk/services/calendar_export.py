"""iCalendar out (interop.md): appointments as VEVENTs, a clinician's busy time as a VFREEBUSY.

Written with the `icalendar` library, never by hand: it folds long lines, escapes text and
writes each VTIMEZONE from the zoneinfo zone the events carry. Nothing is written to the
database; `write_file` puts a calendar in place whole or not at all.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, FreeBusy, Timezone, vCalAddress
from icalendar.enums import STATUS
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from frontdesk.domain.busy import APPOINTMENT, BLOCK, HOLD
from frontdesk.domain.errors import not_found, validation
from frontdesk.domain.intervals import Interval
from frontdesk.domain.statuses import GOING
from frontdesk.domain.timeutil import parse_date
from frontdesk.services.busy import busy_time, clinician_zone_names
from frontdesk.services.context import Context
from frontdesk.services.records import of_clinician, of_patient
from frontdesk.store.models import Appointment, AppointmentType, Attendee, Location, Patient, Resource

PRODID = "-//frontdesk//frontdesk//EN"
MAX_DAYS = 366  # a leap year, whole
UTC_ZONE = ZoneInfo("UTC")

# RFC 5545 STATUS of a VEVENT: TENTATIVE, CONFIRMED or CANCELLED. A visit that happened or
# was missed kept its time when it was booked: CONFIRMED.
EVENT_STATUS = {
    "pending_approval": STATUS.TENTATIVE,
    "pending": STATUS.TENTATIVE,
    "confirmed": STATUS.CONFIRMED,
    "scheduled": STATUS.CONFIRMED,
    "completed": STATUS.CONFIRMED,
    "no_show": STATUS.CONFIRMED,
    "cancelled": STATUS.CANCELLED,
}

# RFC 5545 FBTYPE of each kind of busy time; imported (external) time is plain BUSY.
FREEBUSY_TYPE = {APPOINTMENT: "BUSY", HOLD: "BUSY-TENTATIVE", BLOCK: "BUSY-UNAVAILABLE"}


@dataclass(frozen=True)
class ExportRequest:
    start_date: str  # YYYY-MM-DD, inclusive
    end_date: str  # YYYY-MM-DD, inclusive
    clinician_id: str | None = None
    location_id: str | None = None
    patient_id: str | None = None
    appointment_id: str | None = None
    private: bool = False  # "Busy" only: no patient, no place, no link


@dataclass(frozen=True)
class CalendarText:
    """An exported calendar: its text and how many events (or busy periods) it holds."""

    text: str
    count: int
    kind: str  # "events" or "busy_periods"


@dataclass(frozen=True)
class WrittenFile:
    path: str
    count: int
    kind: str


def _days(start_date: str, end_date: str) -> tuple[date, date]:
    first, last = parse_date(start_date), parse_date(end_date)
    if last < first:
        raise validation(f"--to {end_date} is before --from {start_date}", start_date=start_date, end_date=end_date)
    if (last - first).days + 1 > MAX_DAYS:
        raise validation(
            f"An export covers at most {MAX_DAYS} days; {start_date} to {end_date} is {(last - first).days + 1}",
            start_date=start_date, end_date=end_date, max_days=MAX_DAYS,
        )
    return first, last


def _window(first: date, last: date, tz: ZoneInfo) -> Interval:
    """From the start of the first day to the end of the last, in `tz`."""
    return Interval(
        datetime.combine(first, time(0), tz).astimezone(UTC_ZONE),
        datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(UTC_ZONE),
    )


def _exists(session, model, id_: str | None, kind: str) -> None:
    if id_ is not None and session.get(model, id_) is None:
        raise not_found(kind, id_)


def _clinician_zone(session, clinician_id: str) -> ZoneInfo:
    clinician = session.get(Resource, clinician_id)
    if clinician is None or clinician.kind != "clinician":
        raise not_found("clinician", clinician_id)
    name = clinician_zone_names(session, [clinician_id]).get(clinician_id)
    return ZoneInfo(name) if name else UTC_ZONE


def export_ics(ctx: Context, ask: ExportRequest) -> CalendarText:
    """One VEVENT per appointment starting in the range (every status), filtered by each
    id given. The dates are read in the clinician's zone, else the location's, else UTC."""
    first, last = _days(ask.start_date, ask.end_date)
    with ctx.db.session(write=False) as session:
        zone = UTC_ZONE
        if ask.clinician_id is not None:
            zone = _clinician_zone(session, ask.clinician_id)
        if ask.location_id is not None:
            location = session.get(Location, ask.location_id)
            if location is None:
                raise not_found("location", ask.location_id)
            if ask.clinician_id is None:
                zone = ZoneInfo(location.timezone)
        _exists(session, Patient, ask.patient_id, "patient")
        _exists(session, Appointment, ask.appointment_id, "appointment")

        window = _window(first, last, zone)
        conditions = [Appointment.start_time >= window.start, Appointment.start_time < window.end]
        if ask.clinician_id is not None:
            conditions.append(of_clinician(ask.clinician_id))
        if ask.location_id is not None:
            conditions.append(Appointment.location_id == ask.location_id)
        if ask.patient_id is not None:
            conditions.append(of_patient(ask.patient_id))
        if ask.appointment_id is not None:
            conditions.append(Appointment.id == ask.appointment_id)
        loading = [selectinload(Appointment.resources)]
        if not ask.private:
            loading.append(selectinload(Appointment.attendees).selectinload(Attendee.patient))
        appointments = session.scalars(
            select(Appointment).where(*conditions).options(*loading).order_by(Appointment.start_time, Appointment.id)
        ).all()
        names = _Names(session, appointments, with_patients=not ask.private)
        stamp = ctx.clock.now().astimezone(UTC_ZONE)
        events = [_event(appointment, names, stamp, ask) for appointment in appointments]
    # Each zone used gets its VTIMEZONE, made by the library from the zoneinfo data over the
    # range (a day either side), before the events. (Calendar.add_missing_timezones does the
    # same but walks every event again to find the zones, which we already know.)
    zones = sorted({names.zone(a).key for a in appointments} - {"UTC"})
    timezones = [Timezone.from_tzinfo(ZoneInfo(key), key, first - timedelta(days=1), last + timedelta(days=2))
                 for key in zones]
    calendar = Calendar.new(prodid=PRODID, name="frontdesk appointments", subcomponents=[*timezones, *events])
    return CalendarText(calendar.to_ical().decode(), len(appointments), "events")


class _Names:
    """The names and zones an export reads, each table once (not once per appointment)."""

    def __init__(self, session, appointments, with_patients: bool):
        self.types = {t.id: t for t in session.scalars(select(AppointmentType))}
        self.locations = {loc.id: loc for loc in session.scalars(select(Location))}
        self.clinicians = dict(session.execute(
            select(Resource.id, Resource.name).where(Resource.kind == "clinician")).all())
        self.clinician_zones = clinician_zone_names(session)
        self.patients: dict[str, Patient] = {}
        if with_patients:
            ids = sorted({a.patient_id for a in appointments if a.patient_id})
            for chunk in range(0, len(ids), 500):
                for patient in session.scalars(select(Patient).where(Patient.id.in_(ids[chunk:chunk + 500]))):
                    self.patients[patient.id] = patient

    def zone(self, appointment: Appointment) -> ZoneInfo:
        """The location's zone for a visit in person; the clinician's for a remote one (or
        for one without a place); UTC when nothing says."""
        location = self.locations.get(appointment.location_id) if appointment.location_id else None
        if location is not None and not appointment.is_remote:
            return ZoneInfo(location.timezone)
        name = self.clinician_zones.get(appointment.clinician_profile_id or "")
        if name:
            return ZoneInfo(name)
        return ZoneInfo(location.timezone) if location is not None else UTC_ZONE


def _patient_name(patient: Patient | None) -> str | None:
    return f"{patient.first_name} {patient.last_name}" if patient is not None else None


def _summary(a: Appointment, names: _Names, ask: ExportRequest) -> str:
    kind = names.types.get(a.appointment_type_id or "")
    what = kind.name if kind is not None else a.title
    if ask.patient_id is not None:  # the patient's own calendar: who and where (never the others in a group)
        who = names.clinicians.get(a.clinician_profile_id or "")
        where = _place(a, names)
        return " · ".join(part for part in (what, who, where) if part)
    if a.is_group:
        going = sum(1 for x in a.attendees if x.attendance_status == GOING)
        seats = f"{going} of {kind.capacity} seats taken" if kind is not None else f"{going} going"
        return f"{what} (group: {seats})"
    patient = _patient_name(names.patients.get(a.patient_id or "")) or a.attendee_name
    return f"{what}: {patient}" if patient and not a.internal else what


def _place(a: Appointment, names: _Names) -> str | None:
    if a.is_remote:
        return "Video call"
    location = names.locations.get(a.location_id or "")
    rooms = [r.name for r in a.resources if r.kind == "room"]
    parts = ([location.name] if location is not None else []) + rooms
    return ", ".join(parts) or None


def _event(a: Appointment, names: _Names, stamp: datetime, ask: ExportRequest) -> Event:
    zone = names.zone(a)
    event = Event.new(
        uid=f"{a.id}@frontdesk",
        sequence=a.version,
        stamp=stamp,
        start=a.start_time.astimezone(zone),
        end=a.end_time.astimezone(zone),
        status=EVENT_STATUS.get(a.status, STATUS.CONFIRMED),
        summary="Busy" if ask.private else _summary(a, names, ask),
    )
    if a.status == "cancelled":
        event.add("transp", "TRANSPARENT")  # a cancelled visit takes no time in anyone's calendar
    if ask.private:
        event.add("class", "PRIVATE")
        return event
    event.add("last-modified", a.updated_at)
    place = _place(a, names)
    if place:
        event.add("location", place)
    link = a.video_link or a.meeting_url
    if a.is_remote and link:
        event.add("url", link)
    if a.is_group and ask.patient_id is None:  # a patient's export names no other patient
        for attendee in a.attendees:
            if attendee.attendance_status != GOING:
                continue
            patient = attendee.patient
            address = vCalAddress(f"mailto:{patient.email}" if patient.email else f"urn:frontdesk:patient:{patient.id}")
            address.params["CN"] = _patient_name(patient)
            address.params["PARTSTAT"] = "ACCEPTED"
            event.add("attendee", address, encode=False)
    return event


def export_freebusy(ctx: Context, clinician_id: str, start_date: str, end_date: str) -> CalendarText:
    """The clinician's busy time in the range (their zone's days) as one VFREEBUSY, in UTC:
    appointments, holds and blocks as the availability engine reads them (padding
    included), and whatever else the busy reader returns (imported calendars)."""
    first, last = _days(start_date, end_date)
    with ctx.db.session(write=False) as session:
        zone = _clinician_zone(session, clinician_id)
        window = _window(first, last, zone)
        now = ctx.clock.now()
        busy = busy_time(session, [clinician_id], window, now)[clinician_id]
        name = session.get(Resource, clinician_id).name  # type: ignore[union-attr]  # _clinician_zone found it
    stamp = now.astimezone(UTC_ZONE)
    freebusy = FreeBusy.new(uid=f"{clinician_id}-freebusy@frontdesk", stamp=stamp, start=window.start, end=window.end)
    freebusy.add("contact", name)
    periods = 0
    for item in busy:
        start, end = max(item.interval.start, window.start), min(item.interval.end, window.end)
        if start < end:
            freebusy.add("freebusy", [(start, end)], parameters={"FBTYPE": FREEBUSY_TYPE.get(item.source, "BUSY")})
            periods += 1
    calendar = Calendar.new(prodid=PRODID, method="PUBLISH", subcomponents=[freebusy])
    return CalendarText(calendar.to_ical().decode(), periods, "busy_periods")


def write_file(exported: CalendarText, path: str | os.PathLike) -> WrittenFile:
    """Write the calendar to `path` whole: to a temporary name in the same folder, then moved
    into place, so a reader never sees half a file and a failure leaves nothing behind."""
    if not os.fspath(path).strip():
        raise validation("The file to write needs a name", path=os.fspath(path))
    target = Path(path)
    folder = target.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise validation(f"Cannot write {str(target)!r}: {exc.strerror or exc}", path=str(target)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(exported.text)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise validation(f"Cannot write {str(target)!r}: {exc.strerror or exc}", path=str(target)) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return WrittenFile(str(target), exported.count, exported.kind)
