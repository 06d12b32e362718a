"""The sample clinic (sample_data/clinic.toml): it loads cleanly, meets its brief, and its
week of appointments fits the clinicians' hours without a double booking, also when the
demo moves it across daylight-saving changes."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from frontdesk.domain.blocks import expand_block
from frontdesk.domain.errors import FrontdeskError
from frontdesk.domain.intervals import Interval
from frontdesk.domain.timeutil import (
    local_to_utc,
    parse_date,
    parse_hhmm,
    parse_instant,
    parse_local_datetime,
)
from frontdesk.services.clinic import (
    clinic_overview,
    default_sample,
    load_clinic_data,
    load_clinic_file,
)
from frontdesk.services.context import Context
from frontdesk.services.demo import shift_clinic_data
from frontdesk.store.clinic_file import DAYS, read_clinic_file
from frontdesk.store.models import Appointment, appointment_resources

SAMPLE = default_sample()
STATUSES = {"pending_approval", "pending", "confirmed", "scheduled", "cancelled", "completed", "no_show"}


@pytest.fixture(scope="module")
def sample() -> dict:
    return read_clinic_file(SAMPLE)


def test_the_sample_ships_where_the_demo_looks_for_it():
    assert SAMPLE.name == "clinic.toml" and SAMPLE.is_file()


def test_sample_loads_cleanly_with_its_counts(ctx):
    report = load_clinic_file(ctx, SAMPLE)
    assert report.counts["locations"] == 2
    assert report.counts["clinicians"] == 5
    assert report.counts["rooms"] == 6
    assert report.counts["appointment_types"] >= 6
    assert 28 <= report.counts["patients"] <= 35
    assert 80 <= report.counts["appointments"] <= 100  # a working week: every day at Central has a list
    overview = clinic_overview(ctx)
    assert overview.name == "Riverside Health"
    assert overview.hold_minutes == 15
    assert len({loc.timezone for loc in overview.locations}) == 2
    assert Counter(room.location_id for room in overview.rooms) == {loc.id: 3 for loc in overview.locations}
    assert all(c.timezone for c in overview.clinicians)
    with ctx.db.session() as s:
        statuses = set(s.scalars(select(Appointment.status)))
        assert statuses == STATUSES
        # Every booking holds its clinician (and room) busy in the table availability reads.
        linked = set(s.scalars(select(appointment_resources.c.appointment_id)))
        assert linked == set(s.scalars(select(Appointment.id)))


def test_sample_loaded_twice_changes_nothing(ctx, clock):
    load_clinic_file(ctx, SAMPLE)
    first = _dump(ctx)
    clock.advance(days=1)
    load_clinic_file(ctx, SAMPLE)
    assert _dump(ctx) == first


@pytest.mark.postgres
def test_sample_loads_on_postgresql_all_or_nothing_and_once(postgres_url, clock, sample):
    ctx = Context.open(postgres_url, clock=clock, operator="tester")
    try:
        broken = json.loads(json.dumps(sample))
        broken["patients"][0]["id"] = "pat_" + "x" * 120  # longer than the column: refused, not a crash
        with pytest.raises(FrontdeskError) as caught:
            load_clinic_data(ctx, broken)
        assert "patients[0].id: is longer than 100 characters" in caught.value.details["errors"]
        assert not any(_dump(ctx).values())
        load_clinic_file(ctx, SAMPLE)
        first = _dump(ctx)
        clock.advance(hours=2)
        load_clinic_file(ctx, SAMPLE)
        assert _dump(ctx) == first
    finally:
        ctx.db.dispose()


def test_sample_as_json_loads_the_same(ctx, tmp_path, sample):
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(sample))
    assert load_clinic_file(ctx, path).counts == load_clinic_data(ctx, sample).counts


def test_sample_types_cover_the_brief(sample):
    types = {t["id"]: t for t in sample["appointment_types"]}
    by_name = {t["name"]: t for t in types.values()}
    assert by_name["New Patient Consultation"]["duration_minutes"] == 45
    assert by_name["Follow-up Appointment"]["duration_minutes"] == 20
    telehealth = by_name["Telehealth Consultation"]
    assert telehealth["duration_minutes"] == 30 and telehealth["modes"] == ["remote"]
    remote_clinicians = {r["clinician_id"] for r in sample["schedules"] if r.get("remote")}
    assert set(telehealth["clinician_ids"]) <= remote_clinicians
    assert by_name["Physiotherapy Session"]["room_ids"]
    assert any(t.get("capacity") == 8 for t in types.values())
    assert any(
        t.get("padding_before_minutes", 0) > 0 and t.get("padding_after_minutes", 0) > 0 and t["duration_minutes"] >= 60
        for t in types.values()
    )
    clinicians = {c["id"] for c in sample["clinicians"]}
    assert {cid for t in types.values() for cid in t["clinician_ids"]} == clinicians


def test_sample_has_lunch_an_override_a_holiday_and_every_status(sample):
    lunches = {b["resource_id"] for b in sample["blocks"] if b.get("rrule") and b.get("reason") == "Lunch"}
    assert lunches == {c["id"] for c in sample["clinicians"]}
    assert sample["overrides"]
    whole_days = [
        b for b in sample["blocks"]
        if parse_local_datetime(b["end"]) - parse_local_datetime(b["start"]) >= timedelta(days=1)
    ]
    assert whole_days
    statuses = Counter(a["status"] for a in sample["appointments"])
    assert set(statuses) == STATUSES
    assert all(a.get("cancellation_reason") for a in sample["appointments"] if a["status"] == "cancelled")
    weekdays = {parse_instant(a["start_time"]).weekday() for a in sample["appointments"]}
    assert {0, 1, 2, 3, 4} <= weekdays
    patients = {p["id"] for p in sample["patients"]}
    # A group's patients are its attendees (issue 12).
    assert {p for a in sample["appointments"] for p in a.get("attendees", [a.get("patient_id")])} <= patients


# --- the week's appointments fit the hours: checked independently of the engine ----------


def _zones(data: dict) -> tuple[dict[str, ZoneInfo], dict[str, ZoneInfo]]:
    locations = {loc["id"]: ZoneInfo(loc["timezone"]) for loc in data["locations"]}
    clinicians = {c["id"]: ZoneInfo(c["timezone"]) for c in data["clinicians"] if c.get("timezone")}
    for rule in data["schedules"]:
        if rule.get("location_id"):
            clinicians.setdefault(rule["clinician_id"], locations[rule["location_id"]])
    return locations, clinicians


def _windows(data: dict, clinician: str, channel: str | None, day: date, tz: ZoneInfo) -> list[Interval]:
    """Working hours of one channel (a location id, or None for remote) on one local date."""
    def same_channel(row: dict) -> bool:
        return row["clinician_id"] == clinician and (row.get("location_id") if not row.get("remote") else None) == channel

    overrides = [o for o in data.get("overrides", []) if same_channel(o) and parse_date(o["date"]) == day]
    if overrides:
        rows = [o for o in overrides if "start" in o]
    else:
        rows = [
            r for r in data["schedules"]
            if same_channel(r) and DAYS[day.weekday()] in r["days"]
            and parse_date(r.get("valid_from", "1900-01-01")) <= day <= parse_date(r.get("valid_until", "2999-12-31"))
        ]
    return [Interval(local_to_utc(day, parse_hhmm(r["start"]), tz), local_to_utc(day, parse_hhmm(r["end"]), tz)) for r in rows]


def clashes(data: dict) -> list[str]:
    """Appointments outside working hours, on a block, or double-booked (padded)."""
    location_zones, clinician_zones = _zones(data)
    rooms = {r["id"]: r["location_id"] for r in data["rooms"]}
    types = {t["id"]: t for t in data["appointment_types"]}
    problems = []
    busy: dict[str, list[tuple[Interval, dict]]] = defaultdict(list)
    for apt in data["appointments"]:
        start, end = parse_instant(apt["start_time"]), parse_instant(apt["end_time"])
        kind = types[apt["appointment_type_id"]]
        padded = Interval(start - timedelta(minutes=kind.get("padding_before_minutes", 0)),
                          end + timedelta(minutes=kind.get("padding_after_minutes", 0)))
        clinician = apt["clinician_profile_id"]
        channel = None if apt.get("is_remote") else apt["location_id"]
        tz = clinician_zones[clinician] if channel is None else location_zones[channel]
        windows = _windows(data, clinician, channel, start.astimezone(tz).date(), tz)
        if not any(w.contains(Interval(start, end)) for w in windows):
            problems.append(f"{apt['id']} is outside {clinician}'s hours")
        if ("remote" if channel is None else "in_person") not in kind.get("modes", ["in_person"]):
            problems.append(f"{apt['id']} is in a mode its type does not offer")
        for rid in [clinician, *apt.get("resource_ids", [])]:
            zone = clinician_zones[rid] if rid in clinician_zones else location_zones[rooms[rid]]
            for block in data["blocks"]:
                if block["resource_id"] == rid and expand_block(
                    parse_local_datetime(block["start"]), parse_local_datetime(block["end"]), block.get("rrule"), zone, padded
                ):
                    problems.append(f"{apt['id']} overlaps {rid}'s block {block.get('reason')!r}")
            for other_interval, other in busy[rid]:
                group = (other["appointment_type_id"] == apt["appointment_type_id"] and kind.get("capacity", 1) > 1
                         and other["start_time"] == apt["start_time"])
                if other_interval.overlaps(padded) and not group:
                    problems.append(f"{apt['id']} and {other['id']} double-book {rid}")
            busy[rid].append((padded, apt))
        if kind.get("room_ids") and channel and not set(apt.get("resource_ids", [])) & set(kind["room_ids"]):
            problems.append(f"{apt['id']} needs one of the rooms {kind['room_ids']}")
    return problems


@pytest.mark.parametrize("weeks", [0, 7, 26], ids=["as written", "US on summer time, UK not", "summer"])
def test_the_week_fits_the_hours_without_double_booking(sample, weeks):
    assert clashes(shift_clinic_data(sample, weeks)) == []


def test_the_checker_notices_a_double_booking(sample):
    broken = json.loads(json.dumps(sample))
    broken["appointments"][1]["start_time"] = broken["appointments"][0]["start_time"]
    assert any("double-book" in problem for problem in clashes(broken))


# --- helpers -----------------------------------------------------------------------------


def _dump(ctx) -> dict[str, list[tuple]]:
    from frontdesk.store.models import Base

    with ctx.db.engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(table.select())), key=repr)
            for table in Base.metadata.sorted_tables
        }


def test_the_checker_notices_hours_and_lunch(sample):
    broken = json.loads(json.dumps(sample))
    first = broken["appointments"][0]  # Dr. Okafor, Monday 09:00 London
    first["start_time"], first["end_time"] = "2025-01-20T06:00:00Z", "2025-01-20T06:45:00Z"
    second = broken["appointments"][1]
    second["start_time"], second["end_time"] = "2025-01-20T12:40:00Z", "2025-01-20T13:00:00Z"
    problems = clashes(broken)
    assert f"{first['id']} is outside cli_amara_okafor's hours" in problems
    assert f"{second['id']} overlaps cli_amara_okafor's block 'Lunch'" in problems
