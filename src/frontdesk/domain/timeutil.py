"""Wall-clock and instant helpers shared by every rule that reads or writes time."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from frontdesk.domain.errors import validation


@cache
def _known_zones() -> frozenset[str]:
    # tzdata's own list of names is one small file; available_timezones() walks every zone
    # directory on disk, which costs tens of milliseconds in each short-lived command.
    try:
        import tzdata

        with open(os.path.join(os.path.dirname(tzdata.__file__), "zones"), encoding="utf-8") as names:
            return frozenset(names.read().split())
    except (ImportError, OSError):
        return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or VALIDATION_ERROR."""
    if name not in _known_zones() and name != "UTC":
        raise validation(f"{name!r} is not an IANA timezone", timezone=name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise validation(f"{name!r} is not an IANA timezone", timezone=name) from None


def is_zone(name: str) -> bool:
    return name in _known_zones() or name == "UTC"


def local_to_utc(day: date, minute_of_day: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local date.

    minute_of_day may be 1440 (24:00, the end of the day). A time in a spring-forward gap
    moves forward by the gap, and a repeated time means its first occurrence: that is
    exactly what fold=0 gives with zoneinfo.
    """
    extra_days, minute = divmod(minute_of_day, 1440)
    local = datetime.combine(day + timedelta(days=extra_days), time(minute // 60, minute % 60))
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def naive_local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def parse_hhmm(text: str) -> int:
    """'HH:MM' (00:00 to 24:00) as minutes since midnight, or VALIDATION_ERROR."""
    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise validation(f"{text!r} is not a time (HH:MM)")
    hours, minutes = int(parts[0]), int(parts[1])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise validation(f"{text!r} is not a time (HH:MM)")
    return hours * 60 + minutes


# Dates and instants taken from outside lie a year inside Python's calendar (years 1 to
# 9999), so turning them into UTC or any zone, or adding a month's range, never overflows.
FIRST_DATE, LAST_DATE = date(2, 1, 1), date(9998, 12, 31)


def _within_calendar(text: str, day: date) -> None:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise validation(f"{text!r} is outside the dates frontdesk handles ({FIRST_DATE} to {LAST_DATE})")


def parse_date(text: str) -> date:
    try:
        if not isinstance(text, str) or len(text) != 10:
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise validation(f"{text!r} is not a date (YYYY-MM-DD)") from None
    _within_calendar(text, day)
    return day


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset (or Z), as UTC. A naive time is refused: it is ambiguous."""
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except (ValueError, AttributeError, TypeError):
        raise validation(f"{text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise validation(f"{text!r} has no UTC offset (add Z or +HH:MM)")
    _within_calendar(text, value.date())
    return value.astimezone(UTC)


def parse_local_datetime(text: str) -> datetime:
    """A naive 'YYYY-MM-DDTHH:MM' wall-clock time (blocks in the clinic file)."""
    try:
        value = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        raise validation(f"{text!r} is not a local date and time (YYYY-MM-DDTHH:MM)") from None
    if value.tzinfo is not None:
        raise validation(f"{text!r} must be a wall-clock time without an offset")
    return value


def iso(instant: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """ISO 8601 with an offset; 'Z' for UTC."""
    if instant is None:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    if tz is not None:
        return instant.astimezone(tz).isoformat()
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def clinician_zone_name(own: str | None, first_hours_location_zone: str | None) -> str | None:
    """A clinician's timezone (booking.md, Time): the one set on the clinician, else that of
    the first location it has weekly hours at (rules in the order they were written)."""
    return own or first_hours_location_zone


def in_person_hours_zone(location_zone: ZoneInfo, own_zone: ZoneInfo | None) -> ZoneInfo:
    """The zone a clinician's in-person hours and overrides at a location are read in
    (booking.md, Time): the clinician's own timezone when one is set on the clinician, else
    the location's. The engine cuts them to the location's opening hours, read in the
    location's zone, so a clinician in Chicago at a New York site gets only the shared hours."""
    return own_zone or location_zone
