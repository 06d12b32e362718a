"""The slot picker keeps the desk's place: the cursor's day always named, the week it was
opened on, the nearest slot after a filter changes or a slot is taken; group seats; no past weeks.
Driven by keyboard (Pilot) on the demo clinic, its clock fixed at Monday 20 January 2025 08:00."""

from __future__ import annotations

from datetime import date, timedelta

from textual.widgets import DataTable
from tui_pilot import (
    FOLLOW_UP,
    MONDAY,
    choose,
    first_slot_key,
    hold_same_time,
    notifications,
    open_booking,
    row_texts,
    running,
    screen_text,
    settle,
)

from frontdesk.services.availability import query_availability
from frontdesk.services.objects import AvailabilityQuery, Slot
from frontdesk.tui import format as fmt
from frontdesk.tui.screens.slots import SlotPickerScreen, slot_key

GROUP = "type_back_care_class"  # the demo's class: capacity 8, some seats booked on Wednesday


def cursor_slot(picker: SlotPickerScreen) -> Slot:
    key = first_slot_key(picker)
    assert key in picker.slots, f"the cursor is on {key}, not on a slot"
    return picker.slots[key]


def cursor_day(picker: SlotPickerScreen) -> date:
    return fmt.local(cursor_slot(picker).start_time, picker.zone).date()


async def test_the_cursors_day_stays_named_after_page_down(desk):
    async with running(desk, size=(80, 24)) as (app, pilot):
        picker = await open_booking(pilot)
        table = picker.query_one("#slots", DataTable)
        # Page down until the cursor is on a later day whose heading row has scrolled away.
        for _ in range(30):
            await pilot.press("pagedown")
            await settle(pilot)
            day = cursor_day(picker)
            heading_row = table.get_row_index(f"day|{day.isoformat()}")
            if day > MONDAY and day.weekday() < 6 and heading_row < table.scroll_offset.y:
                break
        else:
            raise AssertionError("the cursor never left its day's heading behind")
        text = screen_text(app)
        assert fmt.day_label(day) in text  # the only place it can be: the line above the list
        assert text.splitlines()[4].strip().startswith(fmt.day_label(day))  # just above the list


async def test_booking_from_another_day_opens_on_that_days_week(desk):
    async with running(desk) as (app, pilot):
        await pilot.press("n", "n")  # the list shows Wednesday
        await settle(pilot)
        picker = await open_booking(pilot)
        wednesday = MONDAY + timedelta(days=2)
        assert picker.start_day == wednesday
        assert cursor_day(picker) == wednesday
        assert "Wed 22 Jan – Tue 28 Jan 2025" in screen_text(app)


async def test_booking_from_a_past_day_opens_on_today(desk):
    async with running(desk) as (app, pilot):
        await pilot.press("p")  # yesterday
        await settle(pilot)
        picker = await open_booking(pilot)
        assert picker.start_day == MONDAY


async def test_switching_location_keeps_the_week_and_the_nearest_slot(desk):
    async with running(desk) as (app, pilot):
        picker = await open_booking(pilot)
        await pilot.press("n")  # next week
        await settle(pilot)
        await pilot.press(*["down"] * 12)
        await settle(pilot)
        was_on = cursor_slot(picker)
        assert was_on.location_id == "loc_central"
        await choose(pilot, "location", lambda option: option.id == "loc_hudson")
        assert picker.start_day == MONDAY + timedelta(days=7)
        now_on = cursor_slot(picker)
        assert now_on.location_id == "loc_hudson"
        # the first Hudson slot at or after the time the cursor was on
        later = sorted(s.start_time for s in picker.slots.values() if s.start_time >= was_on.start_time)
        assert now_on.start_time == later[0]


async def test_a_slot_taken_keeps_the_cursor_where_it_was(desk, other_desk):
    async with running(desk) as (app, pilot):
        picker = await open_booking(pilot)
        await pilot.press(*["down"] * 8)
        await settle(pilot)
        taken = cursor_slot(picker)
        hold_same_time(other_desk, FOLLOW_UP, taken)
        await pilot.press("enter")
        await settle(pilot)
        assert any("Another desk took that slot" in m for m in notifications(app))
        now_on = cursor_slot(picker)
        remaining = sorted(
            (s.start_time, s.clinician_id or "") for s in picker.slots.values() if s.start_time >= taken.start_time
        )
        assert (now_on.start_time, now_on.clinician_id) == remaining[0]
        assert now_on.start_time >= taken.start_time and now_on != taken


async def test_group_slots_show_seats_left(desk):
    wednesday = MONDAY + timedelta(days=2)
    expected = query_availability(
        desk,
        AvailabilityQuery(appointment_type_id=GROUP, start_date=wednesday.isoformat(), end_date=wednesday.isoformat(),
                          location_id="loc_central", is_remote=False, timezone="Europe/London"),
    ).slots
    partly_booked = next(s for s in expected if s.seats_left < 8)
    async with running(desk, size=(80, 24)) as (app, pilot):
        picker = await open_booking(pilot, GROUP)
        table = picker.query_one("#slots", DataTable)
        row = row_texts(table)[table.get_row_index(slot_key(partly_booked))]
        assert f"{partly_booked.seats_left} of 8 left" in row
        assert all("8 of 8 left" in r for r in row_texts(table)[:3] if r.startswith("  "))  # Monday's: none booked
        assert "Seats" in screen_text(app)
        await choose(pilot, "type", lambda option: option.id == FOLLOW_UP)  # a one-to-one type: no seats column
        assert picker.type_id == FOLLOW_UP and picker.slots
        assert "Seats" not in screen_text(app) and " left" not in screen_text(app)


async def test_the_picker_does_not_go_into_past_weeks(desk):
    async with running(desk) as (app, pilot):
        await pilot.press("n", "n")  # Wednesday's list: the picker opens on Wed 22
        await settle(pilot)
        picker = await open_booking(pilot)
        await pilot.press("p")  # back to today, not to Wed 15
        await settle(pilot)
        assert picker.start_day == MONDAY
        await pilot.press("p", "p")
        await settle(pilot)
        assert picker.start_day == MONDAY
        shown = notifications(app)
        assert len(shown) == 1 and "earlier days are past" in shown[0]
        assert "Mon 20 Jan – Sun 26 Jan 2025" in screen_text(app)


async def test_holding_a_slot_whose_time_has_started_says_so(desk):
    """Not "another desk took it": the picker was left open past the slot's start."""
    async with running(desk) as (app, pilot):
        picker = await open_booking(pilot)
        slot = cursor_slot(picker)
        desk.clock.set(slot.start_time + timedelta(minutes=1))
        await pilot.press("enter")
        await settle(pilot)
        said = " ".join(notifications(app))
        assert "has started" in said and "Another desk" not in said


async def test_all_locations_shows_each_slot_in_its_own_sites_time_with_the_zone(desk):
    async with running(desk, size=(120, 40)) as (app, pilot):
        picker = await open_booking(pilot)
        assert "Follow-up Appointment · 20 min" in screen_text(app)  # as the first type list says it
        await choose(pilot, "location", lambda option: option.id == "__all__")
        assert picker.zone == "Europe/London"
        table = picker.query_one("#slots", DataTable)
        texts = dict(zip((key.value for key in table.rows), row_texts(table)))
        hudson = [(key, s) for key, s in picker.slots.items() if s.location_id == "loc_hudson"]
        central = [(key, s) for key, s in picker.slots.items() if s.location_id == "loc_central"]
        assert hudson and central
        for key, slot in hudson:
            new_york = f"{fmt.hhmm(slot.start_time, 'America/New_York')}–{fmt.hhmm(slot.end_time, 'America/New_York')} EST"
            assert texts[key].startswith(f"  {new_york} |")
        for key, slot in central:
            assert texts[key].startswith(f"  {fmt.hhmm(slot.start_time, 'Europe/London')}–")
            assert "GMT" not in texts[key].split("|")[0]
