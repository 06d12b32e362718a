"""The day list as a flow board, by keyboard (Textual's Pilot): the day's actions on a row, the
state column moving with the (fake) clock, and moving an appointment through the slot picker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from textual.widgets import DataTable, OptionList
from tui_pilot import (
    NOW,
    notifications,
    pick_option,
    row_texts,
    running,
    screen_text,
    settle,
)

from frontdesk.domain.statuses import DEFAULT_LATE_AFTER_MINUTES as LATE_AFTER_MINUTES
from frontdesk.domain.statuses import (
    DEFAULT_WAITING_ALERT_MINUTES as WAITING_ALERT_MINUTES,
)
from frontdesk.services import appointments, day_list, holds
from frontdesk.services.objects import HoldFilter
from frontdesk.tui.choice import ChoiceModal
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.appointment import AppointmentScreen
from frontdesk.tui.screens.flow_board import visit_state
from frontdesk.tui.screens.move import MoveModal
from frontdesk.tui.screens.slots import SlotPickerScreen
from frontdesk.tui.widgets import ClinicHeader

# The demo's Monday at loc_central: the first two rows are nurse visits, both confirmed.
FIRST, SECOND = "apt_0027", "apt_0028"  # 08:15 Amelia Kaur, 08:30 Freya Lawson


def at(hh: int, mm: int) -> datetime:
    return datetime(2025, 1, 20, hh, mm, tzinfo=UTC)  # London is UTC in January


def state_of(app, apt_id: str) -> str:
    table = app.screen.query_one("#agenda", DataTable)
    return str(table.get_cell(apt_id, "status"))


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def test_a_day_run_by_keyboard(desk):
    async with running(desk) as (app, pilot):
        home = app.screen
        assert isinstance(home, AgendaScreen)
        assert home.highlighted_id() == FIRST

        desk.clock.set(at(8, 10))
        await press(pilot, "i")  # check in
        first = appointments.get_appointment(desk, FIRST)
        assert first.attendance_status == "arrived" and first.arrived_at == at(8, 10)
        assert state_of(app, FIRST) == "arrived 0 min"

        # A no-show before the start is refused in the service's own words; nothing changes.
        await press(pilot, "down", "N")
        assert appointments.get_appointment(desk, SECOND).status == "confirmed"
        assert any("has not started yet" in text for text in notifications(app))

        # Start from the Actions menu, which lists only what the row allows, with the direct keys.
        desk.clock.set(at(8, 15))
        await press(pilot, "up", "a")
        assert isinstance(app.screen, ChoiceModal)
        labels = [str(option.prompt) for option in app.screen.query_one(OptionList).options]
        assert labels == [
            "Start (in room)  (s)", "Done (complete)  (d)", "Revert the last action  (u)",
            "Edit title, notes, attendee  (e)", "Cancel the appointment  (c)",
        ]
        await pick_option(pilot, lambda option: option.id == "start")
        assert isinstance(app.screen, AgendaScreen)
        first = appointments.get_appointment(desk, FIRST)
        assert first.attendance_status == "in_room" and first.actual_start_time == at(8, 15)

        desk.clock.set(at(8, 40))
        app.screen.show_states()
        assert state_of(app, FIRST) == "in room 25 min"
        await press(pilot, "d")  # done
        first = appointments.get_appointment(desk, FIRST)
        assert first.status == "completed" and first.actual_end_time == at(8, 40)
        assert state_of(app, FIRST) == "done"

        await press(pilot, "down")
        assert state_of(app, SECOND) == "late"  # 10 minutes after 08:30, not arrived
        await press(pilot, "N")  # no-show, now that its time has passed
        assert appointments.get_appointment(desk, SECOND).status == "no_show"
        assert state_of(app, SECOND) == "no-show"
        await press(pilot, "u")  # revert: back as it was, its time taken again
        second = appointments.get_appointment(desk, SECOND)
        assert second.status == "confirmed" and second.attendance_status is None
        assert state_of(app, SECOND) == "late"

        # Move it: the slot picker for its type, Enter holds, the dialog shows from -> to, Enter moves.
        await press(pilot, "m")
        picker = app.screen
        assert isinstance(picker, SlotPickerScreen) and picker.moving.id == SECOND
        await press(pilot, "enter")
        assert isinstance(app.screen, MoveModal)
        text = screen_text(app)
        assert "from  Mon 20 Jan 2025 08:30–09:00 GMT" in text
        # Its own 30 minutes (the type's default is 15): the first half hour free from now.
        assert "  ->  Mon 20 Jan 2025 09:00–09:30 GMT" in text and "Hold 15:00 left" in text
        await press(pilot, "enter")
        assert isinstance(app.screen, AgendaScreen)
        moved = appointments.get_appointment(desk, SECOND)
        assert (moved.start_time, moved.end_time, moved.status) == (at(9, 0), at(9, 30), "confirmed")
        assert "start_time" in {entry.field for entry in moved.change_log}
        assert app.screen.highlighted_id() == SECOND
        assert not app.owned_holds


async def test_escape_in_the_move_dialog_lets_the_hold_go(desk):
    async with running(desk) as (app, pilot):
        await press(pilot, "enter")  # the appointment screen: m there too
        assert isinstance(app.screen, AppointmentScreen)
        await press(pilot, "m")
        assert isinstance(app.screen, SlotPickerScreen)
        assert app.screen.query_one("#type").disabled  # a move keeps the type
        await press(pilot, "enter")
        assert isinstance(app.screen, MoveModal)
        await press(pilot, "escape")
        assert isinstance(app.screen, SlotPickerScreen)
        assert appointments.get_appointment(desk, FIRST).start_time == at(8, 15)
        assert not holds.list_holds(desk, HoldFilter(limit=10)).items  # released
        assert not app.owned_holds


async def test_an_action_on_a_stale_row_is_refused(desk, other_desk):
    async with running(desk) as (app, pilot):
        desk.clock.set(at(8, 10))
        appointments.act_on_appointment(other_desk, FIRST, "check-in")
        await press(pilot, "i")  # this desk still shows it booked: the version it saw is old
        assert appointments.get_appointment(desk, FIRST).version == 2
        assert any("Changed meanwhile" in text and "changed by desk-2" in text for text in notifications(app))
        assert state_of(app, FIRST) == "arrived 0 min"  # the row reloaded as it is


async def test_state_column_follows_the_clock(desk):
    booked = appointments.get_appointment(desk, FIRST)  # 08:15, confirmed
    assert str(visit_state(booked, at(8, 15) + timedelta(minutes=LATE_AFTER_MINUTES - 1))) == "confirmed"
    assert str(visit_state(booked, at(8, 15) + timedelta(minutes=LATE_AFTER_MINUTES))) == "late"

    arrived = replace(booked, attendance_status="arrived", arrived_at=at(8, 10))
    assert str(visit_state(arrived, at(8, 22))) == "arrived 12 min"
    alert = visit_state(arrived, at(8, 10) + timedelta(minutes=WAITING_ALERT_MINUTES))
    assert str(alert) == "⚠ waits 15 min"
    assert "reverse" in str(alert.style) and "bold" in str(alert.style)  # reads without colour

    in_room = replace(arrived, attendance_status="in_room", actual_start_time=at(8, 30))
    assert str(visit_state(in_room, at(8, 55))) == "in room 25 min"
    assert str(visit_state(in_room, at(10, 35))) == "in room 2 h 05"
    assert str(visit_state(replace(in_room, status="completed", attendance_status="checked_out"), at(9, 0))) == "done"
    assert str(visit_state(replace(booked, status="no_show"), at(9, 0))) == "no-show"

    # On screen, the header's clock tick redraws it: no counter, the app clock.
    async with running(desk) as (app, pilot):
        desk.clock.set(at(8, 10))
        await press(pilot, "i")
        desk.clock.set(at(8, 26))
        app.screen.query_one(ClinicHeader).tick()
        await pilot.pause()
        assert state_of(app, FIRST) == "⚠ waits 16 min"
        assert "⚠ waits 16 min" in row_texts(app.screen.query_one("#agenda", DataTable))[0]


async def test_home_and_end_go_to_the_first_and_last_row(desk):
    async with running(desk) as (app, pilot):
        table = app.screen.query_one("#agenda", DataTable)
        rows = day_list.agenda(desk, location_id="loc_central", day=NOW.date()).items
        await press(pilot, "end")
        assert table.cursor_row == table.row_count - 1 > 0
        assert app.screen.highlighted_id() == rows[-1].appointment.id
        await press(pilot, "home")  # the first visit (at 08:00 the line marking now comes before it)
        assert app.screen.highlighted_id() == rows[0].appointment.id


def test_revert_is_offered_only_when_there_is_an_action_of_today_to_undo(desk):
    from frontdesk.tui.screens.flow_board import allowed_actions

    row = next(r for r in day_list.agenda(desk, location_id="loc_central", day=NOW.date()).items
               if r.appointment.status == "confirmed")
    apt = row.appointment
    assert apt.last_action_on is None and "revert" not in allowed_actions(apt, NOW, "Europe/London")
    desk.clock.set(apt.start_time)
    arrived = appointments.act_on_appointment(desk, apt.id, "check-in").appointment
    assert arrived.last_action_on == apt.start_time.date()
    assert "revert" in allowed_actions(arrived, apt.start_time, "Europe/London")
    assert "revert" not in allowed_actions(arrived, apt.start_time + timedelta(days=1), "Europe/London")
