"""A waitlist entry's wishes (booking.md "Waitlist"), read and checked, and whether a slot
fits them. Pure: the service finds the slots and the zones; this only decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from frontdesk.domain.errors import validation
from frontdesk.domain.timeutil import parse_date, parse_hhmm

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Wishes:
    """When and with whom a patient would come. None means "any"."""

    clinician_id: str | None = None
    location_id: str | None = None
    remote: bool | None = None  # None: either mode
    earliest: date | None = None
    latest: date | None = None
    weekdays: frozenset[int] | None = None  # 0 = Monday
    time_from: int | None = None  # minutes since midnight, the location's wall clock
    time_to: int | None = None


def parse_days(text: str | None) -> list[int] | None:
    """`mon,tue,...` as sorted weekday numbers (0 = Monday); None when not given. An empty
    list is refused: it would wait for a day that never comes."""
    if text is None:
        return None
    names = [part.strip().lower()[:3] for part in text.split(",")]
    if not any(names):
        raise validation("days: give one or more weekdays, e.g. mon,tue", field="days", value=text)
    unknown = [n for n in names if n not in DAY_NAMES]
    if unknown:
        raise validation(f"days: {', '.join(map(repr, unknown))} is not a weekday (mon..sun)", field="days", value=text)
    return sorted({DAY_NAMES.index(n) for n in names})


def check_weekdays(days: list[int] | None) -> list[int] | None:
    if days is None:
        return None
    if not days:
        raise validation("days: give one or more weekdays, e.g. mon,tue", field="days", value=[])
    if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise validation("days are weekday numbers 0 (Monday) to 6 (Sunday)", field="days", value=days)
    return sorted(set(days))


def parse_times(text: str | None) -> tuple[str, str] | None:
    """`HH:MM-HH:MM`, a time of day from and to, the first before the second."""
    if text is None:
        return None
    parts = text.split("-")
    if len(parts) != 2:
        raise validation(f"times: {text!r} is not HH:MM-HH:MM", field="times", value=text)
    start, end = (p.strip() for p in parts)
    check_times(start, end, text)
    return start, end


def check_times(start: str | None, end: str | None, shown: str | None = None) -> None:
    shown = shown or f"{start}-{end}"
    if (start is None) != (end is None):
        raise validation("times: give both the time from and the time to", field="times", value=shown)
    if start is None or end is None:
        return
    try:
        low, high = parse_hhmm(start), parse_hhmm(end)
    except Exception:  # a FrontdeskError without the field: say which field
        raise validation(f"times: {shown!r} is not HH:MM-HH:MM (00:00 to 24:00)", field="times", value=shown) from None
    if high <= low:
        raise validation(f"times: {shown!r} ends before it starts", field="times", value=shown)


def parse_day(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text.strip())
    except Exception:
        raise validation(f"{field}: {text!r} is not a date (YYYY-MM-DD)", field=field, value=text) from None


def check_window(earliest: date | None, latest: date | None) -> None:
    if earliest is not None and latest is not None and latest < earliest:
        raise validation("latest is before earliest", field="latest",
                         earliest=earliest.isoformat(), latest=latest.isoformat())


def fits(wishes: Wishes, *, clinician_id: str | None, location_id: str | None, is_remote: bool,
         local_start: datetime, local_end: datetime) -> bool:
    """Whether a free slot suits the wishes; `local_start`/`local_end` are the slot's times on
    the wall clock the wishes' times of day are read in."""
    if wishes.clinician_id is not None and clinician_id != wishes.clinician_id:
        return False
    if wishes.remote is not None and is_remote != wishes.remote:
        return False
    # A place named means in person there (as availability reads --location).
    if wishes.location_id is not None and (is_remote or location_id != wishes.location_id):
        return False
    day = local_start.date()
    if wishes.earliest is not None and day < wishes.earliest:
        return False
    if wishes.latest is not None and day > wishes.latest:
        return False
    if wishes.weekdays is not None and day.weekday() not in wishes.weekdays:
        return False
    if wishes.time_from is not None and wishes.time_to is not None:
        start = local_start.hour * 60 + local_start.minute
        # A slot ending at midnight ends at minute 1440 of its day.
        end = (local_end.hour * 60 + local_end.minute) if local_end.date() == day else 1440 + (
            local_end.hour * 60 + local_end.minute)
        if start < wishes.time_from or end > wishes.time_to:
            return False
    return True


def waited_words(minutes: int) -> str:
    """How long an entry has waited, for a person: `45m`, `3h 10m`, `2d 4h`."""
    minutes = max(0, minutes)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"
