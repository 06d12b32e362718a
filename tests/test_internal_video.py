"""Staff time (booking.md "Internal appointments") and video links ("Video"): services, the
clinic file, the day list and the UI."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from booking_clinic import CLINIC, load, utc
from textual.widgets import DataTable
from tui_pilot import MONDAY, appointment_rows, notifications, running, screen_text, settle

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    act_on_appointment,
    cancel_appointment,
    create_appointment,
    get_appointment,
    list_appointments,
    update_appointment,
)
from frontdesk.services.availability import query_availability
from frontdesk.services.clinic import load_clinic_data
from frontdesk.services.day_list import agenda
from frontdesk.services.holds import confirm_hold, create_hold, reschedule_appointment
from frontdesk.services.objects import (
    AppointmentCreate,
    AppointmentFilter,
    AvailabilityQuery,
    ConfirmRequest,
    HoldRequest,
)
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.appointment import AppointmentScreen

TEN = utc(2025, 1, 20, 10)
TEMPLATE = "https://video.riverside-health.example/join/{meeting_id}"
JOIN = "https://video.riverside-health.example/join/"


def with_template(template: str | None = TEMPLATE) -> dict:
    data = copy.deepcopy(CLINIC)
    if template is not None:
        data["clinic"]["video_url_template"] = template
    return data


@pytest.fixture
def clinic(ctx):
    load(ctx, with_template())
    return ctx


def staff_time(start=TEN, minutes=60, clinicians=("cli_tom", "cli_sarah"), **fields) -> AppointmentCreate:
    return AppointmentCreate(
        title=fields.pop("title", "Case review"), start_time=start, end_time=start + timedelta(minutes=minutes),
        clinician_profile_id=clinicians[0], other_clinician_ids=tuple(clinicians[1:]), internal=True, **fields,
    )


def refused(code: str, call, *args):
    with pytest.raises(FrontdeskError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def everything(ctx):
    return list_appointments(ctx, AppointmentFilter(limit=100)).items


def offered_starts(ctx, clinician_id: str) -> set:
    result = query_availability(ctx, AvailabilityQuery(
        appointment_type_id="type_followup", start_date="2025-01-20", end_date="2025-01-20",
        clinician_id=clinician_id, location_id="loc_central",
    ))
    return {slot.start_time for slot in result.slots}


# --- staff time ----------------------------------------------------------------------------


def test_staff_time_of_several_days_is_busy_in_a_day_of_its_middle(clinic):
    """A row longer than a day is read on its own (busy_times.long_span): a query of a day
    inside it still sees it, though the row ends days after the day asked about."""
    assert offered_starts(clinic, "cli_tom")
    away = create_appointment(clinic, staff_time(start=TEN - timedelta(days=2), minutes=5 * 24 * 60,
                                                 clinicians=("cli_tom",), title="Conference"))
    assert offered_starts(clinic, "cli_tom") == set()
    refused("SLOT_UNAVAILABLE", create_appointment, clinic, AppointmentCreate(
        title="Check-up", start_time=TEN, end_time=TEN + timedelta(minutes=30),
        clinician_profile_id="cli_tom", patient_id="pat_mary_jones"))
    cancel_appointment(clinic, away.id, "Conference called off")
    assert TEN in offered_starts(clinic, "cli_tom")


def test_staff_time_is_busy_for_every_clinician_on_it_and_hosted_by_the_first(clinic):
    assert TEN in offered_starts(clinic, "cli_tom") and TEN in offered_starts(clinic, "cli_sarah")
    made = create_appointment(clinic, staff_time(reference_patient_ids=("pat_john_smith",)))
    assert (made.internal, made.host, made.clinician_profile_id) == (True, "cli_tom", "cli_tom")
    assert made.patient_id is None and made.status == "confirmed"
    assert made.resource_ids == ["cli_sarah", "cli_tom"]
    assert made.reference_patients == ["pat_john_smith"]
    assert get_appointment(clinic, made.id) == made
    # Availability no longer offers that hour to either of them.
    for clinician in ("cli_tom", "cli_sarah"):
        starts = offered_starts(clinic, clinician)
        assert TEN not in starts and TEN + timedelta(minutes=30) not in starts
    # Neither can be booked over it, through the one booking rule.
    for clinician in ("cli_tom", "cli_sarah"):
        refused("SLOT_UNAVAILABLE", create_appointment, clinic, AppointmentCreate(
            title="Check-up", start_time=TEN + timedelta(minutes=15), end_time=TEN + timedelta(minutes=45),
            clinician_profile_id=clinician, patient_id="pat_mary_jones"))
        refused("SLOT_UNAVAILABLE", create_hold, clinic, HoldRequest(
            appointment_type_id="type_followup", clinician_id=clinician, start=TEN, location_id="loc_central"))


def test_staff_time_is_refused_whole_when_any_clinician_is_busy(clinic):
    create_appointment(clinic, AppointmentCreate(title="Check-up", start_time=TEN, end_time=TEN + timedelta(minutes=30),
                                               clinician_profile_id="cli_sarah", patient_id="pat_mary_jones"))
    error = refused("SLOT_UNAVAILABLE", create_appointment, clinic, staff_time())
    assert list(error.details["resource_ids"]) == ["cli_sarah", "cli_tom"]
    assert [a.title for a in everything(clinic)] == ["Check-up"]
    assert TEN in offered_starts(clinic, "cli_tom")  # nothing of it was written


@pytest.mark.parametrize(("fields", "field"), [
    ({"patient_id": "pat_john_smith"}, "patient_id"),
    ({"reference_patient_ids": ("pat_john_smith", "pat_nobody")}, "reference_patients"),
    ({"appointment_type_id": "type_followup"}, "appointment_type_id"),
    ({"clinicians": ("cli_tom", "cli_tom")}, "clinician_ids"),
])
def test_bad_staff_time_is_a_validation_error_and_writes_nothing(clinic, fields, field):
    error = refused("VALIDATION_ERROR", create_appointment, clinic, staff_time(**fields))
    assert error.details["field"] == field
    assert everything(clinic) == []
    assert TEN in offered_starts(clinic, "cli_tom")


def test_staff_time_fields_on_a_patients_booking_are_refused(clinic):
    for fields, field in (({"other_clinician_ids": ("cli_sarah",)}, "clinician_ids"),
                          ({"reference_patient_ids": ("pat_john_smith",)}, "reference_patients")):
        error = refused("VALIDATION_ERROR", create_appointment, clinic, AppointmentCreate(
            title="Check-up", start_time=TEN, end_time=TEN + timedelta(minutes=30), clinician_profile_id="cli_tom",
            patient_id="pat_mary_jones", **fields))
        assert error.details["field"] == field
    assert everything(clinic) == []


def test_staff_time_is_no_patients_booking_but_each_clinician_finds_it(clinic):
    made = create_appointment(clinic, staff_time(reference_patient_ids=("pat_john_smith",)))
    for patient in ("pat_john_smith", "pat_mary_jones"):
        assert list_appointments(clinic, AppointmentFilter(patient_id=patient)).items == []
    for clinician in ("cli_tom", "cli_sarah"):
        assert [a.id for a in list_appointments(clinic, AppointmentFilter(clinician_id=clinician)).items] == [made.id]
    assert list_appointments(clinic, AppointmentFilter(clinician_id="cli_nina")).items == []


def test_staff_time_has_no_visit_actions_but_cancels_and_moves(clinic):
    made = create_appointment(clinic, staff_time(start=utc(2025, 1, 20, 7, 30), minutes=30))
    for action in ("check-in", "start", "complete", "no-show"):
        error = refused("INVALID_STATE_TRANSITION", act_on_appointment, clinic, made.id, action)
        assert error.details == {"current_status": "confirmed", "attendance_status": None,
                                 "attempted_action": action, "internal": True}
    assert get_appointment(clinic, made.id).version == made.version  # nothing changed
    # A move onto a hold would drop its other clinicians: refused; a new time works.
    refused("INVALID_STATE_TRANSITION", create_hold, clinic, HoldRequest(
        appointment_type_id="type_followup", clinician_id="cli_tom", start=TEN, location_id="loc_central",
        reschedule_appointment_id=made.id))
    moved = update_appointment(clinic, made.id, {"start_time": TEN, "end_time": TEN + timedelta(minutes=30)})
    assert TEN not in offered_starts(clinic, "cli_sarah")
    cancelled = cancel_appointment(clinic, moved.id, "Rescheduled next week").appointment
    assert cancelled.status == "cancelled"
    assert TEN in offered_starts(clinic, "cli_sarah") and TEN in offered_starts(clinic, "cli_tom")


def test_day_list_shows_staff_time_but_never_as_a_visit(clinic):
    made = create_appointment(clinic, staff_time(location_id="loc_central", room_id="res_room_2"))
    rows = agenda(clinic, location_id="loc_central", day=MONDAY).items
    assert [(r.appointment.id, r.patient_name, r.clinician_name) for r in rows] == [
        (made.id, None, "Tom Baker, Dr. Sarah Johnson")]
    assert agenda(clinic, location_id="loc_central", day=MONDAY, to_do=True).items == []
    assert [r.appointment.id for r in agenda(clinic, location_id="loc_central", day=MONDAY, clinician_id="cli_sarah").items] == [made.id]
    # Staff time without a place is on the day of its host's site.
    other = create_appointment(clinic, staff_time(start=TEN + timedelta(hours=4)))
    assert other.id in [r.appointment.id for r in agenda(clinic, location_id="loc_central", day=MONDAY).items]


# --- video ---------------------------------------------------------------------------------


def remote_hold(ctx, start=utc(2025, 1, 20, 17)):
    return create_hold(ctx, HoldRequest(appointment_type_id="type_followup", clinician_id="cli_sarah", start=start,
                                        is_remote=True))


def assert_linked(apt):
    assert apt.interaction_type == "video_call"
    assert apt.video_call is not None and apt.video_call.meeting_id
    assert apt.video_call.join_url == apt.video_link == apt.meeting_url == JOIN + apt.video_call.meeting_id
    assert (apt.remote_channel, apt.video_provider) == ("video", "video.riverside-health.example")
    assert len(apt.video_call.meeting_id) >= 20 and all(c.isalnum() or c in "-_" for c in apt.video_call.meeting_id)


def test_each_remote_booking_gets_its_own_link(clinic):
    confirmed = confirm_hold(clinic, remote_hold(clinic).id, ConfirmRequest(patient_id="pat_john_smith"))
    direct = create_appointment(clinic, AppointmentCreate(
        title="Call", start_time=TEN, end_time=TEN + timedelta(minutes=15), clinician_profile_id="cli_nina",
        patient_id="pat_mary_jones", is_remote=True))
    for apt in (confirmed, direct):
        assert_linked(apt)
        assert get_appointment(clinic, apt.id) == apt
    assert confirmed.video_call.meeting_id != direct.video_call.meeting_id
    in_person = create_appointment(clinic, AppointmentCreate(
        title="Check-up", start_time=TEN, end_time=TEN + timedelta(minutes=30), clinician_profile_id="cli_tom",
        location_id="loc_central", patient_id="pat_ann_smithers"))
    assert (in_person.interaction_type, in_person.video_call, in_person.video_link, in_person.meeting_url) == (
        "in_person", None, None, None)


def test_a_move_onto_a_remote_slot_gives_a_link_and_back_in_person_clears_it(clinic):
    booked = confirm_hold(clinic, create_hold(clinic, HoldRequest(
        appointment_type_id="type_followup", clinician_id="cli_sarah", start=TEN, location_id="loc_central")).id,
        ConfirmRequest(patient_id="pat_john_smith"))
    assert booked.video_call is None
    hold = create_hold(clinic, HoldRequest(appointment_type_id="type_followup", clinician_id="cli_sarah",
                                         start=utc(2025, 1, 20, 17), is_remote=True, reschedule_appointment_id=booked.id))
    remote = reschedule_appointment(clinic, booked.id, hold.id)
    assert_linked(remote)
    # Another remote time keeps the same meeting: the patient may have the link already.
    hold = create_hold(clinic, HoldRequest(appointment_type_id="type_followup", clinician_id="cli_sarah",
                                         start=utc(2025, 1, 20, 18), is_remote=True, reschedule_appointment_id=booked.id))
    again = reschedule_appointment(clinic, booked.id, hold.id)
    assert again.video_call == remote.video_call
    hold = create_hold(clinic, HoldRequest(appointment_type_id="type_followup", clinician_id="cli_sarah",
                                         start=TEN, location_id="loc_central", reschedule_appointment_id=booked.id))
    back = reschedule_appointment(clinic, booked.id, hold.id)
    assert (back.interaction_type, back.video_call, back.video_link, back.meeting_url) == ("in_person", None, None, None)
    cleared = {c.field: (c.old, c.new) for c in back.change_log[len(again.change_log):]}
    assert cleared["video_link"] == (remote.video_link, None)
    assert cleared["meeting_id"] == (remote.video_call.meeting_id, None)


def test_without_a_template_a_remote_booking_has_a_meeting_but_no_link(ctx):
    load(ctx, with_template(None))
    apt = confirm_hold(ctx, remote_hold(ctx).id, ConfirmRequest(patient_id="pat_john_smith"))
    assert apt.interaction_type == "video_call"
    assert apt.video_call is not None and apt.video_call.meeting_id and apt.video_call.join_url is None
    assert (apt.video_link, apt.meeting_url, apt.remote_channel) == (None, None, "video")


@pytest.mark.parametrize("template", [
    "https://video.example.org/join/",  # no {meeting_id}
    "https://video.example.org/join/{meetingid}",
    "video.example.org/{meeting_id}",  # not a web address
    "https://video.example.org/join me/{meeting_id}",
])
def test_a_template_without_meeting_id_loads_nothing(ctx, template):
    with pytest.raises(FrontdeskError) as caught:
        load(ctx, with_template(template))
    assert caught.value.code == "VALIDATION_ERROR"
    assert any(e.startswith("clinic.video_url_template: ") for e in caught.value.details["errors"]), caught.value.details
    refused("NOT_FOUND", get_appointment, ctx, "apt_any")  # the database answers, and holds nothing
    assert everything(ctx) == []


def test_a_bad_template_on_reload_keeps_the_one_stored(clinic):
    with pytest.raises(FrontdeskError):
        load(clinic, with_template("https://video.example.org/join/"))
    direct = create_appointment(clinic, AppointmentCreate(
        title="Call", start_time=TEN, end_time=TEN + timedelta(minutes=15), clinician_profile_id="cli_nina",
        is_remote=True))
    assert direct.video_link.startswith(JOIN)


def test_clinic_file_remote_appointments_get_a_link_and_keep_it_on_reload(ctx):
    data = with_template()
    data["appointments"] = [
        {"id": "apt_video", "patient_id": "pat_john_smith", "clinician_profile_id": "cli_nina", "title": "Call",
         "start_time": "2025-01-21T10:00:00Z", "end_time": "2025-01-21T10:15:00Z", "is_remote": True},
        {"id": "apt_own_link", "patient_id": "pat_mary_jones", "clinician_profile_id": "cli_nina", "title": "Call",
         "start_time": "2025-01-21T11:00:00Z", "end_time": "2025-01-21T11:15:00Z", "is_remote": True,
         "meeting_url": "https://meet.example.com/own"},
    ]
    load_clinic_data(ctx, data, "test")
    made = get_appointment(ctx, "apt_video")
    assert_linked(made)
    own = get_appointment(ctx, "apt_own_link")
    assert (own.meeting_url, own.video_link, own.video_call.join_url, own.video_call.meeting_id) == (
        "https://meet.example.com/own", None, "https://meet.example.com/own", None)
    report = load_clinic_data(ctx, copy.deepcopy(data), "test")
    assert report.changes["appointments"] == {"added": [], "changed": [], "kept": [], "removed": []}
    assert get_appointment(ctx, "apt_video") == made
    # The file makes it in person: the link frontdesk made goes.
    data["appointments"][0].update(is_remote=False, location_id="loc_central")
    load_clinic_data(ctx, copy.deepcopy(data), "test")
    moved = get_appointment(ctx, "apt_video")
    assert (moved.video_call, moved.video_link, moved.meeting_url) == (None, None, None)
    assert load_clinic_data(ctx, copy.deepcopy(data), "test").changes["appointments"]["changed"] == []


# --- the UI --------------------------------------------------------------------------------


async def test_day_list_shows_staff_time_and_its_keys_refuse_plainly(desk):
    made = create_appointment(desk, AppointmentCreate(
        title="Case review", start_time=utc(2025, 1, 20, 7, 0), end_time=utc(2025, 1, 20, 7, 30),
        clinician_profile_id="cli_amara_okafor", other_clinician_ids=("cli_tom_lindqvist",), internal=True,
        location_id="loc_central", reference_patient_ids=("pat_oliver_bennett",)))
    async with running(desk, size=(120, 40)) as (app, pilot):
        table = app.screen.query_one("#agenda", DataTable)
        rows = appointment_rows(table)
        staff = next(row for row in rows if "Staff: Case review" in row)
        # Started half an hour before the clock, yet never "late": it is no visit.
        assert staff.endswith("staff") and "late" not in staff
        table.move_cursor(row=table.get_row_index(made.id))
        for key in ("i", "N"):
            await pilot.press(key)
            await settle(pilot)
        shown = " ".join(notifications(app))
        assert "Check in (arrived): not for staff time" in shown and "No-show: not for staff time" in shown
        assert get_appointment(desk, made.id).version == made.version
        await pilot.press("T")  # to do: staff time is never a visit to see to
        await settle(pilot)
        assert not any("Staff:" in row for row in appointment_rows(table))
        await pilot.press("T")
        await settle(pilot)
        table.move_cursor(row=table.get_row_index(made.id))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        text = screen_text(app)
        assert "Staff time (no patient)" in text
        assert "Dr. Amara Okafor, Tom Lindqvist" in text
        assert "Oliver Bennett" in text
        assert "Booked by     desk-1 · 20 Jan 2025 08:00 GMT" in text
        assert "Born / phone" not in text
        assert "Copy link" not in text  # no link, no key


async def test_appointment_screen_shows_the_link_in_full_and_copies_it(desk):
    apt = create_appointment(desk, AppointmentCreate(
        title="Video review", start_time=utc(2025, 1, 20, 19), end_time=utc(2025, 1, 20, 19, 30),
        clinician_profile_id="cli_amara_okafor", patient_id="pat_oliver_bennett", is_remote=True))
    link = apt.video_link
    assert link.startswith(JOIN)
    async with running(desk, size=(80, 40)) as (app, pilot):
        assert isinstance(app.screen, AgendaScreen)
        app.push_screen(AppointmentScreen(apt.id))
        await settle(pilot)
        text = screen_text(app)
        # 80 columns are too few for the link on one line: it wraps, and none of it is cut.
        assert link not in text
        assert link in "".join("".join(text.split("Booked by")[0].split("Video link")[1:]).split())
        assert "Copy link" in text
        await pilot.press("l")
        await settle(pilot)
        assert app.clipboard == link
        assert any("Link copied" in shown for shown in notifications(app))



# --- the command line ------------------------------------------------------------------------


def cli(capsys, db: str, *argv: str) -> tuple[int, dict]:
    import json

    from frontdesk.cli.main import main

    code = main([*argv, "--db", db, "--now", "2025-01-20T08:00:00Z", "--operator", "cli-desk"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def cli_db(tmp_path, capsys) -> str:
    import json

    db, path = str(tmp_path / "cli.db"), tmp_path / "clinic.json"
    path.write_text(json.dumps(with_template()))
    code, doc = cli(capsys, db, "load", str(path))
    assert code == 0, doc
    return db


STAFF_ARGS = ("appointments", "create", "--internal", "--clinician", "cli_tom", "--clinician", "cli_sarah",
              "--title", "Case review", "--start-time", "2025-01-20T10:00:00Z", "--end-time", "2025-01-20T11:00:00Z")


def test_cli_creates_staff_time_for_several_clinicians(capsys, cli_db):
    code, doc = cli(capsys, cli_db, *STAFF_ARGS, "--reference-patient", "pat_john_smith", "--location", "loc_central")
    assert code == 0, doc
    made = doc["data"]
    assert (made["object"], made["internal"], made["host"], made["patient_id"]) == ("appointment", True, "cli_tom", None)
    assert made["resource_ids"] == ["cli_sarah", "cli_tom"] and made["reference_patients"] == ["pat_john_smith"]
    assert (made["interaction_type"], made["video_call"], made["created_by"]) == ("in_person", None, "cli-desk")
    code, doc = cli(capsys, cli_db, "appointments", "list", "--clinician", "cli_sarah")
    assert [a["id"] for a in doc["data"]] == [made["id"]]
    code, doc = cli(capsys, cli_db, "appointments", "list", "--patient", "pat_john_smith")
    assert doc["data"] == []
    code, doc = cli(capsys, cli_db, "appointments", "check-in", made["id"])
    assert (code, doc["error"]["code"]) == (1, "INVALID_STATE_TRANSITION")
    code, doc = cli(capsys, cli_db, *STAFF_ARGS)  # the same hour again: both are busy now
    assert (code, doc["error"]["code"]) == (1, "SLOT_UNAVAILABLE")
    code, doc = cli(capsys, cli_db, *STAFF_ARGS, "--allow-overlap", "Urgent huddle")
    assert code == 0 and doc["data"]["overlap_reason"] == "Urgent huddle"
    code, doc = cli(capsys, cli_db, "appointments", "cancel", made["id"], "--reason", "Moved to Friday")
    assert code == 0 and doc["data"]["status"] == "cancelled"


@pytest.mark.parametrize(("extra", "field"), [
    (("--patient", "pat_john_smith"), "patient_id"),
    (("--reference-patient", "pat_nobody"), "reference_patients"),
])
def test_cli_refuses_bad_staff_time_and_writes_nothing(capsys, cli_db, extra, field):
    code, doc = cli(capsys, cli_db, *STAFF_ARGS, *extra)
    assert (code, doc["data"], doc["error"]["code"], doc["error"]["details"]["field"]) == (1, None, "VALIDATION_ERROR", field)
    code, doc = cli(capsys, cli_db, "appointments", "list")
    assert doc["data"] == []


def test_cli_remote_booking_carries_its_video_call(capsys, cli_db):
    code, doc = cli(capsys, cli_db, "appointments", "create", "--title", "Call", "--clinician", "cli_nina",
                    "--patient", "pat_mary_jones", "--remote", "--start-time", "2025-01-20T10:00:00Z",
                    "--end-time", "2025-01-20T10:15:00Z")
    assert code == 0, doc
    apt = doc["data"]
    meeting = apt["video_call"]["meeting_id"]
    assert apt["video_call"] == {"join_url": JOIN + meeting, "meeting_id": meeting}
    assert apt["video_link"] == apt["meeting_url"] == JOIN + meeting and apt["interaction_type"] == "video_call"


def test_cli_load_names_a_template_without_meeting_id(capsys, tmp_path):
    import json

    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(with_template("https://video.example.org/join/")))
    code, doc = cli(capsys, str(tmp_path / "x.db"), "load", str(path))
    assert (code, doc["error"]["code"]) == (1, "VALIDATION_ERROR")
    assert doc["error"]["details"]["errors"] == [
        'clinic.video_url_template: "https://video.example.org/join/" must contain {meeting_id} '
        "(where each booking's own meeting id goes)"]
