"""The demo: the sample clinic with its dates moved by whole weeks so that its week of
appointments is this week, loaded like any clinic file."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from frontdesk.domain.errors import FrontdeskError
from frontdesk.domain.timeutil import clinician_zone_name, is_zone, parse_instant
from frontdesk.services.clinic import default_sample, load_clinic_data
from frontdesk.services.context import Context
from frontdesk.services.objects import LoadReport
from frontdesk.store.clinic_file import read_clinic_file


def build_demo(ctx: Context, sample: Path | None = None) -> LoadReport:
    """The sample clinic, its dates moved by whole weeks so its week of appointments is the
    week of `ctx.clock.now()` (the week ahead on a weekend)."""
    path = sample or default_sample()
    data = read_clinic_file(path)
    now = ctx.clock.now()
    shifted = settle_outcomes(shift_clinic_data(data, weeks_to_now(data, now)), now)
    return load_clinic_data(ctx, shifted, str(path))


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


def _appointment_zones(data: dict[str, Any]) -> tuple[dict[Any, str], dict[Any, str]]:
    """Timezones by location id and by clinician id (own, else first location with hours),
    keyed by the ids as the file spells them (the loader checks them later)."""
    def rows(section: str) -> list[dict]:
        value = data.get(section)
        return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []

    locations: dict[Any, str] = {r.get("id"): r["timezone"] for r in rows("locations") if isinstance(r.get("timezone"), str)}
    first: dict[str, str] = {}
    for rule in rows("schedules"):
        zone_name = locations.get(rule.get("location_id"))
        if zone_name and isinstance(rule.get("clinician_id"), str):
            first.setdefault(rule["clinician_id"], zone_name)
    own: dict[Any, str] = {r.get("id"): r["timezone"] for r in rows("clinicians") if isinstance(r.get("timezone"), str)}
    clinicians = {cid: clinician_zone_name(own.get(cid), first.get(cid)) for cid in {*own, *first}}
    return locations, {cid: zone for cid, zone in clinicians.items() if zone}


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
WAITING_AHEAD = timedelta(minutes=10)  # who is in the waiting room: visits starting this soon


def settle_outcomes(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A copy whose day is alive at `now` (booking.md "The day"): visits that have ended are
    done (each day's third to end a no-show, and every fifth after; a class is held, its
    roster marked paid, every third attendee a no-show), the visit under way is in the room, those about to
    start have arrived and are waiting; nothing that has not ended is already completed or a
    no-show. Cancelled and not-yet-approved bookings stay as they are."""
    out = json.loads(json.dumps(data))
    ended: dict[date, int] = {}  # visits ended so far, by day
    rows = [a for a in out.get("appointments") or [] if isinstance(a, dict)]
    timed = []
    for appointment in rows:
        try:
            timed.append((parse_instant(appointment["start_time"]), parse_instant(appointment["end_time"]), appointment))
        except (FrontdeskError, KeyError, TypeError):
            continue  # the loader reports the bad time
    for start, end, appointment in sorted(timed, key=lambda t: (t[0], str(t[2].get("id")))):
        status = appointment.get("status", "pending")
        if status in ("cancelled", "pending_approval"):
            continue
        if end <= now and isinstance(appointment.get("attendees"), list):
            # A class that has ended took place: its roster tells who paid and who did not come.
            appointment.update(status="completed", attendance_status="checked_out",
                               arrived_at=_iso(start - timedelta(minutes=6)),
                               actual_start_time=_iso(start + timedelta(minutes=2)), actual_end_time=_iso(end),
                               attendees=_settled_roster(appointment["attendees"]))
            continue
        if end <= now:
            ended[start.date()] = ended.get(start.date(), 0) + 1
            if status == "no_show" or ended[start.date()] % 5 == 3:
                appointment["status"] = "no_show"
                continue
            appointment.update(status="completed", attendance_status="checked_out",
                               arrived_at=_iso(start - timedelta(minutes=6)),
                               actual_start_time=_iso(start + timedelta(minutes=2)), actual_end_time=_iso(end))
        elif start <= now:
            appointment.update(status="confirmed", attendance_status="in_room",
                               arrived_at=_iso(start - timedelta(minutes=8)),
                               actual_start_time=_iso(start + timedelta(minutes=1)))
        elif start - now <= WAITING_AHEAD:
            appointment.update(status="confirmed" if status in OUTCOME_STATUSES else status,
                               attendance_status="arrived", arrived_at=_iso(now - timedelta(minutes=4)))
        elif status in OUTCOME_STATUSES:
            appointment["status"] = "confirmed"
    return out


def _settled_roster(attendees: list) -> list:
    """A past class's attendees: every third one a no-show (payment still pending), the
    others paid."""
    out = []
    for i, item in enumerate(attendees):
        record = {"id": item} if isinstance(item, str) else dict(item)
        if record.get("attendance_status", "going") == "going":
            no_show = i % 3 == 2
            record.update(no_show=no_show, payment_status="pending" if no_show else "paid")
        out.append(record)
    return out


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


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

