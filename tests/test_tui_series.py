"""Series in the terminal UI, by keyboard on the demo clinic (Textual's Pilot): repeating a
held slot from the patient-details screen (a preview of each visit with its clash, then hold
all or the free ones, under the same countdown), confirming books them all, and the
appointment screen showing the series and asking which ones a cancel or an edit reaches."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from textual.widgets import Button, DataTable
from tui_pilot import (
    hold_first_slot,
    notifications,
    pick_option,
    row_texts,
    running,
    screen_text,
    settle,
    type_new_patient,
    type_text,
)

from frontdesk.services import appointments, availability, day_list, holds
from frontdesk.services.objects import AppointmentCreate, AvailabilityQuery, ConfirmRequest, HoldRequest
from frontdesk.tui.choice import ChoiceModal
from frontdesk.tui.modals import CancelModal, EditModal
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.appointment import AppointmentScreen
from frontdesk.tui.screens.patient import PatientScreen
from frontdesk.tui.screens.repeat import RepeatModal
from frontdesk.tui.widgets import HoldCountdown

# The demo's first follow-up slot: Dr. Amara Okafor, Monday 20 January 08:30-08:50 (London = UTC).
FIRST = datetime(2025, 1, 20, 8, 30, tzinfo=UTC)
AMARA = "cli_amara_okafor"


def take_amaras_time(desk, start: datetime) -> str:
    """Something else in Dr. Okafor's diary at `start` (staff time booked directly)."""
    return appointments.create_appointment(desk, AppointmentCreate(
        title="Team meeting", start_time=start, end_time=start + timedelta(minutes=20), clinician_profile_id=AMARA)).id


async def open_repeat(pilot) -> RepeatModal:
    await hold_first_slot(pilot)
    assert isinstance(pilot.app.screen, PatientScreen)
    assert pilot.app.screen.hold.start_time == FIRST
    await pilot.press("ctrl+r")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RepeatModal)
    return pilot.app.screen


async def retype_visits(pilot, text: str) -> None:
    await pilot.press("ctrl+a", "ctrl+k")  # the Visits field: to its start, then delete to its end
    await type_text(pilot, text)
    await settle(pilot)


_PREVIEW_ROW = re.compile(r"│\s+(\d+)\s+(\w{3} \d+ \w{3} \d{4})\s+(\d\d:\d\d–\d\d:\d\d \w+)\s+(free|✗ [a-z ()']+?)\s*│")


def preview_rows(app) -> list[tuple[str, str, str, str]]:
    """The preview's rows as drawn in the dialog: (number, date, time, free or the clash)."""
    return [m.groups() for m in map(_PREVIEW_ROW.search, screen_text(app).splitlines()) if m]


def button(app, button_id: str) -> Button:
    return app.screen.query_one(f"#{button_id}", Button)


# --- repeating a held slot ------------------------------------------------------------------------


async def test_repeat_previews_the_clash_then_holds_the_free_ones_under_the_same_countdown(desk):
    take_amaras_time(desk, FIRST + timedelta(weeks=1))
    async with running(desk, size=(80, 24)) as (app, pilot):
        await hold_first_slot(pilot)
        patient_screen = app.screen
        single = patient_screen.hold
        assert "^r Repeat" in screen_text(app)  # in the footer
        desk.clock.advance(minutes=3)  # the desk took a while before asking
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, RepeatModal)
        text = screen_text(app)
        assert "Every week" in text and "6 visits" in text
        assert preview_rows(app) == [
            ("1", "Mon 20 Jan 2025", "08:30–08:50 GMT", "free"),
            ("2", "Mon 27 Jan 2025", "08:30–08:50 GMT", "✗ taken"),
            ("3", "Mon 3 Feb 2025", "08:30–08:50 GMT", "free"),
            ("4", "Mon 10 Feb 2025", "08:30–08:50 GMT", "free"),
            ("5", "Mon 17 Feb 2025", "08:30–08:50 GMT", "free"),
            ("6", "Mon 24 Feb 2025", "08:30–08:50 GMT", "free"),
        ]
        assert "5 of 6 free; 1 not" in text
        assert button(app, "hold-all").disabled and not button(app, "hold-free").disabled

        # Not all are free: ctrl+s holds nothing and says what to do.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RepeatModal)
        assert any("ctrl+f holds the free ones" in n for n in notifications(app))
        assert holds.get_hold(desk, single.id).occurrences is None

        await pilot.press("ctrl+f")
        await settle(pilot)
        assert app.screen is patient_screen
        assert "Weekly × 6 (1 skipped) · the last Mon 24 Feb 2025" in screen_text(app)
        held = holds.get_hold(desk, single.id)
        assert len(held.occurrences) == 5 and [s["index"] for s in held.skipped] == [1]
        assert held.expires_at == single.expires_at  # the countdown did not restart
        patient_screen.query_one(HoldCountdown).tick()
        assert "Hold 12:00 left" in screen_text(app)
        assert "^r Repeat" not in screen_text(app)  # a series is not repeated again

        # Confirming books them all, and says how many.
        await type_new_patient(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
        assert any("Zoe Quill · 5 appointments booked, weekly from Mon 20 Jan 2025 08:30–08:50 GMT" in n
                   for n in notifications(app))
        booked = holds.get_hold(desk, single.id).appointment_ids
        views = [appointments.get_appointment(desk, i) for i in booked]
        assert [v.start_time for v in views] == [FIRST + timedelta(weeks=w) for w in (0, 2, 3, 4, 5)]
        assert {v.recurring["series_id"] for v in views} == {views[0].recurring["series_id"]}


async def test_every_2_weeks_until_a_date_holds_all_with_enter(desk):
    async with running(desk, size=(80, 24)) as (app, pilot):
        modal = await open_repeat(pilot)
        hold_id = modal.hold.id
        await pilot.press("shift+tab")  # from Visits to the Repeat choice
        assert app.focused.id == "every"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)
        await pick_option(pilot, lambda option: option.id == "2")
        assert app.screen is modal and "Every 2 weeks" in screen_text(app)
        await pilot.press("tab")
        await retype_visits(pilot, "2025-03-03")
        text = screen_text(app)
        assert "until Mon 3 Mar 2025" in text
        assert [row[1] for row in preview_rows(app)] == [
            "Mon 20 Jan 2025", "Mon 3 Feb 2025", "Mon 17 Feb 2025", "Mon 3 Mar 2025"]
        assert "All 4 free." in text and not button(app, "hold-all").disabled and button(app, "hold-free").disabled
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientScreen)
        assert "Every 2 weeks × 4 · the last Mon 3 Mar 2025" in screen_text(app)
        held = holds.get_hold(desk, hold_id)
        assert held.series_rule == "FREQ=WEEKLY;INTERVAL=2;UNTIL=20250303T235959" and len(held.occurrences) == 4


async def test_what_cannot_be_a_series_is_said_beside_the_field_and_nothing_is_held(desk):
    async with running(desk, size=(80, 24)) as (app, pilot):
        modal = await open_repeat(pilot)
        for typed, said in [("1", "From 2 to 52 visits."), ("53", "From 2 to 52 visits."),
                            ("2026-06-01", "more than 52 visits"), ("2025-01-20", "must be after the first visit"),
                            ("soon", "Not a number of visits or a date"), ("", "How many visits")]:
            await retype_visits(pilot, typed)
            assert said in screen_text(app), typed
            assert button(app, "hold-all").disabled and button(app, "hold-free").disabled
            assert preview_rows(app) == []  # no preview
        await pilot.press("ctrl+s", "ctrl+f")
        await settle(pilot)
        assert app.screen is modal
        await pilot.press("escape")  # Back: the one slot stays held
        await settle(pilot)
        assert isinstance(app.screen, PatientScreen)
        hold = holds.get_hold(desk, modal.hold.id)
        assert hold.status == "active" and hold.occurrences is None
        assert "^r Repeat" in screen_text(app)


async def test_a_visit_taken_by_another_desk_after_the_preview_holds_nothing_and_shows_it(desk, other_desk):
    async with running(desk, size=(80, 24)) as (app, pilot):
        modal = await open_repeat(pilot)
        assert "All 6 free." in screen_text(app)
        take_amaras_time(other_desk, FIRST + timedelta(weeks=3))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is modal
        assert any("Another desk took some of these meanwhile" in n for n in notifications(app))
        text = screen_text(app)
        assert "5 of 6 free; 1 not" in text
        # The notice covers the table's foot: read its rows.
        rows = row_texts(modal.query_one("#preview", DataTable))
        assert [row.split(" | ")[-1] for row in rows] == ["free"] * 3 + ["✗ taken"] + ["free"] * 2
        single = holds.get_hold(desk, modal.hold.id)
        assert single.occurrences is None and single.start_time == FIRST


async def test_the_dialog_closes_when_the_hold_runs_out(desk):
    async with running(desk, size=(80, 24)) as (app, pilot):
        modal = await open_repeat(pilot)
        desk.clock.set(modal.hold.expires_at + timedelta(seconds=1))
        modal.query_one(HoldCountdown).tick()
        await settle(pilot)
        assert isinstance(app.screen, PatientScreen)
        app.screen.query_one(HoldCountdown).tick()
        await settle(pilot)
        assert "The hold ran out" in screen_text(app)


# --- the appointment screen: the series, and the scope of a cancel or an edit -----------------------


WEDNESDAY = date(2025, 1, 22)


def book_series(desk, count: int = 6) -> list[str]:
    """Oliver Bennett weekly with Dr. Okafor from her first free follow-up on Wednesday 22 January."""
    slot = next(s for s in availability.query_availability(desk, AvailabilityQuery(
        appointment_type_id="type_follow_up", start_date="2025-01-22", end_date="2025-01-22",
        clinician_id=AMARA, location_id="loc_central")).slots)
    hold = holds.create_hold(desk, HoldRequest("type_follow_up", AMARA, start=slot.start_time, location_id="loc_central",
                                               rrule=f"FREQ=WEEKLY;COUNT={count}"))
    holds.confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_oliver_bennett"))
    return holds.get_hold(desk, hold.id).appointment_ids


async def open_appointment(pilot, desk, appointment_id: str) -> AppointmentScreen:
    """The day list on the appointment's day, arrows to it, Enter."""
    day = appointments.get_appointment(desk, appointment_id).start_time.date()
    pilot.app.screen.show_day(day)
    await settle(pilot)
    rows = day_list.agenda(desk, location_id="loc_central", day=day).items
    await pilot.press(*["down"] * next(i for i, r in enumerate(rows) if r.appointment.id == appointment_id), "enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AppointmentScreen)
    assert pilot.app.screen.appointment.id == appointment_id
    return pilot.app.screen


async def choose_scope(pilot, scope: str) -> None:
    """From the dialog's first field, back to Which, and pick the scope."""
    await pilot.press("shift+tab")
    assert pilot.app.focused.id == "scope"
    await pilot.press("enter")
    await settle(pilot)
    await pick_option(pilot, lambda option: option.id == scope)
    await pilot.press("tab")


async def test_the_appointment_screen_shows_the_series_and_cancel_asks_which_ones(desk):
    ids = book_series(desk)
    appointments.cancel_appointment(desk, ids[4], "away that week")
    async with running(desk, size=(100, 30)) as (app, pilot):
        await open_appointment(pilot, desk, ids[2])
        assert re.search(r"Series +3 of 6 · weekly", screen_text(app))
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CancelModal)
        assert "This one only" in screen_text(app)
        await choose_scope(pilot, "following")
        assert "This and the following" in screen_text(app)
        assert app.focused.id == "reason"
        await type_text(pilot, "Moving away")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        assert any("3 cancelled (this and the following); 1 left as it was (1 cancelled)" in n
                   for n in notifications(app))
        statuses = [appointments.get_appointment(desk, i).status for i in ids]
        assert statuses == ["confirmed", "confirmed", "cancelled", "cancelled", "cancelled", "cancelled"]
        assert appointments.get_appointment(desk, ids[4]).cancellation_reason == "away that week"


async def test_an_edit_of_a_series_reaches_the_scope_chosen(desk):
    ids = book_series(desk, 4)
    appointments.cancel_appointment(desk, ids[3], None)
    async with running(desk, size=(100, 30)) as (app, pilot):
        await open_appointment(pilot, desk, ids[0])
        assert re.search(r"Series +1 of 4 · weekly", screen_text(app))
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditModal)
        await choose_scope(pilot, "all")
        assert app.focused.id == "title"
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "Knee physio")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        assert any("Changes saved: 3 changed (all in the series); 1 left as it was (1 cancelled)" in n
                   for n in notifications(app))
        titles = [appointments.get_appointment(desk, i).title for i in ids]
        assert titles == ["Knee physio"] * 3 + ["Follow-up Appointment"]


async def test_one_is_the_scope_unless_another_is_chosen_and_a_single_appointment_is_not_asked(desk):
    ids = book_series(desk, 3)
    async with running(desk, size=(100, 30)) as (app, pilot):
        await open_appointment(pilot, desk, ids[1])
        await pilot.press("c")
        await settle(pilot)
        await type_text(pilot, "Ill")
        await pilot.press("enter")
        await settle(pilot)
        assert any("The appointment is cancelled." in n for n in notifications(app))
        assert [appointments.get_appointment(desk, i).status for i in ids] == ["confirmed", "cancelled", "confirmed"]
        await pilot.press("escape")
        await settle(pilot)
        # The demo's own appointments are not in a series: no "Which", no Series row.
        app.screen.show_day(WEDNESDAY)
        await settle(pilot)
        rows = day_list.agenda(desk, location_id="loc_central", day=WEDNESDAY).items
        single = next(i for i, r in enumerate(rows)
                      if r.appointment.status == "confirmed" and not r.appointment.recurring["is_recurring"])
        await pilot.press(*["down"] * single, "enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen) and "Series" not in screen_text(app)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CancelModal) and "Which" not in screen_text(app)
