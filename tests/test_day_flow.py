"""The day: check in, start, complete, no-show, confirm and revert (booking.md "The day").

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from booking_clinic import load, utc

from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    act_on_appointment,
    create_appointment,
    get_appointment,
)
from frontdesk.services.availability import query_availability
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold, create_hold
from frontdesk.services.objects import (
    AppointmentCreate,
    AvailabilityQuery,
    ConfirmRequest,
    HoldRequest,
)

TEN = utc(2025, 1, 20, 10)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    ctx = Context.open(url, clock=FakeClock(utc(2025, 1, 20, 8)), operator="reception")
    load(ctx)
    yield ctx
    ctx.db.dispose()


def book(desk, start=TEN, status=None):
    if status is None:
        hold = create_hold(desk, HoldRequest("type_followup", "cli_sarah", start=start, location_id="loc_central"))
        return confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    return create_appointment(desk, AppointmentCreate(
        title="Follow-up", start_time=start, end_time=start + timedelta(minutes=30), patient_id="pat_john_smith",
        clinician_profile_id="cli_sarah", appointment_type_id="type_followup", location_id="loc_central",
        status=status))


def act(desk, appointment, action, **kwargs):
    return act_on_appointment(desk, appointment.id, action, **kwargs)


def refused(desk, appointment, action, **kwargs) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        act(desk, appointment, action, **kwargs)
    assert caught.value.code == "INVALID_STATE_TRANSITION", caught.value.to_dict()
    assert caught.value.details["attempted_action"] == action
    return caught.value


def offered(desk, start) -> bool:
    slots = query_availability(desk, AvailabilityQuery(
        appointment_type_id="type_followup", start_date="2025-01-20", end_date="2025-01-20", clinician_id="cli_sarah",
        location_id="loc_central", interval=5)).slots
    return any(slot.start_time == start for slot in slots)


def test_a_visit_from_arrival_to_departure(desk):
    apt = book(desk)
    desk.clock.set(TEN - timedelta(minutes=5))
    arrived = act(desk, apt, "check-in")
    assert (arrived.action, arrived.appointment.attendance_status) == ("checked_in", "arrived")
    assert arrived.appointment.arrived_at == TEN - timedelta(minutes=5)
    desk.clock.set(TEN + timedelta(minutes=2))
    in_room = act(desk, apt, "start").appointment
    assert (in_room.attendance_status, in_room.actual_start_time) == ("in_room", TEN + timedelta(minutes=2))
    assert not offered(desk, TEN + timedelta(minutes=20))  # in the room: still busy
    desk.clock.set(TEN + timedelta(minutes=20))
    done = act(desk, apt, "complete", expect_version=in_room.version).appointment
    assert (done.status, done.attendance_status, done.actual_end_time) == ("completed", "checked_out", TEN + timedelta(minutes=20))
    assert [h.status for h in done.status_history] == ["confirmed", "completed"]
    assert {c.field for c in done.change_log} >= {"attendance_status", "arrived_at", "actual_start_time", "actual_end_time"}
    assert done.version == 4
    # Completed ten minutes early: the rest of its time is free again at once.
    assert offered(desk, TEN + timedelta(minutes=20))


def test_each_action_is_refused_where_booking_md_says(desk):
    apt = book(desk)
    refused(desk, apt, "start")  # not arrived
    refused(desk, apt, "complete")
    refused(desk, apt, "confirm")  # already confirmed
    error = refused(desk, apt, "no-show")  # it has not started yet
    assert error.details == {"current_status": "confirmed", "attendance_status": None, "attempted_action": "no-show"}
    desk.clock.set(TEN - timedelta(days=1))
    refused(desk, apt, "check-in")  # not its day
    desk.clock.set(TEN)
    act(desk, apt, "check-in")
    refused(desk, apt, "check-in")
    refused(desk, apt, "no-show")  # arrived
    with pytest.raises(FrontdeskError) as caught:
        act(desk, apt, "dance")
    assert caught.value.code == "VALIDATION_ERROR"


def test_confirm_a_pending_booking(desk):
    apt = book(desk, status="pending")
    confirmed = act(desk, apt, "confirm").appointment
    assert confirmed.status == "confirmed"
    assert [h.status for h in confirmed.status_history] == ["pending", "confirmed"]


def test_a_no_show_frees_its_time_and_a_revert_takes_it_back(desk):
    apt = book(desk)
    desk.clock.set(TEN + timedelta(minutes=10))
    assert act(desk, apt, "no-show").appointment.status == "no_show"
    assert offered(desk, TEN + timedelta(minutes=15))
    back = act(desk, apt, "revert").appointment
    assert (back.status, back.attendance_status) == ("confirmed", None)
    assert [h.status for h in back.status_history] == ["confirmed", "no_show", "confirmed"]
    assert not offered(desk, TEN + timedelta(minutes=15))


def test_a_revert_cannot_take_back_time_given_away_meanwhile(desk):
    apt = book(desk)
    desk.clock.set(TEN + timedelta(minutes=10))
    act(desk, apt, "no-show")
    book(desk, start=TEN + timedelta(minutes=15))  # the walk-in who took the time
    with pytest.raises(FrontdeskError) as caught:
        act(desk, apt, "revert")
    assert caught.value.code == "SLOT_UNAVAILABLE"
    assert get_appointment(desk, apt.id).status == "no_show"


def test_revert_undoes_actions_one_by_one_on_the_same_day_only(desk):
    apt = book(desk)
    desk.clock.set(TEN)
    act(desk, apt, "check-in")
    act(desk, apt, "start")
    assert act(desk, apt, "revert").appointment.attendance_status == "arrived"
    assert act(desk, apt, "revert").appointment.attendance_status is None
    refused(desk, apt, "revert")  # nothing left to undo
    act(desk, apt, "check-in")
    desk.clock.set(TEN + timedelta(days=1))
    refused(desk, apt, "revert")  # yesterday's action stays


def test_a_stale_version_changes_nothing(desk):
    apt = book(desk)
    desk.clock.set(TEN)
    with pytest.raises(FrontdeskError) as caught:
        act(desk, apt, "check-in", expect_version=apt.version + 1)
    assert caught.value.code == "VERSION_CONFLICT"
    assert get_appointment(desk, apt.id).attendance_status is None


# --- the command line ----------------------------------------------------------------------------


def test_the_day_from_the_command_line(tmp_path, capsys):
    import json

    from booking_clinic import CLINIC

    from frontdesk.cli.main import main

    def run(*argv: str) -> tuple[int, dict]:
        code = main([*argv, "--db", str(tmp_path / "cli.db")])
        return code, json.loads(capsys.readouterr().out)

    clinic = tmp_path / "clinic.json"
    clinic.write_text(json.dumps(CLINIC))
    assert run("load", str(clinic), "--now", "2025-01-20T08:00:00Z")[0] == 0
    code, made = run("appointments", "create", "--title", "Follow-up", "--start-time", "2025-01-20T10:00:00Z",
                     "--end-time", "2025-01-20T10:30:00Z", "--clinician", "cli_sarah", "--patient", "pat_john_smith",
                     "--now", "2025-01-20T08:00:00Z")
    apt = made["data"]["id"]
    code, doc = run("appointments", "confirm", apt, "--expect-version", "1", "--now", "2025-01-20T09:00:00Z")
    assert (code, doc["meta"]["action"], doc["data"]["status"]) == (0, "confirmed", "confirmed")
    code, doc = run("appointments", "check-in", apt, "--now", "2025-01-20T09:55:00Z")
    # --now starts a clock that runs on: instants are that moment and a few milliseconds
    assert (doc["data"]["attendance_status"], doc["data"]["arrived_at"][:19]) == ("arrived", "2025-01-20T09:55:00")
    assert doc["meta"]["performed_at"][:19] == "2025-01-20T09:55:00"
    code, doc = run("appointments", "complete", apt, "--now", "2025-01-20T10:25:00Z")
    data = doc["data"]
    assert (data["status"], data["actual_start_time"][:19], data["actual_end_time"][:19]) == (
        "completed", "2025-01-20T10:25:00", "2025-01-20T10:25:00")
    code, doc = run("appointments", "no-show", apt, "--now", "2025-01-20T10:26:00Z")
    assert code == 1 and doc["error"]["code"] == "INVALID_STATE_TRANSITION"
    assert doc["error"]["details"] == {"current_status": "completed", "attendance_status": "checked_out",
                                       "attempted_action": "no-show"}
    # A plain date is the whole of that day (appointments-api's own example).
    code, doc = run("appointments", "list", "--date-gte", "2025-01-20", "--date-lte", "2025-01-20")
    assert [a["id"] for a in doc["data"]] == [apt]


# --- moving an appointment -------------------------------------------------------------------------


def move_hold(desk, apt, start, clinician="cli_sarah", **fields):
    return create_hold(desk, HoldRequest("type_followup", clinician, start=start, location_id="loc_central",
                                         reschedule_appointment_id=apt.id, **fields))


def test_a_move_keeps_the_appointment_and_records_the_change(desk):
    from frontdesk.services.holds import get_hold, reschedule_appointment

    apt = book(desk)
    # Twenty minutes later overlaps its own time: that does not stand in the way.
    hold = move_hold(desk, apt, TEN + timedelta(minutes=20))
    moved = reschedule_appointment(desk, apt.id, hold.id, expect_version=apt.version)
    assert (moved.id, moved.patient_id, moved.start_time) == (apt.id, apt.patient_id, TEN + timedelta(minutes=20))
    assert moved.version == apt.version + 1
    assert [(c.field, c.old, c.new) for c in moved.change_log] == [
        ("start_time", "2025-01-20T10:00:00Z", "2025-01-20T10:20:00Z"),
        ("end_time", "2025-01-20T10:30:00Z", "2025-01-20T10:50:00Z"),
    ]
    assert get_hold(desk, hold.id).status == "confirmed"
    assert offered(desk, TEN - timedelta(minutes=30)) and not offered(desk, TEN + timedelta(minutes=20))
    # To the other clinician: the change log names the clinician too.
    hold = move_hold(desk, moved, TEN + timedelta(hours=4), clinician="cli_tom")
    again = reschedule_appointment(desk, apt.id, hold.id)
    assert ("clinician_profile_id", "cli_sarah", "cli_tom") in [(c.field, c.old, c.new) for c in again.change_log]


def test_a_move_is_refused_where_booking_md_says(desk):
    from frontdesk.services.holds import reschedule_appointment

    apt = book(desk)
    other = book(desk, start=TEN + timedelta(hours=4))
    with pytest.raises(FrontdeskError) as caught:  # onto another booking's time
        move_hold(desk, apt, TEN + timedelta(hours=4))
    assert caught.value.code == "SLOT_UNAVAILABLE"
    plain = create_hold(desk, HoldRequest("type_followup", "cli_tom", start=TEN + timedelta(hours=5), location_id="loc_central"))
    with pytest.raises(FrontdeskError) as caught:  # a hold not made for it
        reschedule_appointment(desk, apt.id, plain.id)
    assert caught.value.code == "VALIDATION_ERROR"
    hold = move_hold(desk, other, TEN + timedelta(hours=6))
    desk.clock.set(TEN + timedelta(hours=4))
    act(desk, other, "check-in")
    with pytest.raises(FrontdeskError) as caught:  # arrived: it stays where it is
        reschedule_appointment(desk, other.id, hold.id)
    assert caught.value.details["attempted_action"] == "reschedule"
    assert get_appointment(desk, other.id).start_time == TEN + timedelta(hours=4)


def test_a_move_keeps_the_appointments_own_length(desk):
    """A 60-minute visit of a type whose default is 30 moves as 60 minutes, offered and held."""
    from frontdesk.services.holds import reschedule_appointment

    hold = create_hold(desk, HoldRequest("type_followup", "cli_sarah", start=TEN, duration_minutes=60,
                                         location_id="loc_central"))
    apt = confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    later = TEN + timedelta(hours=3)
    offers = query_availability(desk, AvailabilityQuery(
        appointment_type_id="type_followup", clinician_id="cli_sarah", location_id="loc_central",
        start_date=later.date().isoformat(), end_date=later.date().isoformat(), reschedule_appointment_id=apt.id))
    assert offers.slots and all(s.end_time - s.start_time == timedelta(minutes=60) for s in offers.slots)
    to = offers.slots[-1].start_time
    moved = reschedule_appointment(desk, apt.id, move_hold(desk, apt, to).id)
    assert (moved.start_time, moved.end_time) == (to, to + timedelta(minutes=60))
