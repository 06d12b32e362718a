"""Holds: reserve an offered slot for 15 minutes, then confirm, release or let it expire.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from booking_clinic import CLINIC, load, utc

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    cancel_appointment,
    create_appointment,
    get_appointment,
    list_appointments,
)
from frontdesk.services.context import Context
from frontdesk.services.day_list import change_token
from frontdesk.services.holds import confirm_hold, create_hold, get_hold, release_hold
from frontdesk.services.objects import (
    AppointmentCreate,
    AppointmentFilter,
    ConfirmRequest,
    HoldRequest,
    NewPatient,
)
from frontdesk.services.patients import search_patients

NINE = utc(2025, 1, 20, 9)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    return f"sqlite:///{tmp_path / 'h.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture
def desk(db, clock):
    ctx = Context.open(db, clock=clock, operator="reception")
    load(ctx)
    yield ctx
    ctx.db.dispose()


def ask(start=NINE, **fields) -> HoldRequest:
    fields.setdefault("appointment_type_id", "type_followup")
    fields.setdefault("clinician_id", "cli_sarah")
    if "date" not in fields:
        fields["start"] = start
    if not fields.get("is_remote"):
        fields.setdefault("location_id", "loc_central")
    return HoldRequest(**fields)


def refused(code, call, *args):
    with pytest.raises(FrontdeskError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def appointments(ctx):
    return list_appointments(ctx, AppointmentFilter(limit=100)).items


# --- create ------------------------------------------------------------------------------


def test_a_hold_reserves_the_slot_with_its_room_for_15_minutes(desk):
    hold = create_hold(desk, ask())
    assert hold.id.startswith("hold_")
    assert (hold.status, hold.start_time, hold.end_time) == ("active", NINE, NINE + timedelta(minutes=30))
    assert hold.resource_ids == ["cli_sarah", "res_room_1"]
    assert (hold.location_id, hold.is_remote, hold.created_by) == ("loc_central", False, "reception")
    assert hold.expires_at == desk.clock.now() + timedelta(minutes=15)
    assert get_hold(desk, hold.id) == hold


def test_a_room_the_type_does_not_use_cannot_be_held(desk):
    # Follow-ups take Room 1 only; the Gym is free but availability would never offer it.
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask(room_id="res_room_2"))
    assert create_hold(desk, ask(room_id="res_room_1")).resource_ids == ["cli_sarah", "res_room_1"]


def test_date_and_start_time_are_read_in_the_locations_timezone(desk):
    # 21 July: London is on summer time, so 09:00 there is 08:00Z.
    hold = create_hold(desk, ask(date="2025-07-21", start_time="09:00"))
    assert hold.start_time == utc(2025, 7, 21, 8)


def test_a_remote_hold_reads_local_time_in_the_clinicians_timezone_and_takes_no_room(desk):
    hold = create_hold(desk, ask(appointment_type_id="type_call", clinician_id="cli_nina", is_remote=True,
                                 date="2025-01-20", start_time="09:00"))
    assert hold.start_time == utc(2025, 1, 20, 14)  # 09:00 in New York
    assert (hold.location_id, hold.is_remote, hold.resource_ids) == (None, True, ["cli_nina"])


def test_hold_minutes_come_from_the_clinic_file(ctx):
    load(ctx, {**CLINIC, "clinic": {"name": "Quick", "hold_minutes": 5}})
    assert create_hold(ctx, ask()).expires_at == ctx.clock.now() + timedelta(minutes=5)


def test_a_chosen_duration_option_is_held(desk):
    hold = create_hold(desk, ask(duration_minutes=60))
    assert hold.end_time == NINE + timedelta(hours=1)
    refused("VALIDATION_ERROR", create_hold, desk, ask(start=NINE + timedelta(hours=3), duration_minutes=45))


@pytest.mark.parametrize(
    "request_",
    [
        ask(start=utc(2025, 1, 20, 8)),  # before working hours
        ask(start=utc(2025, 1, 20, 16, 45)),  # would end after 17:00
        ask(start=utc(2025, 1, 20, 12, 30)),  # lunch
        ask(clinician_id="cli_nina"),  # does not do follow-ups
        ask(start=utc(2025, 1, 20, 7, 30)),  # before now + notice (it is 08:00)
        ask(start=utc(2025, 1, 18, 10)),  # Saturday, and in the past
    ],
)
def test_only_a_slot_availability_would_offer_can_be_held(desk, request_):
    refused("SLOT_UNAVAILABLE", create_hold, desk, request_)


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"appointment_type_id": "type_none"}, "NOT_FOUND"),
        ({"clinician_id": "cli_none"}, "NOT_FOUND"),
        ({"location_id": "loc_none"}, "NOT_FOUND"),
        ({"date": "2025-01-20"}, "VALIDATION_ERROR"),  # no start_time
        ({"date": "20/01/2025", "start_time": "09:00"}, "VALIDATION_ERROR"),
        ({"date": "2025-01-20", "start_time": "9am"}, "VALIDATION_ERROR"),
    ],
)
def test_bad_hold_requests_are_refused(desk, fields, code):
    refused(code, create_hold, desk, ask(**fields))


def test_a_held_slot_cannot_be_held_or_booked_again(desk):
    create_hold(desk, ask())
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask())
    # Room 1 is held too: Tom cannot have it at nine, and the padding keeps 9:30 taken.
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask(clinician_id="cli_tom"))
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask(start=NINE + timedelta(minutes=30)))
    refused("SLOT_UNAVAILABLE", create_appointment, desk,
            AppointmentCreate(title="Walk-in", start_time=NINE, end_time=NINE + timedelta(minutes=15), clinician_profile_id="cli_sarah"))
    assert create_hold(desk, ask(start=NINE + timedelta(minutes=40))).status == "active"


def test_a_directly_booked_time_cannot_be_held(desk):
    create_appointment(desk, AppointmentCreate(title="Walk-in", start_time=NINE, end_time=NINE + timedelta(minutes=15),
                                               clinician_profile_id="cli_sarah"))
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask())


def test_a_group_class_takes_holds_until_it_is_full(desk):
    klass = ask(appointment_type_id="type_class", clinician_id="cli_tom")
    holds = [create_hold(desk, klass) for _ in range(3)]
    assert {h.start_time for h in holds} == {NINE}
    refused("SLOT_UNAVAILABLE", create_hold, desk, klass)
    release_hold(desk, holds[0].id)
    assert create_hold(desk, klass).status == "active"


# --- expiry ------------------------------------------------------------------------------


def test_an_expired_hold_frees_its_slot_and_cannot_be_confirmed(desk):
    hold = create_hold(desk, ask())
    desk.clock.advance(minutes=15)
    assert get_hold(desk, hold.id).status == "expired"
    error = refused("HOLD_EXPIRED", confirm_hold, desk, hold.id,
                    ConfirmRequest(new_patient=NewPatient("Ada", "Lovelace", "ada@example.com")))
    assert error.details["expires_at"] == "2025-01-20T08:15:00Z"
    assert appointments(desk) == []
    assert search_patients(desk, "lovelace").items == []
    refused("HOLD_EXPIRED", release_hold, desk, hold.id)
    assert create_hold(desk, ask()).status == "active"


def test_one_minute_before_expiry_the_hold_still_confirms(desk):
    hold = create_hold(desk, ask())
    desk.clock.advance(minutes=14, seconds=59)
    assert confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith")).status == "confirmed"


# --- confirm -----------------------------------------------------------------------------


def test_confirm_turns_the_hold_into_a_confirmed_appointment(desk):
    hold = create_hold(desk, ask())
    desk.clock.advance(minutes=4)
    made = confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    assert (made.status, made.title, made.patient_id, made.hold_id) == ("confirmed", "Follow-up Consultation", "pat_john_smith", hold.id)
    assert (made.start_time, made.end_time, made.duration_minutes) == (NINE, NINE + timedelta(minutes=30), 30)
    assert (made.clinician_profile_id, made.location_id, made.appointment_type_id) == ("cli_sarah", "loc_central", "type_followup")
    assert made.resource_ids == ["cli_sarah", "res_room_1"]
    assert (made.attendee_name, made.attendee_email, made.booking_source) == ("John Smith", "john@example.com", "frontdesk")
    assert [(h.status, h.changed_by, h.changed_at) for h in made.status_history] == [("confirmed", "reception", desk.clock.now())]
    assert get_appointment(desk, made.id) == made

    confirmed = get_hold(desk, hold.id)
    assert (confirmed.status, confirmed.appointment_id) == ("confirmed", made.id)
    # The time stays taken, now by the appointment.
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask())
    # Confirmed holds do not expire.
    desk.clock.advance(hours=1)
    assert get_hold(desk, hold.id).status == "confirmed"


def test_confirming_twice_names_the_appointment(desk):
    hold = create_hold(desk, ask())
    made = confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    error = refused("HOLD_NOT_ACTIVE", confirm_hold, desk, hold.id, ConfirmRequest(patient_id="pat_mary_jones"))
    assert error.details == {"hold_id": hold.id, "status": "confirmed", "appointment_id": made.id}
    refused("HOLD_NOT_ACTIVE", release_hold, desk, hold.id)
    assert len(appointments(desk)) == 1


def test_confirm_with_a_new_patient_creates_the_patient(desk):
    hold = create_hold(desk, ask())
    made = confirm_hold(
        desk, hold.id,
        ConfirmRequest(new_patient=NewPatient("Ada", "Lovelace", "ada@example.com", "+44 7700 900123", "1990-12-10"),
                       attendee_name="Ada's carer"),
    )
    [ada] = search_patients(desk, "lovelace").items
    assert made.patient_id == ada.id and ada.id.startswith("pat_")
    assert (ada.email, ada.phone, ada.date_of_birth.isoformat()) == ("ada@example.com", "+44 7700 900123", "1990-12-10")
    assert (made.attendee_name, made.attendee_email) == ("Ada's carer", "ada@example.com")


@pytest.mark.parametrize(
    "confirm, code",
    [
        (ConfirmRequest(), "VALIDATION_ERROR"),
        (ConfirmRequest(patient_id="pat_john_smith", new_patient=NewPatient("A", "B")), "VALIDATION_ERROR"),
        (ConfirmRequest(new_patient=NewPatient("", "Lovelace")), "VALIDATION_ERROR"),
        (ConfirmRequest(new_patient=NewPatient("Ada", "Lovelace", email="ada-at-example")), "VALIDATION_ERROR"),
        (ConfirmRequest(new_patient=NewPatient("Ada", "Lovelace", phone="call me")), "VALIDATION_ERROR"),
        (ConfirmRequest(new_patient=NewPatient("Ada", "Lovelace", date_of_birth="2030-01-01")), "VALIDATION_ERROR"),
        # 10/12/1990 is a date at a GB clinic now (#13); 30 February never is.
        (ConfirmRequest(new_patient=NewPatient("Ada", "Lovelace", date_of_birth="30/02/1990")), "VALIDATION_ERROR"),
        # The same email as John Smith: a duplicate, refused unless allowed.
        (ConfirmRequest(new_patient=NewPatient("Jon", "Smyth", email="JOHN@example.com")), "VALIDATION_ERROR"),
        (ConfirmRequest(patient_id="pat_john_smith", attendee_email="nope"), "VALIDATION_ERROR"),
        (ConfirmRequest(patient_id="pat_nobody"), "NOT_FOUND"),
    ],
)
def test_a_refused_confirm_creates_nothing_and_keeps_the_hold(desk, confirm, code):
    hold = create_hold(desk, ask())
    refused(code, confirm_hold, desk, hold.id, confirm)
    assert get_hold(desk, hold.id).status == "active"
    assert appointments(desk) == []
    assert len(search_patients(desk, "").items) == 3


def test_unknown_holds_are_not_found(desk):
    refused("NOT_FOUND", get_hold, desk, "hold_nothing")
    refused("NOT_FOUND", release_hold, desk, "hold_nothing")
    refused("NOT_FOUND", confirm_hold, desk, "hold_nothing", ConfirmRequest(patient_id="pat_john_smith"))


# --- release -----------------------------------------------------------------------------


def test_release_gives_the_slot_back(desk):
    hold = create_hold(desk, ask())
    released = release_hold(desk, hold.id)
    assert released.status == "released"
    error = refused("HOLD_NOT_ACTIVE", confirm_hold, desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    assert error.details == {"hold_id": hold.id, "status": "released", "appointment_id": None}
    assert create_hold(desk, ask()).status == "active"


def test_cancelling_the_booked_appointment_frees_the_slot(desk):
    hold = create_hold(desk, ask())
    made = confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    cancel_appointment(desk, made.id, "Patient request")
    assert create_hold(desk, ask()).status == "active"


def test_the_change_token_follows_holds(desk):
    tokens = [change_token(desk)]
    first = create_hold(desk, ask())
    tokens.append(change_token(desk))
    release_hold(desk, first.id)
    tokens.append(change_token(desk))
    second = create_hold(desk, ask())
    tokens.append(change_token(desk))
    confirm_hold(desk, second.id, ConfirmRequest(patient_id="pat_john_smith"))
    tokens.append(change_token(desk))
    assert len(set(tokens)) == len(tokens)
