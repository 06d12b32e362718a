"""Blocks: time off in a resource's wall-clock time, one-off or recurring (RFC 5545 RRULE).

A recurring block recurs in local wall time: a 12:30-13:15 lunch stays 12:30-13:15 local
across a daylight-saving change. Each occurrence is turned into UTC with the same rules as
working hours (a time in the spring-forward gap moves forward, a repeated time means its
first occurrence), and lasts the block's wall-clock length.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from frontdesk.domain.errors import validation
from frontdesk.domain.intervals import Interval
from frontdesk.domain.timeutil import naive_local_to_utc

# Recurring spans are widened by this much: the conversion of wall time to UTC is not
# monotonic around a spring-forward gap, and a later tzdata may move an offset.
SPAN_SLACK = timedelta(days=1)

_ALLOWED_FREQ = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"}


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
    try:
        parsed = rrulestr(_with_local_until(text, tz), dtstart=dtstart, cache=False)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise validation(f"RRULE {text!r} is not a valid RFC 5545 rule: {exc}", rrule=text) from None
    if not isinstance(parsed, rrule):
        raise validation(f"RRULE {text!r} must be a single rule", rrule=text)
    return parsed


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
    rule = _rule(rrule_text, start_local, tz.key)
    first = rule.after(start_local, inc=True)
    if first is None:  # a rule with no occurrence at all: an empty span at its start
        at = naive_local_to_utc(start_local, tz)
        return at, at
    span_start = naive_local_to_utc(first, tz) - SPAN_SLACK
    parts = _parts(_normalise(rrule_text))
    if "COUNT" not in parts and "UNTIL" not in parts:
        return span_start, None
    last = None
    for last in rule:  # finite: COUNT or UNTIL
        pass
    assert last is not None
    return span_start, naive_local_to_utc(last + length, tz) + SPAN_SLACK


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
    # Local starts that can reach the window, with a day of slack for any UTC offset.
    low = window.start.astimezone(tz).replace(tzinfo=None) - length - timedelta(days=1)
    high = window.end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    _rule(rrule_text, start_local, tz.key)  # refuses a bad rule before it is read below
    rule = _rule(rrule_text, _later_start(rrule_text, start_local, low), tz.key)
    out = []
    for local in rule.between(low, high, inc=True):
        occurrence = Interval(naive_local_to_utc(local, tz), naive_local_to_utc(local + length, tz))
        if occurrence.start < occurrence.end and occurrence.overlaps(window):
            out.append(occurrence)
    out.sort()
    return out
