"""Loading a clinic file: a good file, every kind of error (with its place, all at once,
nothing written), loading twice, and TOML equal to JSON."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.clinic import (
    clinic_overview,
    load_clinic_data,
    load_clinic_file,
)
from frontdesk.services.context import Context
from frontdesk.store.models import (
    Appointment,
    Base,
    Block,
    BusyTime,
    FieldChange,
    Patient,
    ScheduleRule,
)

GOOD = """
[clinic]
name = "Test Clinic"
hold_minutes = 10

[[locations]]
id = "loc_a"
name = "Site A"
timezone = "Europe/London"
hours = [{ days = ["mon", "tue", "wed", "thu", "fri"], start = "08:00", end = "18:00" }]

[[locations]]
id = "loc_b"
name = "Site B"
timezone = "America/New_York"

[[rooms]]
id = "res_room_1"
name = "Room 1"
location_id = "loc_a"

[[clinicians]]
id = "cli_ann"
name = "Dr. Ann"
timezone = "Europe/London"

[[clinicians]]
id = "cli_bob"
name = "Bob"

[[appointment_types]]
id = "type_proc"
name = "Procedure"
duration_minutes = 60
padding_before_minutes = 10
padding_after_minutes = 15
clinician_ids = ["cli_ann"]
location_ids = ["loc_a"]
room_ids = ["res_room_1"]

[[appointment_types]]
id = "type_video"
name = "Video call"
duration_minutes = 30
modes = ["remote"]
clinician_ids = ["cli_ann", "cli_bob"]

[[schedules]]
clinician_id = "cli_ann"
location_id = "loc_a"
days = ["mon", "tue"]
start = "09:00"
end = "17:00"
valid_from = "2025-01-01"
valid_until = "2025-12-31"

[[schedules]]
clinician_id = "cli_bob"
location_id = "loc_b"
days = ["wed"]
start = "22:00"
end = "24:00"

[[schedules]]
clinician_id = "cli_ann"
remote = true
days = ["fri"]
start = "09:00"
end = "12:00"

[[overrides]]
clinician_id = "cli_ann"
location_id = "loc_a"
date = "2025-01-21"

[[blocks]]
resource_id = "cli_bob"
start = "2025-01-20T12:00"
end = "2025-01-20T13:00"
rrule = "FREQ=DAILY;COUNT=3"
reason = "Lunch"

[[blocks]]
resource_id = "res_room_1"
start = "2025-01-22T08:00"
end = "2025-01-22T10:00"

[[patients]]
id = "pat_jo"
first_name = "Jo"
last_name = "Bloggs"
date_of_birth = "1980-04-02"
email = "jo@example.com"
phone = "+44 7700 900123"

[[appointments]]
id = "apt_1"
patient_id = "pat_jo"
clinician_profile_id = "cli_ann"
appointment_type_id = "type_proc"
location_id = "loc_a"
resource_ids = ["res_room_1"]
title = "Mole removal"
start_time = "2025-01-20T10:00:00Z"
end_time = "2025-01-20T11:00:00Z"
status = "confirmed"
created_at = "2025-01-10T09:00:00Z"

[[appointments]]
id = "apt_2"
patient_id = "pat_jo"
clinician_profile_id = "cli_ann"
appointment_type_id = "type_video"
is_remote = true
start_time = "2025-01-24T09:00:00Z"
end_time = "2025-01-24T09:30:00Z"
status = "cancelled"
cancellation_reason = "Feeling better"
"""


def good() -> dict:
    return tomllib.loads(GOOD)


def dump(ctx: Context) -> dict[str, list[tuple]]:
    """Every row of every table, for comparing whole databases."""
    with ctx.db.engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(table.select())), key=repr)
            for table in Base.metadata.sorted_tables
        }


def row_count(ctx: Context) -> int:
    return sum(len(rows) for rows in dump(ctx).values())


def errors_of(ctx: Context, data: dict) -> list[str]:
    with pytest.raises(FrontdeskError) as caught:
        load_clinic_data(ctx, data, "clinic.toml")
    assert caught.value.code == "VALIDATION_ERROR"
    errors = caught.value.details["errors"]
    n = len(errors)
    assert caught.value.message == f"{n} error{'s' if n > 1 else ''} in clinic.toml"
    return errors


# --- a good file -------------------------------------------------------------------------


def test_good_file_loads_every_section(ctx, tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text(GOOD)
    report = load_clinic_file(ctx, path)
    assert report.path == str(path)
    assert report.counts == {
        "locations": 2, "rooms": 1, "clinicians": 2, "appointment_types": 2, "schedules": 3,
        "overrides": 1, "blocks": 2, "patients": 1, "appointments": 2,
    }
    overview = clinic_overview(ctx)
    assert (overview.name, overview.hold_minutes) == ("Test Clinic", 10)
    assert [c.id for c in overview.clinicians] == ["cli_ann", "cli_bob"]
    # Bob has no timezone of his own: he takes that of the site he works at.
    assert [c.timezone for c in overview.clinicians] == ["Europe/London", "America/New_York"]
    proc = overview.appointment_types[0]
    assert (proc.id, proc.padding_before_minutes, proc.padding_after_minutes) == ("type_proc", 10, 15)
    assert (proc.clinician_ids, proc.location_ids, proc.room_ids) == (["cli_ann"], ["loc_a"], ["res_room_1"])
    assert overview.appointment_types[1].modes == ["remote"]
    assert [r.location_id for r in overview.rooms] == ["loc_a"]


def test_the_flow_boards_minutes_come_from_the_clinic_table(ctx, clock):
    data = good()
    assert (clinic_overview(ctx).late_after_minutes, clinic_overview(ctx).waiting_alert_minutes) == (10, 15)
    data["clinic"] |= {"late_after_minutes": 5, "waiting_alert_minutes": 30}
    report = load_clinic_data(ctx, data, "clinic.toml")
    assert report.changes["clinic"]["added"] == ["clinic"]
    overview = clinic_overview(ctx)
    assert (overview.late_after_minutes, overview.waiting_alert_minutes) == (5, 30)
    # Left out of the file again: the defaults (the file describes the clinic, as hold_minutes).
    del data["clinic"]["late_after_minutes"], data["clinic"]["waiting_alert_minutes"]
    report = load_clinic_data(ctx, data, "clinic.toml")
    assert report.changes["clinic"]["changed"] == ["clinic"]
    overview = clinic_overview(ctx)
    assert (overview.late_after_minutes, overview.waiting_alert_minutes) == (10, 15)


def test_appointments_get_padded_busy_links_history_and_defaults(ctx):
    load_clinic_data(ctx, good())
    with ctx.db.session() as s:
        links = s.execute(
            select(BusyTime.resource_id, BusyTime.busy_start, BusyTime.busy_end)
            .where(BusyTime.appointment_id == "apt_1")
            .order_by(BusyTime.resource_id)
        ).all()
        # The procedure's padding (10 before, 15 after) widens the busy time of the
        # clinician and the room, which is what keeps the next booking away.
        busy = (datetime(2025, 1, 20, 9, 50, tzinfo=UTC), datetime(2025, 1, 20, 11, 15, tzinfo=UTC))
        assert [tuple(r) for r in links] == [("cli_ann", *busy), ("res_room_1", *busy)]
        first = s.get(Appointment, "apt_1")
        assert first.duration_minutes == 60
        assert first.booking_source == "import"
        assert first.created_at == datetime(2025, 1, 10, 9, tzinfo=UTC)
        assert first.updated_at == ctx.clock.now()
        assert [(h.status, h.changed_by, h.changed_at) for h in first.status_history] == [
            ("confirmed", "tester", datetime(2025, 1, 10, 9, tzinfo=UTC))
        ]
        video = s.get(Appointment, "apt_2")
        assert video.title == "Video call"  # left out: the type's name
        assert (video.status, video.cancellation_reason, video.is_remote) == ("cancelled", "Feeling better", True)


def test_blocks_get_spans_in_their_resource_timezone(ctx):
    load_clinic_data(ctx, good())
    with ctx.db.session() as s:
        blocks = {b.resource_id: b for b in s.scalars(select(Block))}
    # Bob works in New York, so his 12:00 lunch is 17:00 UTC; three days, then no more.
    assert blocks["cli_bob"].span_start <= datetime(2025, 1, 20, 17, tzinfo=UTC)
    assert blocks["cli_bob"].span_end >= datetime(2025, 1, 22, 18, tzinfo=UTC)
    assert blocks["cli_bob"].span_end < datetime(2025, 1, 25, tzinfo=UTC)
    assert blocks["res_room_1"].span_start == datetime(2025, 1, 22, 8, tzinfo=UTC)


def test_toml_dates_written_without_quotes_read_the_same(ctx, tmp_path):
    plain = tmp_path / "plain.toml"
    plain.write_text(GOOD.replace('valid_from = "2025-01-01"', "valid_from = 2025-01-01").replace(
        'start = "2025-01-22T08:00"', "start = 2025-01-22T08:00:00"
    ).replace('start_time = "2025-01-20T10:00:00Z"', "start_time = 2025-01-20T10:00:00Z"))
    load_clinic_file(ctx, plain)
    with ctx.db.session() as s:
        assert s.get(Appointment, "apt_1").start_time == datetime(2025, 1, 20, 10, tzinfo=UTC)
        assert s.scalar(select(func.count()).select_from(ScheduleRule)) == 3


# --- each kind of error ------------------------------------------------------------------


def _set(path: list, value):
    def change(data):
        target = data
        for step in path[:-1]:
            target = target[step]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return change


DELETE = object()

ERROR_CASES = [
    ("unknown key", _set(["clinicians", 0, "colour"], "blue"),
     "clinicians[0].colour: unknown key (expected one of: id, name, timezone, external_calendars)"),
    ("unknown section", _set(["staff"], []), "staff: unknown section"),
    ("unknown timezone", _set(["locations", 1, "timezone"], "America/Gotham"),
     'locations[1].timezone: "America/Gotham" is not an IANA timezone'),
    ("bad rrule", _set(["blocks", 0, "rrule"], "FREQ=FORTNIGHTLY"), "blocks[0].rrule: RRULE 'FREQ=FORTNIGHTLY'"),
    ("bad time", _set(["schedules", 2, "start"], "25:00"), 'schedules[2].start: "25:00" is not a time (HH:MM)'),
    ("24:00 as a start", _set(["schedules", 0, "start"], "24:00"), 'schedules[0].start: "24:00" can only be an end'),
    ("bad date", _set(["overrides", 0, "date"], "2025-02-30"),
     'overrides[0].date: "2025-02-30" is not a date (YYYY-MM-DD)'),
    ("bad day", _set(["schedules", 1, "days"], ["wed", "funday"]),
     'schedules[1].days: "funday" is not a day (mon ... sun)'),
    ("end before start", _set(["schedules", 0, "end"], "08:00"),
     'schedules[0].end: "08:00" is not after start "09:00"'),
    ("nested hours", _set(["locations", 0, "hours", 0, "end"], "07:00"),
     'locations[0].hours[0].end: "07:00" is not after start "08:00"'),
    ("block end not after start", _set(["blocks", 1, "end"], "2025-01-22T08:00"),
     'blocks[1].end: "2025-01-22T08:00" is not after start "2025-01-22T08:00"'),
    ("bad local time", _set(["blocks", 1, "start"], "Wednesday morning"),
     'blocks[1].start: "Wednesday morning" is not a local date and time (YYYY-MM-DDTHH:MM)'),
    ("appointment end before start", _set(["appointments", 0, "end_time"], "2025-01-20T09:00:00Z"),
     'appointments[0].end_time: "2025-01-20T09:00:00Z" is not after start_time "2025-01-20T10:00:00Z"'),
    ("instant without offset", _set(["appointments", 0, "start_time"], "2025-01-20T10:00:00"),
     'appointments[0].start_time: "2025-01-20T10:00:00" is not an instant with an offset'),
    ("until before from", _set(["schedules", 0, "valid_until"], "2024-12-31"),
     "schedules[0].valid_until: 2024-12-31 is before valid_from 2025-01-01"),
    ("zero duration", _set(["appointment_types", 0, "duration_minutes"], 0),
     "appointment_types[0].duration_minutes: 0 is not a positive whole number (minutes)"),
    ("negative padding", _set(["appointment_types", 0, "padding_after_minutes"], -5),
     "appointment_types[0].padding_after_minutes: -5 is not a whole number, 0 or more (minutes)"),
    ("text for a number", _set(["appointment_types", 1, "duration_minutes"], "30"),
     'appointment_types[1].duration_minutes: "30" is not a positive whole number (minutes)'),
    ("zero capacity", _set(["appointment_types", 1, "capacity"], 0), "appointment_types[1].capacity: 0 is not a positive"),
    ("bad duration option", _set(["appointment_types", 1, "duration_options"], [30, -1]),
     "appointment_types[1].duration_options: [30, -1] is not a list of positive whole numbers"),
    ("bad mode", _set(["appointment_types", 1, "modes"], ["telepathy"]),
     'appointment_types[1].modes: ["telepathy"] is not a list of modes'),
    ("unknown reference", _set(["appointment_types", 0, "clinician_ids"], ["cli_ann", "cli_nobody"]),
     'appointment_types[0].clinician_ids[1]: "cli_nobody" is not a clinician in the file or the database'),
    ("room as clinician", _set(["appointment_types", 0, "clinician_ids"], ["res_room_1"]),
     'appointment_types[0].clinician_ids[0]: "res_room_1" is a room, not a clinician'),
    ("clinician as room", _set(["appointment_types", 0, "room_ids"], ["cli_ann"]),
     'appointment_types[0].room_ids[0]: "cli_ann" is a clinician, not a room'),
    ("room at another site", _set(["appointment_types", 0, "location_ids"], ["loc_b"]),
     'appointment_types[0].room_ids[0]: room "res_room_1" is at "loc_a", which is not in location_ids'),
    ("in person nowhere", _set(["appointment_types", 0, "location_ids"], []),
     "appointment_types[0].location_ids: names no location (an in-person type needs the locations that offer it)"),
    ("room's location unknown", _set(["rooms", 0, "location_id"], "loc_mars"),
     'rooms[0].location_id: "loc_mars" is not a location in the file or the database'),
    ("block on nobody", _set(["blocks", 0, "resource_id"], "cli_ghost"),
     'blocks[0].resource_id: "cli_ghost" is not a clinician or room in the file or the database'),
    ("unknown patient", _set(["appointments", 0, "patient_id"], "pat_nobody"),
     'appointments[0].patient_id: "pat_nobody" is not a patient in the file or the database'),
    ("unknown type", _set(["appointments", 1, "appointment_type_id"], "type_nope"),
     'appointments[1].appointment_type_id: "type_nope" is not an appointment type in the file or the database'),
    ("bad status", _set(["appointments", 0, "status"], "done"), 'appointments[0].status: "done" is not a status'),
    ("reason without cancel", _set(["appointments", 0, "cancellation_reason"], "why"),
     'appointments[0].cancellation_reason: only a cancelled appointment has one (status is "confirmed")'),
    ("bad email", _set(["patients", 0, "email"], "jo at example"), 'patients[0].email: "jo at example" is not an email address'),
    ("missing field", _set(["patients", 0, "last_name"], DELETE), "patients[0].last_name: is missing"),
    ("duplicate id", lambda d: d["patients"].append(dict(d["patients"][0])),
     'patients[1].id: "pat_jo" is already used by patients[0]'),
    ("clinician and room share an id", _set(["rooms", 0, "id"], "cli_bob"),
     'rooms[0].id: "cli_bob" is already used by clinicians[1]'),
    ("location and remote", _set(["schedules", 2, "location_id"], "loc_a"),
     "schedules[2].remote: give location_id for in-person hours or remote = true for video hours, not both"),
    ("neither location nor remote", _set(["schedules", 0, "location_id"], DELETE),
     "schedules[0].location_id: is missing (give location_id for in-person hours, or remote = true)"),
    ("override with half its hours", _set(["overrides", 0, "start"], "10:00"),
     "overrides[0].end: is missing (give both start and end, or neither"),
    ("remote hours with no timezone", lambda d: d["schedules"].append(
        {"clinician_id": "cli_bob", "remote": True, "days": ["mon"], "start": "09:00", "end": "10:00"}
    ) or d["schedules"].pop(1),
     'schedules[2].clinician_id: clinician "cli_bob" has no timezone for remote hours'),
    ("duration that disagrees", _set(["appointments", 0, "duration_minutes"], 45),
     "appointments[0].duration_minutes: 45 does not match start_time to end_time (60 minutes)"),
    ("missing section", _set(["clinicians"], DELETE), "clinicians: is missing"),
    ("section not a list", _set(["patients"], {"id": "x"}), "patients: must be a list of tables"),
    ("row not a table", _set(["patients", 0], "pat_jo"), 'patients[0]: must be a table'),
    ("late after zero minutes", _set(["clinic", "late_after_minutes"], 0),
     "clinic.late_after_minutes: 0 is not a whole number from 1 to 1440 (minutes)"),
    ("waiting alert past a day", _set(["clinic", "waiting_alert_minutes"], 1441),
     "clinic.waiting_alert_minutes: 1441 is not a whole number from 1 to 1440 (minutes)"),
    ("waiting alert as text", _set(["clinic", "waiting_alert_minutes"], "15"),
     'clinic.waiting_alert_minutes: "15" is not a whole number from 1 to 1440 (minutes)'),
]


@pytest.mark.parametrize("change, expected", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_each_error_names_its_place_and_writes_nothing(ctx, change, expected):
    data = good()
    change(data)
    errors = errors_of(ctx, data)
    assert any(e.startswith(expected) for e in errors), errors
    assert row_count(ctx) == 0


def test_every_error_is_reported_at_once(ctx):
    data = good()
    data["schedules"][0]["start"] = "25:00"
    data["locations"][1]["timezone"] = "Mars/Olympus"
    data["patients"][0]["email"] = "nope"
    data["blocks"][0]["rrule"] = "FREQ=WEEKLY;BYDAY=XX"
    data["clinicians"][0]["nickname"] = "Annie"
    errors = errors_of(ctx, data)
    assert len(errors) == 5
    assert [e.split(":")[0] for e in errors] == [
        "locations[1].timezone", "clinicians[0].nickname", "schedules[0].start", "blocks[0].rrule", "patients[0].email",
    ]


def test_one_mistake_is_reported_once_not_again_by_every_row_that_depends_on_it(ctx):
    data = good()
    data["rooms"][0]["location_id"] = "loc_typo"  # the room's block can have no timezone either
    data["locations"][1]["timezone"] = "New York"  # nor can Bob, who works there
    assert errors_of(ctx, data) == [
        'locations[1].timezone: "New York" is not an IANA timezone (e.g. "Europe/London")',
        'rooms[0].location_id: "loc_typo" is not a location in the file or the database',
    ]


def test_a_bad_row_in_a_second_file_leaves_the_database_as_it_was(ctx):
    load_clinic_data(ctx, good())
    before = dump(ctx)
    data = good()
    data["patients"].append({"id": "pat_new", "first_name": "New", "last_name": "Person"})
    data["patients"][0]["phone"] = "+44 7700 900999"
    data["appointments"][0]["status"] = "maybe"
    errors_of(ctx, data)
    assert dump(ctx) == before


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("broken.toml", '[clinic]\nname = "x"\nhold_minutes = \n', "broken.toml: line 3, column 16: "),
        ("broken.json", '{"locations": [1,]}', "broken.json: line 1, column 18: Expecting value"),
        ("clinic.yaml", "locations: []", "clinic.yaml: cannot tell the format from the ending '.yaml'"),
        ("latin1.toml", b"name = '\xe9'", "latin1.toml: byte 8: the file is not UTF-8 text"),
    ],
)
def test_unreadable_or_malformed_files_name_their_place(ctx, tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(FrontdeskError) as caught:
        load_clinic_file(ctx, path)
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.message == f"1 error in {path}"
    [error] = caught.value.details["errors"]
    assert error.startswith(str(tmp_path / expected)), error


def test_missing_file(ctx, tmp_path):
    with pytest.raises(FrontdeskError) as caught:
        load_clinic_file(ctx, tmp_path / "nowhere.toml")
    assert caught.value.details["errors"] == [f"{tmp_path / 'nowhere.toml'}: cannot be read (No such file or directory)"]


def test_references_may_name_rows_already_in_the_database(ctx):
    load_clinic_data(ctx, good())
    second = {
        "locations": [],
        "clinicians": [],
        "appointment_types": [],
        "blocks": [{"resource_id": "cli_ann", "start": "2025-02-03T09:00", "end": "2025-02-03T10:00"}],
        "patients": [{"id": "pat_kim", "first_name": "Kim", "last_name": "Lee"}],
        "appointments": [{
            "id": "apt_3", "patient_id": "pat_kim", "clinician_profile_id": "cli_ann",
            "appointment_type_id": "type_proc", "location_id": "loc_a", "resource_ids": ["res_room_1"],
            "start_time": "2025-02-03T11:00:00Z", "end_time": "2025-02-03T12:00:00Z",
        }],
    }
    load_clinic_data(ctx, second, "second.json")
    with ctx.db.session() as s:
        third = s.get(Appointment, "apt_3")
        assert (third.title, third.status, [r.id for r in third.resources]) == (
            "Procedure", "pending", ["cli_ann", "res_room_1"],
        )
        assert s.scalar(select(func.count()).select_from(Block)) == 3


# --- loading again -----------------------------------------------------------------------


def test_loading_the_same_file_twice_changes_nothing(ctx, clock, tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text(GOOD)
    load_clinic_file(ctx, path)
    first = dump(ctx)
    clock.advance(hours=3)  # a reload later in the day must not even touch updated_at
    load_clinic_file(ctx, path)
    assert dump(ctx) == first


def test_a_changed_file_updates_rows_in_place(ctx, clock):
    load_clinic_data(ctx, good())
    clock.advance(hours=1)
    data = good()
    data["patients"][0]["phone"] = "+44 7700 900456"
    data["appointments"][0]["title"] = "Mole removal (left arm)"
    data["appointment_types"][0]["padding_after_minutes"] = 30
    load_clinic_data(ctx, data)
    with ctx.db.session() as s:
        assert s.get(Patient, "pat_jo").phone == "+44 7700 900456"
        first = s.get(Appointment, "apt_1")
        assert first.title == "Mole removal (left arm)"
        assert first.updated_at == clock.now()
        assert [(c.field, c.old, c.new, c.changed_by) for c in first.change_log] == [
            ("title", "Mole removal", "Mole removal (left arm)", "tester")
        ]
        assert s.get(Appointment, "apt_2").updated_at == clock.now() - timedelta(hours=1)
        busy_ends = set(s.scalars(select(BusyTime.busy_end).where(BusyTime.appointment_id == "apt_1")))
        assert busy_ends == {datetime(2025, 1, 20, 11, 30, tzinfo=UTC)}
        assert s.scalar(select(func.count()).select_from(FieldChange)) == 1


def test_a_status_changed_in_the_file_is_recorded_in_the_history(ctx, clock):
    load_clinic_data(ctx, good())
    clock.advance(days=1)
    data = good()
    data["appointments"][0]["status"] = "completed"
    load_clinic_data(ctx, data)
    with ctx.db.session() as s:
        history = s.get(Appointment, "apt_1").status_history
        assert [(h.status, h.changed_at) for h in history] == [
            ("confirmed", datetime(2025, 1, 10, 9, tzinfo=UTC)), ("completed", clock.now()),
        ]


# --- TOML equals JSON --------------------------------------------------------------------


def test_toml_and_json_of_one_clinic_give_identical_databases(tmp_path, clock):
    toml_path, json_path = tmp_path / "clinic.toml", tmp_path / "clinic.json"
    toml_path.write_text(GOOD)
    json_path.write_text(json.dumps(tomllib.loads(GOOD), indent=2))
    dumps = []
    for name, path in (("a.db", toml_path), ("b.db", json_path)):
        ctx = Context.open(f"sqlite:///{tmp_path / name}", clock=FakeClock(clock.now()), operator="tester")
        load_clinic_file(ctx, path)
        dumps.append(dump(ctx))
        ctx.db.dispose()
    assert dumps[0] == dumps[1]
    assert dumps[0]["appointments"]
