"""The waitlist in the UI: a cancellation at one desk shows as an offer in every desk's header;
the waitlist screen holds it for the waiting patient and the desk books it by keyboard."""

from __future__ import annotations

from datetime import date, timedelta

from textual.widgets import DataTable
from tui_pilot import make_app, row_texts, screen_text, settle, type_text, until

from frontdesk.services import day_list
from frontdesk.services.waitlist import WaitlistRequest, add_entry, get_entry, list_entries
from frontdesk.tui import format as fmt
from frontdesk.tui.modals import CancelModal
from frontdesk.tui.screens.agenda import AgendaScreen
from frontdesk.tui.screens.patient import PatientScreen
from frontdesk.tui.screens.waitlist import WaitlistScreen
from frontdesk.tui.widgets import HoldCountdown

WEDNESDAY = date(2025, 1, 22)


def _booked_row(desk) -> tuple[int, object]:
    rows = day_list.agenda(desk, location_id="loc_central", day=WEDNESDAY).items
    index = next(i for i, r in enumerate(rows) if r.appointment.status in ("confirmed", "pending", "scheduled")
                 and not r.appointment.group and not r.appointment.internal and not r.appointment.is_remote)
    return index, rows[index]


def _wait_for_exactly(desk, appointment, patient_id: str):
    """A patient waiting for that very time (with that clinician, at that place): nothing else fits."""
    zone = "Europe/London"
    start, end = fmt.local(appointment.start_time, zone), fmt.local(appointment.end_time, zone)
    return add_entry(desk, WaitlistRequest(
        patient_id=patient_id, appointment_type_id=appointment.appointment_type_id,
        clinician_id=appointment.clinician_profile_id, location_id=appointment.location_id, remote=False,
        earliest=WEDNESDAY.isoformat(), latest=WEDNESDAY.isoformat(),
        times=f"{start:%H:%M}-{end:%H:%M}", note="any cancellation"))


def _someone_else(desk, appointment) -> str:
    from frontdesk.services.patients import search_patients

    return next(p.id for p in search_patients(desk, "", limit=50).items if p.id != appointment.patient_id)


async def test_a_cancellation_at_one_desk_is_offered_at_another_and_booked_by_keyboard(desk, other_desk):
    index, row = _booked_row(desk)
    appointment = row.appointment
    waiting = _wait_for_exactly(desk, appointment, _someone_else(desk, appointment))

    here, there = make_app(desk), make_app(other_desk)
    async with here.run_test(size=(100, 30), notifications=True) as pilot, \
            there.run_test(size=(100, 30), notifications=True) as other:
        await settle(pilot)
        await settle(other)
        assert here.waitlist_offers == 0
        assert "waitlist offer" not in screen_text(here)

        # The other desk cancels the appointment, by keyboard.
        there.screen.show_day(WEDNESDAY)
        await settle(other)
        await other.press(*["down"] * index, "c")
        await settle(other)
        assert isinstance(there.screen, CancelModal)
        await type_text(other, "Patient called")
        await other.press("enter")
        await settle(other)
        assert isinstance(there.screen, AgendaScreen)

        # This desk's next change check (the live-refresh tick) counts the offer.
        here.check_for_changes()
        await settle(pilot)
        await until(pilot, lambda: here.waitlist_offers == 1)
        # The header's own one-second tick draws it (called from here, the test's active app is the other).
        await until(pilot, lambda: "1 waitlist offer" in screen_text(here).splitlines()[0], tries=200)

        await pilot.press("W")
        await settle(pilot)
        assert isinstance(here.screen, WaitlistScreen)
        text = screen_text(here)
        assert waiting.patient_name in text and fmt.hhmm(appointment.start_time, "Europe/London") in text

        await pilot.press("enter")  # hold the offer for that patient
        await settle(pilot)
        details = here.screen
        assert isinstance(details, PatientScreen)
        await until(pilot, lambda: details.patient is not None)
        assert details.patient.id == waiting.patient_id
        assert details.hold.start_time == appointment.start_time
        assert details.query_one(HoldCountdown).display
        assert "15:00" in screen_text(here)  # the countdown runs from the clinic's hold minutes
        desk.clock.advance(seconds=30)
        await until(pilot, lambda: "14:30" in screen_text(here))

        await pilot.press("ctrl+s")
        await settle(pilot)
        booked = get_entry(desk, waiting.id)
        assert booked.status == "booked" and booked.appointment_id is not None
        assert list_entries(desk).items == []


async def test_the_waitlist_screen_lists_first_come_first_with_waited_time(desk):
    index, row = _booked_row(desk)
    first = _wait_for_exactly(desk, row.appointment, _someone_else(desk, row.appointment))
    desk.clock.advance(minutes=75)
    add_entry(desk, WaitlistRequest(patient_id=row.appointment.patient_id,
                                    appointment_type_id=row.appointment.appointment_type_id, days="fri"))
    desk.clock.advance(minutes=5)
    app = make_app(desk)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("W")
        await settle(pilot)
        lines = row_texts(app.screen.query_one("#waitlist", DataTable))
        assert lines[0].startswith("1h 20m | ") and first.patient_name in lines[0]
        assert lines[1].startswith("5m | ")
        assert "nothing free yet" in lines[0]  # that very time is taken
        assert "Fri 24 Jan" in lines[1]
        await pilot.press("down", "r")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert [e.id for e in list_entries(desk).items] == [first.id]


async def test_an_empty_week_in_the_slot_picker_offers_the_waitlist_with_its_filters(desk):
    from tui_pilot import open_booking

    from frontdesk.services.patients import search_patients

    app = make_app(desk)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        picker = await open_booking(pilot)
        assert picker.slots and not picker.check_action("add_to_waitlist", ())  # slots free: not offered
        picker.show_week([])  # a week with nothing free
        await pilot.pause()
        assert picker.check_action("add_to_waitlist", ())
        await pilot.press("w")
        await settle(pilot)
        patient = search_patients(desk, "", limit=1).items[0]
        await type_text(pilot, patient.last_name)
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        [entry] = list_entries(desk).items
        assert (entry.patient_id, entry.appointment_type_id) == (patient.id, picker.type_id)
        assert entry.location_id == "loc_central" and str(entry.earliest) == "2025-01-20"
        assert any("on the waitlist" in n for n in __import__("tui_pilot").notifications(app))


async def test_the_patient_record_lists_their_waiting_entries(desk):
    from frontdesk.tui.screens.patient_record import PatientRecordScreen

    index, row = _booked_row(desk)
    entry = add_entry(desk, WaitlistRequest(patient_id=row.appointment.patient_id,
                                            appointment_type_id=row.appointment.appointment_type_id,
                                            days="tue,thu", times="09:00-12:00"))
    app = make_app(desk)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        app.push_screen(PatientRecordScreen(entry.patient_id))
        await settle(pilot)
        text = screen_text(app)
        assert "Waiting for: " in text and "tue,thu · 09:00-12:00 (0m)" in text


async def test_the_open_waitlist_shows_an_entry_another_desk_added(desk, other_desk):
    """No appointment changed, only the waitlist: the open screen reloads at the next check."""
    _index, row = _booked_row(desk)
    here = make_app(desk)
    async with here.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        here.check_for_changes()
        await settle(pilot)
        await pilot.press("W")
        await settle(pilot)
        assert isinstance(here.screen, WaitlistScreen)
        assert "Nobody is waiting" in screen_text(here)
        entry = _wait_for_exactly(other_desk, row.appointment, _someone_else(other_desk, row.appointment))
        here.check_for_changes()
        await until(pilot, lambda: entry.patient_name in screen_text(here), tries=200)
