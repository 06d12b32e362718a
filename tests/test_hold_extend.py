"""A hold extended once by the desk: one more `hold_minutes` from its expiry, recorded, and
its busy time kept for the new expiry (booking.md "Holds")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from booking_clinic import CLINIC, load, utc

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.context import Context
from frontdesk.services.holds import (
    confirm_hold,
    create_hold,
    extend_hold,
    get_hold,
    list_holds,
    release_hold,
    reschedule_appointment,
)
from frontdesk.services.objects import ConfirmRequest, HoldFilter, HoldRequest

NINE = utc(2025, 1, 20, 9)


@pytest.fixture
def desk(ctx):
    load(ctx)
    return ctx


@pytest.fixture
def other(desk, clock):
    """A second desk on the same database and clock."""
    second = Context.open(str(desk.db.url), clock=clock, operator="desk-2")
    yield second
    second.db.dispose()


def ask(start=NINE, **fields) -> HoldRequest:
    fields = {"appointment_type_id": "type_followup", "clinician_id": "cli_sarah", "location_id": "loc_central", **fields}
    return HoldRequest(start=start, **fields)


def refused(code, call, *args):
    with pytest.raises(FrontdeskError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def test_extended_at_14_minutes_the_hold_lasts_15_more_and_keeps_its_slot(desk, other):
    made = desk.clock.now()
    hold = create_hold(desk, ask())
    assert (hold.extended_at, hold.extended_by) == (None, None)
    desk.clock.advance(minutes=14)
    extended = extend_hold(desk, hold.id)
    assert extended.expires_at == made + timedelta(minutes=30)  # from the old expiry, not from now
    assert (extended.extended_at, extended.extended_by, extended.status) == (made + timedelta(minutes=14), "tester", "active")
    assert get_hold(desk, hold.id) == extended

    desk.clock.set(made + timedelta(minutes=20))
    # Past the first expiry another desk's booking transaction clears expired holds: not this one.
    refused("SLOT_UNAVAILABLE", create_hold, other, ask())
    assert get_hold(desk, hold.id).status == "active"
    assert [h.id for h in list_holds(desk, HoldFilter()).items] == [hold.id]

    desk.clock.set(made + timedelta(minutes=30))
    assert get_hold(desk, hold.id).status == "expired"
    refused("HOLD_EXPIRED", confirm_hold, desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    assert create_hold(other, ask()).status == "active"


def test_an_extended_hold_confirms_after_its_first_expiry(desk):
    hold = create_hold(desk, ask())
    desk.clock.advance(minutes=10)
    extend_hold(desk, hold.id)
    desk.clock.advance(minutes=15)
    made = confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    assert (made.status, made.hold_id) == ("confirmed", hold.id)


def test_a_hold_is_extended_once_only(desk):
    hold = create_hold(desk, ask())
    desk.clock.advance(minutes=5)
    first = extend_hold(desk, hold.id)
    desk.clock.advance(minutes=5)
    error = refused("HOLD_ALREADY_EXTENDED", extend_hold, desk, hold.id)
    assert error.details["extended_at"] == "2025-01-20T08:05:00Z"
    assert error.details["expires_at"] == "2025-01-20T08:30:00Z"
    assert get_hold(desk, hold.id) == first


def test_an_expired_released_or_booked_hold_is_not_extended(desk):
    expired = create_hold(desk, ask())
    desk.clock.advance(minutes=15)
    refused("HOLD_EXPIRED", extend_hold, desk, expired.id)
    assert get_hold(desk, expired.id).extended_at is None

    released = create_hold(desk, ask())
    release_hold(desk, released.id)
    refused("HOLD_NOT_ACTIVE", extend_hold, desk, released.id)

    booked = create_hold(desk, ask())
    confirm_hold(desk, booked.id, ConfirmRequest(patient_id="pat_john_smith"))
    refused("HOLD_NOT_ACTIVE", extend_hold, desk, booked.id)
    refused("NOT_FOUND", extend_hold, desk, "hold_nothing")


def test_the_extension_is_the_clinics_hold_minutes(ctx):
    load(ctx, {**CLINIC, "clinic": {"name": "Quick", "hold_minutes": 5}})
    hold = create_hold(ctx, ask())
    assert extend_hold(ctx, hold.id).expires_at == hold.expires_at + timedelta(minutes=5)


def test_a_slot_taken_after_a_faster_clock_cleared_the_hold_is_not_extended(desk, clock):
    """Another desk whose clock runs ahead saw the hold expired and took the slot: this desk,
    still inside its hold by its own clock, cannot extend it over that booking."""
    hold = create_hold(desk, ask())
    ahead = Context.open(str(desk.db.url), clock=type(clock)(clock.now() + timedelta(minutes=16)), operator="ahead")
    try:
        create_hold(ahead, ask())
    finally:
        ahead.db.dispose()
    desk.clock.advance(minutes=14)
    refused("SLOT_UNAVAILABLE", extend_hold, desk, hold.id)
    assert get_hold(desk, hold.id).extended_at is None  # nothing written


def test_a_hold_made_to_move_an_appointment_is_extended_and_the_move_still_works(desk):
    first = create_hold(desk, ask())
    appointment = confirm_hold(desk, first.id, ConfirmRequest(patient_id="pat_john_smith"))
    later = NINE + timedelta(hours=2)
    move = create_hold(desk, ask(start=later, reschedule_appointment_id=appointment.id))
    desk.clock.advance(minutes=14)
    extend_hold(desk, move.id)
    desk.clock.advance(minutes=10)
    assert reschedule_appointment(desk, appointment.id, move.id).start_time == later


def test_a_slot_whose_time_has_started_is_refused_as_started(desk):
    error = refused("SLOT_UNAVAILABLE", create_hold, desk, ask(start=utc(2025, 1, 20, 7, 30)))
    assert error.details["reason"] == "started"
    create_hold(desk, ask())
    assert refused("SLOT_UNAVAILABLE", create_hold, desk, ask()).details["reason"] == "not_free"


# --- the command line --------------------------------------------------------------------


def cli(capsys, db_url, now, *argv) -> tuple[int, dict]:
    import json

    from frontdesk.cli.main import main

    code = main([*argv, "--db", db_url, "--now", now, "--operator", "alice"])
    return code, json.loads(capsys.readouterr().out)


def test_holds_extend_prints_the_hold_and_refuses_in_the_envelope(capsys, desk, db_url):
    hold = create_hold(desk, ask())
    code, doc = cli(capsys, db_url, "2025-01-20T08:14:00Z", "holds", "extend", hold.id)
    assert code == 0, doc
    assert doc["data"]["id"] == hold.id
    assert doc["data"]["expires_at"] == "2025-01-20T08:30:00Z"
    assert doc["data"]["extended_at"].startswith("2025-01-20T08:14:00")
    assert doc["data"]["extended_by"] == "alice"

    code, doc = cli(capsys, db_url, "2025-01-20T08:15:00Z", "holds", "extend", hold.id)
    assert (code, doc["data"], doc["error"]["code"]) == (1, None, "HOLD_ALREADY_EXTENDED")
    assert "already extended" in doc["error"]["message"]

    code, doc = cli(capsys, db_url, "2025-01-20T08:20:00Z", "holds", "get", hold.id)
    assert (doc["data"]["status"], doc["data"]["expires_at"]) == ("active", "2025-01-20T08:30:00Z")

    other = create_hold(desk, ask(start=NINE + timedelta(hours=2)))
    code, doc = cli(capsys, db_url, "2025-01-20T08:16:00Z", "holds", "extend", other.id)
    assert (code, doc["error"]["code"]) == (1, "HOLD_EXPIRED")
    code, doc = cli(capsys, db_url, "2025-01-20T08:00:00Z", "holds", "get", other.id)
    assert doc["data"]["extended_at"] is None  # null when never extended
