"""The clinic file's fields: the keys each table may have, and `Row`, which reads one table
field by field and turns every bad value into a problem with its place."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any, TypeVar

from frontdesk.domain.appointments import check_email
from frontdesk.domain.errors import VALIDATION_ERROR, FrontdeskError
from frontdesk.domain.statuses import MODES  # noqa: F401  (the checker reads it from here)
from frontdesk.domain.text import refusal
from frontdesk.domain.timeutil import (
    parse_date,
    parse_hhmm,
    parse_instant,
    parse_local_datetime,
)
from frontdesk.store.limits import INTEGER_MAX, text_problem

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Every key each part of the file may have; anything else is a typo and an error.
KEYS: dict[str, tuple[str, ...]] = {
    "clinic": ("name", "hold_minutes", "late_after_minutes", "waiting_alert_minutes", "video_url_template", "country",
               "date_order"),
    "locations": ("id", "name", "timezone", "hours"),
    "hours": ("days", "start", "end"),
    "rooms": ("id", "name", "location_id"),
    "clinicians": ("id", "name", "timezone", "external_calendars"),
    "external_calendars": ("file", "source"),
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
        "attendance_status", "arrived_at", "actual_start_time", "actual_end_time", "cancellation_reason",
        "booking_source", "episode_id", "created_at", "updated_at", "resource_ids", "attendees",
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


def show(value: Any) -> str:
    """A value as the file would spell it: strings in double quotes."""
    if isinstance(value, dict | list) and _depth(value) > 8:
        return "(a value nested too deeply to show)"
    try:
        shown = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        shown = repr(value)
    if len(shown) > 120:  # a problem names a value; it need not repeat a whole section
        shown = shown[:117] + "..."
    return _UNPRINTABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", shown)


def _depth(value: Any, limit: int = 9) -> int:
    """How deeply lists and tables nest, counted no further than `limit`."""
    if limit <= 0 or not isinstance(value, dict | list):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(item, limit - 1) for item in items), default=0)


def file_errors(source: str, problems: list[str]) -> FrontdeskError:
    n = len(problems)
    return FrontdeskError(
        VALIDATION_ERROR, f"{n} error{'s' if n != 1 else ''} in {source}", {"errors": problems}
    )



MISSING = object()
# Dates a clinic file may hold: far enough for any birth or booking, and far from the
# calendar's edges, where turning a local time into UTC overflows.
FIRST_YEAR, LAST_YEAR = 1800, 2200
BROKEN_ZONE = "(a timezone already reported as wrong)"  # spares follow-on errors

Day = TypeVar("Day", date, datetime)


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
            problems.add(place, f"must be a table ({{key = value, ...}}), not {show(raw)}")
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
            self.bad(key, f"{show(value)} is not {'a non-empty' if required else 'a'} text")
            return None
        if max_len and len(value) > max_len:
            self.bad(key, f"is longer than {max_len} characters")
            return None
        problem = refusal(value, multiline=key in MULTILINE_KEYS) or text_problem(value)
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
            self.bad(key, f"{show(value)} is not true or false")
            return default
        return value

    def integer(
        self, key: str, minimum: int, required: bool = False, default: int | None = None, maximum: int = INTEGER_MAX
    ) -> int | None:
        value = self.get(key, required)
        if value is MISSING:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            if maximum < INTEGER_MAX:
                kind = f"a whole number from {minimum} to {maximum}"
            else:
                kind = "a positive whole number" if minimum > 0 else "a whole number, 0 or more"
            self.bad(key, f"{show(value)} is not {kind} (minutes)" if key.endswith("minutes") else f"{show(value)} is not {kind}")
            return default
        return value

    def text_list(self, key: str, required: bool = False) -> list[str] | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.bad(key, f"{show(value)} is not a list of ids")
            return None
        for i, item in enumerate(value):
            problem = refusal(item) or text_problem(item)
            if problem:
                self.bad(f"{key}[{i}]", problem)
                return None
        if len(set(value)) != len(value):
            self.bad(key, f"{show(value)} names an id more than once")
            return None
        return value

    def hhmm(self, key: str, required: bool = True) -> int | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        try:
            return parse_hhmm(value)
        except FrontdeskError:
            self.bad(key, f"{show(value)} is not a time (HH:MM)")
            return None

    def _in_range(self, key: str, value: Day) -> Day | None:
        if FIRST_YEAR <= value.year <= LAST_YEAR:
            return value
        self.bad(key, f"{show(self.raw.get(key))} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
        return None

    def day(self, key: str, required: bool = False) -> date | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        try:
            return self._in_range(key, parse_date(value))
        except FrontdeskError:
            self.bad(key, f"{show(value)} is not a date (YYYY-MM-DD)")
            return None

    def local(self, key: str) -> datetime | None:
        value = self.get(key, True)
        if value is MISSING:
            return None
        try:
            if not isinstance(value, str) or len(value) < 16:
                raise ValueError
            return self._in_range(key, parse_local_datetime(value))
        except (FrontdeskError, ValueError):
            self.bad(key, f"{show(value)} is not a local date and time (YYYY-MM-DDTHH:MM)")
            return None

    def instant(self, key: str, required: bool = False) -> datetime | None:
        value = self.get(key, required)
        if value is MISSING:
            return None
        try:
            if not isinstance(value, str) or "T" not in value.upper():
                raise ValueError
            return self._in_range(key, parse_instant(value))
        except (FrontdeskError, ValueError):
            self.bad(key, f"{show(value)} is not an instant with an offset (e.g. 2025-01-20T09:00:00Z)")
            return None

    def weekdays(self, key: str = "days") -> list[int] | None:
        value = self.get(key, True)
        if value is MISSING:
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.bad(key, f"{show(value)} is not a list of days (mon ... sun)")
            return None
        unknown = [v for v in value if v.lower() not in DAYS]
        if unknown:
            self.bad(key, f"{', '.join(show(v) for v in unknown)} is not a day (mon ... sun)")
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
            self.bad(key, f"{show(value)} is not an email address")
            return None


def hours_span(row: Row, start: int | None, end: int | None) -> bool:
    """start before end on one date (24:00 only as an end)."""
    if start is None or end is None:
        return False
    if start == 1440:
        row.bad("start", '"24:00" can only be an end')
        return False
    if end <= start:
        row.bad("end", f"{show(row.raw.get('end'))} is not after start {show(row.raw.get('start'))}")
        return False
    return True


