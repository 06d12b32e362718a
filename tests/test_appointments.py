"""Appointments: create (conflicts, overlap, idempotency), update, cancel, list, the day list."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from booking_clinic import load, utc

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    cancel_appointment,
    create_appointment,
    get_appointment,
    list_appointments,
    update_appointment,
)
from frontdesk.services.context import Context
from frontdesk.services.day_list import agenda, change_token
from frontdesk.services.objects import AppointmentCreate, AppointmentFilter

NINE = utc(2025, 1, 20, 9)


@pytest.fixture
def desk(ctx):
    load(ctx)
    return ctx


def booking(start=NINE, minutes=30, **fields) -> AppointmentCreate:
    fields.setdefault("clinician_profile_id", "cli_sarah")
    return AppointmentCreate(
        title=fields.pop("title", "Check-up"), start_time=start, end_time=start + timedelta(minutes=minutes), **fields
    )


def refused(code: str, call, *args):
    with pytest.raises(FrontdeskError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


# --- create ------------------------------------------------------------------------------


def test_create_starts_pending_with_its_first_history_entry(desk):
    made = create_appointment(
        desk,
        booking(patient_id="pat_john_smith", appointment_type_id="type_followup", location_id="loc_central",
                room_id="res_room_1", attendee_email="john@example.com"),
    )
    assert made.id.startswith("apt_")
    assert (made.status, made.duration_minutes, made.booking_source) == ("pending", 30, "frontdesk")
    assert made.resource_ids == ["cli_sarah", "res_room_1"]
    assert [(h.status, h.changed_by, h.changed_at) for h in made.status_history] == [("pending", "tester", desk.clock.now())]
    assert made.change_log == []
    assert get_appointment(desk, made.id) == made


def test_create_may_start_in_any_open_status_but_no_other(desk):
    assert create_appointment(desk, booking(status="scheduled")).status == "scheduled"
    for status in ("cancelled", "completed", "no_show", "bogus"):
        refused("VALIDATION_ERROR", create_appointment, desk, booking(start=NINE + timedelta(hours=2), status=status))


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "  "},
        {"attendee_email": "not-an-email"},
        {"minutes": 0},
        {"minutes": -30},
    ],
)
def test_create_refuses_bad_fields_and_writes_nothing(desk, fields):
    refused("VALIDATION_ERROR", create_appointment, desk, booking(**fields))
    assert list_appointments(desk, AppointmentFilter()).items == []


@pytest.mark.parametrize(
    "fields",
    [{"patient_id": "pat_nobody"}, {"clinician_profile_id": "cli_nobody"}, {"appointment_type_id": "type_nothing"},
     {"location_id": "loc_nowhere"}, {"room_id": "res_no_room"}, {"clinician_profile_id": "res_room_1"}],
)
def test_create_with_an_unknown_id_is_not_found(desk, fields):
    refused("NOT_FOUND", create_appointment, desk, booking(**fields))


def test_the_clinicians_busy_time_refuses_an_overlapping_create(desk):
    first = create_appointment(desk, booking(appointment_type_id="type_followup"))  # busy 9:00-9:40 (padding)
    error = refused("SLOT_UNAVAILABLE", create_appointment, desk, booking(start=NINE + timedelta(minutes=35)))
    assert error.details["conflicts"][0]["id"] == first.id
    # Half-open and padded: free from 9:40.
    assert create_appointment(desk, booking(start=NINE + timedelta(minutes=40))).status == "pending"


def test_the_new_appointments_own_padding_counts(desk):
    create_appointment(desk, booking())  # 9:00-9:30, no type
    # A follow-up 8:25-8:55 is busy until 9:05 with its 10 minutes after.
    refused("SLOT_UNAVAILABLE", create_appointment, desk, booking(start=utc(2025, 1, 20, 8, 25), appointment_type_id="type_followup"))
    assert create_appointment(desk, booking(start=utc(2025, 1, 20, 8, 20), appointment_type_id="type_followup"))


def test_a_busy_room_refuses_another_clinician(desk):
    create_appointment(desk, booking(room_id="res_room_1", location_id="loc_central"))
    refused("SLOT_UNAVAILABLE", create_appointment, desk,
            booking(clinician_profile_id="cli_tom", room_id="res_room_1", location_id="loc_central"))
    assert create_appointment(desk, booking(clinician_profile_id="cli_tom", room_id="res_room_2", location_id="loc_central"))


def test_a_type_that_needs_a_room_takes_its_first_free_room_or_is_refused(desk):
    followup = dict(appointment_type_id="type_followup", location_id="loc_central")
    first = create_appointment(desk, booking(**followup))
    assert first.resource_ids == ["cli_sarah", "res_room_1"]
    # Room 1 is the type's only room: Tom cannot have it at the same time.
    refused("SLOT_UNAVAILABLE", create_appointment, desk, booking(clinician_profile_id="cli_tom", **followup))
    # A remote booking of the same type needs no room.
    remote = create_appointment(desk, booking(clinician_profile_id="cli_tom", appointment_type_id="type_followup",
                                              is_remote=True))
    assert remote.resource_ids == ["cli_tom"]


def test_a_remote_appointment_with_a_location_is_refused(desk):
    refused("VALIDATION_ERROR", create_appointment, desk, booking(is_remote=True, location_id="loc_central"))
    assert list_appointments(desk, AppointmentFilter()).items == []


def test_time_off_refuses_a_create_but_working_hours_are_not_enforced(desk):
    refused("SLOT_UNAVAILABLE", create_appointment, desk, booking(start=utc(2025, 1, 20, 12, 45)))  # lunch
    # Saturday at 07:00 is outside every working hour, and still a valid direct booking.
    assert create_appointment(desk, booking(start=utc(2025, 1, 25, 7))).status == "pending"


def test_an_overlap_is_allowed_with_a_reason_which_is_recorded(desk):
    create_appointment(desk, booking())
    refused("VALIDATION_ERROR", create_appointment, desk, booking(allow_overlap_reason="  "))
    squeezed = create_appointment(desk, booking(allow_overlap_reason="Urgent: squeeze in"))
    assert squeezed.overlap_reason == "Urgent: squeeze in"
    assert [(c.field, c.old, c.new, c.changed_by) for c in squeezed.change_log] == [
        ("overlap_reason", None, "Urgent: squeeze in", "tester")
    ]


def test_a_cancelled_appointment_frees_its_time(desk):
    first = create_appointment(desk, booking())
    cancel_appointment(desk, first.id, "Patient request")
    assert create_appointment(desk, booking()).status == "pending"


def test_a_group_class_shares_its_start_until_it_is_full(desk):
    klass = dict(appointment_type_id="type_class", clinician_profile_id="cli_tom", room_id="res_room_2",
                 location_id="loc_central", minutes=60)
    for n in range(3):
        create_appointment(desk, booking(patient_id=None, title=f"Class {n}", **klass))
    refused("SLOT_UNAVAILABLE", create_appointment, desk, booking(title="Class 4", **klass))
    # Another start overlapping the class is no share of it.
    refused("SLOT_UNAVAILABLE", create_appointment, desk,
            booking(start=NINE + timedelta(minutes=30), title="Late class", **klass))


def test_the_same_idempotency_key_and_body_replays_the_first_answer(desk):
    request = booking(idempotency_key="key-1", patient_id="pat_john_smith")
    first = create_appointment(desk, request)
    desk.clock.advance(minutes=5)
    again = create_appointment(desk, request)
    assert again == first
    assert len(list_appointments(desk, AppointmentFilter()).items) == 1
    error = refused("IDEMPOTENCY_CONFLICT", create_appointment, desk, replace(request, title="Something else"))
    assert error.details["appointment_id"] == first.id


# --- update ------------------------------------------------------------------------------


def test_update_changes_only_the_given_fields_and_logs_each(desk):
    made = create_appointment(desk, booking(attendee_name="John"))
    desk.clock.advance(minutes=3)
    changed = update_appointment(desk, made.id, {"title": "Review", "attendee_email": "j@example.com", "attendee_name": "John"})
    assert (changed.title, changed.attendee_email, changed.attendee_name) == ("Review", "j@example.com", "John")
    assert changed.start_time == made.start_time and changed.status == "pending"
    assert [(c.field, c.old, c.new, c.changed_by, c.changed_at) for c in changed.change_log] == [
        ("title", "Check-up", "Review", "tester", desk.clock.now()),
        ("attendee_email", None, "j@example.com", "tester", desk.clock.now()),
    ]
    assert changed.updated_at == desk.clock.now() != made.updated_at


@pytest.mark.parametrize("changes", [{"status": "confirmed"}, {"colour": "red"}, {"title": ""},
                                     {"attendee_email": "x@"}, {"start_time": "2025-01-20T10:00:00Z"}])
def test_update_refuses_status_unknown_and_bad_fields(desk, changes):
    made = create_appointment(desk, booking())
    refused("VALIDATION_ERROR", update_appointment, desk, made.id, changes)
    assert get_appointment(desk, made.id) == made


def test_a_time_change_is_checked_but_not_against_itself(desk):
    made = create_appointment(desk, booking(appointment_type_id="type_followup"))
    other = create_appointment(desk, booking(start=NINE + timedelta(hours=1)))
    moved = update_appointment(desk, made.id, {"start_time": NINE + timedelta(minutes=20), "end_time": NINE + timedelta(minutes=45)})
    assert moved.duration_minutes == 25
    assert {c.field for c in moved.change_log} == {"start_time", "end_time", "duration_minutes"}
    start_change = next(c for c in moved.change_log if c.field == "start_time")
    assert (start_change.old, start_change.new) == ("2025-01-20T09:00:00Z", "2025-01-20T09:20:00Z")
    # Ending at 9:55 its 10 minutes' padding would run into the other appointment at 10:00.
    refused("SLOT_UNAVAILABLE", update_appointment, desk, made.id, {"end_time": NINE + timedelta(minutes=55)})
    assert get_appointment(desk, made.id) == moved
    # The time it left is free again; the time it took (padding included) is not.
    assert create_appointment(desk, booking(minutes=20))
    refused("SLOT_UNAVAILABLE", create_appointment, desk, booking(start=NINE + timedelta(minutes=50), minutes=5))
    assert other.status == "pending"


def test_a_time_change_may_overlap_with_a_reason(desk):
    made = create_appointment(desk, booking())
    create_appointment(desk, booking(start=NINE + timedelta(hours=1)))
    moved = update_appointment(desk, made.id, {"start_time": NINE + timedelta(hours=1), "end_time": NINE + timedelta(minutes=90),
                                               "allow_overlap_reason": "Double-booked on purpose"})
    assert moved.overlap_reason == "Double-booked on purpose"
    assert "overlap_reason" in {c.field for c in moved.change_log}


def test_end_before_start_on_update_is_refused(desk):
    made = create_appointment(desk, booking())
    refused("VALIDATION_ERROR", update_appointment, desk, made.id, {"end_time": NINE - timedelta(minutes=1)})


def test_a_cancelled_appointment_cannot_be_moved(desk):
    made = create_appointment(desk, booking())
    cancel_appointment(desk, made.id, None)
    error = refused("INVALID_STATE_TRANSITION", update_appointment, desk, made.id, {"start_time": NINE + timedelta(hours=3)})
    assert error.details == {"current_status": "cancelled", "attempted_action": "reschedule"}
    assert update_appointment(desk, made.id, {"description": "Called to cancel"}).description == "Called to cancel"


# --- cancel ------------------------------------------------------------------------------


def test_cancel_records_reason_history_and_meta(desk):
    made = create_appointment(desk, booking(status="confirmed"))
    desk.clock.advance(minutes=10)
    result = cancel_appointment(desk, made.id, "Patient request")
    assert (result.action, result.performed_at, result.performed_by) == ("cancelled", desk.clock.now(), "tester")
    cancelled = result.appointment
    assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "Patient request")
    assert [h.status for h in cancelled.status_history] == ["confirmed", "cancelled"]
    assert cancelled.status_history[1].changed_at == desk.clock.now()


def test_cancel_from_a_closed_status_is_an_invalid_transition(desk):
    made = create_appointment(desk, booking())
    cancel_appointment(desk, made.id, None)
    error = refused("INVALID_STATE_TRANSITION", cancel_appointment, desk, made.id, "again")
    assert error.details == {"current_status": "cancelled", "attempted_action": "cancel"}
    # The desk's words, the same the UI says before it asks (domain.appointments.refusal).
    assert error.message == "A cancelled appointment cannot be cancelled"
    refused("NOT_FOUND", cancel_appointment, desk, "apt_nothing", None)


# --- list --------------------------------------------------------------------------------


def test_list_filters_sorts_by_start_then_id_and_pages(desk):
    a = create_appointment(desk, booking(start=NINE + timedelta(hours=2), patient_id="pat_john_smith"))
    b = create_appointment(desk, booking(clinician_profile_id="cli_tom", status="confirmed", appointment_type_id="type_followup",
                                         location_id="loc_central"))
    c = create_appointment(desk, booking(clinician_profile_id="cli_nina", status="confirmed"))
    d = create_appointment(desk, booking(start=NINE + timedelta(days=1), status="scheduled"))
    first_two = sorted([b.id, c.id])

    def listed(**f):
        return [x.id for x in list_appointments(desk, AppointmentFilter(**f)).items]

    assert listed() == [*first_two, a.id, d.id]
    assert listed(patient_id="pat_john_smith") == [a.id]
    assert listed(clinician_id="cli_tom") == [b.id]
    assert listed(status="confirmed") == first_two
    assert listed(status_in=("scheduled", "pending")) == [a.id, d.id]
    assert listed(date_gte=NINE + timedelta(hours=1), date_lte=NINE + timedelta(hours=2)) == [a.id]
    assert listed(appointment_type_id="type_followup") == [b.id]
    assert listed(location_id="loc_central") == [b.id]

    page = list_appointments(desk, AppointmentFilter(limit=3))
    assert (page.has_more, page.next_offset, page.limit) == (True, 3, 3)
    last = list_appointments(desk, AppointmentFilter(limit=3, offset=3))
    assert [x.id for x in last.items] == [d.id] and (last.has_more, last.next_offset) == (False, None)


@pytest.mark.parametrize("f", [AppointmentFilter(limit=0), AppointmentFilter(limit=101), AppointmentFilter(offset=-1),
                               AppointmentFilter(status="done"), AppointmentFilter(status_in=("pending", "x"))])
def test_list_refuses_bad_paging_and_statuses(desk, f):
    refused("VALIDATION_ERROR", list_appointments, desk, f)


# --- the day list and the change token ---------------------------------------------------


def test_agenda_is_the_local_day_at_the_location_with_names(desk):
    in_ny_evening = create_appointment(desk, booking(start=utc(2025, 1, 21, 3), clinician_profile_id="cli_nina", location_id="loc_ny"))
    seen = create_appointment(desk, booking(patient_id="pat_mary_jones", appointment_type_id="type_followup",
                                            location_id="loc_central", room_id="res_room_1"))
    create_appointment(desk, booking(start=utc(2025, 1, 21, 9), location_id="loc_central"))  # next day
    remote = create_appointment(desk, booking(start=utc(2025, 1, 20, 17), is_remote=True, attendee_name="Zoe Remote"))

    rows = agenda(desk, location_id="loc_central", day=date(2025, 1, 20)).items
    assert [r.appointment.id for r in rows] == [seen.id, remote.id]
    first = rows[0]
    assert (first.patient_name, first.clinician_name, first.type_name, first.room_names) == (
        "Mary Jones", "Dr. Sarah Johnson", "Follow-up Consultation", ["Consulting Room 1"]
    )
    # 03:00Z on the 21st is the evening of the 20th in New York.
    assert [r.appointment.id for r in agenda(desk, location_id="loc_ny", day=date(2025, 1, 20)).items] == [in_ny_evening.id]
    assert [r.appointment.id for r in agenda(desk, location_id="loc_central", day=date(2025, 1, 20), search="JONES").items] == [seen.id]
    assert [r.appointment.id for r in agenda(desk, location_id="loc_central", day=date(2025, 1, 20), search="zoe").items] == [remote.id]
    page = agenda(desk, location_id="loc_central", day=date(2025, 1, 20), limit=1)
    assert (len(page.items), page.has_more, page.next_offset) == (1, True, 1)
    cancel_appointment(desk, seen.id, None)
    assert [r.appointment.id for r in agenda(desk, location_id="loc_central", day=date(2025, 1, 20), status="cancelled").items] == [seen.id]
    refused_kw("NOT_FOUND", agenda, desk, location_id="loc_nowhere", day=date(2025, 1, 20))


def refused_kw(code, call, *args, **kwargs):
    with pytest.raises(FrontdeskError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code


def test_change_token_moves_on_every_change_even_from_a_desk_with_an_earlier_clock(desk, db_url):
    from frontdesk.clock import FakeClock

    tokens = [change_token(desk)]
    made = create_appointment(desk, booking())
    tokens.append(change_token(desk))
    assert change_token(desk) == tokens[-1]  # reading changes nothing
    other_desk = Context.open(db_url, clock=FakeClock(utc(2024, 1, 1)), operator="other")
    update_appointment(other_desk, made.id, {"title": "Earlier clock"})
    tokens.append(change_token(desk))
    cancel_appointment(desk, made.id, None)
    tokens.append(change_token(desk))
    assert len(set(tokens)) == len(tokens)
    other_desk.db.dispose()
