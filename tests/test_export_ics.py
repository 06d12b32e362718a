"""iCalendar out (interop.md): `export ics` and `export freebusy`, read back by the `icalendar`
library and by a second reader (`recurring-ical-events`), as a calendar program would."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events

from booking_clinic import CLINIC, load, utc
from frontdesk.cli.main import main
from frontdesk.services.appointments import cancel_appointment, create_appointment, update_appointment
from frontdesk.services.attendees import add_attendee
from frontdesk.services.availability import query_availability
from frontdesk.services.busy import busy_time
from frontdesk.services.calendar_export import ExportRequest, export_freebusy, export_ics
from frontdesk.services.holds import confirm_hold, create_hold
from frontdesk.domain.intervals import Interval
from frontdesk.services.objects import AppointmentCreate, AvailabilityQuery, ConfirmRequest, HoldRequest

VIDEO = "https://video.example.org/room/{meeting_id}"


@pytest.fixture
def clinic(ctx):
    data = copy.deepcopy(CLINIC)
    data["clinic"]["video_url_template"] = VIDEO
    load(ctx, data)
    return ctx


def book(ctx, start, *, clinician="cli_sarah", patient="pat_john_smith", type_id="type_followup",
         location="loc_central", minutes=30, remote=False, status="confirmed"):
    return create_appointment(ctx, AppointmentCreate(
        title="Booked", start_time=start, end_time=start + timedelta(minutes=minutes), patient_id=patient,
        clinician_profile_id=clinician, appointment_type_id=type_id, location_id=None if remote else location,
        is_remote=remote, status=status))


def book_seat(ctx, patient):
    """A seat in Tom's Back Class at 11:00 on Tuesday: the group appointment."""
    hold = create_hold(ctx, HoldRequest("type_class", "cli_tom", start=utc(2025, 1, 21, 11), location_id="loc_central"))
    return confirm_hold(ctx, hold.id, ConfirmRequest(patient_id=patient))


def parsed(text: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(text)


def events_by_uid(text: str) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in parsed(text).walk("VEVENT")}


def second_reader(text: str, start: datetime, end: datetime) -> dict[str, tuple[datetime, datetime]]:
    """What recurring-ical-events makes of the file: each event's UTC start and end."""
    found = recurring_ical_events.of(parsed(text)).between(start, end)
    return {str(e["UID"]): (e.start.astimezone(UTC), e.end.astimezone(UTC)) for e in found}


def test_a_london_and_a_new_york_pair_across_daylight_saving_land_at_the_right_instants(clinic):
    # London springs forward on 30 March 2025, New York on 9 March: 10:00 local is 10:00Z then
    # 09:00Z in London, 15:00Z then 14:00Z in New York.
    london = [book(clinic, utc(2025, 3, 28, 10)), book(clinic, utc(2025, 3, 31, 9))]
    new_york = [book(clinic, utc(2025, 3, 7, 15), location="loc_ny", clinician="cli_nina", type_id=None),
                book(clinic, utc(2025, 3, 10, 14), location="loc_ny", clinician="cli_nina", type_id=None)]
    text = export_ics(clinic, ExportRequest("2025-03-01", "2025-04-30")).text

    events = events_by_uid(text)
    for appointment, zone_name in [(a, "Europe/London") for a in london] + [(a, "America/New_York") for a in new_york]:
        event = events[f"{appointment.id}@frontdesk"]
        assert event["DTSTART"].params["TZID"] == zone_name
        assert event["DTSTART"].dt.hour == 10  # the wall time the patient was told
        assert event.start.astimezone(UTC) == appointment.start_time
        assert event.end.astimezone(UTC) == appointment.end_time
    # The second reader agrees on every instant.
    read = second_reader(text, datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    assert read == {f"{a.id}@frontdesk": (a.start_time, a.end_time) for a in london + new_york}
    # Each TZID used has its VTIMEZONE, and the London one knows the change.
    calendar = parsed(text)
    zones = {str(tz["TZID"]): tz for tz in calendar.walk("VTIMEZONE")}
    assert set(zones) == {"Europe/London", "America/New_York"}
    assert calendar.get_missing_tzids() == set()
    assert "TZOFFSETTO:+0100" in zones["Europe/London"].to_ical().decode()


def test_uids_stay_and_sequence_follows_the_version(clinic):
    appointment = book(clinic, utc(2025, 1, 21, 10))
    ask = ExportRequest("2025-01-01", "2025-01-31", clinician_id="cli_sarah")
    first = events_by_uid(export_ics(clinic, ask).text)
    clinic.clock.advance(minutes=30)
    changed = update_appointment(clinic, appointment.id, {"title": "Renamed"})
    assert changed.version == 2
    second = events_by_uid(export_ics(clinic, ask).text)

    uid = f"{appointment.id}@frontdesk"
    assert list(first) == list(second) == [uid]
    assert first[uid]["SEQUENCE"] == 1 and second[uid]["SEQUENCE"] == 2
    # DTSTAMP is the export's own time, from the clock.
    assert first[uid]["DTSTAMP"].dt == utc(2025, 1, 20, 8)
    assert second[uid]["DTSTAMP"].dt == utc(2025, 1, 20, 8, 30)


def test_a_cancelled_appointment_stays_as_a_cancelled_event(clinic):
    kept, cancelled = book(clinic, utc(2025, 1, 21, 10)), book(clinic, utc(2025, 1, 21, 11))
    cancel_appointment(clinic, cancelled.id, "Patient rang")
    events = events_by_uid(export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21")).text)
    assert events[f"{cancelled.id}@frontdesk"]["STATUS"] == "CANCELLED"
    assert events[f"{cancelled.id}@frontdesk"]["SEQUENCE"] == 2
    assert events[f"{kept.id}@frontdesk"]["STATUS"] == "CONFIRMED"
    pending = book(clinic, utc(2025, 1, 21, 14), status="pending")
    events = events_by_uid(export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21")).text)
    assert events[f"{pending.id}@frontdesk"]["STATUS"] == "TENTATIVE"


def test_summary_names_type_and_patient_and_private_names_nobody(clinic):
    appointment = book(clinic, utc(2025, 1, 21, 10))
    full = export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21", clinician_id="cli_sarah")).text
    event = events_by_uid(full)[f"{appointment.id}@frontdesk"]
    assert event["SUMMARY"] == "Follow-up Consultation: John Smith"
    assert "Central London Clinic" in event["LOCATION"]

    private = export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21", clinician_id="cli_sarah", private=True))
    assert private.count == 1
    event = events_by_uid(private.text)[f"{appointment.id}@frontdesk"]
    assert event["SUMMARY"] == "Busy"
    for said in ("John", "Smith", "john@example.com", "Follow-up", "Central London"):
        assert said not in private.text


def test_a_patients_export_names_the_clinician_and_place(clinic):
    mine = book(clinic, utc(2025, 1, 21, 10))
    book(clinic, utc(2025, 1, 21, 11), patient="pat_mary_jones")
    text = export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21", patient_id="pat_john_smith")).text
    events = events_by_uid(text)
    assert list(events) == [f"{mine.id}@frontdesk"]
    summary = str(events[f"{mine.id}@frontdesk"]["SUMMARY"])
    assert "Follow-up Consultation" in summary and "Dr. Sarah Johnson" in summary
    assert "Central London Clinic" in summary


def test_a_remote_visit_has_its_video_link_and_the_clinicians_zone(clinic):
    call = book(clinic, utc(2025, 1, 21, 15), clinician="cli_nina", type_id="type_call", minutes=15, remote=True,
                patient="pat_mary_jones")
    event = events_by_uid(export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21")).text)[f"{call.id}@frontdesk"]
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["DTSTART"].dt.hour == 10
    assert str(event["URL"]).startswith("https://video.example.org/room/")
    private = export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21", private=True)).text
    assert "video.example.org" not in private


def test_a_group_is_one_event_with_its_seats_and_attendees(clinic):
    group = book_seat(clinic, "pat_john_smith")
    add_attendee(clinic, group.id, "pat_mary_jones")
    ask = ExportRequest("2025-01-21", "2025-01-21", clinician_id="cli_tom")
    events = events_by_uid(export_ics(clinic, ask).text)
    event = events[f"{group.id}@frontdesk"]
    assert list(events) == [f"{group.id}@frontdesk"]
    assert event["SUMMARY"] == "Back Class (group: 2 of 3 seats taken)"
    attendees = event.get("ATTENDEE")
    names = sorted(a.params["CN"] for a in attendees)
    assert names == ["John Smith", "Mary Jones"]
    private = export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21", clinician_id="cli_tom", private=True))
    assert "ATTENDEE" not in private.text and "Mary" not in private.text
    # John's own calendar has his class, and nobody else in it.
    johns = export_ics(clinic, ExportRequest("2025-01-21", "2025-01-21", patient_id="pat_john_smith")).text
    assert str(events_by_uid(johns)[f"{group.id}@frontdesk"]["SUMMARY"]) == "Back Class · Tom Baker · Central London Clinic, Gym"
    assert "Mary" not in johns and "ATTENDEE" not in johns


def test_freebusy_periods_are_the_busy_time_availability_reads(clinic):
    book(clinic, utc(2025, 1, 21, 10))
    hold = create_hold(clinic, HoldRequest("type_followup", "cli_sarah", start=utc(2025, 1, 21, 14),
                                           location_id="loc_central"))
    exported = export_freebusy(clinic, "cli_sarah", "2025-01-21", "2025-01-21")
    freebusy = parsed(exported.text).walk("VFREEBUSY")[0]
    lines = freebusy.get("FREEBUSY")
    lines = lines if isinstance(lines, list) else [lines]
    # One period a line, each a vPeriod: (start, end) with its FBTYPE.
    periods = {(line.dt[0].astimezone(UTC), line.dt[1].astimezone(UTC), line.FBTYPE) for line in lines}

    window = Interval(utc(2025, 1, 21), utc(2025, 1, 22))
    with clinic.db.session(write=False) as session:
        busy = busy_time(session, ["cli_sarah"], window, clinic.clock.now())["cli_sarah"]
    kinds = {"appointment": "BUSY", "hold": "BUSY-TENTATIVE", "block": "BUSY-UNAVAILABLE"}
    assert periods == {(b.interval.start, b.interval.end, kinds[b.source]) for b in busy}
    assert exported.count == len(periods) == 3  # the visit (with its padding), the hold, lunch
    assert (hold.start_time, hold.end_time + timedelta(minutes=10), "BUSY-TENTATIVE") in periods
    assert (utc(2025, 1, 21, 10), utc(2025, 1, 21, 10, 40), "BUSY") in periods
    # And availability offers nothing inside them.
    slots = query_availability(clinic, AvailabilityQuery("type_followup", "2025-01-21", "2025-01-21",
                                                         clinician_id="cli_sarah", location_id="loc_central")).slots
    assert slots
    for slot in slots:
        for start, end, _ in periods:
            assert not (slot.start_time < end and start < slot.end_time)


# --- the command line ------------------------------------------------------------------------


def cli(capsys, *argv: str) -> tuple[int, str]:
    code = main([*argv, "--now", "2025-01-20T08:00:00Z"])
    return code, capsys.readouterr().out


def leftovers(folder) -> list[str]:
    """Temporary files an export left behind (they start with a dot and end in .tmp)."""
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


@pytest.fixture
def db(clinic):
    book(clinic, utc(2025, 1, 21, 10))
    return str(clinic.db.url)


def test_without_o_the_calendar_itself_is_printed(capsys, db):
    code, out = cli(capsys, "export", "ics", "--db", db, "--clinician", "cli_sarah", "--from", "2025-01-01",
                    "--to", "2025-01-31")
    assert code == 0
    assert out.startswith("BEGIN:VCALENDAR")
    assert len(list(parsed(out).walk("VEVENT"))) == 1


def test_with_o_the_file_is_written_and_an_envelope_says_where(capsys, db, tmp_path):
    target = tmp_path / "out" / "sarah.ics"
    target.parent.mkdir()
    code, out = cli(capsys, "export", "freebusy", "--db", db, "--clinician", "cli_sarah", "--from", "2025-01-21",
                    "--to", "2025-01-21", "-o", str(target))
    assert code == 0
    doc = json.loads(out)
    assert doc["data"] == {"path": str(target), "count": 2, "kind": "busy_periods"}
    assert parsed(target.read_text()).walk("VFREEBUSY")
    assert os.listdir(target.parent) == ["sarah.ics"]  # no temporary file left


@pytest.mark.parametrize("option,value,kind", [
    ("--clinician", "cli_nobody", "clinician"),
    ("--location", "loc_nowhere", "location"),
    ("--patient", "pat_nobody", "patient"),
    ("--appointment", "apt_none", "appointment"),
])
def test_what_does_not_exist_is_named(capsys, db, tmp_path, option, value, kind):
    target = tmp_path / "kept.ics"
    target.write_text("what was there before")
    code, out = cli(capsys, "export", "ics", "--db", db, option, value, "--from", "2025-01-01", "--to", "2025-01-31",
                    "-o", str(target))
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "NOT_FOUND"
    assert value in error["message"] and error["details"] == {"kind": kind, "id": value}
    assert target.read_text() == "what was there before"
    assert leftovers(tmp_path) == []


def test_freebusy_of_a_clinician_who_does_not_exist(capsys, db):
    code, out = cli(capsys, "export", "freebusy", "--db", db, "--clinician", "res_room_1", "--from", "2025-01-01",
                    "--to", "2025-01-31")
    assert code == 1 and json.loads(out)["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("start,end,said", [
    ("2025-01-01", "2026-01-02", "366 days"),  # 367 days
    ("2025-01-31", "2025-01-01", "before"),
    ("2025-02-30", "2025-03-01", "not a date"),
])
def test_a_range_too_long_or_backwards_is_refused(capsys, db, start, end, said):
    for command in (["ics"], ["freebusy", "--clinician", "cli_sarah"]):
        code, out = cli(capsys, "export", *command, "--db", db, "--from", start, "--to", end)
        assert code == 1
        error = json.loads(out)["error"]
        assert error["code"] == "VALIDATION_ERROR" and said in error["message"]


def test_a_leap_year_whole_is_one_range(capsys, db):
    code, out = cli(capsys, "export", "ics", "--db", db, "--from", "2024-01-01", "--to", "2024-12-31")
    assert code == 0 and out.startswith("BEGIN:VCALENDAR")


def test_an_unwritable_path_is_named_and_nothing_is_left(capsys, db, tmp_path):
    missing = tmp_path / "no such folder" / "x.ics"
    code, out = cli(capsys, "export", "ics", "--db", db, "--from", "2025-01-01", "--to", "2025-01-31",
                    "-o", str(missing))
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "VALIDATION_ERROR" and str(missing) in error["message"]

    # A folder where the file should go: refused, and no temporary file stays beside it.
    folder = tmp_path / "a folder"
    folder.mkdir()
    code, out = cli(capsys, "export", "ics", "--db", db, "--from", "2025-01-01", "--to", "2025-01-31",
                    "-o", str(folder))
    assert code == 1
    assert json.loads(out)["error"]["code"] == "VALIDATION_ERROR"
    assert leftovers(tmp_path) == []
    assert os.listdir(folder) == []

    code, out = cli(capsys, "export", "ics", "--db", db, "--from", "2025-01-01", "--to", "2025-01-31", "-o", "")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "VALIDATION_ERROR"
