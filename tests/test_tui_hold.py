"""The hold while the desk types the patient's details, by keyboard (Textual's Pilot): extending
it once, the two-minute warning in words, saying why it ended, the leave question closing when
it ends, ctrl+q asking before typed details are lost, and the details kept for the next hold."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Button
from tui_pilot import (
    hold_first_slot,
    notifications,
    running,
    screen_text,
    settle,
    type_new_patient,
    type_text,
    until,
)

from frontdesk.services import appointments, holds
from frontdesk.tui.modals import ConfirmModal
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.appointment import AppointmentScreen
from frontdesk.tui.screens.move import MoveModal
from frontdesk.tui.screens.patient import PatientScreen
from frontdesk.tui.screens.slots import SlotPickerScreen
from frontdesk.tui.widgets import HoldCountdown


async def at_time(pilot, desk, when) -> None:
    """Move the fake clock and let the countdown read it now (its timer is not driven by it)."""
    desk.clock.set(when)
    pilot.app.screen.query_one(HoldCountdown).tick()
    await settle(pilot)


async def test_x_extends_the_hold_once_and_the_countdown_jumps_to_the_new_deadline(desk):
    async with running(desk, size=(80, 24)) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        assert isinstance(screen, PatientScreen)
        first = screen.hold
        assert "^x Extend" in screen_text(app)  # in the footer at 80x24

        # Two minutes left: the warning is in words, with the key; a second more, no words yet.
        await at_time(pilot, desk, first.expires_at - timedelta(minutes=2, seconds=1))
        assert "Under 2 min" not in screen_text(app)
        await at_time(pilot, desk, first.expires_at - timedelta(minutes=2))
        assert "Hold 02:00 left" in screen_text(app)
        assert "Under 2 min: ctrl+x extends" in screen_text(app)

        # ctrl+x works with the cursor in the search field (x there is a letter).
        await at_time(pilot, desk, first.created_at + timedelta(minutes=14))
        assert screen.focused.id == "find"
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert screen.query_one("#find").value == ""
        stored = holds.get_hold(desk, first.id)
        assert stored.expires_at == first.expires_at + timedelta(minutes=15) and stored.extended_at is not None
        assert "Hold 16:00 left" in screen_text(app)
        assert "Under 2 min" not in screen_text(app)
        assert any("Hold extended" in n for n in notifications(app))

        # A second time, x outside a text field: it says so, and the deadline stays.
        screen.query_one("#confirm", Button).focus()
        await pilot.press("x")
        await settle(pilot)
        assert any("already extended" in n for n in notifications(app))
        assert holds.get_hold(desk, first.id).expires_at == stored.expires_at

        # Still held at 20 minutes; near the new end the warning no longer offers the key.
        await at_time(pilot, desk, first.created_at + timedelta(minutes=20))
        assert not screen.locked and holds.get_hold(desk, first.id).status == "active"
        await at_time(pilot, desk, stored.expires_at - timedelta(minutes=1))
        assert "Under 2 minutes left" in screen_text(app) and "ctrl+x extends" not in screen_text(app)
        await at_time(pilot, desk, stored.expires_at)
        assert screen.locked and "Nothing was booked" in screen_text(app)


async def test_a_hold_whose_slot_has_started_says_so_not_taken_by_another_desk(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        hold = screen.hold
        await at_time(pilot, desk, max(hold.expires_at, hold.start_time) + timedelta(seconds=1))
        text = screen_text(app)
        assert screen.locked
        assert "The hold ended: its time" in text and "has started" in text
        assert "another desk" not in text
        assert screen.query_one("#again", Button).disabled
        await pilot.press("r")  # nothing to hold again
        await settle(pilot)
        assert holds.list_holds(desk, holds.HoldFilter()).items == []


async def test_holding_again_after_the_slot_started_says_the_time_has_started(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        hold = screen.hold
        assert hold.start_time > hold.expires_at  # the demo's first slot starts after the hold ends
        await at_time(pilot, desk, hold.expires_at + timedelta(seconds=1))
        assert "The hold ran out" in screen_text(app)
        desk.clock.set(hold.start_time + timedelta(minutes=1))
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(app)
        assert "has started: it cannot be held again" in text
        assert "another desk" not in text


async def test_the_leave_question_closes_when_the_hold_runs_out(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        desk.clock.set(screen.hold.expires_at + timedelta(seconds=1))
        # the countdown's own timer, running under the question, closes it and locks the form
        await until(pilot, lambda: app.screen is screen and "The hold ran out" in screen_text(app))
        assert screen.locked
        await pilot.press("y")  # the question is gone: y is not "release and leave"
        await settle(pilot)
        assert app.screen is screen


async def test_ctrl_q_with_typed_details_asks_first(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        hold = screen.hold
        await type_new_patient(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        text = screen_text(app)
        assert "Quit now? The patient details typed will be lost" in text and "held slot released." in text
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen and screen.query_one("#first_name").value == "Zoe"
        assert holds.get_hold(desk, hold.id).status == "active"
        await pilot.press("ctrl+q")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert holds.get_hold(desk, hold.id).status == "released"


async def test_ctrl_q_twice_quits(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        hold = app.screen.hold
        await type_text(pilot, "ben")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert holds.get_hold(desk, hold.id).status == "released"


async def test_after_expiry_another_slot_keeps_what_was_typed(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        await type_new_patient(pilot)
        await pilot.press("tab")
        await type_text(pilot, "07700 900123")
        await at_time(pilot, desk, screen.hold.expires_at + timedelta(seconds=1))
        await pilot.press("s")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, SlotPickerScreen)
        await pilot.press("down", "enter")  # another slot
        await settle(pilot)
        again = app.screen
        assert isinstance(again, PatientScreen) and again is not screen
        values = {name: again.query_one(f"#{name}").value for name in ("first_name", "last_name", "date_of_birth", "phone")}
        assert values == {"first_name": "Zoe", "last_name": "Quill", "date_of_birth": "1990-02-03", "phone": "07700 900123"}
        assert again.query_one("#attendee_name").value == "Zoe Quill"
        assert any("filled in" in n for n in notifications(app))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
        booked = appointments.get_appointment(desk, app.screen.highlighted_id())
        assert booked.attendee_name == "Zoe Quill" and booked.hold_id == again.hold.id


async def test_after_expiry_the_chosen_patient_is_kept_for_the_next_hold(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        await type_text(pilot, "bennett")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        chosen = screen.patient
        assert chosen is not None
        await at_time(pilot, desk, screen.hold.expires_at + timedelta(seconds=1))
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        again = app.screen
        assert isinstance(again, PatientScreen) and again.patient == chosen
        await pilot.press("ctrl+s")
        await settle(pilot)
        booked = appointments.get_appointment(desk, app.screen.highlighted_id())
        assert booked.patient_id == chosen.id


async def test_escape_after_releasing_does_not_carry_details_to_the_next_hold(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        await type_new_patient(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, SlotPickerScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#first_name").value == ""


async def test_x_in_the_move_dialog_extends_the_hold_once(desk):
    async with running(desk) as (app, pilot):
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, MoveModal)
        hold_id = modal.hold_id
        first = holds.get_hold(desk, hold_id)
        await at_time(pilot, desk, first.expires_at - timedelta(minutes=1))
        assert "Under 2 min: x extends" in screen_text(app)
        await pilot.press("x")
        await settle(pilot)
        assert holds.get_hold(desk, hold_id).expires_at == first.expires_at + timedelta(minutes=15)
        assert "Hold 16:00 left" in screen_text(app) and "x: extend the hold" not in screen_text(app)
        assert any("now runs out at" in n for n in notifications(app))
        await pilot.press("x")
        await settle(pilot)
        assert any("already extended" in n for n in notifications(app))
        await at_time(pilot, desk, first.expires_at + timedelta(minutes=5))  # past the first deadline
        assert app.screen is modal
        await pilot.press("enter")
        await settle(pilot)
        assert not app.owned_holds and holds.get_hold(desk, hold_id).status == "confirmed"
