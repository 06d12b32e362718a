"""A group's roster on its appointment screen, driven by keyboard (Textual's Pilot) on the demo
clinic's Back Care Group Class: Wed 22 Jan 16:00, three of eight seats taken."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tui_pilot import notifications, row_texts, running, screen_text, settle, type_text

from frontdesk.clock import FakeClock
from frontdesk.services import appointments, attendees
from frontdesk.services.context import Context
from frontdesk.services.objects import AppointmentFilter
from frontdesk.tui.modals import ConfirmModal
from frontdesk.tui.screens.appointment import AppointmentScreen
from frontdesk.tui.screens.roster import AddAttendeeModal, Roster
from frontdesk.tui.widgets import FitTable

CLASS_TYPE = "type_back_care_class"
WEDNESDAY = date(2025, 1, 22)
GOING_AT_START = ["George Hughes | ✓ going | not applicable | · no",
                  "Mia Thornton | ✓ going | not applicable | · no",
                  "Sophie Rahman | ✓ going | not applicable | · no"]


def the_class(desk):
    found = appointments.list_appointments(desk, AppointmentFilter(appointment_type_id=CLASS_TYPE)).items
    assert len(found) == 1 and found[0].group
    return found[0]


async def open_class(pilot, desk) -> Roster:
    """Wednesday's day list, the cursor to the class's row ("Group 3/8"), Enter."""
    group = the_class(desk)
    home = pilot.app.screen
    home.show_day(WEDNESDAY)
    await settle(pilot)
    table = home.query_one("#agenda", FitTable)
    table.move_cursor(row=table.get_row_index(group.id))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AppointmentScreen)
    return pilot.app.screen.query_one(Roster)


def roster_rows(roster: Roster) -> list[str]:
    return row_texts(roster.query_one(FitTable))


async def to_attendee(pilot, roster: Roster, name: str) -> None:
    table = roster.query_one(FitTable)
    table.move_cursor(row=next(i for i, text in enumerate(roster_rows(roster)) if text.startswith(name)))
    await pilot.pause()


async def test_roster_shows_seats_and_attendees_sorted_by_name(desk):
    async with running(desk, size=(100, 30)) as (app, pilot):
        roster = await open_class(pilot, desk)
        text = screen_text(app)
        assert "Back Care Group Class · 3 of 8 seats taken · 5 left" in text
        assert roster_rows(roster) == GOING_AT_START
        # The keys are in the footer.
        for key in ("Add", "Remove", "Going", "Payment", "No-show"):
            assert key in text.splitlines()[-1]


async def test_add_a_patient_through_the_search(desk):
    async with running(desk) as (app, pilot):
        roster = await open_class(pilot, desk)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AddAttendeeModal)
        await type_text(pilot, "Arnold")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        assert roster_rows(roster)[0] == "Ben Arnold | ✓ going | not applicable | · no"
        assert "Ben Arnold added to the class." in "\n".join(notifications(app))
        assert "4 of 8 seats taken · 4 left" in screen_text(app)
        assert len([a for a in the_class(desk).attendees if a.attendance_status == "going"]) == 4


async def test_adding_someone_already_going_is_refused_plainly(desk):
    async with running(desk) as (app, pilot):
        roster = await open_class(pilot, desk)
        await pilot.press("a")
        await settle(pilot)
        await type_text(pilot, "Thornton")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert "Mia Thornton is already going to this class." in "\n".join(notifications(app))
        assert roster_rows(roster) == GOING_AT_START


async def test_remove_asks_first_then_frees_the_seat(desk):
    async with running(desk) as (app, pilot):
        roster = await open_class(pilot, desk)
        await to_attendee(pilot, roster, "Mia Thornton")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # keep
        await settle(pilot)
        assert len(roster_rows(roster)) == 3
        await pilot.press("delete")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert [row.split(" | ")[0] for row in roster_rows(roster)] == ["George Hughes", "Sophie Rahman"]
        assert "2 of 8 seats taken · 6 left" in screen_text(app)
        assert "Mia Thornton is off the class; the seat is free." in "\n".join(notifications(app))


async def test_going_and_payment_keys(desk):
    async with running(desk) as (app, pilot):
        roster = await open_class(pilot, desk)
        await to_attendee(pilot, roster, "Sophie Rahman")
        await pilot.press("g")
        await settle(pilot)
        assert roster_rows(roster)[2] == "Sophie Rahman | ✗ not going | not applicable | · no"
        assert "2 of 8 seats taken · 6 left" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert roster_rows(roster)[2] == "Sophie Rahman | ✗ not going | pending | · no"
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert roster_rows(roster)[2] == "Sophie Rahman | ✓ going | paid | · no"
        assert "3 of 8 seats taken · 5 left" in screen_text(app)
        await pilot.press("p")  # round again
        await settle(pilot)
        assert roster_rows(roster)[2] == "Sophie Rahman | ✓ going | not applicable | · no"


async def test_no_show_only_once_the_class_has_begun(desk):
    async with running(desk) as (app, pilot):
        roster = await open_class(pilot, desk)
        await to_attendee(pilot, roster, "George Hughes")
        await pilot.press("n")
        await settle(pilot)
        assert "has not begun" in "\n".join(notifications(app))
        assert roster_rows(roster) == GOING_AT_START
        desk.clock.set(datetime(2025, 1, 22, 16, 10, tzinfo=UTC))  # ten minutes into the class
        await pilot.press("n")
        await settle(pilot)
        assert roster_rows(roster)[0] == "George Hughes | ✓ going | not applicable | ⚠ no-show"
        await pilot.press("n")
        await settle(pilot)
        assert roster_rows(roster)[0] == "George Hughes | ✓ going | not applicable | · no"


async def test_a_full_class_refuses_the_ninth(desk):
    group = the_class(desk)
    version = group.version
    for patient_id in ("pat_oliver_bennett", "pat_grace_whitfield", "pat_harry_osei", "pat_isla_morgan",
                       "pat_ruby_clarke"):  # 8 of 8, from another desk
        version = attendees.add_attendee(desk, group.id, patient_id, expect_version=version).version
    async with running(desk) as (app, pilot):
        roster = await open_class(pilot, desk)
        assert "8 of 8 seats taken · 0 left" in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        await type_text(pilot, "Arnold")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        shown = "\n".join(notifications(app))
        assert "Class full" in shown and "The class is full: no seat is left." in shown
        assert len(roster_rows(roster)) == 8
        assert "Ben Arnold" not in screen_text(app)


async def test_a_change_from_another_desk_is_not_overwritten(desk):
    async with running(desk) as (app, pilot):
        roster = await open_class(pilot, desk)
        await to_attendee(pilot, roster, "George Hughes")
        group = the_class(desk)
        other = Context.open(str(desk.db.url), clock=FakeClock(desk.clock.now()), operator="desk-2")
        try:
            attendees.update_attendee(other, group.id, "pat_george_hughes", payment_status="paid",
                                      expect_version=group.version)
        finally:
            other.db.dispose()
        await pilot.press("g")  # on the version this desk saw
        await settle(pilot)
        shown = "\n".join(notifications(app))
        assert "desk-2 changed this appointment" in shown and "Nothing was changed" in shown
        # Reloaded as desk-2 left it, and George still going.
        assert roster_rows(roster)[0] == "George Hughes | ✓ going | paid | · no"


async def test_help_names_the_roster_keys(desk):
    from frontdesk.tui.help import help_sections

    async with running(desk) as (app, pilot):
        sections = dict(help_sections(app))
        assert ("x / del", "Take the attendee off the class (asks first)") in sections["Group roster (a class's appointment)"]
        assert ("p", "Payment: not applicable → pending → paid") in sections["Group roster (a class's appointment)"]
