"""busy_time: blocks, active appointments and active holds, read from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from frontdesk.domain.blocks import block_span
from frontdesk.domain.intervals import Interval
from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES
from frontdesk.services.busy import busy_time, resource_zones
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Block,
    BusyTime,
    Hold,
    Location,
    Resource,
    ScheduleRule,
    appointment_resources,
    hold_resources,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NOW = utc(2025, 1, 20, 8)
WINDOW = Interval(utc(2025, 1, 20), utc(2025, 1, 21))


@pytest.fixture
def clinic(ctx):
    with ctx.db.session() as s:
        s.add(Location(id="loc_ny", name="NY", timezone="America/New_York"))
        s.add(Location(id="loc_ldn", name="London", timezone="Europe/London"))
        s.flush()
        s.add_all(
            [
                Resource(id="cli_a", kind="clinician", name="A"),
                Resource(id="cli_b", kind="clinician", name="B", timezone="Asia/Tokyo"),
                Resource(id="cli_c", kind="clinician", name="C"),
                Resource(id="res_room", kind="room", name="Room", location_id="loc_ldn"),
                AppointmentType(id="type_x", name="X", duration_minutes=30, padding_before_minutes=5, padding_after_minutes=10),
            ]
        )
        s.flush()
        s.add(ScheduleRule(key="r1", clinician_id="cli_a", location_id="loc_ny", weekdays=[0], start_minute=540, end_minute=1020))
        s.add(ScheduleRule(key="r2", clinician_id="cli_a", location_id="loc_ldn", weekdays=[1], start_minute=540, end_minute=1020))
    return ctx


def add_appointment(s, id_, status, start, minutes=30, resources=("cli_a",), pad=(5, 10)):
    end = start + timedelta(minutes=minutes)
    s.add(
        Appointment(
            id=id_, title="t", start_time=start, end_time=end, status=status, appointment_type_id="type_x",
            duration_minutes=minutes, created_at=NOW, updated_at=NOW, clinician_profile_id="cli_a",
        )
    )
    s.flush()
    for rid in resources:
        s.execute(insert(appointment_resources).values(appointment_id=id_, resource_id=rid))
        if status in ACTIVE_APPOINTMENT_STATUSES:  # as the services write them: active bookings take time
            s.execute(insert(BusyTime).values(
                resource_id=rid, appointment_id=id_, appointment_type_id="type_x", booked_start=start, share_key=id_,
                exempt=True,  # these tests read busy time; some lay bookings over each other on purpose
                busy_start=start - timedelta(minutes=pad[0]), busy_end=end + timedelta(minutes=pad[1]),
            ))


def add_hold(s, id_, status, start, expires_at, resources=("cli_a",)):
    end = start + timedelta(minutes=30)
    s.add(
        Hold(
            id=id_, status=status, appointment_type_id="type_x", clinician_id="cli_a", start_time=start, end_time=end,
            duration_minutes=30, expires_at=expires_at, created_at=NOW, created_by="t", updated_at=NOW,
        )
    )
    s.flush()
    for rid in resources:
        s.execute(insert(hold_resources).values(hold_id=id_, resource_id=rid))
        if status == "active":
            s.execute(insert(BusyTime).values(
                resource_id=rid, hold_id=id_, expires_at=expires_at, appointment_type_id="type_x", booked_start=start,
                share_key=id_, exempt=True, busy_start=start - timedelta(minutes=5), busy_end=end + timedelta(minutes=10),
            ))


def test_zones_of_clinicians_and_rooms(clinic):
    with clinic.db.session() as s:
        zones = resource_zones(s, ["cli_a", "cli_b", "cli_c", "res_room"])
    assert zones == {
        "cli_a": ZoneInfo("America/New_York"),  # first location with hours
        "cli_b": ZoneInfo("Asia/Tokyo"),  # set on the clinician
        "cli_c": ZoneInfo("UTC"),  # nothing to go on
        "res_room": ZoneInfo("Europe/London"),  # its location's
    }


def test_active_appointments_are_busy_padded_and_others_are_not(clinic):
    with clinic.db.session() as s:
        add_appointment(s, "apt_1", "confirmed", utc(2025, 1, 20, 9))
        add_appointment(s, "apt_2", "pending_approval", utc(2025, 1, 20, 11))
        for i, status in enumerate(["cancelled", "completed", "no_show"]):
            add_appointment(s, f"apt_off{i}", status, utc(2025, 1, 20, 13 + i))
        add_appointment(s, "apt_old", "confirmed", utc(2025, 1, 10, 9))
        add_appointment(s, "apt_late", "confirmed", utc(2025, 1, 22, 9))
    with clinic.db.session() as s:
        busy = busy_time(s, ["cli_a", "cli_b"], WINDOW, NOW)
    assert busy["cli_b"] == []
    assert [(b.ref_id, b.source) for b in busy["cli_a"]] == [("apt_1", "appointment"), ("apt_2", "appointment")]
    first = busy["cli_a"][0]
    assert first.interval == Interval(utc(2025, 1, 20, 8, 55), utc(2025, 1, 20, 9, 40))
    assert first.start == utc(2025, 1, 20, 9)
    assert first.appointment_type_id == "type_x"
    with clinic.db.session() as s:
        busy = busy_time(s, ["cli_a"], WINDOW, NOW, exclude_appointment_id="apt_1")
    assert [b.ref_id for b in busy["cli_a"]] == ["apt_2"]


def test_padding_reaching_into_the_window_counts(clinic):
    with clinic.db.session() as s:
        # Ends at 00:00 on the 20th, but its 10 minutes of padding run to 00:10.
        add_appointment(s, "apt_edge", "confirmed", utc(2025, 1, 19, 23, 30))
        add_appointment(s, "apt_before", "confirmed", utc(2025, 1, 19, 23, 0))  # padded end 23:40
    with clinic.db.session() as s:
        busy = busy_time(s, ["cli_a"], WINDOW, NOW)
    assert [b.ref_id for b in busy["cli_a"]] == ["apt_edge"]


def test_only_active_unexpired_holds_are_busy(clinic):
    with clinic.db.session() as s:
        add_hold(s, "hold_live", "active", utc(2025, 1, 20, 10), NOW + timedelta(minutes=1))
        add_hold(s, "hold_expired", "active", utc(2025, 1, 20, 11), NOW)
        add_hold(s, "hold_released", "released", utc(2025, 1, 20, 12), NOW + timedelta(minutes=10))
        add_hold(s, "hold_room", "active", utc(2025, 1, 20, 14), NOW + timedelta(minutes=10), ("cli_a", "res_room"))
    with clinic.db.session() as s:
        busy = busy_time(s, ["cli_a", "res_room"], WINDOW, NOW)
        no_room_hold = busy_time(s, ["res_room"], WINDOW, NOW, exclude_hold_id="hold_room")
    assert [(b.ref_id, b.source) for b in busy["cli_a"]] == [("hold_live", "hold"), ("hold_room", "hold")]
    assert [b.ref_id for b in busy["res_room"]] == ["hold_room"]
    assert no_room_hold == {"res_room": []}


def test_blocks_expand_in_the_resource_zone(clinic):
    def block(key, rid, start, end, rule=None):
        span = block_span(start, end, rule, ZoneInfo("America/New_York" if rid == "cli_a" else "Europe/London"))
        return Block(key=key, resource_id=rid, start_local=start, end_local=end, rrule=rule, span_start=span[0], span_end=span[1])

    with clinic.db.session() as s:
        s.add_all(
            [
                block("lunch", "cli_a", datetime(2025, 1, 6, 12), datetime(2025, 1, 6, 13), "FREQ=DAILY"),
                block("room", "res_room", datetime(2025, 1, 20, 9), datetime(2025, 1, 20, 10)),
                block("old", "res_room", datetime(2024, 1, 20, 9), datetime(2024, 1, 20, 10)),
            ]
        )
    with clinic.db.session() as s:
        busy = busy_time(s, ["cli_a", "res_room"], WINDOW, NOW)
    assert [b.interval for b in busy["cli_a"]] == [Interval(utc(2025, 1, 20, 17), utc(2025, 1, 20, 18))]
    assert busy["cli_a"][0].source == "block"
    assert [b.interval for b in busy["res_room"]] == [Interval(utc(2025, 1, 20, 9), utc(2025, 1, 20, 10))]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_instants_are_read_as_whole_seconds_rounded_outwards(backend, request, tmp_path, clock):
    # The database turns instants into epoch seconds; a busy end with a fraction never shrinks.
    from frontdesk.services.context import Context

    url = f"sqlite:///{tmp_path / 'b.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    ctx = Context.open(url, clock=clock, operator="tester")
    try:
        with ctx.db.session() as s:
            s.add(Resource(id="cli_a", kind="clinician", name="A"))
            s.add(AppointmentType(id="type_x", name="X", duration_minutes=30))
            s.flush()
            add_appointment(s, "apt_whole", "confirmed", utc(2025, 1, 20, 9), pad=(0, 0))
            add_appointment(s, "apt_frac", "confirmed", utc(2025, 1, 20, 11, 0, 0) + timedelta(microseconds=1),
                            minutes=30, pad=(0, 0))
        with ctx.db.session() as s:
            busy = busy_time(s, ["cli_a"], WINDOW, NOW)
        assert [b.interval for b in busy["cli_a"]] == [
            Interval(utc(2025, 1, 20, 9), utc(2025, 1, 20, 9, 30)),
            Interval(utc(2025, 1, 20, 11), utc(2025, 1, 20, 11, 30, 1)),
        ]
        assert [b.start for b in busy["cli_a"]] == [utc(2025, 1, 20, 9), utc(2025, 1, 20, 11)]
    finally:
        ctx.db.dispose()


def test_one_lunch_rule_shared_by_resources_in_two_zones(clinic):
    def lunch(key, rid, zone):
        start, end, rule = datetime(2025, 1, 6, 12), datetime(2025, 1, 6, 13), "FREQ=DAILY"
        span = block_span(start, end, rule, ZoneInfo(zone))
        return Block(key=key, resource_id=rid, start_local=start, end_local=end, rrule=rule, span_start=span[0],
                     span_end=span[1])

    with clinic.db.session() as s:
        s.add_all([lunch("a", "cli_a", "America/New_York"), lunch("room", "res_room", "Europe/London"),
                   lunch("b", "cli_b", "Asia/Tokyo")])
    with clinic.db.session() as s:
        busy = busy_time(s, ["cli_a", "res_room", "cli_b"], WINDOW, NOW)
    assert [b.interval for b in busy["cli_a"]] == [Interval(utc(2025, 1, 20, 17), utc(2025, 1, 20, 18))]
    assert [b.interval for b in busy["res_room"]] == [Interval(utc(2025, 1, 20, 12), utc(2025, 1, 20, 13))]
    assert [b.interval for b in busy["cli_b"]] == [Interval(utc(2025, 1, 20, 3), utc(2025, 1, 20, 4))]
    assert busy["cli_a"][0].ref_id != busy["res_room"][0].ref_id  # each keeps its own block


def test_long_blocks_are_busy_in_a_day_of_their_middle(clinic):
    """A week away and a daily rule that ends in a month: their spans run on past the day
    asked about (WINDOW, Monday 20 January), so they are flagged long and read on their own."""
    def block(key, start, end, rule=None):
        span = block_span(start, end, rule, ZoneInfo("Europe/London"))
        return Block(key=key, resource_id="res_room", start_local=start, end_local=end, rrule=rule,
                     span_start=span[0], span_end=span[1])

    with clinic.db.session() as s:
        s.add_all([
            block("away", datetime(2025, 1, 17, 9), datetime(2025, 1, 24, 17)),
            block("cleaning", datetime(2025, 1, 1, 7), datetime(2025, 1, 1, 8), "FREQ=DAILY;UNTIL=20250131T235959"),
            block("short", datetime(2025, 1, 20, 12), datetime(2025, 1, 20, 13)),
        ])
    with clinic.db.session() as s:
        flags = dict(s.execute(select(Block.key, Block.long_span)).all())
        busy = busy_time(s, ["res_room"], WINDOW, NOW)
    assert flags == {"away": True, "cleaning": True, "short": False}
    assert sorted((b.interval.start, b.interval.end) for b in busy["res_room"]) == [
        (utc(2025, 1, 17, 9), utc(2025, 1, 24, 17)),
        (utc(2025, 1, 20, 7), utc(2025, 1, 20, 8)),
        (utc(2025, 1, 20, 12), utc(2025, 1, 20, 13)),
    ]
