"""One booking rule, enforced by the database too (booking.md, Integrity).

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from booking_clinic import CLINIC, load, utc
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    cancel_appointment,
    create_appointment,
    get_appointment,
    list_appointments,
    update_appointment,
)
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold, create_hold, release_hold
from frontdesk.services.objects import (
    AppointmentCreate,
    AppointmentFilter,
    ConfirmRequest,
    HoldRequest,
)
from frontdesk.store.models import BusyTime

TEN = utc(2025, 1, 20, 10)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    return f"sqlite:///{tmp_path / 'i.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def desk_at(db, at, operator="reception") -> Context:
    return Context.open(db, clock=FakeClock(at), operator=operator)


@pytest.fixture
def clinic(db):
    ctx = desk_at(db, utc(2025, 1, 20, 8))
    load(ctx)
    yield db
    ctx.db.dispose()


def refused(code, call, *args, **kwargs) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def active(ctx):
    items = list_appointments(ctx, AppointmentFilter(limit=100)).items
    return [a for a in items if a.status not in ("cancelled", "completed", "no_show")]


def hold_ten(ctx, **fields):
    fields = {"appointment_type_id": "type_followup", "clinician_id": "cli_sarah", "start": TEN,
              "location_id": "loc_central", **fields}
    return create_hold(ctx, HoldRequest(**fields))


# --- confirm decides under the lock --------------------------------------------------------


def test_a_confirm_with_a_slow_clock_after_the_slot_was_retaken_is_refused(clinic):
    """The reproduction of the issue: A holds at 09:00 (expires 09:15); B holds the same
    slot at 09:16; A's desk clock says 09:05 when it confirms. Only B's booking exists."""
    a_desk = desk_at(clinic, utc(2025, 1, 20, 9), "desk a")
    b_desk = desk_at(clinic, utc(2025, 1, 20, 9, 16), "desk b")
    hold_a = hold_ten(a_desk)
    hold_b = hold_ten(b_desk)
    a_desk.clock.set(utc(2025, 1, 20, 9, 5))
    error = refused("SLOT_UNAVAILABLE", confirm_hold, a_desk, hold_a.id, ConfirmRequest(patient_id="pat_john_smith"))
    assert error.details["conflicts"][0]["id"] == hold_b.id
    b_desk.clock.set(utc(2025, 1, 20, 9, 17))
    booked = confirm_hold(b_desk, hold_b.id, ConfirmRequest(patient_id="pat_mary_jones"))
    assert [a.id for a in active(b_desk)] == [booked.id]


def test_a_confirm_reads_the_clock_once_it_holds_the_lock(clinic):
    """A desk whose clock passes the expiry while it waits for the lock is told HOLD_EXPIRED."""

    class LateClock(FakeClock):
        """The first reading is before the expiry, every later one after it."""

        def __init__(self, first, later):
            super().__init__(first)
            self.later = later

        def now(self):
            at, self._at = self._at, self.later
            return at

    desk = desk_at(clinic, utc(2025, 1, 20, 9))
    hold = hold_ten(desk)
    desk.clock = LateClock(utc(2025, 1, 20, 9, 14, 59), utc(2025, 1, 20, 9, 15))
    refused("HOLD_EXPIRED", confirm_hold, desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    assert active(desk) == []


# --- one rule for every writer ------------------------------------------------------------


def test_a_direct_create_cannot_take_a_room_another_clinicians_group_uses(clinic):
    """Issue 9, case 1: a second clinician's class at 10:00 in the gym Tom's class uses."""
    data = copy.deepcopy(CLINIC)
    data["appointment_types"][1]["clinician_ids"] = ["cli_tom", "cli_sarah"]
    ctx = desk_at(clinic, utc(2025, 1, 20, 8))
    load(ctx, data)
    hold = create_hold(ctx, HoldRequest(appointment_type_id="type_class", clinician_id="cli_tom", start=TEN,
                                        location_id="loc_central"))
    confirm_hold(ctx, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    refused("SLOT_UNAVAILABLE", create_hold, ctx, HoldRequest(
        appointment_type_id="type_class", clinician_id="cli_sarah", start=TEN, location_id="loc_central"))
    error = refused("SLOT_UNAVAILABLE", create_appointment, ctx, AppointmentCreate(
        title="Class", start_time=TEN, end_time=TEN + timedelta(hours=1), clinician_profile_id="cli_sarah",
        appointment_type_id="type_class", location_id="loc_central", patient_id="pat_mary_jones"))
    assert error.details["room_ids"] == ["res_room_2"]
    # Tom's own class still takes more seats.
    second = create_hold(ctx, HoldRequest(appointment_type_id="type_class", clinician_id="cli_tom", start=TEN,
                                          location_id="loc_central"))
    confirm_hold(ctx, second.id, ConfirmRequest(patient_id="pat_mary_jones"))
    # One group appointment (issue 12), its two attendees going.
    assert [[x.attendance_status for x in a.attendees] for a in active(ctx)] == [["going", "going"]]


def test_a_time_change_onto_busy_time_is_refused_and_changes_nothing(clinic):
    ctx = desk_at(clinic, utc(2025, 1, 20, 8))
    first = confirm_hold(ctx, hold_ten(ctx).id, ConfirmRequest(patient_id="pat_john_smith"))
    second = confirm_hold(ctx, hold_ten(ctx, start=TEN + timedelta(hours=4)).id,
                          ConfirmRequest(patient_id="pat_mary_jones"))
    refused("SLOT_UNAVAILABLE", update_appointment, ctx, second.id,
            {"start_time": TEN + timedelta(minutes=20), "end_time": TEN + timedelta(minutes=50)})
    assert get_appointment(ctx, second.id).start_time == TEN + timedelta(hours=4)
    # Moving onto its own time (a little later) is fine: its own busy time is not in the way.
    moved = update_appointment(ctx, first.id, {"start_time": TEN + timedelta(minutes=10),
                                               "end_time": TEN + timedelta(minutes=40)})
    assert moved.start_time == TEN + timedelta(minutes=10)


def test_released_cancelled_and_expired_bookings_stop_taking_time(clinic):
    ctx = desk_at(clinic, utc(2025, 1, 20, 8))
    released = hold_ten(ctx)
    release_hold(ctx, released.id)
    booked = confirm_hold(ctx, hold_ten(ctx).id, ConfirmRequest(patient_id="pat_john_smith"))
    cancel_appointment(ctx, booked.id, "ill")
    lapsed = hold_ten(ctx)
    ctx.clock.advance(minutes=15)
    taken = hold_ten(ctx)  # the lapsed hold's rows are cleared inside this booking
    with ctx.db.session() as s:
        owners = set(s.execute(select(BusyTime.hold_id, BusyTime.appointment_id)).all())
    assert owners == {(taken.id, None)}
    assert lapsed.id != taken.id


# --- the database refuses overlaps on its own ------------------------------------------------


def raw_busy_row(ctx, **values):
    row = {"resource_id": "cli_sarah", "busy_start": TEN, "busy_end": TEN + timedelta(minutes=40),
           "booked_start": TEN, "appointment_type_id": "type_followup", "share_key": "raw", **values}
    with ctx.db.session() as s:
        s.execute(insert(BusyTime), [row])


def test_the_database_refuses_an_overlapping_busy_row_written_underneath_the_services(clinic):
    ctx = desk_at(clinic, utc(2025, 1, 20, 8))
    hold = hold_ten(ctx)
    with pytest.raises(IntegrityError):
        raw_busy_row(ctx, hold_id=hold.id, busy_start=TEN + timedelta(minutes=30))
    # Touching is not overlapping ([10:00, 10:40) then [10:40, 11:00)), another resource is free,
    # and an overlap allowed with a reason is exempt.
    raw_busy_row(ctx, hold_id=hold.id, busy_start=TEN + timedelta(minutes=40), busy_end=TEN + timedelta(hours=1))
    raw_busy_row(ctx, hold_id=hold.id, resource_id="cli_tom", share_key="raw 2")
    raw_busy_row(ctx, hold_id=hold.id, share_key="raw 3", exempt=True)


def test_the_database_refuses_moving_a_busy_row_onto_another(clinic):
    ctx = desk_at(clinic, utc(2025, 1, 20, 8))
    hold_ten(ctx)
    later = hold_ten(ctx, start=TEN + timedelta(hours=1))
    with pytest.raises(IntegrityError), ctx.db.session() as s:
        s.execute(text("UPDATE busy_times SET busy_start = :start WHERE hold_id = :hold"),
                  {"start": (TEN + timedelta(minutes=20)).replace(tzinfo=None), "hold": later.id})


def test_a_refusal_by_the_database_reaches_the_desk_as_slot_unavailable(clinic, monkeypatch):
    """Were the rule ever to miss an overlap, the database's refusal still reads SLOT_UNAVAILABLE."""
    from frontdesk.services import booking

    ctx = desk_at(clinic, utc(2025, 1, 20, 8))
    first = hold_ten(ctx)
    monkeypatch.setattr(booking, "find_conflicts", lambda *args, **kwargs: [])
    refused("SLOT_UNAVAILABLE", create_appointment, ctx, AppointmentCreate(
        title="x", start_time=TEN, end_time=TEN + timedelta(minutes=30), clinician_profile_id="cli_sarah"))
    assert first.status == "active"
    assert active(ctx) == []


# --- reloads ---------------------------------------------------------------------------------


def test_a_clinic_file_whose_appointments_overlap_loads_nothing_and_names_each_clash(clinic):
    ctx = desk_at(clinic, utc(2025, 1, 20, 8))
    booked = confirm_hold(ctx, hold_ten(ctx).id, ConfirmRequest(patient_id="pat_john_smith"))
    data = copy.deepcopy(CLINIC)
    data["appointments"] = [
        {"id": "apt_file_1", "patient_id": "pat_mary_jones", "clinician_profile_id": "cli_tom",
         "appointment_type_id": "type_followup", "location_id": "loc_central", "status": "confirmed",
         "start_time": "2025-01-21T09:00:00Z", "end_time": "2025-01-21T09:30:00Z"},
        {"id": "apt_file_2", "patient_id": "pat_ann_smithers", "clinician_profile_id": "cli_tom",
         "appointment_type_id": "type_followup", "location_id": "loc_central", "status": "confirmed",
         "start_time": "2025-01-21T09:15:00Z", "end_time": "2025-01-21T09:45:00Z"},
        {"id": "apt_file_3", "patient_id": "pat_ann_smithers", "clinician_profile_id": "cli_sarah",
         "appointment_type_id": "type_followup", "location_id": "loc_central", "status": "confirmed",
         "start_time": "2025-01-20T10:15:00Z", "end_time": "2025-01-20T10:45:00Z"},
    ]
    error = refused("VALIDATION_ERROR", load, ctx, data)
    problems = " ".join(error.details["errors"])
    assert "apt_file_2" in problems and "apt_file_1" in problems
    assert "apt_file_3" in problems and booked.id in problems
    assert [a.id for a in active(ctx)] == [booked.id]


# --- no lost updates -----------------------------------------------------------------------


def test_every_change_raises_the_version_and_a_stale_one_is_refused(clinic):
    a_desk = desk_at(clinic, utc(2025, 1, 20, 8), "desk a")
    b_desk = desk_at(clinic, utc(2025, 1, 20, 8), "desk b")
    booked = confirm_hold(a_desk, hold_ten(a_desk).id, ConfirmRequest(patient_id="pat_john_smith"))
    assert booked.version == 1
    seen_by_b = get_appointment(b_desk, booked.id)
    a_desk.clock.advance(minutes=3)
    saved = update_appointment(a_desk, booked.id, {"description": "A's note"}, expect_version=seen_by_b.version)
    assert saved.version == 2
    error = refused("VERSION_CONFLICT", update_appointment, b_desk, booked.id, {"description": "B's note"},
                    expect_version=seen_by_b.version)
    assert error.details["current_version"] == 2
    assert error.details["changed_by"] == "desk a" and error.details["fields"] == ["description"]
    refused("VERSION_CONFLICT", cancel_appointment, b_desk, booked.id, "ill", expect_version=1)
    current = get_appointment(b_desk, booked.id)
    assert (current.description, current.status, current.version) == ("A's note", "confirmed", 2)
    cancelled = cancel_appointment(b_desk, booked.id, "ill", expect_version=2).appointment
    assert cancelled.version == 3
