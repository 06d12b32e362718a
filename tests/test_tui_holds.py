"""The holds screen (H, or the palette): every desk's holds in force, with a live time left,
and any of them released after asking. Driven by keyboard (Pilot) with a fake clock."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable
from tui_pilot import (
    FOLLOW_UP,
    hold_first_slot,
    hold_same_time,
    make_app,
    row_texts,
    running,
    screen_text,
    settle,
    type_text,
    until,
)

from frontdesk.services import holds
from frontdesk.services.availability import query_availability
from frontdesk.services.objects import AvailabilityQuery
from frontdesk.tui import format as fmt
from frontdesk.tui.modals import ConfirmModal, HelpScreen
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.holds import HoldsScreen
from frontdesk.tui.screens.patient import PatientScreen


def free_slots(ctx) -> list:
    return query_availability(ctx, AvailabilityQuery(appointment_type_id=FOLLOW_UP, start_date="2025-01-20",
                                                     end_date="2025-01-20")).slots


def rows(app) -> list[str]:
    return row_texts(app.screen.query_one("#holds", DataTable))


async def open_holds(pilot) -> HoldsScreen:
    await pilot.press("H")
    await settle(pilot)
    assert isinstance(pilot.app.screen, HoldsScreen)
    return pilot.app.screen


async def holds_from_palette(pilot) -> HoldsScreen:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await type_text(pilot, "holds in force")
    await until(pilot, lambda: "Every desk's holds" in screen_text(pilot.app))  # the palette searches on a timer
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, HoldsScreen)
    return pilot.app.screen


async def test_another_desks_hold_is_shown_counts_down_by_the_clock_and_is_released_after_asking(desk, other_desk):
    other_desk.desk = "front-2:pts/9"
    slot = free_slots(desk)[0]
    theirs = hold_same_time(other_desk, FOLLOW_UP, slot)
    async with running(desk) as (app, pilot):
        screen = await open_holds(pilot)
        (row,) = rows(app)
        left, where, who, kind, clinician, when = row.split(" | ")
        assert (left, where, who) == ("15:00", "front-2:pts/9", "desk-2")
        assert kind == app.type_name(FOLLOW_UP)
        assert clinician == app.clinician_name(slot.clinician_id)
        assert app.location_zone(slot.location_id) == "Europe/London"
        assert when == f"Mon 20 Jan {fmt.hhmm(slot.start_time, 'Europe/London')} GMT" == screen.slot_label(theirs)
        assert "1 hold in force" in screen_text(app)

        # Time left is the expiry less the clock, whatever the timer did meanwhile.
        desk.clock.advance(minutes=4, seconds=31)
        screen.tick()
        await pilot.pause()
        assert rows(app)[0].startswith("10:29 | ")
        desk.clock.advance(minutes=10)
        screen.tick()
        await pilot.pause()
        assert rows(app)[0].startswith("00:29 | ")

        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert "made by desk-2 at front-2:pts/9" in screen_text(app)
        await pilot.press("n")  # keep it
        await settle(pilot)
        assert app.screen is screen and holds.get_hold(desk, theirs.id).status == "active"

        await pilot.press("r")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        assert holds.get_hold(desk, theirs.id).status == "released"
        assert rows(app) == [] and "No holds in force." in screen_text(app)
        # Its time is free again: this desk can hold the very slot.
        assert hold_same_time(desk, FOLLOW_UP, slot).status == "active"

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)


async def test_a_hold_that_runs_out_leaves_the_list(desk, other_desk):
    slots = free_slots(desk)
    first = hold_same_time(other_desk, FOLLOW_UP, slots[0])
    desk.clock.advance(minutes=5)
    later = hold_same_time(other_desk, FOLLOW_UP, next(s for s in slots if s.start_time > slots[0].start_time + timedelta(hours=1)))
    async with running(desk) as (app, pilot):
        screen = await open_holds(pilot)
        assert [r.split(" | ")[0] for r in rows(app)] == ["10:00", "15:00"]
        desk.clock.set(first.expires_at)
        screen.tick()
        await settle(pilot)
        assert [r.split(" | ")[0] for r in rows(app)] == ["05:00"]
        assert list(screen.holds) == [later.id]


async def test_releasing_this_desks_own_hold_says_so_and_lets_go_of_it(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        assert isinstance(app.screen, PatientScreen)
        mine = app.screen.hold
        await pilot.press("H")  # the patient form has focus: H is a letter typed there
        await settle(pilot)
        assert isinstance(app.screen, PatientScreen)
        screen = await holds_from_palette(pilot)
        assert " (here) | desk-1 | " in rows(app)[0]
        await pilot.press("r")
        await settle(pilot)
        assert "This desk is booking with it." in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert holds.get_hold(desk, mine.id).status == "released"
        assert mine.id not in app.owned_holds and app.screen is screen


async def test_the_holds_screen_from_the_palette_and_in_help_and_h_in_a_search_field_is_a_letter(desk):
    async with running(desk) as (app, pilot):
        await pilot.press("slash")
        await type_text(pilot, "HH")  # typed into the search, not taken as the key
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
        assert app.screen.query_one("#search").value == "HH"
        await pilot.press("escape")

        await holds_from_palette(pilot)
        await pilot.press("H")  # already there: not a second one
        await settle(pilot)
        assert [type(s) for s in app.screen_stack].count(HoldsScreen) == 1

        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        from frontdesk.tui.help import help_sections

        sections = dict(help_sections(app))
        assert ("H", "Holds in force at every desk (release one from there)") in sections["Everywhere"]
        assert ("r", "Release the selected hold (asks first)") in sections["Holds in force (H)"]


def test_holds_screen_picture(snap_compare, desk, other_desk):
    """80x24, the fake clock three minutes on: three holds of another desk, soonest first."""
    other_desk.desk = "reception-2:pts/4"
    slots = free_slots(desk)
    for slot in (slots[0], slots[3], slots[6]):
        hold_same_time(other_desk, FOLLOW_UP, slot)
        desk.clock.advance(minutes=1)

    async def run_before(pilot):
        await settle(pilot)
        await open_holds(pilot)

    app = make_app(desk)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
