"""How the UI writes times, dates, durations and statuses for people to read."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from rich.text import Text

from frontdesk.domain.statuses import STATUS_LABELS  # the status words' one home, read by the UI here
from frontdesk.domain.words import field_label  # noqa: F401  (the field words' one home)


@lru_cache(maxsize=64)
def tz(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def local(instant: datetime, zone: str | None) -> datetime:
    return instant.astimezone(tz(zone))


def hhmm(instant: datetime, zone: str | None) -> str:
    return local(instant, zone).strftime("%H:%M")


def zone_abbrev(instant: datetime, zone: str | None) -> str:
    """GMT, BST, EST ... for the instant; the IANA name when the zone has no abbreviation."""
    name = local(instant, zone).tzname() or (zone or "UTC")
    return name if not name.startswith(("+", "-")) else f"UTC{name}"


def day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def when(instant: datetime, end: datetime | None, zone: str | None) -> str:
    """'Mon 20 Jan 2025 09:00–09:30 GMT': a time in the zone, with the zone named."""
    start_local = local(instant, zone)
    text = f"{day_label(start_local.date())} {start_local:%H:%M}"
    if end is not None:
        text += f"–{hhmm(end, zone)}"
    return f"{text} {zone_abbrev(instant, zone)}"


def stamp(instant: datetime, zone: str | None) -> str:
    """A history entry's time: '20 Jan 2025 08:01 GMT'."""
    value = local(instant, zone)
    return f"{value.day} {value:%b %Y %H:%M} {zone_abbrev(instant, zone)}"


def type_label(appointment_type) -> str:
    """An appointment type as every list of types shows it: "Follow-up · 30 min", and a
    group's seats ("Back care class · 60 min · 8 seats")."""
    label = f"{appointment_type.name} · {appointment_type.duration_minutes} min"
    return label + (f" · {appointment_type.capacity} seats" if appointment_type.capacity > 1 else "")


def countdown(remaining: timedelta) -> str:
    """mm:ss of what is left, rounded up so it shows 00:00 only when the time is really up."""
    seconds = max(0, math.ceil(remaining.total_seconds()))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def status_style(status: str) -> str:
    """Visits that will not happen (cancelled, no-show) read dim in the day list."""
    return "dim" if status in ("cancelled", "no_show") else ""


def status_text(status: str) -> Text:
    return Text(STATUS_LABELS.get(status, status), style=status_style(status))


# What the screen shows for a character a terminal would act on: C0 controls as their Unicode
# control pictures (ESC -> ␛), DEL as ␡, C1 controls and surrogates (no character at all) as
# �. Newline stays (Textual breaks the line there); tab becomes a space so a one-line label stays one.
_VISIBLE = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}
_VISIBLE |= {code: 0xFFFD for code in (*range(0x80, 0xA0), *range(0xD800, 0xE000))}
_VISIBLE |= {ord("\n"): ord("\n"), ord("\t"): ord(" ")}


def visible(text: object) -> str:
    """User data with every control character made visible, so stored text (older data, a
    database written by something else) never sends a control sequence to the terminal."""
    return str(text).translate(_VISIBLE)


def plain(value: object | None, empty: str = "—") -> Text:
    """User data as plain text: never read as markup, control characters made visible."""
    if value is None or value == "":
        return Text(empty, style="dim", overflow="ellipsis", no_wrap=True)
    return Text(visible(value), overflow="ellipsis", no_wrap=True)


def person_name(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first, last) if part)
