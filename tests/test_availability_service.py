"""query_availability and find_offered_slot on a database loaded from a clinic file."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.availability import find_offered_slot, query_availability
from frontdesk.services.clinic import load_clinic_data
from frontdesk.services.objects import AvailabilityQuery

# Monday 20 January 2025 .. ; the clock stands at 2025-01-20T08:00Z (conftest).
CLINIC = {
    "clinic": {"name": "Riverside Health"},
    "locations": [
        {"id": "loc_central", "name": "Central London Clinic", "timezone": "Europe/London"},
        {"id": "loc_ny", "name": "Manhattan", "timezone": "America/New_York",
         "hours": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "12:00"}]},
    ],
    "rooms": [
        {"id": "res_room_1", "name": "Room 1", "location_id": "loc_central"},
        {"id": "res_room_2", "name": "Room 2", "location_id": "loc_central"},
    ],
    "clinicians": [
        {"id": "cli_sarah", "name": "Dr. Sarah Johnson", "timezone": "Europe/London"},
        {"id": "cli_mike", "name": "Dr. Michael Chen"},
        {"id": "cli_nina", "name": "Dr. Nina Park"},
    ],
    "appointment_types": [
        {"id": "type_followup", "name": "Follow-up", "duration_minutes": 30, "interval_minutes": 60,
         "duration_options": [30, 60], "modes": ["in_person", "remote"],
         "clinician_ids": ["cli_sarah", "cli_mike"], "location_ids": ["loc_central"]},
        {"id": "type_room", "name": "Minor procedure", "duration_minutes": 60,
         "clinician_ids": ["cli_sarah", "cli_mike"], "location_ids": ["loc_central"],
         "room_ids": ["res_room_1", "res_room_2"]},
        {"id": "type_ny", "name": "NY visit", "duration_minutes": 60,
         "clinician_ids": ["cli_nina"], "location_ids": ["loc_ny"]},
    ],
    "schedules": [
        {"clinician_id": "cli_sarah", "location_id": "loc_central", "days": ["mon", "tue", "wed", "thu", "fri"],
         "start": "09:00", "end": "12:00"},
        {"clinician_id": "cli_mike", "location_id": "loc_central", "days": ["mon"], "start": "09:00", "end": "11:00"},
        {"clinician_id": "cli_mike", "remote": True, "days": ["mon"], "start": "14:00", "end": "15:00"},
        {"clinician_id": "cli_nina", "location_id": "loc_ny", "days": ["mon", "tue", "wed", "thu", "fri"],
         "start": "07:00", "end": "17:00"},
    ],
    "patients": [{"id": "pat_john", "first_name": "John", "last_name": "Smith"}],
    "appointments": [
        {"id": "apt_1", "patient_id": "pat_john", "clinician_profile_id": "cli_sarah",
         "appointment_type_id": "type_followup", "location_id": "loc_central", "title": "Follow-up",
         "start_time": "2025-01-20T10:00:00Z", "end_time": "2025-01-20T10:30:00Z", "status": "confirmed"},
    ],
}


@pytest.fixture
def clinic(ctx):
    load_clinic_data(ctx, copy.deepcopy(CLINIC), source="test")
    return ctx


def ask(ctx, **kw):
    kw.setdefault("appointment_type_id", "type_followup")
    kw.setdefault("start_date", "2025-01-20")
    kw.setdefault("end_date", "2025-01-20")
    return query_availability(ctx, AvailabilityQuery(**kw))


def starts(result, tz=None):
    return [(s.start_time.strftime("%H:%M"), s.clinician_id, s.location_id) for s in result.slots]


def test_hourly_starts_of_half_hour_slots(clinic):
    # The guide's worked example: a 30-minute service with interval 60 gives hourly starts.
    result = ask(clinic, clinician_id="cli_sarah")
    assert starts(result) == [("09:00", "cli_sarah", "loc_central"), ("11:00", "cli_sarah", "loc_central")]
    first = result.slots[0]
    assert first.end_time - first.start_time == (result.slots[0].end_time - result.slots[0].start_time)
    assert (first.end_time.hour, first.end_time.minute) == (9, 30)
    assert first.clinician_name == "Dr. Sarah Johnson" and first.location_name == "Central London Clinic"
    assert first.resource_ids == ["cli_sarah"] and first.is_remote is False
    assert result.days == {"2025-01-20": result.slots}


def test_flat_list_has_one_slot_per_free_clinician_and_remote_hours(clinic):
    result = ask(clinic)
    assert starts(result) == [
        ("09:00", "cli_mike", "loc_central"),
        ("09:00", "cli_sarah", "loc_central"),
        ("10:00", "cli_mike", "loc_central"),
        ("11:00", "cli_sarah", "loc_central"),
        ("14:00", "cli_mike", None),
    ]
    assert result.slots[-1].is_remote and result.slots[-1].location_name is None


def test_date_only_edges_in_the_requested_timezone_and_empty_days(clinic):
    # In New York, 20 January starts at 05:00Z: 09:00 London is 04:00 New York.
    result = ask(clinic, clinician_id="cli_sarah", timezone="America/New_York",
                 start_date="2025-01-20", end_date="2025-01-26")
    assert [s.start_time.isoformat() for s in result.slots[:2]] == [
        "2025-01-20T04:00:00-05:00",
        "2025-01-20T06:00:00-05:00",
    ]
    assert list(result.days) == [f"2025-01-{d}" for d in range(20, 27)]
    assert result.days["2025-01-25"] == [] and result.days["2025-01-26"] == []
    assert len(result.days["2025-01-21"]) == 3
    assert result.timezone == "America/New_York"


def test_filters_remote_location_duration(clinic):
    assert starts(ask(clinic, is_remote=True)) == [("14:00", "cli_mike", None)]
    assert ("14:00", "cli_mike", None) not in starts(ask(clinic, location_id="loc_central"))
    # 60 minutes: the slots last an hour; Mike's 10:00 still ends by 11:00, when he stops.
    long = ask(clinic, duration=60, clinician_id="cli_mike", is_remote=False)
    assert starts(long) == [("09:00", "cli_mike", "loc_central"), ("10:00", "cli_mike", "loc_central")]
    assert long.slots[1].end_time.hour == 11


def test_round_robin_modes(clinic):
    none = ask(clinic, round_robin="NONE", is_remote=False)
    assert [(s.start_time.hour, s.resource_ids, s.clinician_id) for s in none.slots] == [
        (9, ["cli_mike", "cli_sarah"], None),
        (10, ["cli_mike"], "cli_mike"),
        (11, ["cli_sarah"], "cli_sarah"),
    ]
    picks = {tuple(s.resource_ids) for s in ask(clinic, round_robin="RANDOM", seed=7, is_remote=False).slots}
    again = {tuple(s.resource_ids) for s in ask(clinic, round_robin="RANDOM", seed=7, is_remote=False).slots}
    assert picks == again and all(len(p) == 1 for p in picks)
    # Sarah has one appointment that day, Mike none: BALANCED gives 09:00 to Mike.
    balanced = ask(clinic, round_robin="BALANCED", is_remote=False)
    assert balanced.slots[0].resource_ids == ["cli_mike"]
    combined = ask(clinic, round_robin="COMBINED", resource_ids=("cli_sarah", "cli_mike"))
    assert [(s.start_time.hour, s.resource_ids) for s in combined.slots] == [(9, ["cli_mike", "cli_sarah"])]


def test_rooms_first_free_by_id(clinic):
    result = ask(clinic, appointment_type_id="type_room", clinician_id="cli_sarah")
    assert [(s.start_time.hour, s.resource_ids) for s in result.slots] == [
        (9, ["cli_sarah", "res_room_1"]),
        (11, ["cli_sarah", "res_room_1"]),
    ]


def test_opening_hours_cut_working_hours(clinic):
    # Nina works 07:00-17:00 but the New York site opens 08:00-12:00.
    result = ask(clinic, appointment_type_id="type_ny", timezone="America/New_York")
    assert [s.start_time.strftime("%H:%M") for s in result.slots] == ["08:00", "09:00", "10:00", "11:00"]


def test_first_available(clinic):
    result = ask(clinic, first_available=True, start_date="2025-01-20", end_date="2025-01-22")
    assert len(result.slots) == 1 and result.slots[0].clinician_id == "cli_mike"
    assert sum(len(v) for v in result.days.values()) == 1 and len(result.days) == 3


@pytest.mark.parametrize(
    "kw, code",
    [
        ({"start_date": "2025-13-01"}, "VALIDATION_ERROR"),
        ({"start_date": "2025-01-21", "end_date": "2025-01-20"}, "VALIDATION_ERROR"),
        ({"timezone": "Mars/Olympus"}, "VALIDATION_ERROR"),
        ({"timezone": ""}, "VALIDATION_ERROR"),
        ({"duration": 45}, "VALIDATION_ERROR"),
        ({"round_robin": "COMBINED"}, "VALIDATION_ERROR"),
        ({"round_robin": "SOMETIMES"}, "VALIDATION_ERROR"),
        ({"start_date": "2025-01-20T10:00:00"}, "VALIDATION_ERROR"),
        ({"appointment_type_id": "type_nope"}, "NOT_FOUND"),
        ({"clinician_id": "cli_nope"}, "NOT_FOUND"),
        ({"location_id": "loc_nope"}, "NOT_FOUND"),
        ({"resource_ids": ("res_nope",)}, "NOT_FOUND"),
        ({"start_date": "2025-01-01", "end_date": "2025-02-01"}, "DATE_RANGE_TOO_LARGE"),
    ],
)
def test_errors_have_codes(clinic, kw, code):
    with pytest.raises(FrontdeskError) as caught:
        ask(clinic, **kw)
    assert caught.value.code == code


def test_a_full_month_is_allowed(clinic):
    result = ask(clinic, start_date="2025-01-01", end_date="2025-01-31", clinician_id="cli_sarah")
    assert len(result.days) == 31


def test_find_offered_slot_matches_availability(clinic):
    def find(**kw):
        args = dict(appointment_type_id="type_followup", clinician_id="cli_sarah", duration_minutes=None,
                    location_id="loc_central", is_remote=False, room_id=None)
        args.update(kw)
        with clinic.db.session() as s:
            return find_offered_slot(s, clinic.clock.now(), **args)

    slot = find(start=datetime(2025, 1, 20, 9, tzinfo=UTC))
    assert slot is not None and slot.resource_ids == ["cli_sarah"] and slot.clinician_name == "Dr. Sarah Johnson"
    assert find(start=datetime(2025, 1, 20, 9, 15, tzinfo=UTC)) is not None  # any minute in the window
    assert find(start=datetime(2025, 1, 20, 9, 15, tzinfo=UTC), interval_minutes=60) is None  # off the grid
    assert find(start=datetime(2025, 1, 20, 10, tzinfo=UTC)) is None  # apt_1
    assert find(start=datetime(2025, 1, 20, 11, 45, tzinfo=UTC)) is None  # runs past 12:00
    assert find(start=datetime(2025, 1, 20, 7, tzinfo=UTC)) is None  # before now and hours
    assert find(start=datetime(2025, 1, 20, 14, tzinfo=UTC), clinician_id="cli_mike", location_id=None, is_remote=True)
    room = find(appointment_type_id="type_room", start=datetime(2025, 1, 20, 9, tzinfo=UTC), room_id="res_room_2")
    assert room is not None and room.resource_ids == ["cli_sarah", "res_room_2"]
    with pytest.raises(FrontdeskError) as caught:
        find(start=datetime(2025, 1, 20, 9, tzinfo=UTC), duration_minutes=45)
    assert caught.value.code == "VALIDATION_ERROR"


# --- what a query reads ---------------------------------------------------------------------


def test_a_query_reads_few_rows_through_indexes_whatever_the_history(clinic):
    """The statements availability runs are few, and those on the tables that grow (bookings,
    holds, blocks, overrides) search an index rather than scan the table."""
    from sqlalchemy import event, insert

    from frontdesk.store.models import Appointment, appointment_resources

    # Two years of past appointments: none of it may be read.
    with clinic.db.session() as s:
        rows, links = [], []
        for n in range(2000):
            start = datetime(2023, 1, 2, 9, tzinfo=UTC) + (datetime(2023, 1, 3) - datetime(2023, 1, 2)) * (n // 4)
            rows.append({"id": f"apt_old_{n}", "title": "old", "start_time": start, "end_time": start,
                         "status": "completed", "duration_minutes": 30, "created_at": start, "updated_at": start,
                         "clinician_profile_id": "cli_sarah"})
            links.append({"appointment_id": f"apt_old_{n}", "resource_id": "cli_sarah", "busy_start": start,
                          "busy_end": start})
        s.execute(insert(Appointment.__table__), rows)
        s.execute(insert(appointment_resources), links)

    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(clinic.db.engine, "before_cursor_execute", record)
    try:
        result = ask(clinic, start_date="2025-01-20", end_date="2025-02-19")
    finally:
        event.remove(clinic.db.engine, "before_cursor_execute", record)
    assert result.slots
    queries = [(q, p) for q, p in statements if q.lstrip().upper().startswith("SELECT")]
    assert len(queries) <= 15, [q for q, _ in queries]
    growing = ("appointment_resources", "hold_resources", "blocks", "schedule_overrides")
    with clinic.db.engine.connect() as conn:
        for statement, parameters in queries:
            if not any(f"FROM {t}" in statement or f"JOIN {t}" in statement for t in growing):
                continue
            plan = " | ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            for table in growing:
                assert f"SCAN {table}" not in plan, (statement, plan)


def load_with(ctx, **sections):
    data = copy.deepcopy(CLINIC)
    for name, rows in sections.items():
        data.setdefault(name, []).extend(rows)
    load_clinic_data(ctx, data, source="test")
    return ctx


def test_group_type_keeps_its_start_open_until_full(ctx):
    group = {"id": "type_group", "name": "Class", "duration_minutes": 60, "capacity": 2,
             "clinician_ids": ["cli_sarah"], "location_ids": ["loc_central"]}
    booking = {"attendees": ["pat_john"], "clinician_profile_id": "cli_sarah", "appointment_type_id": "type_group",
               "location_id": "loc_central", "title": "Class", "start_time": "2025-01-21T09:00:00Z",
               "end_time": "2025-01-21T10:00:00Z", "status": "confirmed"}
    load_with(ctx, appointment_types=[group], appointments=[{**booking, "id": "apt_g1"}])

    def hours():
        result = ask(ctx, appointment_type_id="type_group", start_date="2025-01-21", end_date="2025-01-21")
        return [s.start_time.hour for s in result.slots]

    assert hours() == [9, 10, 11]  # one of two places taken
    load_clinic_data(ctx, {**copy.deepcopy(CLINIC), "appointment_types": [*CLINIC["appointment_types"], group],
                           "appointments": [{**booking, "id": "apt_g2"}]}, source="test")
    assert hours() == [10, 11]  # full


def test_group_slots_tell_their_seats_left(ctx):
    """Seats taken = bookings of the type at that start + active seat holds (booking.md "Groups")."""
    import json

    from frontdesk.cli.envelope import dumps, success
    from frontdesk.services.holds import create_hold
    from frontdesk.services.objects import HoldRequest

    group = {"id": "type_group", "name": "Class", "duration_minutes": 60, "capacity": 3,
             "clinician_ids": ["cli_sarah"], "location_ids": ["loc_central"]}
    booking = {"attendees": ["pat_john"], "clinician_profile_id": "cli_sarah", "appointment_type_id": "type_group",
               "location_id": "loc_central", "title": "Class", "start_time": "2025-01-21T09:00:00Z",
               "end_time": "2025-01-21T10:00:00Z", "status": "confirmed"}
    load_with(ctx, appointment_types=[group], appointments=[{**booking, "id": "apt_g1"}])
    create_hold(ctx, HoldRequest(appointment_type_id="type_group", clinician_id="cli_sarah",
                                 start=datetime(2025, 1, 21, 10, tzinfo=UTC), location_id="loc_central"))

    result = ask(ctx, appointment_type_id="type_group", start_date="2025-01-21", end_date="2025-01-21")
    assert [(s.start_time.hour, s.seats_left) for s in result.slots] == [(9, 2), (10, 2), (11, 3)]
    # A move does not count the appointment's own seat.
    moving = ask(ctx, appointment_type_id="type_group", start_date="2025-01-21", end_date="2025-01-21",
                 reschedule_appointment_id="apt_g1")
    assert moving.slots[0].seats_left == 3
    # In the JSON as `seats_left` (cli.md); a one-to-one type's slots say null.
    assert json.loads(dumps(success(result)))["data"][0]["seats_left"] == 2
    assert ask(ctx).slots[0].seats_left is None


def test_override_and_minimum_notice_through_the_service(ctx):
    notice = {"id": "type_notice", "name": "Needs notice", "duration_minutes": 60, "min_notice_minutes": 120,
              "clinician_ids": ["cli_sarah"], "location_ids": ["loc_central"]}
    override = {"clinician_id": "cli_sarah", "location_id": "loc_central", "date": "2025-01-21",
                "start": "13:00", "end": "15:00"}
    load_with(ctx, appointment_types=[notice], overrides=[override])
    # The clock stands at 08:00Z on the 20th: 09:00 is within two hours; 10:00 is apt_1's.
    # On the 21st the override's 13:00-15:00 replaces 09:00-12:00.
    result = ask(ctx, appointment_type_id="type_notice", start_date="2025-01-20", end_date="2025-01-21")
    assert [s.start_time.strftime("%d %H:%M") for s in result.slots] == ["20 11:00", "21 13:00", "21 14:00"]


def test_combined_with_a_room_and_a_block(ctx):
    block = {"resource_id": "res_room_1", "start": "2025-01-20T09:00", "end": "2025-01-20T10:00", "reason": "Cleaning"}
    load_with(ctx, blocks=[block])
    result = ask(ctx, appointment_type_id="type_room", round_robin="COMBINED", resource_ids=("cli_sarah", "res_room_1"))
    assert [(s.start_time.hour, s.resource_ids) for s in result.slots] == [(11, ["cli_sarah", "res_room_1"])]
    # Sarah is at 10:00 with apt_1 (until 10:30), the room until 10:00.
    with pytest.raises(FrontdeskError) as caught:
        ask(ctx, round_robin="COMBINED", resource_ids=("res_room_1",))
    assert caught.value.code == "VALIDATION_ERROR"


def test_cancelled_appointments_and_released_holds_free_their_time(clinic):
    from frontdesk.services.appointments import cancel_appointment

    assert ("10:00", "cli_sarah", "loc_central") not in starts(ask(clinic, clinician_id="cli_sarah"))
    cancel_appointment(clinic, "apt_1", "patient called")
    assert ("10:00", "cli_sarah", "loc_central") in starts(ask(clinic, clinician_id="cli_sarah"))
