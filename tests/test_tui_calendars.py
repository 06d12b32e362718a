"""A clinician's own calendar in the UI: its busy time as "external" rows of the day list
(no patient, no action) and no slot offered in it. The demo clinic, Monday 20 Jan 2025,
08:00 in London (UTC in January)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import pytest
from textual.widgets import DataTable
from tui_pilot import appointment_rows, make_app, open_booking, running, settle

from frontdesk.services.calendars import import_calendar


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def import_busy(desk, tmp_path, clinician_id: str, *events: tuple) -> None:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//frontdesk tests//EN")
    cal.add("version", "2.0")
    for n, (start, end) in enumerate(events):
        ev = icalendar.Event()
        ev.add("uid", f"{clinician_id}-{n}")
        ev.add("dtstamp", utc(2025, 1, 1))
        ev.add("summary", "Private: hospital board")  # never shown
        ev.add("dtstart", start)
        ev.add("dtend", end)
        cal.add_component(ev)
    path = tmp_path / f"{clinician_id}.ics"
    path.write_bytes(cal.to_ical())
    import_calendar(desk, clinician_id, path)


@pytest.fixture
def busy_desk(desk, tmp_path):
    import_busy(desk, tmp_path, "cli_amara_okafor", (utc(2025, 1, 20, 14), utc(2025, 1, 20, 15)))
    import_busy(desk, tmp_path, "cli_tom_lindqvist", (date(2025, 1, 20), date(2025, 1, 21)))  # all day
    return desk


async def test_the_day_list_shows_external_time_among_the_visits_without_event_details(busy_desk):
    async with running(busy_desk, size=(120, 40)) as (app, pilot):
        table = app.screen.query_one("#agenda", DataTable)
        rows = appointment_rows(table)
        external = [row for row in rows if "external (busy)" in row]
        assert len(external) == 2
        assert any(row.startswith("14:00") and "Dr. Amara Okafor" in row for row in external)
        assert any(row.startswith("all day") and "Tom Lindqvist" in row for row in external)
        assert "hospital board" not in "\n".join(rows)
        # in time order: the 14:00 row after every visit starting before 14:00
        times = [row[:5] for row in rows if not row.startswith("all day")]
        assert times == sorted(times)

        # it is no appointment: Enter opens nothing, and cancel says there is none
        keys = [key.value for key in table.rows]
        table.move_cursor(row=next(i for i, k in enumerate(keys) if k.startswith("__external__")))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is not None and type(app.screen).__name__ == "AgendaScreen"

        # filtered to visits (to do), the external time is not listed
        await pilot.press("T")
        await settle(pilot)
        assert not [row for row in appointment_rows(table) if "external (busy)" in row]


async def test_the_slot_picker_offers_nothing_in_external_time(busy_desk):
    async with running(busy_desk, size=(120, 40)) as (app, pilot):
        picker = await open_booking(pilot)
        await settle(pilot)
        monday = [s for s in picker.slots.values() if s.start_time.astimezone(UTC).date() == date(2025, 1, 20)]
        assert monday, "the follow-up has slots on Monday"
        for slot in monday:
            assert slot.clinician_id != "cli_tom_lindqvist"  # away all day
            if slot.clinician_id == "cli_amara_okafor":
                assert slot.end_time <= utc(2025, 1, 20, 14) or slot.start_time >= utc(2025, 1, 20, 15)


def test_the_day_list_with_external_time_at_80x24(snap_compare, busy_desk):
    async def run_before(pilot):
        await settle(pilot)

    assert snap_compare(make_app(busy_desk), terminal_size=(80, 24), run_before=run_before)
