"""The demo's clock: the real one in the sample clinic's busy hours, else a working morning.

A walkthrough at ten at night or on a Sunday would open on a clinic with nothing going on
(the sample's sites open 08:00-18:30 on weekdays and a few Saturday hours, but their lists
run from about 08:30 to 17:00 on weekdays). Then the demo runs its clock from 10:20 (a busy
hour) on the next weekday, and says so. Kept apart from `demo` (which loads the store) because the command line decides the
clock before the UI's first frame.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from frontdesk.paths import packaged_dir

OPEN_FROM, OPEN_UNTIL = time(8, 30), time(17, 0)  # the sample's weekday lists, with visits either side of now
LIVELY = time(10, 20)


def sample_zone() -> ZoneInfo:
    """The sample's first site's timezone: where the demo's day is told."""
    try:
        with (packaged_dir("sample_data") / "clinic.toml").open("rb") as file:
            return ZoneInfo(tomllib.load(file)["locations"][0]["timezone"])
    except (OSError, ValueError, LookupError, TypeError):
        return ZoneInfo("UTC")


def demo_start(now: datetime, zone: ZoneInfo) -> datetime | None:
    """None while `now` is within a weekday's busy hours at the site (the demo runs on the
    real clock); else 10:20 on the next weekday, or today's before the lists begin."""
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
