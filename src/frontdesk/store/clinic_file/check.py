"""Checking a clinic file: every row against the rest of the file and the database, every
problem collected with its place (`schedules[3].start: ...`) before anything is written.

`check_clinic_data` reads no more of the database than `Existing` holds, so a file can be
checked before the write transaction opens, and checked again, cheaply, inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.domain.appointments import STATUSES
from frontdesk.domain.blocks import block_span, validate_rrule
from frontdesk.domain.day import ATTENDANCE_STATUSES
from frontdesk.domain.statuses import ATTENDEE_STATUSES, GOING, PAYMENT_STATUSES
from frontdesk.domain.errors import FrontdeskError
from frontdesk.domain.staff_video import MAX_TEMPLATE_LENGTH, template_problem
from frontdesk.domain.patients import (
    DATE_ORDERS,
    DEFAULT_COUNTRY,
    check_country,
    default_date_order,
    phone_or_none,
)
from frontdesk.domain.statuses import (
    DEFAULT_HOLD_MINUTES,
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_WAITING_ALERT_MINUTES,
    IN_PERSON,
)
from frontdesk.domain.timeutil import clinician_zone_name, is_zone
from frontdesk.store.clinic_file.fields import (
    APPOINTMENT_TEXTS,
    BROKEN_ZONE,
    KEYS,
    MISSING,
    MODES,
    REQUIRED_SECTIONS,
    SECTIONS,
    Problems,
    Row,
    hours_span,
    show,
)
from frontdesk.store.models import (
    AppointmentType,
    Location,
    Patient,
    Resource,
    ScheduleRule,
)

# Longer than any real service or notice, far below what an integer column holds.
MAX_MINUTES = 366 * 24 * 60
DAY_MINUTES = 24 * 60


ATTENDEE_FIELDS = ("id", "attendance_status", "no_show", "payment_status")


@dataclass
class Existing:
    """What the database already holds that the file may refer to."""

    locations: dict[str, str] = field(default_factory=dict)  # id -> timezone
    resources: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)  # kind, tz, location
    types: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> paddings
    capacities: dict[str, int] = field(default_factory=dict)  # type id -> seats
    patients: set[str] = field(default_factory=set)
    clinician_first_location: dict[str, str] = field(default_factory=dict)  # by rule id order

    @classmethod
    def read(cls, session: Session) -> Existing:
        found = cls()
        found.locations = dict(session.execute(select(Location.id, Location.timezone)).all())
        found.resources = {
            rid: (kind, tz, loc)
            for rid, kind, tz, loc in session.execute(
                select(Resource.id, Resource.kind, Resource.timezone, Resource.location_id)
            )
        }
        found.types = {
            tid: (before, after)
            for tid, before, after in session.execute(
                select(AppointmentType.id, AppointmentType.padding_before_minutes, AppointmentType.padding_after_minutes)
            )
        }
        found.capacities = dict(session.execute(select(AppointmentType.id, AppointmentType.capacity)).all())
        found.patients = set(session.scalars(select(Patient.id)))
        for cid, lid in session.execute(
            select(ScheduleRule.clinician_id, ScheduleRule.location_id)
            .where(ScheduleRule.location_id.is_not(None))
            .order_by(ScheduleRule.id)
        ):
            assert lid is not None  # the query asked for rules at a location
            found.clinician_first_location.setdefault(cid, lid)
        return found


@dataclass
class Checked:
    """The file's rows, checked and ready to write."""

    clinic: dict | None = None
    locations: list[dict] = field(default_factory=list)
    rooms: list[dict] = field(default_factory=list)
    clinicians: list[dict] = field(default_factory=list)
    types: list[dict] = field(default_factory=list)
    schedules: list[dict] = field(default_factory=list)
    overrides: list[dict] = field(default_factory=list)
    blocks: list[dict] = field(default_factory=list)
    patients: list[dict] = field(default_factory=list)
    appointments: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    sections: set[str] = field(default_factory=set)  # the sections the file has


def check_clinic_data(data: Any, existing: Existing) -> tuple[Checked, list[str]]:
    """Every row of the file checked against the file and the database; the problems found."""
    checker = Checker(existing)
    checker.check(data)
    return checker.out, checker.problems.items


class Checker:
    """Walks the file section by section. Ids come first in the file's order of sections,
    and what a section defines (locations, resources, types) is remembered so that later
    rows may refer to it, whether it is in the file or already in the database."""

    def __init__(self, existing: Existing) -> None:
        self.existing = existing
        self.problems = Problems()
        self.out = Checked()
        self.first_place: dict[tuple[str, str], str] = {}  # (table, id) -> place that defined it
        self.file_locations: dict[str, str | None] = {}  # id -> timezone (BROKEN_ZONE if wrong)
        self.file_resources: dict[str, dict] = {}
        self.file_types: dict[str, dict] = {}
        self.file_patients: set[str] = set()
        self.file_first_location: dict[str, str] = {}  # clinician -> first location with hours

    def check(self, data: Any) -> None:
        if not isinstance(data, dict):
            self.problems.add("(top)", f"a clinic file is a table of sections, not {show(data)}")
            return
        for key in data:
            if key != "clinic" and key not in SECTIONS:
                self.problems.add(key, f"unknown section (expected one of: clinic, {', '.join(SECTIONS)})")
        for section in SECTIONS:
            value = data.get(section)
            self.out.counts[section] = len(value) if isinstance(value, list) else 0
        self.out.sections = {key for key in data if key in SECTIONS}
        if "clinic" in data:
            self.each_row("clinic", [("clinic", data["clinic"])], self.clinic)
        self.each_row("locations", self.rows(data, "locations"), self.location)
        self.each_row("clinicians", self.rows(data, "clinicians"), lambda row: self.resource(row, "clinician"))
        self.each_row("rooms", self.rows(data, "rooms"), lambda row: self.resource(row, "room"))
        self.each_row("appointment_types", self.rows(data, "appointment_types"), self.appointment_type)
        self.each_row("schedules", self.rows(data, "schedules"), self.schedule)
        self.each_row("overrides", self.rows(data, "overrides"), self.override)
        self.remote_hours_have_zones()
        self.each_row("blocks", self.rows(data, "blocks"), self.block)
        self.each_row("patients", self.rows(data, "patients"), self.patient)
        self.each_row("appointments", self.rows(data, "appointments"), self.appointment)

    # -- walking rows

    def rows(self, data: dict, section: str) -> list[tuple[str, Any]]:
        value = data.get(section, MISSING)
        if value is MISSING:
            if section in REQUIRED_SECTIONS:
                self.problems.add(section, "is missing (a clinic file needs locations, clinicians and appointment_types)")
            return []
        if not isinstance(value, list):
            self.problems.add(section, f"must be a list of tables ([[{section}]]), not {show(value)}")
            return []
        return [(f"{section}[{i}]", raw) for i, raw in enumerate(value)]

    def each_row(self, section: str, rows: list[tuple[str, Any]], check: Callable[[Row], None]) -> None:
        for place, raw in rows:
            row = Row(self.problems, place, raw, KEYS[section])
            try:
                check(row)
            except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
                # A value no rule foresaw (a date at the calendar's edge, ...): refused at its place.
                self.problems.add(place, f"cannot be read ({type(exc).__name__})")

    def claim(self, row: Row, table: str, rid: str | None) -> None:
        """A row's id, which no earlier row of its table may have."""
        if rid is None:
            return
        earlier = self.first_place.get((table, rid))
        if earlier:
            row.bad("id", f"{show(rid)} is already used by {earlier}")
        else:
            self.first_place[(table, rid)] = row.place

    # -- what rows may refer to

    def location_zone(self, lid: str | None) -> str | None:
        if lid is None:
            return None
        if lid in self.file_locations:
            return self.file_locations[lid]
        return self.existing.locations.get(lid)

    def known_location(self, row: Row, key: str, lid: str | None) -> bool:
        if lid is None:
            return False
        if lid not in self.file_locations and lid not in self.existing.locations:
            row.bad(key, f"{show(lid)} is not a location in the file or the database")
            return False
        return True

    def resource_kind(self, rid: str) -> str | None:
        if rid in self.file_resources:
            return self.file_resources[rid]["kind"]
        return self.existing.resources[rid][0] if rid in self.existing.resources else None

    def room_location(self, rid: str) -> str | None:
        if rid in self.file_resources:
            return self.file_resources[rid].get("location_id")
        return self.existing.resources[rid][2] if rid in self.existing.resources else None

    def known(self, row: Row, key: str, rid: Any, kinds: tuple[str, ...]) -> bool:
        """`rid` names a resource of one of `kinds` (in the file or the database)."""
        if rid is None:
            return False
        kind = self.resource_kind(rid)
        wanted = " or ".join(kinds)
        if kind is None:
            row.bad(key, f"{show(rid)} is not a {wanted} in the file or the database")
            return False
        if kind not in kinds:
            row.bad(key, f"{show(rid)} is a {kind}, not a {wanted}")
            return False
        return True

    def known_type(self, tid: str | None) -> bool:
        return tid is not None and (tid in self.file_types or tid in self.existing.types)

    def clinician_zone(self, cid: str) -> str | None:
        if cid in self.file_resources:
            own = self.file_resources[cid].get("timezone")
        else:
            own = self.existing.resources.get(cid, (None, None, None))[1]
        lid = self.existing.clinician_first_location.get(cid) or self.file_first_location.get(cid)
        return clinician_zone_name(own, self.location_zone(lid) if lid else None)

    def resource_zone(self, rid: str) -> str | None:
        if self.resource_kind(rid) == "room":
            at = self.room_location(rid)  # None: its bad location_id is reported already
            return self.location_zone(at) if at else BROKEN_ZONE
        return self.clinician_zone(rid)

    def zone(self, row: Row, key: str, required: bool) -> str | None:
        tz = row.text(key, required=required, max_len=64)
        if tz is not None and not is_zone(tz):
            row.bad(key, f"{show(tz)} is not an IANA timezone (e.g. \"Europe/London\")")
            return BROKEN_ZONE
        return tz

    # -- the sections

    def clinic(self, row: Row) -> None:
        self.out.clinic = {
            "name": row.text("name", required=True),
            "hold_minutes": row.integer("hold_minutes", 1, default=DEFAULT_HOLD_MINUTES),
            # The flow board's thresholds: past a day they would never show.
            "late_after_minutes": row.integer(
                "late_after_minutes", 1, default=DEFAULT_LATE_AFTER_MINUTES, maximum=DAY_MINUTES
            ),
            "waiting_alert_minutes": row.integer(
                "waiting_alert_minutes", 1, default=DEFAULT_WAITING_ALERT_MINUTES, maximum=DAY_MINUTES
            ),
            "video_url_template": self.video_url_template(row),
        }
        self.out.clinic.update(clinic_locale(row))

    def video_url_template(self, row: Row) -> str | None:
        """Each remote booking's link, `{meeting_id}` standing for its own meeting id."""
        template = row.text("video_url_template", max_len=MAX_TEMPLATE_LENGTH)
        problem = template_problem(template) if template is not None else None
        if problem:
            row.bad("video_url_template", f"{show(template)} {problem}")
            return None
        return template

    def location(self, row: Row) -> None:
        lid = row.ident()
        self.claim(row, "locations", lid)
        tz = self.zone(row, "timezone", required=True)
        hours: list[tuple[int, int, int]] = []
        raw_hours = row.get("hours", False)
        if raw_hours is not MISSING:
            if not isinstance(raw_hours, list):
                row.bad("hours", f"must be a list of {{ days, start, end }}, not {show(raw_hours)}")
            else:
                for j, item in enumerate(raw_hours):
                    part = Row(self.problems, f"{row.place}.hours[{j}]", item, KEYS["hours"])
                    days = part.weekdays()
                    start, end = part.hhmm("start"), part.hhmm("end")
                    if hours_span(part, start, end) and days:
                        assert start is not None and end is not None  # hours_span checked them
                        hours.extend((d, start, end) for d in days)
        if lid is not None:
            self.file_locations[lid] = tz if tz is not None else BROKEN_ZONE
        self.out.locations.append({
            "id": lid, "name": row.text("name", required=True),
            "timezone": None if tz == BROKEN_ZONE else tz, "hours": sorted(set(hours)),
        })

    def resource(self, row: Row, kind: str) -> None:
        """A clinician or a room: they share the resources table, so their ids must differ."""
        rid = row.ident()
        self.claim(row, "resources", rid)
        record: dict[str, Any] = {"id": rid, "name": row.text("name", required=True), "kind": kind}
        if rid is not None and rid in self.existing.resources and self.existing.resources[rid][0] != kind:
            row.bad("id", f"{show(rid)} is a {self.existing.resources[rid][0]} in the database, not a {kind}")
        if kind == "room":
            lid = row.ident("location_id")
            record["location_id"] = lid if self.known_location(row, "location_id", lid) else None
            self.out.rooms.append(record)
        else:
            record["timezone"] = self.zone(row, "timezone", required=False)
            record["external_calendars"] = self.external_calendars(row)
            self.out.clinicians.append(record)
        if rid is not None:
            self.file_resources[rid] = record

    def external_calendars(self, row: Row) -> list[dict] | None:
        """A clinician's own calendars, each {file, source} (source: the file's name unless
        given); `availability --sync-external` imports them. The files are read then, not here."""
        raw = row.get("external_calendars", False)
        if raw is MISSING:
            return None
        if not isinstance(raw, list):
            row.bad("external_calendars", f"must be a list of {{ file, source }}, not {show(raw)}")
            return None
        calendars: list[dict] = []
        for j, item in enumerate(raw):
            part = Row(self.problems, f"{row.place}.external_calendars[{j}]", item, KEYS["external_calendars"])
            file, source = part.text("file", required=True, max_len=1000), part.text("source", max_len=100)
            if file is None:
                continue
            source = source or PurePath(file).name
            if any(c["source"] == source for c in calendars):
                part.bad("source", f"{show(source)} is the source of another calendar of this clinician")
            calendars.append({"file": file, "source": source})
        return calendars or None

    def appointment_type(self, row: Row) -> None:
        tid = row.ident()
        self.claim(row, "appointment_types", tid)
        duration = row.integer("duration_minutes", 1, required=True)
        options = row.get("duration_options", False)
        if options is MISSING:
            options = []
        elif not isinstance(options, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_MINUTES for v in options
        ):
            row.bad("duration_options", f"{show(options)} is not a list of positive whole numbers (minutes)")
            options = []
        modes = row.get("modes", False)
        if modes is MISSING:
            modes = [IN_PERSON]
        elif not isinstance(modes, list) or not modes or not all(m in MODES for m in modes) or len(set(modes)) != len(modes):
            row.bad("modes", f"{show(modes)} is not a list of modes (\"in_person\", \"remote\")")
            modes = []
        clinician_ids = row.text_list("clinician_ids", required=True) or []
        for i, cid in enumerate(clinician_ids):
            self.known(row, f"clinician_ids[{i}]", cid, ("clinician",))
        location_ids = row.text_list("location_ids") or []
        for i, lid in enumerate(location_ids):
            self.known_location(row, f"location_ids[{i}]", lid)
        if IN_PERSON in modes and row.ok and row.raw.get("location_ids", []) == []:
            row.bad("location_ids", "names no location (an in-person type needs the locations that offer it)")
        room_ids = row.text_list("room_ids") or []
        for i, rid in enumerate(room_ids):
            if self.known(row, f"room_ids[{i}]", rid, ("room",)):
                at = self.room_location(rid)
                if at is not None and at not in location_ids:
                    row.bad(f"room_ids[{i}]", f"room {show(rid)} is at {show(at)}, which is not in location_ids")
        record: dict[str, Any] = {
            "id": tid,
            "name": row.text("name", required=True),
            "duration_minutes": duration,
            "interval_minutes": row.integer("interval_minutes", 1),
            "padding_before_minutes": row.integer("padding_before_minutes", 0, default=0),
            "padding_after_minutes": row.integer("padding_after_minutes", 0, default=0),
            "duration_options": sorted(set(options)),
            "min_notice_minutes": row.integer("min_notice_minutes", 0, default=0),
            "capacity": row.integer("capacity", 1, default=1),
            "modes": [m for m in MODES if m in modes],
            "clinician_ids": sorted(clinician_ids),
            "location_ids": sorted(location_ids),
            "room_ids": sorted(room_ids),
        }
        for key in ("duration_minutes", "interval_minutes", "padding_before_minutes", "padding_after_minutes",
                    "min_notice_minutes"):
            if record[key] is not None and record[key] > MAX_MINUTES:
                row.bad(key, f"{record[key]} is more than a year ({MAX_MINUTES} minutes)")
        self.out.types.append(record)
        if tid is not None:
            self.file_types[tid] = record

    def channel(self, row: Row) -> tuple[str | None, str | None, bool]:
        """(clinician, location, remote) of a schedule or override: hours at a location, or remote."""
        cid = row.ident("clinician_id")
        cid = cid if self.known(row, "clinician_id", cid, ("clinician",)) else None
        lid = row.ident("location_id", required=False)
        remote = row.boolean("remote")
        if row.ok and remote and "location_id" in row.raw:
            row.bad("remote", "give location_id for in-person hours or remote = true for video hours, not both")
        elif row.ok and not remote and "location_id" not in row.raw:
            row.bad("location_id", "is missing (give location_id for in-person hours, or remote = true)")
        if lid is not None and not self.known_location(row, "location_id", lid):
            lid = None
        return cid, (None if remote else lid), remote

    def schedule(self, row: Row) -> None:
        cid, lid, remote = self.channel(row)
        days = row.weekdays()
        start, end = row.hhmm("start"), row.hhmm("end")
        hours_span(row, start, end)
        valid_from, valid_until = row.day("valid_from"), row.day("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            row.bad("valid_until", f"{valid_until.isoformat()} is before valid_from {valid_from.isoformat()}")
        if cid and lid:
            self.file_first_location.setdefault(cid, lid)
        self.out.schedules.append({
            "clinician_id": cid, "location_id": lid, "remote": remote, "weekdays": days,
            "start_minute": start, "end_minute": end, "valid_from": valid_from, "valid_until": valid_until,
            "_place": row.place,
        })

    def override(self, row: Row) -> None:
        cid, lid, remote = self.channel(row)
        day = row.day("date", required=True)
        start = row.hhmm("start", required=False)
        end = row.hhmm("end", required=False)
        if ("start" in row.raw) != ("end" in row.raw):
            row.bad("end" if "start" in row.raw else "start",
                    "is missing (give both start and end, or neither to close those hours that day)")
        elif "start" in row.raw:
            hours_span(row, start, end)
        self.out.overrides.append({
            "clinician_id": cid, "location_id": lid, "remote": remote, "date": day,
            "start_minute": start, "end_minute": end, "_place": row.place,
        })

    def remote_hours_have_zones(self) -> None:
        """Remote hours are in the clinician's own time: it must have one."""
        for record in self.out.schedules + self.out.overrides:
            cid = record["clinician_id"]
            if record["remote"] and cid and self.clinician_zone(cid) is None:
                self.problems.add(f"{record['_place']}.clinician_id",
                                  f"clinician {show(cid)} has no timezone for remote hours (set its timezone)")

    def block(self, row: Row) -> None:
        rid = row.ident("resource_id")
        rid = rid if self.known(row, "resource_id", rid, ("clinician", "room")) else None
        start, end = row.local("start"), row.local("end")
        rule = row.text("rrule", max_len=500)
        rule_ok = True
        if rule is not None:
            try:
                validate_rrule(rule)
            except FrontdeskError as exc:
                row.bad("rrule", exc.message)
                rule_ok = False
        if start and end and end <= start:
            row.bad("end", f"{show(row.raw['end'])} is not after start {show(row.raw['start'])}")
            start = None
        span = None
        zone_name = self.resource_zone(rid) if rid else None
        if rid and zone_name is None:
            row.bad("resource_id", f"clinician {show(rid)} has no timezone (set its timezone or give it hours at a location)")
        if rid and zone_name not in (None, BROKEN_ZONE) and start and end and rule_ok:
            try:
                span = block_span(start, end, rule, ZoneInfo(zone_name))
            except FrontdeskError as exc:
                row.bad("rrule", exc.message)
        self.out.blocks.append({
            "resource_id": rid, "start_local": start, "end_local": end, "rrule": rule,
            "reason": row.text("reason"), "span": span, "_place": row.place,
        })

    def patient(self, row: Row) -> None:
        pid = row.ident()
        self.claim(row, "patients", pid)
        if pid is not None:
            self.file_patients.add(pid)
        self.out.patients.append({
            "id": pid,
            "first_name": row.text("first_name", required=True, max_len=100),
            "last_name": row.text("last_name", required=True, max_len=100),
            "date_of_birth": row.day("date_of_birth"),
            "email": row.email("email"),
            "phone": (phone := row.text("phone", max_len=50)),
            # Best effort: a file's number that does not read as one is kept, unsearchable by phone.
            "phone_e164": phone_or_none(phone, (self.out.clinic or {}).get("country", DEFAULT_COUNTRY)),
        })

    def appointment(self, row: Row) -> None:
        aid = row.ident()
        self.claim(row, "appointments", aid)
        pid = row.ident("patient_id", required=False)
        if pid is not None and pid not in self.file_patients and pid not in self.existing.patients:
            row.bad("patient_id", f"{show(pid)} is not a patient in the file or the database")
        cid = row.ident("clinician_profile_id", required=False)
        self.known(row, "clinician_profile_id", cid, ("clinician",))
        tid = row.ident("appointment_type_id", required=False)
        if tid is not None and not self.known_type(tid):
            row.bad("appointment_type_id", f"{show(tid)} is not an appointment type in the file or the database")
        attendees = self.group_attendees(row, tid, pid)
        lid = row.ident("location_id", required=False)
        self.known_location(row, "location_id", lid)
        is_remote = row.boolean("is_remote")
        if is_remote and lid is not None:
            row.bad("location_id", "a remote appointment has no location (leave out location_id)")
        resource_ids = self.appointment_rooms(row, lid)
        start, end = row.instant("start_time", required=True), row.instant("end_time", required=True)
        duration = row.integer("duration_minutes", 1)
        if start and end:
            if end <= start:
                row.bad("end_time", f"{show(row.raw['end_time'])} is not after start_time {show(row.raw['start_time'])}")
            elif duration is not None and duration * 60 != (end - start).total_seconds():
                row.bad("duration_minutes", f"{duration} does not match start_time to end_time "
                        f"({(end - start).total_seconds() / 60:g} minutes)")
        status = row.get("status", False)
        if status is MISSING:
            status = "pending"
        elif status not in STATUSES:
            row.bad("status", f"{show(status)} is not a status ({', '.join(STATUSES)})")
            status = None
        texts = {key: row.text(key, max_len=size) for key, size in APPOINTMENT_TEXTS.items()}
        if texts["cancellation_reason"] is not None and status not in ("cancelled", None):
            row.bad("cancellation_reason", f"only a cancelled appointment has one (status is {show(status)})")
        # A title may be left out when the type names the appointment.
        title = row.text("title", required=not self.known_type(tid))
        if "title" not in row.raw and self.known_type(tid):
            title = ""  # the type's name, filled in when written
        texts["booking_source"] = texts["booking_source"] or "import"
        self.out.appointments.append({
            "id": aid, "patient_id": pid, "clinician_profile_id": cid, "appointment_type_id": tid,
            "location_id": lid, "is_remote": is_remote, "title": title, "start_time": start,
            "end_time": end, "status": status, "attendee_email": row.email("attendee_email"),
            "created_at": row.instant("created_at"), "updated_at": row.instant("updated_at"),
            "arrived_at": row.instant("arrived_at"), "actual_start_time": row.instant("actual_start_time"),
            "actual_end_time": row.instant("actual_end_time"), "resource_ids": resource_ids, **texts,
            "is_group": attendees is not None, "attendees": attendees or [],
        })
        attendance = texts["attendance_status"]
        if attendance is not None and attendance not in ATTENDANCE_STATUSES:
            row.bad("attendance_status", f"{show(attendance)} is not an attendance status ({', '.join(ATTENDANCE_STATUSES)})")

    def group_attendees(self, row: Row, tid: str | None, pid: str | None) -> list[dict] | None:
        """A group type's row (capacity above 1) names its patients in `attendees`, not in
        patient_id: each a patient id, or a table {id, attendance_status, no_show,
        payment_status} (the appointment JSON's attendee). None for any other row."""
        capacity = (self.file_types[tid]["capacity"] or 1) if tid in self.file_types else self.existing.capacities.get(tid or "", 1)
        raw = row.raw.get("attendees", [])
        if capacity <= 1:
            if "attendees" in row.raw:
                row.bad("attendees", f"only a group type's appointment has attendees ({show(tid)} has one seat)")
            return None
        if pid is not None:
            row.bad("patient_id", f"{show(tid)} is a group: its patients go in attendees = [...]")
        if not isinstance(raw, list):
            row.bad("attendees", f"{show(raw)} is not a list of patient ids")
            return []
        attendees: list[dict] = []
        for i, item in enumerate(raw):
            at = f"attendees[{i}]"
            item = {"id": item} if isinstance(item, str) else item
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or set(item) - set(ATTENDEE_FIELDS):
                row.bad(at, f"{show(raw[i])} is not a patient id or a table of {', '.join(ATTENDEE_FIELDS)}")
                continue
            record = {
                "patient_id": item["id"], "attendance_status": item.get("attendance_status", GOING),
                "no_show": item.get("no_show", False), "payment_status": item.get("payment_status", "not_applicable"),
            }
            if record["patient_id"] not in self.file_patients and record["patient_id"] not in self.existing.patients:
                row.bad(at, f"{show(record['patient_id'])} is not a patient in the file or the database")
            elif any(a["patient_id"] == record["patient_id"] for a in attendees):
                row.bad(at, f"{show(record['patient_id'])} is named twice")
            if record["attendance_status"] not in ATTENDEE_STATUSES:
                row.bad(f"{at}.attendance_status", f"{show(record['attendance_status'])} is not going or not_going")
            if not isinstance(record["no_show"], bool):
                row.bad(f"{at}.no_show", f"{show(record['no_show'])} is not true or false")
            if record["payment_status"] not in PAYMENT_STATUSES:
                row.bad(f"{at}.payment_status",
                        f"{show(record['payment_status'])} is not a payment status ({', '.join(PAYMENT_STATUSES)})")
            attendees.append(record)
        going = sum(1 for a in attendees if a["attendance_status"] == GOING)
        if going > capacity:
            row.bad("attendees", f"{going} attendees going, but {show(tid)} has {capacity} seats")
        return attendees

    def appointment_rooms(self, row: Row, lid: str | None) -> list[str]:
        resource_ids = row.text_list("resource_ids") or []
        for i, rid in enumerate(resource_ids):
            if self.known(row, f"resource_ids[{i}]", rid, ("room", "clinician")) and self.resource_kind(rid) == "room":
                at = self.room_location(rid)
                if lid is not None and at is not None and at != lid:
                    row.bad(f"resource_ids[{i}]", f"room {show(rid)} is at {show(at)}, not at location_id {show(lid)}")
        return resource_ids


def clinic_locale(row: Row) -> dict:
    """`country` (ISO 3166 alpha-2, GB if not given) and `date_order` (DMY, MDY or YMD; by
    default the country's: MDY in the US, else DMY)."""
    country = row.text("country", max_len=2) or DEFAULT_COUNTRY
    try:
        country = check_country(country)
    except FrontdeskError as exc:
        row.bad("country", exc.message)
        country = DEFAULT_COUNTRY
    order = row.text("date_order", max_len=3)
    if order is not None and order.upper() not in DATE_ORDERS:
        row.bad("date_order", f"{show(order)} is not one of {', '.join(DATE_ORDERS)}")
        order = None
    return {"country": country, "date_order": order.upper() if order else default_date_order(country)}
