"""The patient record in the UI (#13): ctrl+f finds anyone from any screen, Enter opens their
record; edit, book, move and cancel from there; the hold's form offers a found duplicate."""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import DataTable
from tui_pilot import (
    FOLLOW_UP,
    hold_first_slot,
    make_app,
    open_booking,
    pick_option,
    row_texts,
    running,
    screen_text,
    settle,
    type_text,
    until,
)

from frontdesk.services import appointments
from frontdesk.services.patients import get_patient, patient_history
from frontdesk.tui.choice import ChoiceModal
from frontdesk.tui.modals import CancelModal, DateModal
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.patient import PatientScreen
from frontdesk.tui.screens.patient_record import PatientEditModal, PatientRecordScreen, PatientSearchModal
from frontdesk.tui.screens.slots import SlotPickerScreen

BENNETT = "pat_oliver_bennett"  # the sample clinic's: +44 7700 900100, born 1978-03-14


async def open_record(pilot, typed: str = "bennett") -> PatientRecordScreen:
    await pilot.press("ctrl+f")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PatientSearchModal)
    await type_text(pilot, typed)
    await settle(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PatientRecordScreen)
    return screen


@pytest.mark.parametrize("typed", ["07700900100", "+44 7700 900100", "bennett oliver", "14/03/1978"])
async def test_ctrl_f_finds_a_patient_typed_any_way_and_reads_the_phone_back_whole(desk, typed):
    async with running(desk, size=(80, 24)) as (app, pilot):
        await pilot.press("ctrl+f")
        await settle(pilot)
        await type_text(pilot, typed)
        await settle(pilot)
        rows = row_texts(app.screen.query_one("#patient-results", DataTable))
        assert any("Oliver Bennett" in row and "07700 900100" in row for row in rows), rows
        assert "07700 900100" in screen_text(app)  # drawn whole, not cut, at 80 columns


async def test_the_record_opens_from_the_slot_picker_too_and_escape_goes_back(desk):
    async with running(desk) as (app, pilot):
        await open_booking(pilot)
        assert isinstance(app.screen, SlotPickerScreen)
        await open_record(pilot)
        text = screen_text(app)
        assert "Oliver Bennett" in text and "14/03/1978" in text and "07700 900100" in text
        assert "Upcoming (2)" in text and "no-shows: 0" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SlotPickerScreen)


async def test_the_palette_finds_a_patient(desk):
    async with running(desk) as (app, pilot):
        await pilot.press("ctrl+p")
        await settle(pilot)
        await type_text(pilot, "find a patient")
        await until(pilot, lambda: "Find a patient" in screen_text(app))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientSearchModal)


async def test_editing_checks_each_field_and_saves_only_good_input(desk):
    async with running(desk) as (app, pilot):
        record = await open_record(pilot)
        before = get_patient(desk, BENNETT)
        await pilot.press("e")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, PatientEditModal)
        modal.query_one("#date_of_birth").value = "30/02/1980"
        modal.query_one("#phone").value = "call me"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is modal  # refused beside the fields, nothing saved
        assert "30 February 1980 does not exist" in str(modal.query_one("#date_of_birth-error").render())
        assert "phone" in str(modal.query_one("#phone-error").render()).lower()
        assert get_patient(desk, BENNETT) == before
        modal.query_one("#date_of_birth").value = "15/03/1978"
        modal.query_one("#phone").value = "07700 900111"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is record
        after = get_patient(desk, BENNETT)
        assert (after.date_of_birth, after.phone_e164, after.version) == (date(1978, 3, 15), "+447700900111",
                                                                          before.version + 1)
        assert "07700 900111" in screen_text(app)


async def test_an_edit_that_another_desk_overtook_is_refused_and_reloaded(desk, other_desk):
    from frontdesk.services.patients import update_patient

    async with running(desk) as (app, pilot):
        await open_record(pilot)
        update_patient(other_desk, BENNETT, {"email": "oli@example.com"})
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#first_name").value = "Olly"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert get_patient(desk, BENNETT).first_name == "Oliver"
        assert "oli@example.com" in screen_text(app)  # shown again as it now is


async def test_cancel_the_selected_appointment_from_the_record(desk):
    async with running(desk) as (app, pilot):
        await open_record(pilot)
        first = patient_history(desk, BENNETT).upcoming[0]
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CancelModal)
        await type_text(pilot, "Moved away")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientRecordScreen)
        assert appointments.get_appointment(desk, first.id).status == "cancelled"
        assert "Cancelled" in screen_text(app)


async def test_move_from_the_record_opens_the_slot_picker_for_that_appointment(desk):
    async with running(desk) as (app, pilot):
        await open_record(pilot)
        await pilot.press("m")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, SlotPickerScreen)
        assert picker.moving is not None and picker.moving.patient_id == BENNETT


async def test_book_from_the_record_starts_the_hold_with_this_patient(desk):
    async with running(desk) as (app, pilot):
        await open_record(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)
        await pick_option(pilot, lambda option: option.id == FOLLOW_UP)
        assert isinstance(app.screen, SlotPickerScreen)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PatientScreen)
        assert screen.patient is not None and screen.patient.id == BENNETT
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PatientRecordScreen)
        assert patient_history(desk, BENNETT).total == 3


async def test_a_new_patient_who_is_on_file_is_offered_at_the_hold(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        await pilot.press("ctrl+n")
        await type_text(pilot, "Oli")
        await pilot.press("tab")
        await type_text(pilot, "Benet")
        await pilot.press("tab", "tab")
        await type_text(pilot, "+44 7700 900100")  # Oliver Bennett's phone
        await pilot.press("ctrl+s")
        await settle(pilot)
        offer = app.screen
        assert isinstance(offer, ChoiceModal)
        assert "Use Oliver Bennett" in screen_text(app) and "same phone" in screen_text(app)
        await pick_option(pilot, lambda option: option.id == BENNETT)
        patient_screen = app.screen
        assert isinstance(patient_screen, PatientScreen) and patient_screen.patient.id == BENNETT
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
        booked = appointments.get_appointment(desk, app.screen.highlighted_id())
        assert booked.patient_id == BENNETT


async def test_create_anyway_makes_a_second_patient_only_when_chosen(desk):
    from frontdesk.services.patients import search_patients

    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        await pilot.press("ctrl+n")
        await type_text(pilot, "Oliver")
        await pilot.press("tab")
        await type_text(pilot, "Bennett")
        await pilot.press("tab")
        await type_text(pilot, "14/03/1978")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)
        assert len(search_patients(desk, "bennett").items) == 1  # nothing written yet
        await pick_option(pilot, lambda option: option.id == "<new patient>")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
        assert len(search_patients(desk, "bennett").items) == 2


@pytest.mark.parametrize("typed, wanted", [("31/1", date(2025, 1, 31)), ("31 jan", date(2025, 1, 31)),
                                           ("+3", date(2025, 1, 23)), ("fri", date(2025, 1, 24))])
async def test_go_to_date_takes_the_clinics_own_formats(desk, typed, wanted):
    async with running(desk) as (app, pilot):
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, DateModal)
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, typed)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen) and app.screen.day == wanted


# --- pictures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_patient_record_picture(snap_compare, desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await open_record(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_patient_search_picture(snap_compare, desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        await type_text(pilot, "07700 900")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)
