"""The day list as a flow board (Textual's Pilot): the clinic file's minutes on the board, the
line marking now and `t`, the "to do" filter, and columns that use the width there is."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

from textual.widgets import DataTable
from tui_pilot import (
    appointment_rows,
    notifications,
    pick_option,
    running,
    screen_text,
    settle,
    type_text,
)

from frontdesk.services import appointments, day_list
from frontdesk.services.clinic import default_sample, load_clinic_data
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.flow_board import (
    NOW_KEY,
    PATIENT,
    STATE,
    TIME,
    TYPE,
    choose_columns,
    fit_widths,
)
from frontdesk.tui.widgets import ClinicHeader

# The demo's Monday at loc_central (London is UTC in January).
FIRST, SECOND, THIRD = "apt_0027", "apt_0028", "apt_0001"  # 08:15 Amelia Kaur, 08:30 Freya Lawson, 09:00 Oliver Bennett


def at(hh: int, mm: int) -> datetime:
    return datetime(2025, 1, 20, hh, mm, tzinfo=UTC)


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def keys(table: DataTable) -> list[str]:
    return [str(key.value) for key in table.rows]


def state_of(app, apt_id: str) -> str:
    return str(app.screen.query_one("#agenda", DataTable).get_cell(apt_id, "status"))


async def tick(app, pilot) -> None:
    """The header's clock tick, now rather than at the next second."""
    app.screen.query_one(ClinicHeader).tick()
    await pilot.pause()


def act(desk, apt_id: str, action: str, when: datetime) -> None:
    desk.clock.set(when)
    appointments.act_on_appointment(desk, apt_id, action)


# --- the clinic file's minutes --------------------------------------------------------------


async def test_the_board_reads_late_and_waiting_minutes_from_the_clinic_file(desk):
    sample = tomllib.loads(default_sample().read_text())  # the demo's own file
    data = {key: sample[key] for key in ("clinic", "locations", "clinicians", "appointment_types")}
    data["clinic"] |= {"late_after_minutes": 3, "waiting_alert_minutes": 5}
    load_clinic_data(desk, data, "clinic.toml")  # the sections left out are left as they are
    act(desk, SECOND, "check-in", at(8, 14))
    desk.clock.set(at(8, 19))
    async with running(desk) as (app, pilot):
        assert (app.overview.late_after_minutes, app.overview.waiting_alert_minutes) == (3, 5)
        assert state_of(app, FIRST) == "late"  # 4 minutes after 08:15: the default 10 would not say so
        assert state_of(app, SECOND) == "⚠ waits 5 min"  # the default 15 would still say "arrived"


# --- the line marking now --------------------------------------------------------------------


async def test_the_now_line_sits_between_past_and_coming_visits_and_moves_with_the_clock(desk):
    async with running(desk) as (app, pilot):
        table = app.screen.query_one("#agenda", DataTable)
        assert keys(table)[:2] == [NOW_KEY, FIRST]  # 08:00: before the day's first visit
        assert table.cursor_row == 1  # the list opens on the first visit from now on
        assert "08:00 ──" in screen_text(app) and "── now ──" in screen_text(app)

        desk.clock.set(at(8, 20))
        await tick(app, pilot)
        assert keys(table)[:3] == [FIRST, NOW_KEY, SECOND]
        assert "08:20 ──" in screen_text(app)
        assert app.screen.highlighted_id() == FIRST  # the cursor stays on its appointment

        await press(pilot, "down")  # steps over the line
        assert app.screen.highlighted_id() == SECOND
        await press(pilot, "up")
        assert app.screen.highlighted_id() == FIRST

        desk.clock.set(at(8, 30))  # a visit starting now is still to come: the line stays above it
        await tick(app, pilot)
        assert keys(table)[:3] == [FIRST, NOW_KEY, SECOND]

        # On the line (a click), keys do nothing to any appointment.
        table.move_cursor(row=1)
        await press(pilot, "enter", "i")
        assert isinstance(app.screen, AgendaScreen)
        assert any("No appointment selected" in text for text in notifications(app))
        assert all(a.attendance_status is None for a in (appointments.get_appointment(desk, i) for i in (FIRST, SECOND)))

        await press(pilot, "n")  # only today's list has the line
        assert NOW_KEY not in keys(table)
        assert len(appointment_rows(table)) == table.row_count > 0


async def test_the_now_line_goes_last_after_the_days_last_visit(desk):
    desk.clock.set(at(18, 0))
    async with running(desk) as (app, pilot):
        table = app.screen.query_one("#agenda", DataTable)
        assert keys(table)[-1] == NOW_KEY
        assert table.cursor_row == table.row_count - 1  # nothing after now: the cursor on the line


async def test_no_key_leaves_the_cursor_on_the_now_line(desk):
    async with running(desk) as (app, pilot):  # 08:00: the line is the first row
        table = app.screen.query_one("#agenda", DataTable)
        await press(pilot, "home")
        assert app.screen.highlighted_id() == FIRST
        await press(pilot, "up")
        assert app.screen.highlighted_id() == FIRST
    desk.clock.set(at(18, 0))
    async with running(desk) as (app, pilot):  # 18:00: the line is the last row
        table = app.screen.query_one("#agenda", DataTable)
        last = keys(table)[-2]
        await press(pilot, "home", "end")
        assert app.screen.highlighted_id() == last
        await press(pilot, "home", "pagedown", "pagedown", "pagedown")
        assert app.screen.highlighted_id() == last


async def test_t_goes_to_today_and_to_now(desk):
    desk.clock.set(at(9, 5))
    async with running(desk) as (app, pilot):
        table = app.screen.query_one("#agenda", DataTable)
        await press(pilot, "p", "end")
        assert "(yesterday)" in screen_text(app)
        await press(pilot, "t")
        assert "(today)" in screen_text(app)
        now_row = keys(table).index(NOW_KEY)
        first_to_come = next(r for r in day_list.agenda(desk, location_id="loc_central", day=at(0, 0).date()).items
                             if r.appointment.start_time >= at(9, 5))
        assert table.cursor_row == now_row + 1
        assert app.screen.highlighted_id() == first_to_come.appointment.id
        await press(pilot, "home")
        assert table.cursor_row == 0
        await press(pilot, "end", "t")  # t again, on today: back to now
        assert table.cursor_row == now_row + 1


# --- the "to do" filter ------------------------------------------------------------------------


async def test_the_to_do_filter_shows_only_visits_still_to_see_to(desk):
    act(desk, FIRST, "check-in", at(8, 10))
    act(desk, FIRST, "start", at(8, 15))  # in the room: not the desk's to do
    act(desk, SECOND, "check-in", at(8, 25))  # waiting
    act(desk, "apt_0015", "check-in", at(8, 50))  # 09:00 Charlie Dawson, then done
    act(desk, "apt_0015", "complete", at(9, 40))
    desk.clock.set(at(10, 12))  # 09:00 Oliver Bennett, not arrived: late
    async with running(desk) as (app, pilot):
        table = app.screen.query_one("#agenda", DataTable)
        everything = len(appointment_rows(table))
        await press(pilot, "T")
        shown = [k for k in keys(table) if k != NOW_KEY]
        assert SECOND in shown and THIRD in shown
        assert FIRST not in shown and "apt_0015" not in shown
        assert state_of(app, THIRD) == "late" and state_of(app, SECOND).startswith("⚠ waits")
        assert len(shown) < everything
        info = str(app.screen.query_one("#page-info").render())
        assert info.startswith("To do (not arrived, waiting, late; T: all)")

        # With the other filters: a search narrows the to-do list further.
        await press(pilot, "slash")
        await type_text(pilot, "Lawson")
        await settle(pilot)
        assert [k for k in keys(table) if k != NOW_KEY] == [SECOND]
        await press(pilot, "enter", "escape")  # Escape clears every filter, to do too
        assert len(appointment_rows(table)) == everything
        assert "To do" not in str(app.screen.query_one("#page-info").render())

        await press(pilot, "T", "T")  # T again shows everything
        assert len(appointment_rows(table)) == everything


async def test_a_visit_leaving_the_to_do_list_keeps_the_cursor_in_its_place(desk):
    desk.clock.set(at(8, 10))
    async with running(desk) as (app, pilot):
        table = app.screen.query_one("#agenda", DataTable)
        await press(pilot, "T", "down", "down")  # the third visit to see to
        row, apt_id = table.cursor_row, app.screen.highlighted_id()
        after = keys(table)[row + 1]
        await press(pilot, "i", "s")  # arrived, then into the room: no longer the desk's to do
        assert apt_id not in keys(table)
        assert (table.cursor_row, app.screen.highlighted_id()) == (row, after)


async def test_switching_location_keeps_the_day(desk):
    async with running(desk) as (app, pilot):
        await press(pilot, "n", "n")
        assert "Wed 22 Jan 2025" in screen_text(app)
        await press(pilot, "l")
        await pick_option(pilot, lambda option: "Hudson" in str(option.prompt))
        await settle(pilot)
        assert app.location.id == "loc_hudson" and "Wed 22 Jan 2025" in screen_text(app)


async def test_nothing_left_to_do_says_so(desk):
    desk.clock.set(at(8, 0))
    async with running(desk) as (app, pilot):
        await press(pilot, "n", "n", "n", "n", "n", "n")  # Sunday: no visits
        await press(pilot, "T")
        assert "Nothing left to do on this day." in screen_text(app)


# --- the width ---------------------------------------------------------------------------------


def test_names_are_cut_only_when_no_column_has_room_to_spare():
    columns = (TIME, PATIENT, TYPE, STATE)
    naturals = {"time": 5, "patient": 20, "type": 30, "status": 14}
    assert fit_widths(columns, naturals, 80) == naturals  # room to spare: every cell whole
    # Short of room: the patient's name grows twice as fast as the type.
    widths = fit_widths(columns, naturals, 50)
    assert widths["time"] == 5 and widths["status"] == 14 and sum(widths.values()) == 50
    assert widths["patient"] == 20 > widths["type"] == 11
    # Narrow cells keep their own width: no column stands wider than it needs.
    assert fit_widths(columns, {"time": 5, "patient": 6, "type": 4, "status": 14}, 60)["patient"] == 6
    # No room at all: the floors hold (the table scrolls sideways).
    assert fit_widths(columns, naturals, 20) == {"time": 5, "patient": 12, "type": 8, "status": 14}


def test_a_60_column_terminal_leaves_out_the_room_then_the_type_and_keeps_the_state_whole():
    naturals = {"time": 5, "span": 11, "patient": 20, "clinician": 16, "type": 22, "room": 18, "status": 14,
                "phone": 15, "notes": 30}
    keys = lambda space: [c.key for c in choose_columns(naturals, set(), space, 2)]  # noqa: E731
    assert keys(80) == ["time", "patient", "clinician", "type", "room", "status"]
    assert keys(58) == ["time", "patient", "clinician", "type", "status"]  # 60 wide, less the borders
    assert keys(48) == ["time", "patient", "clinician", "status"]


async def test_at_80_columns_names_read_whole_and_at_120_more_columns_show(desk):
    rows = day_list.agenda(desk, location_id="loc_central", day=at(0, 0).date()).items[:15]  # those in view at 80x24
    async with running(desk, size=(80, 24)) as (app, pilot):
        text = screen_text(app)
        assert all(row.patient_name in text for row in rows)
        assert "Phone" not in text.splitlines()[3]
        assert "08:15 " in text and "08:15–08:30" not in text  # the start is what the desk reads
    async with running(desk, size=(120, 40)) as (app, pilot):
        text = screen_text(app)
        header = text.splitlines()[3]
        assert header.split() == ["Time", "Patient", "Clinician", "Type", "Room", "Phone", "State"]
        assert "08:15–08:30" in text and rows[0].patient_phone in text
        assert all(row.clinician_name in text for row in rows)
