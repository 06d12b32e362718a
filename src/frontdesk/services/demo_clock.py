"""The demo's clock: the real one while the sample clinic is open, else a working morning.

A walkthrough at ten at night or on a Sunday would open on a closed clinic with nothing going
on. Then the demo runs its clock from 10:20 (the sample's busy hour) on the next weekday, and
says so. Kept apart from `demo` (which loads the store) because the command line decides the
clock before the UI's first frame.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from frontdesk.paths import packaged_dir

OPEN_FROM, OPEN_UNTIL = time(8, 30), time(17, 0)  # the sample's main site, with a visit or two in view
LIVELY = time(10, 20)


def sample_zone() -> ZoneInfo:
    """The sample's first site's timezone: where the demo's day is told."""
    try:
        with (packaged_dir("sample_data") / "clinic.toml").open("rb") as file:
            return ZoneInfo(tomllib.load(file)["locations"][0]["timezone"])
    except (OSError, ValueError, LookupError, TypeError):
        return ZoneInfo("UTC")


def demo_start(now: datetime, zone: ZoneInfo) -> datetime | None:
    """None while `now` is within a weekday's opening at the site (the demo runs on the real
    clock); else 10:20 on the next weekday, or today's before opening."""
    local = now.astimezone(zone)
    weekday = local.weekday() < 5
    if weekday and OPEN_FROM <= local.time() < OPEN_UNTIL:
        return None
    day: date = local.date()
    if not weekday or local.time() >= OPEN_UNTIL:
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return datetime.combine(day, LIVELY, zone)
