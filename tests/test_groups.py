"""Groups with attendees (booking.md "Groups", issue 12): one appointment per start,
clinician and room of a type with capacity above 1; its patients are attendees; seats taken
= attendees going + active seat holds. Through the services and the CLI.

The class of booking_clinic: type_class, capacity 3, Tom in the Gym, Monday 10:00 London.
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest
from booking_clinic import CLINIC, load, utc
from sqlalchemy import select

from frontdesk.cli.main import main
from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    cancel_appointment,
    create_appointment,
    get_appointment,
    list_appointments,
)
from frontdesk.services.attendees import add_attendee, remove_attendee, update_attendee
from frontdesk.services.availability import query_availability
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold, create_hold, get_hold
from frontdesk.services.objects import (
    AppointmentCreate,
    AppointmentFilter,
    AvailabilityQuery,
    ConfirmRequest,
    HoldRequest,
    NewPatient,
)
from frontdesk.store.models import Base, BusyTime

TEN = utc(2025, 1, 20, 10)
JOHN, MARY, ANN = "pat_john_smith", "pat_mary_jones", "pat_ann_smithers"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    return f"sqlite:///{tmp_path / 'g.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def desk_at(db, at, operator="reception") -> Context:
    return Context.open(db, clock=FakeClock(at), operator=operator)


@pytest.fixture
def ctx(db):
    ctx = desk_at(db, utc(2025, 1, 20, 8))
    load(ctx)
    yield ctx
    ctx.db.dispose()


def refused(code, call, *args, **kwargs) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def hold_seat(ctx, start=TEN):
    return create_hold(ctx, HoldRequest(appointment_type_id="type_class", clinician_id="cli_tom", start=start,
                                        location_id="loc_central"))


def book_seat(ctx, patient_id, **request):
    return confirm_hold(ctx, hold_seat(ctx).id, ConfirmRequest(patient_id=patient_id, **request))


def seats_left(ctx, at=TEN) -> int | None:
    result = query_availability(ctx, AvailabilityQuery(appointment_type_id="type_class", start_date="2025-01-20",
                                                       end_date="2025-01-20", clinician_id="cli_tom"))
    return next((s.seats_left for s in result.slots if s.start_time == at), None)


def going(view) -> list[str]:
    return sorted(a.id for a in view.attendees if a.attendance_status == "going")


def busy_seats(ctx, appointment_id) -> list[int]:
    with ctx.db.session(write=False) as session:
        return list(session.scalars(select(BusyTime.seats).where(BusyTime.appointment_id == appointment_id)))


# --- seat holds join one group appointment ---------------------------------------------------


def test_confirmed_seats_join_one_group_appointment(ctx):
    first = book_seat(ctx, JOHN)
    assert first.group and first.patient_id is None and first.title == "Back Class"
    assert [(a.id, a.attendance_status, a.payment_status, a.no_show) for a in first.attendees] == [
        (JOHN, "going", "not_applicable", False)]
    second_hold = hold_seat(ctx)
    second = confirm_hold(ctx, second_hold.id, ConfirmRequest(patient_id=MARY, payment_status="paid"))
    assert second.id == first.id
    assert going(second) == [JOHN, MARY]
    assert {a.id: a.payment_status for a in second.attendees}[MARY] == "paid"
    assert second.version == first.version + 1
    assert [c.field for c in second.change_log] == ["attendees", "attendees"]
    # The hold tells which appointment it became, the second seat's too.
    assert get_hold(ctx, second_hold.id).appointment_id == first.id
    # One appointment on the list, and one set of busy rows standing for the two seats.
    assert [a.id for a in list_appointments(ctx, AppointmentFilter()).items] == [first.id]
    assert busy_seats(ctx, first.id) == [2, 2]  # Tom and the Gym


def test_seats_left_counts_attendees_going_and_seat_holds(ctx):
    assert seats_left(ctx) == 3
    book_seat(ctx, JOHN)
    assert seats_left(ctx) == 2
    hold_seat(ctx)
    assert seats_left(ctx) == 1
    book_seat(ctx, MARY)
    # Full: the slot is no longer offered, and neither a hold nor an add gets in.
    assert seats_left(ctx) is None
    refused("SLOT_UNAVAILABLE", hold_seat, ctx)


def test_a_full_group_refuses_another_attendee_and_writes_nothing(ctx):
    group = book_seat(ctx, JOHN)
    book_seat(ctx, MARY)
    hold_seat(ctx)  # the third seat, held by another desk
    refused("SLOT_UNAVAILABLE", add_attendee, ctx, group.id, ANN)
    after = get_appointment(ctx, group.id)
    assert going(after) == [JOHN, MARY] and after.version == group.version + 1


def test_a_patient_already_going_is_refused_and_the_hold_stays(ctx):
    group = book_seat(ctx, JOHN)
    hold = hold_seat(ctx)
    error = refused("VALIDATION_ERROR", confirm_hold, ctx, hold.id, ConfirmRequest(patient_id=JOHN))
    assert error.details["field"] == "patient_id"
    assert get_hold(ctx, hold.id).status == "active"
    assert get_appointment(ctx, group.id).version == group.version
    error = refused("VALIDATION_ERROR", add_attendee, ctx, group.id, JOHN)
    assert error.details["field"] == "patient_id"


def test_a_new_patient_can_take_a_seat(ctx):
    group = book_seat(ctx, JOHN)
    joined = confirm_hold(ctx, hold_seat(ctx).id, ConfirmRequest(new_patient=NewPatient("Lena", "Ortiz")))
    assert joined.id == group.id
    assert sorted(a.name for a in joined.attendees) == ["John Smith", "Lena Ortiz"]


def test_another_start_is_another_group(ctx):
    ten = book_seat(ctx, JOHN)
    eleven = confirm_hold(ctx, hold_seat(ctx, TEN + timedelta(hours=1)).id, ConfirmRequest(patient_id=JOHN))
    assert eleven.id != ten.id and going(eleven) == [JOHN]


def test_a_cancelled_group_is_not_joined(ctx):
    old = book_seat(ctx, JOHN)
    cancel_appointment(ctx, old.id, "Teacher ill")
    new = book_seat(ctx, MARY)
    assert new.id != old.id and going(new) == [MARY]


# --- attendees add / remove / update -----------------------------------------------------------


def test_add_update_remove_keep_seats_version_and_change_log(ctx):
    group = book_seat(ctx, JOHN)
    added = add_attendee(ctx, group.id, MARY, payment_status="pending", expect_version=group.version)
    assert going(added) == [JOHN, MARY] and added.version == group.version + 1
    assert added.change_log[-1].old is None
    assert added.change_log[-1].new == {"patient_id": MARY, "attendance_status": "going", "no_show": False,
                                        "payment_status": "pending"}
    assert busy_seats(ctx, group.id) == [2, 2]
    assert seats_left(ctx) == 1

    paid = update_attendee(ctx, group.id, MARY, payment_status="paid")
    assert {a.id: a.payment_status for a in paid.attendees}[MARY] == "paid"
    assert (paid.change_log[-1].old["payment_status"], paid.change_log[-1].new["payment_status"]) == ("pending", "paid")

    away = update_attendee(ctx, group.id, MARY, attendance_status="not_going")
    assert going(away) == [JOHN] and MARY in [a.id for a in away.attendees]  # kept, seat free
    assert busy_seats(ctx, group.id) == [1, 1] and seats_left(ctx) == 2

    back = update_attendee(ctx, group.id, MARY, attendance_status="going")
    assert going(back) == [JOHN, MARY] and busy_seats(ctx, group.id) == [2, 2]

    removed = remove_attendee(ctx, group.id, MARY, expect_version=back.version)
    assert [a.id for a in removed.attendees] == [JOHN] and removed.version == back.version + 1
    assert removed.change_log[-1].new is None and removed.change_log[-1].old["patient_id"] == MARY
    assert busy_seats(ctx, group.id) == [1, 1] and seats_left(ctx) == 2


def test_going_again_needs_a_free_seat(ctx):
    group = book_seat(ctx, JOHN)
    add_attendee(ctx, group.id, MARY)
    update_attendee(ctx, group.id, MARY, attendance_status="not_going")
    add_attendee(ctx, group.id, ANN)
    hold_seat(ctx)  # the last seat
    refused("SLOT_UNAVAILABLE", update_attendee, ctx, group.id, MARY, attendance_status="going")
    assert going(get_appointment(ctx, group.id)) == [ANN, JOHN]


def test_bad_attendee_changes_are_refused_naming_the_field(ctx):
    group = book_seat(ctx, JOHN)
    assert refused("VALIDATION_ERROR", add_attendee, ctx, group.id, "pat_nobody").details["field"] == "patient_id"
    assert refused("VALIDATION_ERROR", add_attendee, ctx, group.id, MARY,
                   payment_status="free").details["field"] == "payment_status"
    assert refused("VALIDATION_ERROR", update_attendee, ctx, group.id, JOHN,
                   attendance_status="maybe").details["field"] == "attendance_status"
    assert refused("VALIDATION_ERROR", remove_attendee, ctx, group.id, MARY).details["field"] == "patient_id"
    conflict = refused("VERSION_CONFLICT", add_attendee, ctx, group.id, MARY, expect_version=group.version - 1)
    assert conflict.details["current_version"] == group.version
    assert get_appointment(ctx, group.id).version == group.version  # nothing written


def test_one_to_one_and_cancelled_appointments_have_no_attendees(ctx):
    single = create_appointment(ctx, AppointmentCreate(
        title="Check", start_time=utc(2025, 1, 21, 9), end_time=utc(2025, 1, 21, 9, 30), patient_id=JOHN,
        clinician_profile_id="cli_sarah"))
    assert refused("VALIDATION_ERROR", add_attendee, ctx, single.id, MARY).details["field"] == "appointment_id"
    group = book_seat(ctx, JOHN)
    cancel_appointment(ctx, group.id, "Teacher ill")
    error = refused("INVALID_STATE_TRANSITION", add_attendee, ctx, group.id, MARY)
    assert error.details["current_status"] == "cancelled"
    refused("INVALID_STATE_TRANSITION", update_attendee, ctx, group.id, JOHN, payment_status="paid")


def test_no_show_is_marked_per_attendee_once_the_class_has_begun(db, ctx):
    group = book_seat(ctx, JOHN)
    add_attendee(ctx, group.id, MARY)
    refused("INVALID_STATE_TRANSITION", update_attendee, ctx, group.id, MARY, no_show=True)
    later = desk_at(db, TEN + timedelta(minutes=20))
    marked = update_attendee(later, group.id, MARY, no_show=True)
    assert {a.id: a.no_show for a in marked.attendees} == {JOHN: False, MARY: True}
    assert marked.change_log[-1].changed_by == "reception"
    later.db.dispose()


def test_list_by_patient_finds_the_groups_they_attend(ctx):
    group = book_seat(ctx, JOHN)
    add_attendee(ctx, group.id, MARY)
    update_attendee(ctx, group.id, MARY, attendance_status="not_going")
    for patient in (JOHN, MARY):
        assert [a.id for a in list_appointments(ctx, AppointmentFilter(patient_id=patient)).items] == [group.id]
    assert list_appointments(ctx, AppointmentFilter(patient_id=ANN)).items == []


# --- the CLI ----------------------------------------------------------------------------


def cli(capsys, db, *argv) -> tuple[int, dict]:
    code = main([*argv, "--db", db, "--now", "2025-01-20T08:00:00Z"])
    return code, json.loads(capsys.readouterr().out)


def test_cli_attendees_add_update_remove(capsys, tmp_path):
    db = str(tmp_path / "cli.db")
    clinic = tmp_path / "clinic.json"
    clinic.write_text(json.dumps(CLINIC))
    assert cli(capsys, db, "load", str(clinic))[0] == 0
    code, doc = cli(capsys, db, "holds", "create", "--appointment-type", "type_class", "--clinician", "cli_tom",
                    "--location", "loc_central", "--start", "2025-01-20T10:00:00Z")
    assert code == 0, doc
    code, doc = cli(capsys, db, "holds", "confirm", doc["data"]["id"], "--patient", JOHN)
    group = doc["data"]
    assert group["group"] is True and group["patient_id"] is None
    code, doc = cli(capsys, db, "appointments", "attendees", "add", group["id"], "--patient", MARY,
                    "--payment-status", "pending", "--expect-version", str(group["version"]))
    assert code == 0, doc
    assert [(a["id"], a["attendance_status"], a["payment_status"]) for a in doc["data"]["attendees"]] == [
        (JOHN, "going", "not_applicable"), (MARY, "going", "pending")]
    code, doc = cli(capsys, db, "appointments", "attendees", "update", group["id"], "--patient", MARY,
                    "--attendance-status", "not_going", "--payment-status", "paid")
    assert code == 0 and doc["data"]["attendees"][1]["attendance_status"] == "not_going"
    code, doc = cli(capsys, db, "appointments", "attendees", "remove", group["id"], "--patient", MARY)
    assert code == 0 and [a["id"] for a in doc["data"]["attendees"]] == [JOHN]
    code, doc = cli(capsys, db, "appointments", "attendees", "add", group["id"], "--patient", "pat_ghost")
    assert code != 0 and doc["error"]["code"] == "VALIDATION_ERROR" and doc["error"]["details"]["field"] == "patient_id"
    code, doc = cli(capsys, db, "appointments", "attendees", "update", group["id"], "--patient", JOHN,
                    "--no-show", "perhaps")
    assert code != 0 and doc["error"]["code"] == "VALIDATION_ERROR"
    code, doc = cli(capsys, db, "appointments", "list", "--patient", JOHN)
    assert [a["id"] for a in doc["data"]] == [group["id"]]


# --- the clinic file ------------------------------------------------------------------------


def with_class_row(**row):
    data = copy.deepcopy(CLINIC)
    data["appointments"] = [{
        "id": "apt_class", "clinician_profile_id": "cli_tom", "appointment_type_id": "type_class",
        "location_id": "loc_central", "resource_ids": ["res_room_2"], "start_time": "2025-01-20T10:00:00Z",
        "end_time": "2025-01-20T11:00:00Z", "status": "confirmed", **row,
    }]
    return data


def dump(ctx) -> dict[str, list]:
    with ctx.db.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(t.select())), key=repr) for t in Base.metadata.sorted_tables}


def test_a_clinic_file_group_row_names_its_attendees_and_reloads_unchanged(ctx):
    load(ctx, with_class_row(attendees=[JOHN, MARY]))
    group = get_appointment(ctx, "apt_class")
    assert group.group and group.patient_id is None and going(group) == [JOHN, MARY]
    assert busy_seats(ctx, "apt_class") == [2, 2] and seats_left(ctx) == 1
    before = dump(ctx)
    load(ctx, with_class_row(attendees=[JOHN, MARY]))
    assert dump(ctx) == before
    # The file changes the roster: the change is logged and the seats follow.
    load(ctx, with_class_row(attendees=[MARY, ANN, JOHN]))
    grown = get_appointment(ctx, "apt_class")
    assert going(grown) == [ANN, JOHN, MARY] and busy_seats(ctx, "apt_class") == [3, 3]
    assert grown.change_log[-1].field == "attendees"
    # A seat booked at the desk joins the loaded group.
    assert confirm_hold(ctx, create_hold(ctx, HoldRequest(
        appointment_type_id="type_class", clinician_id="cli_tom", start=TEN + timedelta(hours=1),
        location_id="loc_central")).id, ConfirmRequest(patient_id=JOHN)).id != "apt_class"


def test_a_desk_roster_change_is_kept_on_reload(ctx):
    load(ctx, with_class_row(attendees=[JOHN]))
    add_attendee(ctx, "apt_class", MARY)
    load(ctx, with_class_row(attendees=[JOHN]))
    assert going(get_appointment(ctx, "apt_class")) == [JOHN, MARY]


def test_a_clinic_file_attendee_may_carry_its_attendance_payment_and_no_show(ctx):
    load(ctx, with_class_row(attendees=[JOHN, {"id": MARY, "payment_status": "paid", "no_show": True},
                                        {"id": ANN, "attendance_status": "not_going"}]))
    group = get_appointment(ctx, "apt_class")
    assert [(a.id, a.attendance_status, a.no_show, a.payment_status) for a in group.attendees] == [
        (JOHN, "going", False, "not_applicable"), (MARY, "going", True, "paid"), (ANN, "not_going", False, "not_applicable")]
    assert busy_seats(ctx, "apt_class") == [2, 2]
    before = dump(ctx)
    load(ctx, with_class_row(attendees=[JOHN, {"id": MARY, "payment_status": "paid", "no_show": True},
                                        {"id": ANN, "attendance_status": "not_going"}]))
    assert dump(ctx) == before


@pytest.mark.parametrize(("row", "field"), [
    ({"attendees": [JOHN, {"id": MARY, "payment_status": "free"}]}, "attendees[1].payment_status"),
    ({"attendees": [JOHN, {"patient": MARY}]}, "attendees[1]"),
    ({"attendees": [JOHN, JOHN]}, "attendees[1]"),
    ({"attendees": [JOHN, "pat_ghost"]}, "attendees[1]"),
    ({"attendees": [JOHN], "patient_id": MARY}, "patient_id"),
    ({"attendees": [JOHN, MARY, ANN, "pat_x"]}, "attendees"),
])
def test_bad_group_rows_are_refused_with_their_place(ctx, row, field):
    data = with_class_row(**row)
    data["patients"] = [*data["patients"], {"id": "pat_x", "first_name": "X", "last_name": "Y"}]
    error = refused("VALIDATION_ERROR", load, ctx, data)
    assert field in json.dumps(error.details)
    assert list_appointments(ctx, AppointmentFilter()).items == []


def test_attendees_on_a_one_to_one_row_are_refused(ctx):
    data = with_class_row(attendees=[JOHN])
    data["appointments"][0].update(appointment_type_id="type_followup", resource_ids=["res_room_1"],
                                   clinician_profile_id="cli_sarah", end_time="2025-01-20T10:30:00Z")
    error = refused("VALIDATION_ERROR", load, ctx, data)
    assert "attendees" in json.dumps(error.details)


def test_the_day_list_shows_a_class_by_its_name_and_seats(ctx):
    from frontdesk.services.day_list import agenda

    group = book_seat(ctx, JOHN)
    add_attendee(ctx, group.id, MARY)
    rows = agenda(ctx, location_id="loc_central", day=date(2025, 1, 20)).items
    assert [(r.appointment.id, r.patient_name) for r in rows] == [(group.id, "Group 2/3")]
