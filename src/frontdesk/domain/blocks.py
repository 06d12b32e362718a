"""Blocks: time off in a resource's wall-clock time, one-off or recurring (RFC 5545 RRULE).

A recurring block recurs in local wall time: a 12:30-13:15 lunch stays 12:30-13:15 local
across a daylight-saving change. Each occurrence is turned into UTC with the same rules as
working hours (a time in the spring-forward gap moves forward, a repeated time means its
first occurrence), and lasts the block's wall-clock length.
"""

from __future__ import annotations

import re
from datetime import MAXYEAR, UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice
from math import gcd
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from frontdesk.domain.errors import FrontdeskError, validation
from frontdesk.domain.intervals import Interval
from frontdesk.domain.timeutil import naive_local_to_utc

# Recurring spans are widened by this much: the conversion of wall time to UTC is not
# monotonic around a spring-forward gap, and a later tzdata may move an offset.
SPAN_SLACK = timedelta(days=1)

_ALLOWED_FREQ = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"}

# Bounds that keep every expansion short (issue 9: hostile rules must not hang a load or a
# query). A finite rule (COUNT or UNTIL) has at most MAX_OCCURRENCES; a rule meant to go on
# leaves both out. Every rule must occur within MAX_GAP_YEARS of its start.
MAX_INTERVAL = 1000
MAX_OCCURRENCES = 10_000
MAX_GAP_YEARS = 10
LAST_UNTIL_YEAR = 2200

# RFC 5545 section 3.3.10: the numbers each BY part may hold (a sign allowed where a negative
# counts from the end), and the frequencies it may be used with.
_RANGES: dict[str, tuple[int, int, bool]] = {  # name: (low, high, signed)
    "BYSECOND": (0, 60, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True), "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False), "BYSETPOS": (1, 366, True),
}
_NOT_WITH = {"BYWEEKNO": {"MONTHLY", "WEEKLY", "DAILY", "HOURLY"}, "BYYEARDAY": {"MONTHLY", "WEEKLY", "DAILY"},
             "BYMONTHDAY": {"WEEKLY"}}
_NAMES = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "WKST", *_RANGES}
_WEEKDAY = re.compile(r"([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"(\d{8})(T\d{6}Z?)?")
# The Gregorian calendar, weekdays included, repeats every 400 years: that many years,
# and the periods of each frequency in them.
_CYCLE_YEARS = 400
_CYCLE_PERIODS = {"YEARLY": 400, "MONTHLY": 4800, "WEEKLY": 20871, "DAILY": 146097, "HOURLY": 146097 * 24}


def _normalise(text: str) -> str:
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    return text


def _parts(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in text.split(";"):
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise validation(f"RRULE {text!r}: {item!r} is not NAME=VALUE", rrule=text)
        name = name.strip().upper()
        if name in parts:
            raise validation(f"RRULE {text!r}: {name} is given twice", rrule=text)
        parts[name] = value.strip()
    return parts


def _invalid(text: str, why: str) -> Exception:
    return validation(f"RRULE {text!r} is not a valid RFC 5545 rule: {why}", rrule=text)


def _whole(text: str, digits: int) -> bool:
    """ASCII digits only (str.isdigit() also takes "²"), and not so many that int() works hard."""
    return text.isascii() and text.isdigit() and len(text) <= digits


def _numbers(text: str, name: str, value: str) -> list[int]:
    low, high, signed = _RANGES[name]
    out = []
    for item in value.split(","):
        item = item.strip()
        digits = item[1:] if signed and item[:1] in "+-" else item
        if not _whole(digits, 3) or not low <= int(digits) <= high:
            span = f"{'±' if signed else ''}{low} to {high}"
            raise _invalid(text, f"{name}={value}: {item!r} is not a number from {span}")
        out.append(int(item))
    return out


def _check_parts(text: str, parts: dict[str, str], freq: str) -> None:
    """Every part of the rule against RFC 5545's ranges, before dateutil sees it (dateutil
    accepts some values out of range, and then walks the calendar for ever)."""
    for name, value in parts.items():
        if name not in _NAMES:
            raise _invalid(text, f"{name} is not a part of a rule")
        if freq in _NOT_WITH.get(name, ()):
            raise _invalid(text, f"{name} cannot be used with FREQ={freq}")
        if name in _RANGES:
            _numbers(text, name, value)
    interval = parts.get("INTERVAL", "1")
    if not _whole(interval, 6) or not 1 <= int(interval) <= MAX_INTERVAL:
        raise _invalid(text, f"INTERVAL={interval} is not a whole number from 1 to {MAX_INTERVAL}")
    count = parts.get("COUNT")
    if count is not None and (not _whole(count, 6) or not 1 <= int(count) <= MAX_OCCURRENCES):
        raise _invalid(text, f"COUNT={count} is not a whole number from 1 to {MAX_OCCURRENCES} "
                       "(leave out COUNT and UNTIL for a rule that goes on)")
    until = parts.get("UNTIL")
    if until is not None:
        found = _UNTIL.fullmatch(until.upper())
        try:
            moment = datetime.strptime(found.group(1) + (found.group(2) or "T000000")[:7], "%Y%m%dT%H%M%S") if found else None
        except ValueError:
            moment = None
        if moment is None:
            raise _invalid(text, f"UNTIL={until} is not a date (YYYYMMDD) or a time (YYYYMMDDTHHMMSS, Z for UTC)")
        if moment.year > LAST_UNTIL_YEAR:
            raise _invalid(text, f"UNTIL={until} is after {LAST_UNTIL_YEAR} (leave out UNTIL for a rule that goes on)")
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else ():
        found = _WEEKDAY.fullmatch(item.strip().upper())
        if not found:
            raise _invalid(text, f"BYDAY: {item!r} is not a weekday (MO ... SU, with an optional ±1 to 53 before it)")
        if found.group(2) is not None:
            if not 1 <= int(found.group(2)) <= 53:
                raise _invalid(text, f"BYDAY: {item!r} counts from ±1 to 53")
            if freq not in ("MONTHLY", "YEARLY") or (freq == "YEARLY" and "BYWEEKNO" in parts):
                raise _invalid(text, f"BYDAY: {item!r} is numbered, which only a MONTHLY or YEARLY rule allows")
    wkst = parts.get("WKST")
    if wkst is not None and wkst.upper() not in ("MO", "TU", "WE", "TH", "FR", "SA", "SU"):
        raise _invalid(text, f"WKST={wkst} is not a weekday (MO ... SU)")


def _with_local_until(text: str, tz: ZoneInfo | None) -> str:
    """Our occurrences are naive wall times, so a UTC UNTIL (…Z) becomes wall time in `tz`."""
    items = []
    for item in text.split(";"):
        name, _, value = item.partition("=")
        if name.strip().upper() == "UNTIL" and value.strip().upper().endswith("Z"):
            until = datetime.strptime(value.strip().upper(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            local = until.astimezone(tz).replace(tzinfo=None) if tz else until.replace(tzinfo=None)
            item = "UNTIL=" + local.strftime("%Y%m%dT%H%M%S")
        items.append(item)
    return ";".join(items)


@lru_cache(maxsize=4096)
def _rule(text: str, dtstart: datetime, tz_key: str | None) -> rrule:
    tz = ZoneInfo(tz_key) if tz_key else None
    text = _normalise(text)
    if not text:
        raise validation("RRULE is empty", rrule=text)
    if "\n" in text or ":" in text:
        raise validation(
            f"RRULE {text!r} must be one rule (FREQ=...;...), without DTSTART or other lines",
            rrule=text,
        )
    parts = _parts(text)
    freq = parts.get("FREQ", "").upper()
    if not freq:
        raise validation(f"RRULE {text!r} has no FREQ", rrule=text)
    if freq not in _ALLOWED_FREQ:
        raise validation(
            f"RRULE {text!r}: FREQ={freq} is not allowed for a block (YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY)",
            rrule=text,
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise validation(f"RRULE {text!r} gives both COUNT and UNTIL (RFC 5545 allows one)", rrule=text)
    _check_parts(text, parts, freq)
    try:
        parsed = rrulestr(_with_local_until(text, tz), dtstart=dtstart, cache=False)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise validation(f"RRULE {text!r} is not a valid RFC 5545 rule: {exc}", rrule=text) from None
    if not isinstance(parsed, rrule):
        raise validation(f"RRULE {text!r} must be a single rule", rrule=text)
    return parsed


@lru_cache(maxsize=4096)
def _recurrence_problem(text: str, dtstart: datetime) -> str | None:
    """Why the rule cannot be used from this start (None: it can). Remembered, refusals too,
    so a query never repeats the search.

    A rule must occur within MAX_GAP_YEARS of its start. dateutil looks for the next
    occurrence until the year 9999, which takes tens of seconds for a rule that never occurs
    (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30). So the search runs on the same rule started whole
    400-year cycles later, near the calendar's end: the Gregorian calendar repeats every 400
    years, weekdays included, and the number of cycles is chosen to keep the rule's INTERVAL
    in step, so it finds the same answer, and stops.
    """
    parts = _parts(_normalise(text))
    freq = parts["FREQ"].upper()
    interval = int(parts.get("INTERVAL", "1"))
    pattern = ";".join(f"{k}={v}" for k, v in parts.items() if k not in ("COUNT", "UNTIL"))
    step = _CYCLE_YEARS * (interval // gcd(interval, _CYCLE_PERIODS[freq]))
    room = MAXYEAR - MAX_GAP_YEARS - 1 - dtstart.year
    moved = dtstart.replace(year=dtstart.year + (room // step) * step) if room >= step else dtstart
    try:
        first = rrulestr(pattern, dtstart=moved, cache=False).after(moved, inc=True)
    except (ValueError, OverflowError) as exc:  # e.g. BYSECOND=60: a leap second Python cannot hold
        return f"RRULE {text!r} cannot be expanded: {exc}"
    if first is None or first.year - moved.year > MAX_GAP_YEARS:
        return (f"RRULE {text!r} does not occur in the {MAX_GAP_YEARS} years after the block's start "
                f"{dtstart.isoformat(timespec='minutes')}")
    return None


def _usable_rule(text: str, dtstart: datetime, tz_key: str | None) -> rrule:
    """The rule, refused (VALIDATION_ERROR) unless valid and occurring within MAX_GAP_YEARS."""
    rule = _rule(text, dtstart, tz_key)
    problem = _recurrence_problem(text, dtstart)
    if problem:
        raise validation(problem, rrule=text)
    return rule


def validate_rrule(text: str) -> None:
    """Refuse (VALIDATION_ERROR) a text that is not one RFC 5545 RRULE usable for a block."""
    if not isinstance(text, str):
        raise validation(f"RRULE {text!r} is not text", rrule=str(text))
    _rule(text, datetime(2000, 1, 1), None)


def _check_span(start_local: datetime, end_local: datetime) -> timedelta:
    length = end_local - start_local
    if length <= timedelta(0):
        raise validation(
            f"a block must end after it starts ({start_local.isoformat()} to {end_local.isoformat()})"
        )
    return length


def _strip(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo is not None else value


def block_span(
    start_local: datetime, end_local: datetime, rrule_text: str | None, tz: ZoneInfo
) -> tuple[datetime, datetime | None]:
    """UTC bounds covering every occurrence; the end is None when the rule recurs forever.

    A one-off block's span is exactly its interval; a recurring one's is widened by a day
    each side (see SPAN_SLACK), which only makes a query read a row or two more.
    """
    start_local, end_local = _strip(start_local), _strip(end_local)
    length = _check_span(start_local, end_local)
    if not rrule_text:
        return naive_local_to_utc(start_local, tz), naive_local_to_utc(end_local, tz)
    rule = _usable_rule(rrule_text, start_local, tz.key)
    first = rule.after(start_local, inc=True)  # within MAX_GAP_YEARS, or UNTIL came first
    if first is None:
        raise validation(f"RRULE {rrule_text!r} has no occurrence (its UNTIL is before the first)", rrule=rrule_text)
    span_start = naive_local_to_utc(first, tz) - SPAN_SLACK
    parts = _parts(_normalise(rrule_text))
    if "COUNT" not in parts and "UNTIL" not in parts:
        return span_start, None
    occurrences = list(islice(rule, MAX_OCCURRENCES + 1))  # finite: COUNT or UNTIL
    if len(occurrences) > MAX_OCCURRENCES:
        raise validation(
            f"RRULE {rrule_text!r} has more than {MAX_OCCURRENCES} occurrences before its UNTIL "
            "(leave out UNTIL for a rule that goes on)",
            rrule=rrule_text,
        )
    return span_start, naive_local_to_utc(occurrences[-1] + length, tz) + SPAN_SLACK


_PERIODS = {"HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}


def _later_start(text: str, start_local: datetime, low: datetime) -> datetime:
    """The same rule started a whole number of its periods later, at or before `low`.

    dateutil walks every occurrence from DTSTART, so a lunch block set up years ago would
    cost more each year; an hourly, daily or weekly rule without COUNT repeats exactly
    after INTERVAL periods (in wall time, as dateutil counts), so it may start later.
    """
    if low <= start_local:
        return start_local
    parts = _parts(_normalise(text))
    period = _PERIODS.get(parts["FREQ"].upper())
    if period is None or "COUNT" in parts:
        return start_local
    period *= int(parts.get("INTERVAL", "1"))
    return start_local + ((low - start_local) // period) * period


def expand_block(
    start_local: datetime, end_local: datetime, rrule_text: str | None, tz: ZoneInfo, window: Interval
) -> list[Interval]:
    """The block's occurrences overlapping `window`, as UTC intervals, sorted."""
    start_local, end_local = _strip(start_local), _strip(end_local)
    length = end_local - start_local
    if length <= timedelta(0):
        return []
    if not rrule_text:
        occurrence = Interval(naive_local_to_utc(start_local, tz), naive_local_to_utc(end_local, tz))
        ok = occurrence.start < occurrence.end and occurrence.overlaps(window)
        return [occurrence] if ok else []
    try:
        # Local starts that can reach the window, with a day of slack for any UTC offset.
        low = window.start.astimezone(tz).replace(tzinfo=None) - length - timedelta(days=1)
        high = window.end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
        _usable_rule(rrule_text, start_local, tz.key)
        rule = _rule(rrule_text, _later_start(rrule_text, start_local, low), tz.key)
    except OverflowError:  # a window at the calendar's edge: no block reaches it
        return []
    except FrontdeskError:
        # Only a row stored before rules were checked this closely (a load refuses it now):
        # its first occurrence stands, rather than a query that fails or never ends.
        return expand_block(start_local, end_local, None, tz, window)
    out = []
    for local in rule.between(low, high, inc=True):
        occurrence = Interval(naive_local_to_utc(local, tz), naive_local_to_utc(local + length, tz))
        if occurrence.start < occurrence.end and occurrence.overlaps(window):
            out.append(occurrence)
    out.sort()
    return out
