"""FHIR R4 out (interop.md): `--format fhir` on `appointments get/list` and `availability`.

Every document is checked by `fhir.resources`' R4B models: R4B is R4's technical correction
and leaves Appointment, Slot, Schedule and Bundle as R4 has them (the package's default
models are R5, which these documents do not claim to be).
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle as FhirBundle

from booking_clinic import CLINIC, load, utc
from frontdesk.cli.main import main
from frontdesk.services import fhir
from frontdesk.services.appointments import act_on_appointment, cancel_appointment, create_appointment, get_appointment
from frontdesk.services.attendees import add_attendee
from frontdesk.services.holds import confirm_hold, create_hold
from frontdesk.services.objects import AppointmentCreate, ConfirmRequest, HoldRequest

TEN = utc(2025, 1, 20, 10)  # Monday; the clock stands at 08:00Z that morning

# Each status of booking.md (and the day's arrived / in room), how to get there, and its FHIR status.
STATUSES = {
    "pending_approval": ("pending_approval", [], "pending"),
    "pending": ("pending", [], "pending"),
    "confirmed": ("confirmed", [], "booked"),
    "scheduled": ("scheduled", [], "booked"),
    "arrived": ("confirmed", ["check-in"], "arrived"),
    "in_room": ("confirmed", ["check-in", "start"], "arrived"),
    "completed": ("confirmed", ["check-in", "start", "complete"], "fulfilled"),
    "no_show": ("confirmed", ["no-show"], "noshow"),
    "cancelled": ("confirmed", ["cancel"], "cancelled"),
}


@pytest.fixture
def clinic(ctx):
    data = copy.deepcopy(CLINIC)
    data["clinic"]["video_url_template"] = "https://video.example.org/room/{meeting_id}"
    load(ctx, data)
    return ctx


def book(ctx, status="confirmed", start=TEN, **fields):
    ask = {"title": "Follow-up", "start_time": start, "end_time": start + timedelta(minutes=30),
           "patient_id": "pat_john_smith", "clinician_profile_id": "cli_sarah",
           "appointment_type_id": "type_followup", "location_id": "loc_central", "status": status, **fields}
    return create_appointment(ctx, AppointmentCreate(**ask))


def as_fhir(ctx, appointment_id: str) -> dict:
    return fhir.appointment_resource(get_appointment(ctx, appointment_id), fhir.names(ctx))


def references(resource: dict) -> set[str]:
    return {p["actor"]["reference"] for p in resource["participant"]}


@pytest.mark.parametrize("name", list(STATUSES))
def test_every_status_maps_and_validates_as_r4(clinic, name):
    initial, actions, expected = STATUSES[name]
    appointment = book(clinic, initial)
    for action in actions:
        if action == "cancel":
            cancel_appointment(clinic, appointment.id, "Patient rang")
        else:
            if action == "no-show":
                clinic.clock.set(TEN + timedelta(minutes=20))
            act_on_appointment(clinic, appointment.id, action)
    view = get_appointment(clinic, appointment.id)
    assert view.status == (initial if name in ("arrived", "in_room") else name)

    resource = as_fhir(clinic, appointment.id)
    checked = FhirAppointment.model_validate(resource)
    assert checked.status == expected
    assert checked.start.isoformat() == "2025-01-20T10:00:00+00:00"
    assert checked.meta.versionId == str(view.version)
    assert checked.identifier[0].value == appointment.id
    assert references(resource) == {"Patient/pat-john-smith", "Practitioner/cli-sarah", "Location/res-room-1",
                                    "Location/loc-central"}
    if name == "cancelled":
        assert checked.cancelationReason.text == "Patient rang"


def test_a_group_lists_each_attendee_and_a_remote_visit_its_link(clinic):
    hold = create_hold(clinic, HoldRequest("type_class", "cli_tom", start=TEN, location_id="loc_central"))
    group = confirm_hold(clinic, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    add_attendee(clinic, group.id, "pat_mary_jones")
    resource = as_fhir(clinic, group.id)
    FhirAppointment.model_validate(resource)
    patients = {p["actor"]["identifier"]["value"]: p for p in resource["participant"] if p["actor"]["type"] == "Patient"}
    assert set(patients) == {"pat_john_smith", "pat_mary_jones"}
    assert patients["pat_mary_jones"]["actor"]["display"] == "Mary Jones"
    assert "Location/res-room-2" in references(resource)  # the Gym, a room: a Location

    call = book(clinic, "confirmed", start=utc(2025, 1, 20, 15), clinician_profile_id="cli_nina",
                appointment_type_id="type_call", location_id=None, is_remote=True)
    resource = as_fhir(clinic, call.id)
    FhirAppointment.model_validate(resource)
    assert "https://video.example.org/room/" in resource["patientInstruction"]
    assert references(resource) == {"Patient/pat-john-smith", "Practitioner/cli-nina"}


def test_staff_time_lists_every_clinician_and_no_patient(clinic):
    staff = create_appointment(clinic, AppointmentCreate(
        title="Case review", start_time=utc(2025, 1, 20, 11), end_time=utc(2025, 1, 20, 11, 30), internal=True,
        clinician_profile_id="cli_sarah", other_clinician_ids=("cli_tom",), reference_patient_ids=("pat_ann_smithers",)))
    resource = as_fhir(clinic, staff.id)
    FhirAppointment.model_validate(resource)
    assert references(resource) == {"Practitioner/cli-sarah", "Practitioner/cli-tom"}
    assert resource["supportingInformation"][0]["identifier"]["value"] == "pat_ann_smithers"


def test_an_id_fhir_refuses_becomes_a_valid_one():
    assert fhir.fhir_id("apt_1234") == "apt-1234"
    long_one = "x_" * 60
    assert len(fhir.fhir_id(long_one)) == 64
    assert fhir.fhir_id(long_one) != fhir.fhir_id("y_" * 60)


# --- the command line ------------------------------------------------------------------------


def cli(capsys, db, *argv: str) -> dict:
    code = main([*argv, "--db", db, "--now", "2025-01-20T08:00:00Z"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_format_fhir_on_get_list_and_availability(capsys, clinic):
    first, second = book(clinic), book(clinic, "pending", start=utc(2025, 1, 20, 11))
    cancel_appointment(clinic, second.id, None)
    db = str(clinic.db.url)

    one = cli(capsys, db, "appointments", "get", first.id, "--format", "fhir")
    assert FhirAppointment.model_validate(one).identifier[0].value == first.id

    listed = cli(capsys, db, "appointments", "list", "--clinician", "cli_sarah", "--format", "fhir")
    bundle = FhirBundle.model_validate(listed)
    assert bundle.type == "searchset"
    assert [(e.resource.identifier[0].value, e.resource.status) for e in bundle.entry] == [
        (first.id, "booked"), (second.id, "cancelled")]

    slots = cli(capsys, db, "availability", "--appointment-type", "type_followup", "--start-date", "2025-01-20",
                "--end-date", "2025-01-20", "--timezone", "Europe/London", "--format", "fhir")
    bundle = FhirBundle.model_validate(slots)
    matched = [e.resource for e in bundle.entry if e.search.mode == "match"]
    schedules = {f"Schedule/{e.resource.id}": e.resource for e in bundle.entry if e.search.mode == "include"}
    assert matched and all(s.__resource_type__ == "Slot" and s.status == "free" for s in matched)
    # Every slot names a Schedule of its clinician, and the bundle carries each one.
    assert {s.schedule.reference for s in matched} == set(schedules) == {"Schedule/cli-sarah", "Schedule/cli-tom"}
    assert all(s.actor[0].reference.startswith("Practitioner/") for s in schedules.values())
    # The booked ten o'clock is not offered for Sarah.
    assert not any(s.schedule.reference == "Schedule/cli-sarah" and s.start == TEN for s in matched)
    plain = cli(capsys, db, "availability", "--appointment-type", "type_followup", "--start-date", "2025-01-20",
                "--end-date", "2025-01-20", "--timezone", "Europe/London")
    assert len(matched) == len(plain["data"])


def test_format_fhir_errors_keep_the_envelope(capsys, clinic):
    code = main(["appointments", "get", "apt_none", "--format", "fhir", "--db", str(clinic.db.url)])
    assert code == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "NOT_FOUND"
