"""The clinic file (shared/spec/clinic-file.md): read it, check all of it, write it.

Reading turns TOML or JSON into plain data (strings, numbers, lists, tables). Checking
walks every row and collects *every* problem with its place (`schedules[3].start: ...`)
before anything is written, so a file with any error loads nothing. Writing matches rows
by id (schedules, overrides and blocks by a digest of the row, having no ids), so loading
the same file twice changes nothing.

Places count rows from 0, as in JSON paths: `schedules[0]` is the first schedule.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from frontdesk.domain.appointments import STATUSES, check_email
from frontdesk.domain.blocks import block_span, validate_rrule
from frontdesk.domain.errors import VALIDATION_ERROR, FrontdeskError
from frontdesk.domain.text import refusal
from frontdesk.domain.timeutil import (
    is_zone,
    parse_date,
    parse_hhmm,
    parse_instant,
    parse_local_datetime,
)
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Block,
    Clinic,
    FieldChange,
    Location,
    LocationHours,
    Patient,
    Resource,
    ScheduleOverride,
    ScheduleRule,
    StatusChange,
    appointment_resources,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MODES = ("in_person", "remote")

# Every key each part of the file may have; anything else is a typo and an error.
KEYS: dict[str, tuple[str, ...]] = {
    "clinic": ("name", "hold_minutes"),
    "locations": ("id", "name", "timezone", "hours"),
    "hours": ("days", "start", "end"),
    "rooms": ("id", "name", "location_id"),
    "clinicians": ("id", "name", "timezone"),
    "appointment_types": (
        "id", "name", "duration_minutes", "interval_minutes", "padding_before_minutes",
        "padding_after_minutes", "duration_options", "min_notice_minutes", "capacity", "modes",
        "clinician_ids", "location_ids", "room_ids",
    ),
    "schedules": ("clinician_id", "location_id", "remote", "days", "start", "end", "valid_from", "valid_until"),
    "overrides": ("clinician_id", "location_id", "remote", "date", "start", "end"),
    "blocks": ("resource_id", "start", "end", "rrule", "reason"),
    "patients": ("id", "first_name", "last_name", "date_of_birth", "email", "phone"),
    "appointments": (
        "id", "patient_id", "clinician_profile_id", "title", "description", "start_time", "end_time",
        "status", "appointment_type_id", "location_id", "is_remote", "remote_channel", "video_link",
        "video_provider", "duration_minutes", "attendee_email", "attendee_name", "meeting_url",
        "attendance_status", "cancellation_reason", "booking_source", "episode_id", "created_at",
        "updated_at", "resource_ids",
    ),
}
SECTIONS = (
    "locations", "rooms", "clinicians", "appointment_types", "schedules", "overrides", "blocks",
    "patients", "appointments",
)
REQUIRED_SECTIONS = ("locations", "clinicians", "appointment_types")
# Optional text fields of an appointment, with the longest text their columns take.
APPOINTMENT_TEXTS = {
    "description": None, "remote_channel": 50, "video_link": 500, "video_provider": 50,
    "attendee_name": 200, "meeting_url": 500, "attendance_status": 50, "cancellation_reason": None,
    "booking_source": 50, "episode_id": 100,
}
# Text that may run over several lines; every other text is one line (booking.md, "Integrity").
MULTILINE_KEYS = frozenset({"description", "cancellation_reason", "reason"})
# JSON escapes C0 controls itself; these it would print as they are.
_UNPRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff]")


def _show(value: Any) -> str:
    """A value as the file would spell it: strings in double quotes."""
    try:
        shown = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
    return _UNPRINTABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", shown)


def _errors(source: str, problems: list[str]) -> FrontdeskError:
    n = len(problems)
    return FrontdeskError(
        VALIDATION_ERROR, f"{n} error{'s' if n != 1 else ''} in {source}", {"errors": problems}
    )


# --- reading -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """TOML's own dates and times as the strings the file format uses, so TOML equals JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat(timespec="minutes" if not value.second else "seconds")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M") if not value.second else value.isoformat()
    return value


def read_clinic_file(path: str | Path) -> dict[str, Any]:
    """The file's data, TOML or JSON by its ending; VALIDATION_ERROR naming the place if it
    cannot be read or does not parse."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise _errors(source, [f"{source}: cannot tell the format from the ending {suffix or '(none)'!r}; use .toml or .json"])
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _errors(source, [f"{source}: byte {exc.start}: the file is not UTF-8 text"]) from None
    except OSError as exc:
        raise _errors(source, [f"{source}: cannot be read ({exc.strerror or exc})"]) from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _errors(source, [f"{source}: line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _errors(source, [f"{source}: {_toml_problem(exc)}"]) from None
    return _plain(data)


def _toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    message = str(getattr(exc, "msg", "") or exc)
    lineno, colno = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found:
        message = message[: found.start()]
        lineno, colno = lineno or int(found.group(1)), colno or int(found.group(2))
    elif message.endswith("(at end of document)"):
        return "at the end of the file: " + message.removesuffix(" (at end of document)")
    if lineno:
        return f"line {lineno}, column {colno}: {message}"
    return message


# --- moving dates (the demo) ---------------------------------------------------------------


def _shift_date_prefix(text: Any, days: int) -> Any:
    """`YYYY-MM-DD...` with its date moved by `days`; anything else as it is."""
    if not isinstance(text, str) or len(text) < 10:
        return text
    try:
        moved = date.fromisoformat(text[:10]) + timedelta(days=days)
    except ValueError:
        return text
    return moved.isoformat() + text[10:]


def _shift_until(rule: Any, days: int) -> Any:
    """An RRULE's UNTIL=YYYYMMDD... moved by `days`."""
    if not isinstance(rule, str):
        return rule

    def move(found: re.Match) -> str:
        try:
            moved = datetime.strptime(found.group(2), "%Y%m%d").date() + timedelta(days=days)
        except ValueError:
            return found.group(0)
        return found.group(1) + moved.strftime("%Y%m%d")

    return re.sub(r"(UNTIL=)(\d{8})", move, rule, flags=re.IGNORECASE)


def _appointment_zones(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Timezones by location id and by clinician id (own, else first location with hours)."""
    def rows(section: str) -> list[dict]:
        value = data.get(section)
        return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []

    locations = {r.get("id"): r.get("timezone") for r in rows("locations") if isinstance(r.get("timezone"), str)}
    clinicians = {r.get("id"): r.get("timezone") for r in rows("clinicians") if isinstance(r.get("timezone"), str)}
    for rule in rows("schedules"):
        zone_name = locations.get(rule.get("location_id"))
        if zone_name and isinstance(rule.get("clinician_id"), str):
            clinicians.setdefault(rule["clinician_id"], zone_name)
    return locations, clinicians


def _shift_instant_on_wall_clock(text: Any, days: int, zone_name: str | None) -> Any:
    """An instant moved by `days` on its local wall clock, so a 09:00 appointment stays at
    09:00 local across a daylight-saving change; plain UTC days without a known zone."""
    if not isinstance(text, str) or not zone_name or not is_zone(zone_name):
        return _shift_date_prefix(text, days)
    try:
        instant = parse_instant(text)
    except FrontdeskError:
        return text
    tz = ZoneInfo(zone_name)
    local = instant.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    moved = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    return moved.isoformat().replace("+00:00", "Z")


def shift_clinic_data(data: dict[str, Any], weeks: int) -> dict[str, Any]:
    """A copy of a clinic file's data with every date moved by whole weeks, so each weekday
    keeps its name: schedule validity, overrides, blocks (and their RRULE's UNTIL) and
    appointments. Dates of birth stay as they are. Appointments keep their local wall time."""
    days = 7 * weeks
    out = json.loads(json.dumps(data))  # a deep copy of plain data
    location_zones, clinician_zones = _appointment_zones(out)

    def rows(section: str) -> list[dict]:
        value = out.get(section)
        return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []

    for rule in rows("schedules"):
        for key in ("valid_from", "valid_until"):
            if key in rule:
                rule[key] = _shift_date_prefix(rule[key], days)
    for override in rows("overrides"):
        if "date" in override:
            override["date"] = _shift_date_prefix(override["date"], days)
    for block in rows("blocks"):
        for key in ("start", "end"):
            if key in block:
                block[key] = _shift_date_prefix(block[key], days)
        if "rrule" in block:
            block["rrule"] = _shift_until(block["rrule"], days)
    for appointment in rows("appointments"):
        if appointment.get("is_remote") is True or not appointment.get("location_id"):
            zone_name = clinician_zones.get(appointment.get("clinician_profile_id"))
        else:
            zone_name = location_zones.get(appointment.get("location_id"))
        for key in ("start_time", "end_time"):
            if key in appointment:
                appointment[key] = _shift_instant_on_wall_clock(appointment[key], days, zone_name)
        for key in ("created_at", "updated_at"):
            if key in appointment:
                appointment[key] = _shift_instant_on_wall_clock(appointment[key], days, "UTC")
    return out


OUTCOME_STATUSES = ("completed", "no_show")


def settle_outcomes(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A copy in which no appointment that has not ended yet is already completed or a no-show
    (a moved demo week would otherwise show this afternoon's visits as done); they become
    confirmed, with the status history that says so."""
    out = json.loads(json.dumps(data))
    for appointment in out.get("appointments") or []:
        if not isinstance(appointment, dict) or appointment.get("status") not in OUTCOME_STATUSES:
            continue
        try:
            ended = parse_instant(appointment["end_time"]) <= now
        except (FrontdeskError, KeyError, TypeError):
            continue  # the loader reports the bad time
        if not ended:
            appointment["status"] = "confirmed"
    return out


def appointment_week(data: dict[str, Any]) -> date | None:
    """The Monday of the week of the file's first appointment (None without appointments)."""
    starts = []
    for appointment in data.get("appointments") or []:
        try:
            starts.append(parse_instant(appointment["start_time"]))
        except (FrontdeskError, KeyError, TypeError):
            continue
    if not starts:
        return None
    first = min(starts).date()
    return first - timedelta(days=first.weekday())


def weeks_to_now(data: dict[str, Any], now: datetime) -> int:
    """Whole weeks that move the file's appointment week to the week of `now`; on a
    Saturday or Sunday, to the week ahead, so a demo opens on upcoming appointments."""
    week = appointment_week(data)
    if week is None:
        return 0
    today = now.astimezone(UTC).date()
    target = today - timedelta(days=today.weekday())
    if today.weekday() >= 5:
        target += timedelta(days=7)
    return (target - week).days // 7


# --- checking ----------------------------------------------------------------------------

MISSING = object()
BROKEN_ZONE = "(a timezone already reported as wrong)"  # spares follow-on errors


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, place: str, what: str) -> None:
        self.items.append(f"{place}: {what}")


class Row:
    """One table of the file, read field by field; each bad field becomes a problem."""

    def __init__(self, problems: Problems, place: str, raw: Any, keys: tuple[str, ...]):
        self.problems, self.place = problems, place
        self.ok = isinstance(raw, dict)
        self.raw: dict = raw if self.ok else {}
        if not self.ok:
            problems.add(place, f"must be a table ({{key = value, ...}}), not {_show(raw)}")
        for key in self.raw:
            if key not in keys:
                problems.add(f"{place}.{key}", f"unknown key (expected one of: {', '.join(keys)})")

    def at(self, key: str) -> str:
        return f"{self.place}.{key}"

    def bad(self, key: str, what: str) -> None:
        self.problems.add(self.at(key), what)

    def get(self, key: str, required: bool) -> Any:
        value = self.raw.get(key, MISSING)
        if value is MISSING and required and self.ok:
            self.bad(key, "is missing")
        return value

    def text(self, key: str, required: bool = False, max_len: int | None = 200) -> str | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.bad(key, f"{_show(value)} is not {'a non-empty' if required else 'a'} text")
            return None
        if max_len and len(value) > max_len:
            self.bad(key, f"is longer than {max_len} characters")
            return None
        problem = refusal(value, multiline=key in MULTILINE_KEYS)
        if problem:
            self.bad(key, problem)
            return None
        return value

    def ident(self, key: str = "id", required: bool = True) -> str | None:
        return self.text(key, required=required, max_len=100)

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.get(key, False)
        if value is MISSING:
            return default
        if not isinstance(value, bool):
            self.bad(key, f"{_show(value)} is not true or false")
            return default
        return value

    def integer(self, key: str, minimum: int, required: bool = False, default: int | None = None) -> int | None:
        value = self.get(key, required)
        if value is MISSING:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            kind = "a positive whole number" if minimum > 0 else "a whole number, 0 or more"
            self.bad(key, f"{_show(value)} is not {kind} (minutes)" if key.endswith("minutes") else f"{_show(value)} is not {kind}")
            return default
        return value

    def text_list(self, key: str, required: bool = False) -> list[str] | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.bad(key, f"{_show(value)} is not a list of ids")
            return None
        for i, item in enumerate(value):
            problem = refusal(item)
            if problem:
                self.bad(f"{key}[{i}]", problem)
                return None
        if len(set(value)) != len(value):
            self.bad(key, f"{_show(value)} names an id more than once")
            return None
        return value

    def hhmm(self, key: str, required: bool = True) -> int | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        try:
            return parse_hhmm(value)
        except FrontdeskError:
            self.bad(key, f"{_show(value)} is not a time (HH:MM)")
            return None

    def day(self, key: str, required: bool = False) -> date | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        try:
            return parse_date(value)
        except FrontdeskError:
            self.bad(key, f"{_show(value)} is not a date (YYYY-MM-DD)")
            return None

    def local(self, key: str) -> datetime | None:
        value = self.get(key, True)
        if value is MISSING:
            return None
        try:
            if not isinstance(value, str) or len(value) < 16:
                raise ValueError
            return parse_local_datetime(value)
        except (FrontdeskError, ValueError):
            self.bad(key, f"{_show(value)} is not a local date and time (YYYY-MM-DDTHH:MM)")
            return None

    def instant(self, key: str, required: bool = False) -> datetime | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        try:
            if not isinstance(value, str) or "T" not in value.upper():
                raise ValueError
            return parse_instant(value)
        except (FrontdeskError, ValueError):
            self.bad(key, f"{_show(value)} is not an instant with an offset (e.g. 2025-01-20T09:00:00Z)")
            return None

    def weekdays(self, key: str = "days") -> list[int] | None:
        value = self.get(key, True)
        if value is MISSING:
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.bad(key, f"{_show(value)} is not a list of days (mon ... sun)")
            return None
        unknown = [v for v in value if v.lower() not in DAYS]
        if unknown:
            self.bad(key, f"{', '.join(_show(v) for v in unknown)} is not a day (mon ... sun)")
            return None
        days = sorted({DAYS.index(v.lower()) for v in value})
        if len(days) != len(value):
            self.bad(key, "names a day more than once")
            return None
        return days

    def email(self, key: str) -> str | None:
        value = self.text(key)
        try:
            return check_email(value, key)  # the same rule as a booking's email
        except FrontdeskError:
            self.bad(key, f"{_show(value)} is not an email address")
            return None


def _hours_span(row: Row, start: int | None, end: int | None) -> bool:
    """start before end on one date (24:00 only as an end)."""
    if start is None or end is None:
        return False
    if start == 1440:
        row.bad("start", '"24:00" can only be an end')
        return False
    if end <= start:
        row.bad("end", f"{_show(row.raw.get('end'))} is not after start {_show(row.raw.get('start'))}")
        return False
    return True


@dataclass
class Existing:
    """What the database already holds that the file may refer to."""

    locations: dict[str, str] = field(default_factory=dict)  # id -> timezone
    resources: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)  # kind, tz, location
    types: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> paddings
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
        found.patients = set(session.scalars(select(Patient.id)))
        for cid, lid in session.execute(
            select(ScheduleRule.clinician_id, ScheduleRule.location_id)
            .where(ScheduleRule.location_id.is_not(None))
            .order_by(ScheduleRule.id)
        ):
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


def _rows(problems: Problems, data: dict, section: str) -> list[tuple[str, Any]]:
    value = data.get(section, MISSING)
    if value is MISSING:
        if section in REQUIRED_SECTIONS:
            problems.add(section, "is missing (a clinic file needs locations, clinicians and appointment_types)")
        return []
    if not isinstance(value, list):
        problems.add(section, f"must be a list of tables ([[{section}]]), not {_show(value)}")
        return []
    return [(f"{section}[{i}]", raw) for i, raw in enumerate(value)]


def check_clinic_data(data: Any, existing: Existing) -> tuple[Checked, list[str]]:
    """Every row of the file checked against the file and the database; the problems found."""
    problems = Problems()
    out = Checked()
    if not isinstance(data, dict):
        problems.add("(top)", f"a clinic file is a table of sections, not {_show(data)}")
        return out, problems.items
    for key in data:
        if key != "clinic" and key not in SECTIONS:
            problems.add(key, f"unknown section (expected one of: clinic, {', '.join(SECTIONS)})")
    for section in SECTIONS:
        value = data.get(section)
        out.counts[section] = len(value) if isinstance(value, list) else 0

    if "clinic" in data:
        row = Row(problems, "clinic", data["clinic"], KEYS["clinic"])
        out.clinic = {
            "name": row.text("name", required=True),
            "hold_minutes": row.integer("hold_minutes", 1, default=15),
        }

    # Ids first, so any row may refer to a row further down the file.
    first_place: dict[tuple[str, str], str] = {}  # (table, id) -> place that defined it

    def claim(row: Row, table: str, rid: str | None) -> None:
        if rid is None:
            return
        earlier = first_place.get((table, rid))
        if earlier:
            row.bad("id", f"{_show(rid)} is already used by {earlier}")
        else:
            first_place[(table, rid)] = row.place

    # -- locations
    file_locations: dict[str, str | None] = {}
    for place, raw in _rows(problems, data, "locations"):
        row = Row(problems, place, raw, KEYS["locations"])
        lid = row.ident()
        claim(row, "locations", lid)
        tz = row.text("timezone", required=True, max_len=64)
        if tz is not None and not is_zone(tz):
            row.bad("timezone", f"{_show(tz)} is not an IANA timezone (e.g. \"Europe/London\")")
            tz = None
        hours: list[tuple[int, int, int]] = []
        raw_hours = row.get("hours", False)
        if raw_hours is not MISSING:
            if not isinstance(raw_hours, list):
                row.bad("hours", f"must be a list of {{ days, start, end }}, not {_show(raw_hours)}")
            else:
                for j, item in enumerate(raw_hours):
                    part = Row(problems, f"{place}.hours[{j}]", item, KEYS["hours"])
                    days = part.weekdays()
                    start, end = part.hhmm("start"), part.hhmm("end")
                    if _hours_span(part, start, end) and days:
                        hours.extend((d, start, end) for d in days)
        if lid is not None:
            file_locations[lid] = tz if tz is not None else BROKEN_ZONE
        out.locations.append({"id": lid, "name": row.text("name", required=True), "timezone": tz,
                              "hours": sorted(set(hours))})

    def location_zone(lid: str | None) -> str | None:
        if lid in file_locations:
            return file_locations[lid]
        return existing.locations.get(lid)

    def known_location(row: Row, key: str, lid: str | None) -> bool:
        if lid is None:
            return False
        if lid not in file_locations and lid not in existing.locations:
            row.bad(key, f"{_show(lid)} is not a location in the file or the database")
            return False
        return True

    # -- rooms and clinicians share the resources table, so their ids must differ
    file_resources: dict[str, dict] = {}
    for section, kind in (("clinicians", "clinician"), ("rooms", "room")):
        for place, raw in _rows(problems, data, section):
            row = Row(problems, place, raw, KEYS[section])
            rid = row.ident()
            claim(row, "resources", rid)
            record = {"id": rid, "name": row.text("name", required=True), "kind": kind}
            if rid is not None and rid in existing.resources and existing.resources[rid][0] != kind:
                row.bad("id", f"{_show(rid)} is a {existing.resources[rid][0]} in the database, not a {kind}")
            if kind == "room":
                lid = row.ident("location_id")
                record["location_id"] = lid if known_location(row, "location_id", lid) else None
                out.rooms.append(record)
            else:
                tz = row.text("timezone", max_len=64)
                if tz is not None and not is_zone(tz):
                    row.bad("timezone", f"{_show(tz)} is not an IANA timezone (e.g. \"Europe/London\")")
                    tz = BROKEN_ZONE
                record["timezone"] = tz
                out.clinicians.append(record)
            if rid is not None:
                file_resources[rid] = record

    def resource_kind(rid: str) -> str | None:
        if rid in file_resources:
            return file_resources[rid]["kind"]
        return existing.resources[rid][0] if rid in existing.resources else None

    def room_location(rid: str) -> str | None:
        if rid in file_resources:
            return file_resources[rid].get("location_id")
        return existing.resources[rid][2] if rid in existing.resources else None

    def known(row: Row, key: str, rid: Any, kinds: tuple[str, ...]) -> bool:
        """`rid` names a resource of one of `kinds` (in the file or the database)."""
        if rid is None:
            return False
        kind = resource_kind(rid)
        wanted = " or ".join(k for k in kinds)
        if kind is None:
            row.bad(key, f"{_show(rid)} is not a {wanted} in the file or the database")
            return False
        if kind not in kinds:
            row.bad(key, f"{_show(rid)} is a {kind}, not a {wanted}")
            return False
        return True

    # -- appointment types
    file_types: dict[str, dict] = {}
    for place, raw in _rows(problems, data, "appointment_types"):
        row = Row(problems, place, raw, KEYS["appointment_types"])
        tid = row.ident()
        claim(row, "appointment_types", tid)
        duration = row.integer("duration_minutes", 1, required=True)
        options = row.get("duration_options", False)
        if options is MISSING:
            options = []
        elif not isinstance(options, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in options
        ):
            row.bad("duration_options", f"{_show(options)} is not a list of positive whole numbers (minutes)")
            options = []
        modes = row.get("modes", False)
        if modes is MISSING:
            modes = ["in_person"]
        elif not isinstance(modes, list) or not modes or not all(m in MODES for m in modes) or len(set(modes)) != len(modes):
            row.bad("modes", f"{_show(modes)} is not a list of modes (\"in_person\", \"remote\")")
            modes = []
        clinician_ids = row.text_list("clinician_ids", required=True) or []
        for i, cid in enumerate(clinician_ids):
            known(row, f"clinician_ids[{i}]", cid, ("clinician",))
        location_ids = row.text_list("location_ids") or []
        for i, lid in enumerate(location_ids):
            known_location(row, f"location_ids[{i}]", lid)
        if "in_person" in modes and row.ok and row.raw.get("location_ids", []) == []:
            row.bad("location_ids", "names no location (an in-person type needs the locations that offer it)")
        room_ids = row.text_list("room_ids") or []
        for i, rid in enumerate(room_ids):
            if known(row, f"room_ids[{i}]", rid, ("room",)):
                at = room_location(rid)
                if at is not None and at not in location_ids:
                    row.bad(f"room_ids[{i}]", f"room {_show(rid)} is at {_show(at)}, which is not in location_ids")
        record = {
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
        out.types.append(record)
        if tid is not None:
            file_types[tid] = record

    # -- schedules and overrides: hours of one channel (a location, or remote)
    def channel(row: Row) -> tuple[str | None, str | None, bool]:
        """(clinician, location, remote) of a schedule or override row."""
        cid = row.ident("clinician_id")
        cid = cid if known(row, "clinician_id", cid, ("clinician",)) else None
        lid = row.ident("location_id", required=False)
        remote = row.boolean("remote")
        if row.ok and remote and "location_id" in row.raw:
            row.bad("remote", "give location_id for in-person hours or remote = true for video hours, not both")
        elif row.ok and not remote and "location_id" not in row.raw:
            row.bad("location_id", "is missing (give location_id for in-person hours, or remote = true)")
        if lid is not None and not known_location(row, "location_id", lid):
            lid = None
        return cid, (None if remote else lid), remote

    file_first_location: dict[str, str] = {}
    for place, raw in _rows(problems, data, "schedules"):
        row = Row(problems, place, raw, KEYS["schedules"])
        cid, lid, remote = channel(row)
        days = row.weekdays()
        start, end = row.hhmm("start"), row.hhmm("end")
        _hours_span(row, start, end)
        valid_from, valid_until = row.day("valid_from"), row.day("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            row.bad("valid_until", f"{valid_until.isoformat()} is before valid_from {valid_from.isoformat()}")
        if cid and lid:
            file_first_location.setdefault(cid, lid)
        out.schedules.append({
            "clinician_id": cid, "location_id": lid, "remote": remote, "weekdays": days,
            "start_minute": start, "end_minute": end, "valid_from": valid_from, "valid_until": valid_until,
            "_place": place,
        })

    for place, raw in _rows(problems, data, "overrides"):
        row = Row(problems, place, raw, KEYS["overrides"])
        cid, lid, remote = channel(row)
        day = row.day("date", required=True)
        start = row.hhmm("start", required=False)
        end = row.hhmm("end", required=False)
        if ("start" in row.raw) != ("end" in row.raw):
            row.bad("end" if "start" in row.raw else "start",
                    "is missing (give both start and end, or neither to close those hours that day)")
        elif "start" in row.raw:
            _hours_span(row, start, end)
        out.overrides.append({
            "clinician_id": cid, "location_id": lid, "remote": remote, "date": day,
            "start_minute": start, "end_minute": end, "_place": place,
        })

    def clinician_zone(cid: str) -> str | None:
        if cid in file_resources:
            own = file_resources[cid].get("timezone")
        else:
            own = existing.resources.get(cid, (None, None, None))[1]
        if own:
            return own
        lid = existing.clinician_first_location.get(cid) or file_first_location.get(cid)
        return location_zone(lid) if lid else None

    def resource_zone(rid: str) -> str | None:
        if resource_kind(rid) == "room":
            at = room_location(rid)  # None: its bad location_id is reported already
            return location_zone(at) if at else BROKEN_ZONE
        return clinician_zone(rid)

    # Remote hours are in the clinician's own time: it must have one.
    for record in out.schedules + out.overrides:
        cid = record["clinician_id"]
        if record["remote"] and cid and clinician_zone(cid) is None:
            problems.add(f"{record['_place']}.clinician_id",
                         f"clinician {_show(cid)} has no timezone for remote hours (set its timezone)")

    # -- blocks
    for place, raw in _rows(problems, data, "blocks"):
        row = Row(problems, place, raw, KEYS["blocks"])
        rid = row.ident("resource_id")
        rid = rid if known(row, "resource_id", rid, ("clinician", "room")) else None
        start, end = row.local("start"), row.local("end")
        rule = row.text("rrule", max_len=None)
        if rule is not None:
            try:
                validate_rrule(rule)
            except FrontdeskError as exc:
                row.bad("rrule", exc.message)
                rule = MISSING
        if start and end and end <= start:
            row.bad("end", f"{_show(row.raw['end'])} is not after start {_show(row.raw['start'])}")
            start = None
        span = None
        zone_name = resource_zone(rid) if rid else None
        if rid and zone_name is None:
            row.bad("resource_id", f"clinician {_show(rid)} has no timezone (set its timezone or give it hours at a location)")
        if rid and zone_name not in (None, BROKEN_ZONE) and start and end and rule is not MISSING:
            try:
                span = block_span(start, end, rule, ZoneInfo(zone_name))
            except FrontdeskError as exc:
                row.bad("rrule", exc.message)
        out.blocks.append({
            "resource_id": rid, "start_local": start, "end_local": end, "rrule": rule,
            "reason": row.text("reason"), "span": span,
        })

    # -- patients
    file_patients: set[str] = set()
    for place, raw in _rows(problems, data, "patients"):
        row = Row(problems, place, raw, KEYS["patients"])
        pid = row.ident()
        claim(row, "patients", pid)
        if pid is not None:
            file_patients.add(pid)
        out.patients.append({
            "id": pid,
            "first_name": row.text("first_name", required=True, max_len=100),
            "last_name": row.text("last_name", required=True, max_len=100),
            "date_of_birth": row.day("date_of_birth"),
            "email": row.email("email"),
            "phone": row.text("phone", max_len=50),
        })

    # -- appointments
    for place, raw in _rows(problems, data, "appointments"):
        row = Row(problems, place, raw, KEYS["appointments"])
        aid = row.ident()
        claim(row, "appointments", aid)
        pid = row.ident("patient_id", required=False)
        if pid is not None and pid not in file_patients and pid not in existing.patients:
            row.bad("patient_id", f"{_show(pid)} is not a patient in the file or the database")
        cid = row.ident("clinician_profile_id", required=False)
        known(row, "clinician_profile_id", cid, ("clinician",))
        tid = row.ident("appointment_type_id", required=False)
        if tid is not None and tid not in file_types and tid not in existing.types:
            row.bad("appointment_type_id", f"{_show(tid)} is not an appointment type in the file or the database")
        lid = row.ident("location_id", required=False)
        known_location(row, "location_id", lid)
        is_remote = row.boolean("is_remote")
        if is_remote and lid is not None:
            row.bad("location_id", "a remote appointment has no location (leave out location_id)")
        resource_ids = row.text_list("resource_ids") or []
        for i, rid in enumerate(resource_ids):
            if known(row, f"resource_ids[{i}]", rid, ("room", "clinician")) and resource_kind(rid) == "room":
                at = room_location(rid)
                if lid is not None and at is not None and at != lid:
                    row.bad(f"resource_ids[{i}]", f"room {_show(rid)} is at {_show(at)}, not at location_id {_show(lid)}")
        start, end = row.instant("start_time", required=True), row.instant("end_time", required=True)
        duration = row.integer("duration_minutes", 1)
        if start and end:
            if end <= start:
                row.bad("end_time", f"{_show(row.raw['end_time'])} is not after start_time {_show(row.raw['start_time'])}")
            elif duration is not None and duration * 60 != (end - start).total_seconds():
                row.bad("duration_minutes", f"{duration} does not match start_time to end_time "
                        f"({(end - start).total_seconds() / 60:g} minutes)")
        status = row.get("status", False)
        if status is MISSING:
            status = "pending"
        elif status not in STATUSES:
            row.bad("status", f"{_show(status)} is not a status ({', '.join(STATUSES)})")
            status = None
        texts = {key: row.text(key, max_len=size) for key, size in APPOINTMENT_TEXTS.items()}
        if texts["cancellation_reason"] is not None and status not in ("cancelled", None):
            row.bad("cancellation_reason", f"only a cancelled appointment has one (status is {_show(status)})")
        # A title may be left out when the type names the appointment.
        type_known = tid is not None and (tid in file_types or tid in existing.types)
        title = row.text("title", required=not type_known)
        if "title" not in row.raw and type_known:
            title = ""  # the type's name, filled in when written
        texts["booking_source"] = texts["booking_source"] or "import"
        out.appointments.append({
            "id": aid, "patient_id": pid, "clinician_profile_id": cid, "appointment_type_id": tid,
            "location_id": lid, "is_remote": is_remote, "title": title, "start_time": start,
            "end_time": end, "status": status, "attendee_email": row.email("attendee_email"),
            "created_at": row.instant("created_at"), "updated_at": row.instant("updated_at"),
            "resource_ids": resource_ids, **texts,
        })

    return out, problems.items


# --- writing -----------------------------------------------------------------------------


def _digest(kind: str, values: dict) -> str:
    canonical = json.dumps({"kind": kind, **values}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _assign(obj: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the attributes that differ; {field: (old, new)} of those changed."""
    changed = {}
    for key, value in values.items():
        old = getattr(obj, key)
        if old != value:
            changed[key] = (old, value)
            setattr(obj, key, value)
    return changed


def _by_id(session: Session, model: type, ids: list[str]) -> dict[str, Any]:
    """The rows of `model` with these ids, read in a few queries rather than one each."""
    found: dict[str, Any] = {}
    for i in range(0, len(ids), 500):
        for obj in session.scalars(select(model).where(model.id.in_(ids[i : i + 500]))):
            found[obj.id] = obj
    return found


def _merge_all(session: Session, model: type, records: list[dict[str, Any]]) -> None:
    """Insert rows with new ids; update the others in place where they differ."""
    found = _by_id(session, model, [r["id"] for r in records])
    with session.no_autoflush:
        for values in records:
            obj = found.get(values["id"])
            if obj is None:
                session.add(model(**values))
            else:
                _assign(obj, values)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


@dataclass
class LoadResult:
    counts: dict[str, int]  # the rows in the file by section
    appointment_ids: list[str]  # the file's appointments, whose busy time the caller writes
    repadded_type_ids: set[str]  # types whose padding changed: their bookings' busy time too


def load_into_session(session: Session, data: Any, source: str, now: datetime, operator: str) -> LoadResult:
    """Check the whole file and, only if it has no problem, write it in `session`, all but
    busy time (services/clinic.py writes that through the booking rule).

    Raises VALIDATION_ERROR listing every problem.
    """
    existing = Existing.read(session)
    checked, problems = check_clinic_data(data, existing)
    if problems:
        raise _errors(source, problems)

    if checked.clinic is not None:
        clinic = session.get(Clinic, 1)
        if clinic is None:
            session.add(Clinic(id=1, **checked.clinic))
        else:
            _assign(clinic, checked.clinic)

    hours = {record["id"]: record.pop("hours") for record in checked.locations}
    _merge_all(session, Location, checked.locations)
    session.flush()
    for location in _by_id(session, Location, list(hours)).values():
        if [(h.weekday, h.start_minute, h.end_minute) for h in location.hours] != hours[location.id]:
            location.hours = [LocationHours(weekday=d, start_minute=s, end_minute=e) for d, s, e in hours[location.id]]
    _merge_all(session, Resource, [{**r, "location_id": None} for r in checked.clinicians]
               + [{**r, "timezone": None} for r in checked.rooms])
    session.flush()

    links = {r["id"]: {key: r.pop(key) for key in ("clinician_ids", "location_ids", "room_ids")} for r in checked.types}
    paddings_changed = {
        r["id"] for r in checked.types
        if r["id"] in existing.types
        and existing.types[r["id"]] != (r["padding_before_minutes"], r["padding_after_minutes"])
    }
    _merge_all(session, AppointmentType, checked.types)
    session.flush()
    for kind_type in _by_id(session, AppointmentType, list(links)).values():
        for attr, key, model in (("clinicians", "clinician_ids", Resource), ("locations", "location_ids", Location),
                                 ("rooms", "room_ids", Resource)):
            wanted = links[kind_type.id][key]
            if [item.id for item in getattr(kind_type, attr)] != wanted:
                setattr(kind_type, attr, [session.get(model, i) for i in wanted])
    session.flush()

    _insert_keyed(session, ScheduleRule, "schedule", [
        {k: v for k, v in r.items() if k != "_place"} for r in checked.schedules
    ])
    _insert_keyed(session, ScheduleOverride, "override", [
        {k: v for k, v in r.items() if k != "_place"} for r in checked.overrides
    ])
    blocks = []
    for record in checked.blocks:
        span_start, span_end = record.pop("span")
        blocks.append(record)
        record["_span"] = (span_start, span_end)
    _insert_keyed(session, Block, "block", blocks)

    _merge_all(session, Patient, checked.patients)
    session.flush()

    _write_appointments(session, checked.appointments, now, operator)
    return LoadResult(checked.counts, [r["id"] for r in checked.appointments], paddings_changed)


def _insert_keyed(session: Session, model: type, kind: str, records: list[dict]) -> None:
    """Rows without ids: inserted once, recognised again by a digest of their values."""
    keyed = {}
    for record in records:
        extra = {k: record.pop(k) for k in list(record) if k.startswith("_")}
        key = _digest(kind, record)
        keyed.setdefault(key, (record, extra))
    if not keyed:
        return
    known = set(session.scalars(select(model.key).where(model.key.in_(list(keyed)))))
    for key, (record, extra) in keyed.items():
        if key in known:
            continue
        if "_span" in extra:
            record["span_start"], record["span_end"] = extra["_span"]
        session.add(model(key=key, **record))


def _write_appointments(session: Session, records: list[dict], now: datetime, operator: str) -> None:
    if not records:
        return
    type_names = dict(session.execute(select(AppointmentType.id, AppointmentType.name)).all())
    found = _by_id(session, Appointment, [r["id"] for r in records])
    links: dict[str, list[str]] = {}
    with session.no_autoflush:
        for record in records:
            _write_appointment(session, found.get(record["id"]), record, links, type_names, now, operator)
    session.flush()
    _write_appointment_links(session, records, links)


def _write_appointment(
    session: Session, appointment: Appointment | None, record: dict, links: dict[str, list[str]],
    type_names: dict[str, str], now: datetime, operator: str,
) -> None:
    """Add one appointment from the file, or update the one with its id where it differs."""
    links[record["id"]] = record.pop("resource_ids")
    created_at, updated_at = record.pop("created_at"), record.pop("updated_at")
    record["title"] = record["title"] or type_names[record["appointment_type_id"]]
    record["duration_minutes"] = int((record["end_time"] - record["start_time"]).total_seconds() // 60)
    if appointment is None:
        stamp = created_at or now
        appointment = Appointment(**record, created_by=operator, created_at=stamp, updated_at=updated_at or now)
        appointment.status_history.append(StatusChange(status=record["status"], changed_by=operator, changed_at=stamp))
        session.add(appointment)
        return
    # Matched by id: only what the file changes is written, and recorded as a change.
    changed = _assign(appointment, record)
    if created_at is not None:
        _assign(appointment, {"created_at": created_at})
    if "status" in changed:
        appointment.status_history.append(StatusChange(status=record["status"], changed_by=operator, changed_at=now))
    for name, (old, new) in changed.items():
        if name != "status":
            appointment.change_log.append(FieldChange(
                field=name, old=_json_value(old), new=_json_value(new), changed_by=operator, changed_at=now,
            ))
    if updated_at is not None:
        _assign(appointment, {"updated_at": updated_at})
    elif changed:
        appointment.updated_at = now


def _write_appointment_links(session: Session, records: list[dict], links: dict[str, list[str]]) -> None:
    """Each appointment's clinician and rooms (its busy time is written by the caller,
    through the booking rule)."""
    link = appointment_resources.c
    current: dict[str, list[str]] = {}
    ids = list(links)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for aid, rid in session.execute(
            select(link.appointment_id, link.resource_id)
            .where(link.appointment_id.in_(chunk)).order_by(link.appointment_id, link.resource_id)
        ):
            current.setdefault(aid, []).append(rid)
    rows: list[dict] = []
    for record in records:
        aid = record["id"]
        clinician = [record["clinician_profile_id"]] if record["clinician_profile_id"] else []
        wanted = sorted({*clinician, *links[aid]})
        if current.get(aid, []) == wanted:
            continue
        if aid in current:
            session.execute(delete(appointment_resources).where(link.appointment_id == aid))
        rows.extend({"appointment_id": aid, "resource_id": rid} for rid in wanted)
    if rows:
        session.execute(insert(appointment_resources), rows)
