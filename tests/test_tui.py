"""The front-desk UI driven by keyboard only (Textual's Pilot), on the demo clinic with a fake clock."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta

from textual.widgets import DataTable
from tui_pilot import (
    FOLLOW_UP,
    MONDAY,
    NOW,
    appointment_rows,
    choose,
    first_slot_key,
    hold_first_slot,
    hold_same_time,
    make_app,
    notifications,
    open_booking,
    pick_option,
    row_texts,
    running,
    screen_text,
    settle,
    type_new_patient,
    type_text,
    until,
)

from frontdesk.clock import FakeClock
from frontdesk.services import appointments, day_list, holds
from frontdesk.services.availability import query_availability
from frontdesk.services.clinic import default_sample, load_clinic_file
from frontdesk.services.context import Context
from frontdesk.services.objects import (
    AvailabilityQuery,
    ConfirmRequest,
    NewPatient,
)
from frontdesk.tui import format as fmt
from frontdesk.tui.idle_gc import NEVER
from frontdesk.tui.modals import CancelModal, ConfirmModal, DateModal, HelpScreen
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.appointment import AppointmentScreen
from frontdesk.tui.screens.patient import PatientScreen
from frontdesk.tui.screens.slots import SlotPickerScreen
from frontdesk.tui.widgets import ClinicHeader, HoldCountdown

# --- the appointment list -----------------------------------------------------------------


async def test_home_lists_the_day_in_local_time(desk):
    app = make_app(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, AgendaScreen)
        rows = appointment_rows(home.query_one("#agenda", DataTable))
        expected = day_list.agenda(desk, location_id="loc_central", day=MONDAY).items
        assert len(rows) == len(expected) > 0
        first = expected[0]
        assert first.patient_name in rows[0]
        assert rows[0].startswith(first.appointment.start_time.strftime("%H:%M"))  # London is UTC in January
        text = screen_text(app)
        assert "Mon 20 Jan 2025 (today)" in text
        assert "Europe/London (GMT)" in text
        assert "Riverside Health" in text and "desk-1" in text and "08:00 GMT" in text


async def test_a_database_without_a_clinic_says_what_to_do(empty_desk):
    app = make_app(empty_desk)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "frontdesk › no clinic loaded" in text
        assert "No clinic loaded" in text and "This database has no clinic in it yet:" in text and "empty.db" in text
        assert "frontdesk load FILE --db empty.db" in text  # this database, not the default one
        assert "sample_data/clinic.toml" in text and "frontdesk demo" in text
        assert not app.screen.query_one("#agenda", DataTable).display
        # b says there is nothing to book, once however often it is pressed; the day's keys are off
        await pilot.press("b", "b", "c", "e", "n", "g")
        await settle(pilot)
        shown = notifications(app)
        assert len(shown) == 1 and shown[0].endswith("Nothing to book yet: no clinic is loaded in this database."), shown
        assert isinstance(app.screen, AgendaScreen)
        footer = screen_text(app).splitlines()[-1]
        assert "Book" in footer and "Cancel" not in footer and "Date" not in footer

        # a clinic loaded from another terminal shows after Ctrl+R
        load_clinic_file(empty_desk, default_sample())
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.screen.query_one("#agenda", DataTable).row_count > 0
        assert "No clinic loaded" not in screen_text(app)
        assert "Riverside Health" in screen_text(app)


async def test_default_database_is_loaded_without_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("FRONTDESK_DB", str(tmp_path / "default.db"))
    ctx = Context.open(None, clock=FakeClock(NOW), operator="desk-1")
    try:
        app = make_app(ctx)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            text = screen_text(app)
            assert str(tmp_path / "default.db") in text
            assert "frontdesk load FILE" in text and "--db" not in text  # the same default finds it
    finally:
        ctx.db.dispose()


async def test_days_step_and_go_to_date(desk):
    async with running(desk) as (app, pilot):
        await pilot.press("n")
        await settle(pilot)
        assert "Tue 21 Jan 2025 (tomorrow)" in screen_text(app)
        await pilot.press("p", "p")
        await settle(pilot)
        assert "Sun 19 Jan 2025 (yesterday)" in screen_text(app)
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, DateModal)
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "2025-01-22")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
        assert app.screen.day == date(2025, 1, 22)
        expected = day_list.agenda(desk, location_id="loc_central", day=date(2025, 1, 22)).items
        assert app.screen.query_one("#agenda", DataTable).row_count == len(expected)
        await pilot.press("t")
        await settle(pilot)
        assert app.screen.day == MONDAY


async def test_search_and_status_filter(desk):
    async with running(desk) as (app, pilot):
        row = day_list.agenda(desk, location_id="loc_central", day=MONDAY).items[0]
        await pilot.press("slash")
        await type_text(pilot, row.patient_name.split()[-1])
        await settle(pilot)
        rows = appointment_rows(app.screen.query_one("#agenda", DataTable))
        assert rows and all(row.patient_name.split()[-1] in r for r in rows)
        await pilot.press("enter", "escape")  # back to the table, clear the filters
        await settle(pilot)
        everything = app.screen.query_one("#agenda", DataTable).row_count
        assert everything > len(rows)


async def test_filter_by_status_and_clinician_by_keyboard(desk):
    def day_rows(offset: int):
        return day_list.agenda(desk, location_id="loc_central", day=MONDAY + timedelta(days=offset)).items

    offset = next(n for n in range(7) if len({row.appointment.status for row in day_rows(n)}) > 1)
    day = day_rows(offset)
    status = next(row.appointment.status for row in day if row.appointment.status != day[0].appointment.status)
    clinician = next(row.clinician_name for row in day if row.appointment.status == status)
    async with running(desk) as (app, pilot):
        await pilot.press(*["n"] * offset)
        await settle(pilot)
        table = app.screen.query_one("#agenda", DataTable)
        everything = len(appointment_rows(table))
        label = fmt.STATUS_LABELS[status]
        await choose(pilot, "status", lambda option: str(option.prompt) == label)
        rows = appointment_rows(table)
        assert rows and len(rows) < everything and all(r.endswith(label.lower()) for r in rows)
        await choose(pilot, "clinician", lambda option: str(option.prompt) == clinician)
        expected = [row for row in day if row.appointment.status == status and row.clinician_name == clinician]
        assert len(appointment_rows(table)) == len(expected)
        await pilot.press("escape")  # clear the filters
        await settle(pilot)
        assert len(appointment_rows(table)) == everything
        assert str(app.screen.query_one("#status").label) == "Any status"


async def test_a_busy_day_is_one_list_and_a_larger_one_pages(desk, other_desk, monkeypatch):
    start = datetime(2025, 1, 21, 9, 0, tzinfo=UTC)
    for n in range(55):
        appointments.create_appointment(
            other_desk,
            __import__("frontdesk.services.objects", fromlist=["AppointmentCreate"]).AppointmentCreate(
                title=f"Walk-in {n}",
                start_time=start + timedelta(minutes=n),
                end_time=start + timedelta(minutes=n + 5),
                location_id="loc_central",
                allow_overlap_reason="test data",
            ),
        )
    async with running(desk) as (app, pilot):
        await pilot.press("n")
        await settle(pilot)
        everything = app.screen.query_one("#agenda", DataTable).row_count
        assert everything == len(day_list.agenda(desk, location_id="loc_central", day=start.date(), limit=500).items)
        assert everything > 55 and "next page" not in screen_text(app)
    monkeypatch.setattr("frontdesk.tui.screens.agenda.PAGE_SIZE", 50)  # past a page's worth
    async with running(desk) as (app, pilot):
        await pilot.press("n")
        await settle(pilot)
        table = app.screen.query_one("#agenda", DataTable)
        assert table.row_count == 50
        assert "next page" in screen_text(app)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert table.row_count == everything - 50
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert table.row_count == 50


# --- opening, cancelling, editing ---------------------------------------------------------


def _active_row_index(desk) -> tuple[int, object]:
    rows = day_list.agenda(desk, location_id="loc_central", day=date(2025, 1, 22)).items
    index = next(i for i, r in enumerate(rows) if r.appointment.status in ("confirmed", "pending", "scheduled"))
    return index, rows[index]


async def test_cancel_with_a_reason(desk):
    async with running(desk) as (app, pilot):
        app.screen.show_day(date(2025, 1, 22))
        await settle(pilot)
        index, row = _active_row_index(desk)
        await pilot.press(*["down"] * index)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CancelModal)
        await pilot.press("enter")  # no reason yet: asked for one, nothing cancelled
        await settle(pilot)
        assert isinstance(app.screen, CancelModal)
        assert "give a reason" in screen_text(app)
        await type_text(pilot, "Patient has flu")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
        cancelled = appointments.get_appointment(desk, row.appointment.id)
        assert cancelled.status == "cancelled"
        assert cancelled.cancellation_reason == "Patient has flu"
        assert cancelled.status_history[-1].changed_by == "desk-1"
        table = app.screen.query_one("#agenda", DataTable)
        assert "cancelled" in row_texts(table)[index]

        # Opening the row shows the reason and the history.
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        text = screen_text(app)
        assert "Patient has flu" in text
        assert "Status history" in text and "desk-1" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)


async def test_edit_title_notes_and_attendee(desk):
    async with running(desk) as (app, pilot):
        app.screen.show_day(date(2025, 1, 22))
        await settle(pilot)
        index, row = _active_row_index(desk)
        await pilot.press(*["down"] * index, "enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("ctrl+a", "ctrl+k")  # title
        await type_text(pilot, "Review of results")
        await pilot.press("tab", "tab", "tab")  # attendee, email, notes
        await type_text(pilot, "Bring the letter")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        updated = appointments.get_appointment(desk, row.appointment.id)
        assert updated.title == "Review of results"
        assert updated.description == "Bring the letter"
        fields = {entry.field for entry in updated.change_log}
        assert {"title", "description"} <= fields
        text = screen_text(app)
        assert "Review of results" in text and "Change log" in text and "Bring the letter" in text


# --- booking ------------------------------------------------------------------------------


async def test_whole_booking_flow_by_keyboard(desk):
    async with running(desk) as (app, pilot):
        picker = await open_booking(pilot)
        key = first_slot_key(picker)
        slot = picker.slots[key]
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PatientScreen)
        assert screen.hold.status == "active" and screen.hold.id in app.owned_holds
        assert "Hold 15:00 left" in screen_text(app)

        await type_new_patient(pilot)
        await pilot.press("tab")
        await type_text(pilot, "07700 900123")
        await pilot.press("tab")
        await type_text(pilot, "zoe@example.com")
        assert screen.query_one("#attendee_name").value == "Zoe Quill"
        assert screen.query_one("#attendee_email").value == "zoe@example.com"
        await pilot.press("ctrl+s")
        await settle(pilot)

        home = app.screen
        assert isinstance(home, AgendaScreen)
        assert not app.owned_holds
        local_day = slot.start_time.date()
        assert home.day == local_day
        table = home.query_one("#agenda", DataTable)
        highlighted = home.highlighted_id()
        booked = appointments.get_appointment(desk, highlighted)
        assert booked.status == "confirmed" and booked.attendee_name == "Zoe Quill"
        assert booked.start_time == slot.start_time.astimezone(UTC)
        assert "Zoe Quill" in row_texts(table)[table.cursor_row]


async def test_booking_for_an_existing_patient(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        assert isinstance(screen, PatientScreen)
        await type_text(pilot, "bennett")
        await settle(pilot)
        results = screen.query_one("#results", DataTable)
        assert results.row_count >= 1
        await pilot.press("down", "enter")  # into the results, choose the first
        await settle(pilot)
        assert screen.patient is not None
        assert screen.query_one("#attendee_name").value.endswith(screen.patient.last_name)
        await pilot.press("enter")  # focus is on Confirm
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)
        booked = appointments.get_appointment(desk, app.screen.highlighted_id())
        assert booked.patient_id == screen.patient.id


async def test_new_patient_fields_are_checked_beside_them(desk):
    app = make_app(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await hold_first_slot(pilot)
        await pilot.press("ctrl+n", "tab", "tab")
        # 02/03/1990 is a date at a GB clinic (#13); 30 February never is, and it says so.
        await type_text(pilot, "30/02/1990")
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PatientScreen)
        assert str(screen.query_one("#first_name-error").render()) == "Required."
        assert "30 February 1990 does not exist" in str(screen.query_one("#date_of_birth-error").render())
        assert screen.focused.id == "first_name"


async def test_slot_taken_by_another_desk(desk, other_desk):
    async with running(desk) as (app, pilot):
        picker = await open_booking(pilot)
        slot = picker.slots[first_slot_key(picker)]
        hold_same_time(other_desk, FOLLOW_UP, slot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is picker  # no patient screen: nothing was held here
        assert not app.owned_holds
        assert any("Another desk took that slot" in m for m in notifications(app))
        # refreshed: that clinician's slot at that time is gone
        still_there = [s for s in picker.slots.values() if s.start_time == slot.start_time and s.clinician_id == slot.clinician_id]
        assert not still_there


async def test_hold_countdown_and_expiry(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        countdown = screen.query_one(HoldCountdown)
        hold = screen.hold

        desk.clock.set(hold.expires_at - timedelta(minutes=1, seconds=30))
        countdown.tick()
        await pilot.pause()
        assert "Hold 01:30 left" in screen_text(app)
        assert countdown.has_class("-soon")
        desk.clock.set(hold.expires_at - timedelta(seconds=20))
        countdown.tick()
        await pilot.pause()
        assert countdown.has_class("-final") and not countdown.has_class("-soon")

        desk.clock.set(hold.expires_at + timedelta(seconds=1))
        countdown.tick()
        await settle(pilot)
        assert screen.locked
        assert screen.query_one("#patient-form").disabled
        assert "The hold ran out" in screen_text(app)
        await pilot.press("ctrl+s")  # locked: nothing happens
        await settle(pilot)

        # The slot is still free: hold it again, and the countdown starts over.
        await pilot.press("r")
        await settle(pilot)
        assert not screen.locked
        assert screen.hold.id != hold.id and screen.hold.status == "active"
        assert "Hold 15:00 left" in screen_text(app)
        assert holds.get_hold(desk, hold.id).status == "expired"


async def test_confirm_after_expiry_is_refused_plainly(desk):
    """The screen may still show a second left; the service decides."""
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        await type_text(pilot, "x")  # nothing found
        await pilot.press("ctrl+n")
        await type_text(pilot, "Late")
        await pilot.press("tab")
        await type_text(pilot, "Comer")
        # The screen never notices the time run out: its countdown is gone (awaited, or its
        # last tick could still lock the form first with its own words).
        await screen.query_one(HoldCountdown).remove()
        desk.clock.set(screen.hold.expires_at + timedelta(seconds=1))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.locked
        assert "The hold ran out before the booking was confirmed" in screen_text(app)
        assert any("expired" in n.lower() for n in notifications(app))
        assert day_list.agenda(desk, location_id="loc_central", day=screen.hold.start_time.date(), search="Comer").items == []


async def test_expired_slot_taken_meanwhile_offers_another(desk, other_desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        screen = app.screen
        hold = screen.hold
        desk.clock.set(hold.expires_at + timedelta(seconds=1))
        screen.query_one(HoldCountdown).tick()
        await settle(pilot)
        hold_same_time(other_desk, hold.appointment_type_id, hold)
        await pilot.press("r")
        await settle(pilot)
        assert screen.locked
        assert "taken by another desk" in screen_text(app)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SlotPickerScreen)


async def test_escape_releases_the_hold_after_asking(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        hold = app.screen.hold
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # stay
        await settle(pilot)
        assert isinstance(app.screen, PatientScreen)
        assert holds.get_hold(desk, hold.id).status == "active"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, SlotPickerScreen)
        assert holds.get_hold(desk, hold.id).status == "released"
        assert not app.owned_holds


async def test_quitting_releases_the_hold(desk):
    async with running(desk) as (app, pilot):
        await hold_first_slot(pilot)
        hold = app.screen.hold
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert holds.get_hold(desk, hold.id).status == "released"


async def test_first_available_and_weeks(desk):
    async with running(desk) as (app, pilot):
        picker = await open_booking(pilot)
        assert picker.start_day == MONDAY
        text = screen_text(app)
        assert "Mon 20 Jan – Sun 26 Jan 2025" in text
        assert "none free" in text or picker.query_one("#slots", DataTable).row_count > 7
        await pilot.press("n")
        await settle(pilot)
        assert picker.start_day == MONDAY + timedelta(days=7)
        await pilot.press("f")
        await settle(pilot)
        first = __import__("frontdesk.services.availability", fromlist=["x"]).query_availability(
            desk,
            AvailabilityQuery(
                appointment_type_id=FOLLOW_UP,
                start_date="2025-01-20",
                end_date="2025-02-19",
                location_id="loc_central",
                is_remote=False,
                timezone="Europe/London",
                first_available=True,
            ),
        ).slots[0]
        assert picker.start_day == first.start_time.date()
        assert picker.slots[first_slot_key(picker)].start_time == first.start_time
        await pilot.press("t")
        await settle(pilot)
        assert picker.start_day == MONDAY


async def test_days_without_slots_say_so(desk):
    async with running(desk) as (app, pilot):
        picker = await open_booking(pilot)
        table = picker.query_one("#slots", DataTable)
        headings = [row for row in row_texts(table) if not row.startswith("  ")]
        assert len(headings) == 7
        assert any("Sun 26 Jan 2025 | none free" in row for row in headings)


# --- plain text, live refresh, help, themes -----------------------------------------------


async def test_markup_in_a_patient_name_is_shown_as_typed(desk):
    slot = query_availability(
        desk,
        AvailabilityQuery(appointment_type_id=FOLLOW_UP, start_date="2025-01-20", end_date="2025-01-20", location_id="loc_central", timezone="Europe/London"),
    ).slots[0]
    hold = hold_same_time(desk, FOLLOW_UP, slot)
    evil = "[bold red]Mallory[/]"
    apt = holds.confirm_hold(desk, hold.id, ConfirmRequest(new_patient=NewPatient(first_name=evil, last_name="[link=x]O'Brien")))
    appointments.update_appointment(desk, apt.id, {"description": "[blink]call back[/blink]"})
    app = make_app(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "mallory")
        await settle(pilot)
        table = app.screen.query_one("#agenda", DataTable)
        assert len(appointment_rows(table)) == 1
        assert "[bold red]Mallory[/]" in screen_text(app)
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        text = screen_text(app)
        assert "[bold red]Mallory[/] [link=x]O'Brien" in text
        assert "[blink]call back[/blink]" in text


async def test_other_desks_changes_show_up_from_the_first_check_on(desk, other_desk):
    """The first reading of the database's changes is taken as the desk opens, not at the
    first 2-second tick, which would take in (and so miss) a change made in between; every
    check after it shows what changed since."""
    async with running(desk) as (app, pilot):
        await settle(pilot)
        home = app.screen
        home.show_day(date(2025, 1, 22))
        await settle(pilot)
        index, row = _active_row_index(desk)
        appointments.cancel_appointment(other_desk, row.appointment.id, "rang the other desk")
        app.check_for_changes()  # the first tick
        await settle(pilot)
        assert "cancelled" in row_texts(home.query_one("#agenda", DataTable))[index]
        appointments.update_appointment(other_desk, row.appointment.id, {"title": "Rebooked by phone"})
        app.check_for_changes()  # the next tick
        await settle(pilot)
        assert app.screen.rows[row.appointment.id].appointment.title == "Rebooked by phone"


async def test_help_lists_every_key(desk):
    app = make_app(desk)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Appointment list (home)" in screen_text(app)
        from frontdesk.tui.help import help_sections

        text = "\n".join(f"{key} {description}" for _, keys in help_sections(app) for key, description in keys)
        for screen_class in (AgendaScreen, SlotPickerScreen, PatientScreen, AppointmentScreen):
            for binding in screen_class.BINDINGS:
                assert binding.description in text
        await pilot.press("escape")
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, AgendaScreen)


async def test_theme_from_option_and_remembered(desk):
    app = make_app(desk, theme="frontdesk-light")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "frontdesk-light"
        assert {"frontdesk-dark", "frontdesk-light", "frontdesk-high-contrast"} <= set(app.available_themes)
        app.theme = "frontdesk-high-contrast"
        await pilot.pause()
    again = make_app(desk)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.theme == "frontdesk-high-contrast"


async def test_a_theme_is_chosen_by_the_short_name_help_lists(desk):
    app = make_app(desk, theme="high-contrast")  # --help: (dark, light, high-contrast)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        assert app.theme == "frontdesk-high-contrast" and not notifications(app)


async def test_command_palette_has_the_main_actions(desk):
    async with running(desk) as (app, pilot):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for wanted in ("Book an appointment", "Go to date", "Switch theme"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await settle(pilot)
        await type_text(pilot, "go to date")
        await until(pilot, lambda: "Go to date" in screen_text(app))  # the palette searches on a timer
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DateModal)


async def test_no_color_still_shows_everything(desk, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        await hold_first_slot(pilot)
        assert "Hold 15:00 left" in screen_text(app)


async def test_full_garbage_collections_wait_while_keys_arrive(desk):
    saved = gc.get_threshold()
    async with running(desk) as (app, pilot):
        assert gc.get_threshold()[2] == NEVER
        before = app.idle_collector.last_input
        await pilot.press("down")
        assert app.idle_collector.last_input > before
    assert gc.get_threshold() == saved


async def test_header_clock_follows_the_app_clock(desk):
    async with running(desk) as (app, pilot):
        header = app.screen.query_one(ClinicHeader)
        shown = str(header.content)
        assert shown.startswith("Riverside Health › ") and "desk-1" in shown and shown.endswith("08:00 GMT")
        desk.clock.advance(minutes=1)
        header.tick()
        await pilot.pause()
        assert str(header.content).endswith("08:01 GMT")


async def test_slot_picker_switches_type_from_its_filter(desk):
    async with running(desk) as (app, pilot):
        picker = await open_booking(pilot)
        other = next(t for t in app.overview.appointment_types if t.id != FOLLOW_UP and "loc_central" in t.location_ids)
        await pilot.press("y")  # opens the type list
        await settle(pilot)
        await pick_option(pilot, lambda option: option.id == other.id)
        assert app.screen is picker and picker.type_id == other.id
        assert picker.slots and all(s.end_time - s.start_time == timedelta(minutes=other.duration_minutes) for s in picker.slots.values())


# --- two desks on one appointment ------------------------------------------------------------


async def test_an_edit_based_on_an_old_version_is_not_lost_nor_overwrites(desk, other_desk):
    """Desk 1 opens the edit dialog; desk 2 saves a note; desk 1 saves: it is told who changed
    what, sees its own typing again, and only an explicit second save replaces desk 2's note."""
    from frontdesk.tui.modals import EditModal

    async with running(desk) as (app, pilot):
        app.screen.show_day(date(2025, 1, 22))
        await settle(pilot)
        index, row = _active_row_index(desk)
        await pilot.press(*["down"] * index, "e")
        await settle(pilot)
        assert isinstance(app.screen, EditModal)
        assert f"{row.patient_name} · " in screen_text(app)  # the dialog says whose appointment it is
        other_desk.clock.advance(minutes=2)
        appointments.update_appointment(other_desk, row.appointment.id, {"description": "Desk 2's note"})
        await pilot.press("tab", "tab", "tab")  # attendee, email, notes
        await type_text(pilot, "Desk 1's note")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert appointments.get_appointment(desk, row.appointment.id).description == "Desk 2's note"
        assert isinstance(app.screen, EditModal)
        text = screen_text(app)
        assert "desk-2 changed this appointment at 08:02 (Notes)" in text
        assert f"{row.patient_name} · " in text
        assert "Desk 1's note" in text  # what desk 1 typed is back in the field
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = appointments.get_appointment(desk, row.appointment.id)
        assert saved.description.endswith("Desk 1's note")
        assert [e.changed_by for e in saved.change_log if e.field == "description"] == ["desk-2", "desk-1"]


async def test_a_cancel_after_another_desk_changed_it_asks_again_with_the_reason_kept(desk, other_desk):
    async with running(desk) as (app, pilot):
        app.screen.show_day(date(2025, 1, 22))
        await settle(pilot)
        index, row = _active_row_index(desk)
        await pilot.press(*["down"] * index, "c")
        await settle(pilot)
        appointments.update_appointment(other_desk, row.appointment.id, {"title": "Moved to the phone"})
        await type_text(pilot, "Patient has flu")
        await pilot.press("enter")
        await settle(pilot)
        assert appointments.get_appointment(desk, row.appointment.id).status != "cancelled"
        assert isinstance(app.screen, CancelModal)
        text = screen_text(app)
        assert "desk-2 changed this appointment" in text and "(Title)" in text
        await pilot.press("enter")  # the reason is still there
        await settle(pilot)
        cancelled = appointments.get_appointment(desk, row.appointment.id)
        assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "Patient has flu")
