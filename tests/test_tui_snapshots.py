"""Pictures of every screen and dialog at 80x24 and 120x40, the main ones at 60x18 too
(pytest-textual-snapshot).

Deterministic: the demo clinic with a fixed fake clock, no cursor blink, no animation, a
fresh config folder (default theme). Update with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from tui_pilot import (
    hold_first_slot,
    make_app,
    open_booking,
    settle,
    type_text,
)

from frontdesk.services import appointments, attendees, day_list
from frontdesk.services.objects import AppointmentCreate
from frontdesk.tui.widgets import ClinicHeader, HoldCountdown

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
# The main screens also at the smallest size the desk supports (README: 60x18).
MAIN_SIZES = [pytest.param((60, 18), id="60x18"), *SIZES]
WEDNESDAY = date(2025, 1, 22)


def _active_index(desk) -> int:
    rows = day_list.agenda(desk, location_id="loc_central", day=WEDNESDAY).items
    return next(i for i, r in enumerate(rows) if r.appointment.status in ("confirmed", "pending", "scheduled"))


async def _on_wednesday(pilot, desk) -> None:
    await settle(pilot)
    pilot.app.screen.show_day(WEDNESDAY)
    await settle(pilot)
    await pilot.press(*["down"] * _active_index(desk))


async def _move_clock(pilot, desk, when) -> None:
    """Move the fake clock and redraw what shows it now, not at the next timer tick."""
    desk.clock.set(when)
    pilot.app.screen.query_one(ClinicHeader).tick()
    pilot.app.screen.query_one(HoldCountdown).tick()
    await settle(pilot)


@pytest.mark.parametrize("size", MAIN_SIZES)
def test_home(snap_compare, desk, size):
    async def run_before(pilot):
        await _on_wednesday(pilot, desk)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_appointment(snap_compare, desk, size):
    async def run_before(pilot):
        await _on_wednesday(pilot, desk)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_cancel_dialog(snap_compare, desk, size):
    async def run_before(pilot):
        await _on_wednesday(pilot, desk)
        await pilot.press("c")
        await settle(pilot)
        await type_text(pilot, "Patient <b>[red]unwell[/]")

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_edit_dialog(snap_compare, desk, size):
    async def run_before(pilot):
        await _on_wednesday(pilot, desk)
        await pilot.press("e")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_date_dialog(snap_compare, desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("g", "ctrl+a", "ctrl+k")
        await type_text(pilot, "+3")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_type_choice(snap_compare, desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", MAIN_SIZES)
def test_slot_picker(snap_compare, desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await open_booking(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", MAIN_SIZES)
def test_patient_details(snap_compare, desk, size):
    assert snap_compare(make_app(desk), terminal_size=size, run_before=_patient_details(desk))


def _patient_details(desk):
    async def run_before(pilot):
        await settle(pilot)
        await hold_first_slot(pilot)
        await type_text(pilot, "ben")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await type_text(pilot, "Zoe")
        await pilot.press("tab", "tab")
        await type_text(pilot, "1990-13-01")
        # 1:45 left: the warning colour
        await _move_clock(pilot, desk, pilot.app.screen.hold.expires_at - timedelta(minutes=1, seconds=45))

    return run_before


def test_patient_details_no_color(snap_compare, desk, monkeypatch):
    """Without colour: the hold's warning in words, the date's error bold, the typing cursor reversed."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(desk), terminal_size=(80, 24), run_before=_patient_details(desk))


@pytest.mark.parametrize("size", SIZES)
def test_repeat_dialog(snap_compare, desk, size):
    """Repeating the held slot weekly: six visits previewed, the second taken by a meeting."""
    start = datetime(2025, 1, 27, 8, 30, tzinfo=UTC)  # a week after the demo's first follow-up slot
    appointments.create_appointment(desk, AppointmentCreate(
        title="Team meeting", start_time=start, end_time=start + timedelta(minutes=20),
        clinician_profile_id="cli_amara_okafor"))

    async def run_before(pilot):
        await settle(pilot)
        await hold_first_slot(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_patient_details_expired(snap_compare, desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await hold_first_slot(pilot)
        await _move_clock(pilot, desk, pilot.app.screen.hold.expires_at + timedelta(seconds=1))

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_leave_question(snap_compare, desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await hold_first_slot(pilot)
        await pilot.press("escape")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("theme", ["frontdesk-light", "frontdesk-high-contrast"])
def test_other_themes(snap_compare, desk, theme):
    async def run_before(pilot):
        await _on_wednesday(pilot, desk)

    assert snap_compare(make_app(desk, theme=theme), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_no_clinic(snap_compare, empty_desk, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)

    assert snap_compare(make_app(empty_desk), terminal_size=size, run_before=run_before)


def _monday(hh: int, mm: int) -> datetime:
    return datetime(2025, 1, 20, hh, mm, tzinfo=UTC)  # London is UTC in January


def _live_monday(desk) -> None:
    """The demo's Monday at Central run to 10:12: done, a no-show, in the room, a waiting
    alert, someone just arrived, someone late, the line marking now, a visit to come."""
    for apt_id, action, (hh, mm) in [
        ("apt_0027", "check-in", (8, 12)), ("apt_0027", "start", (8, 16)), ("apt_0027", "complete", (8, 31)),
        ("apt_0028", "no-show", (8, 45)),
        ("apt_0001", "check-in", (8, 55)), ("apt_0001", "start", (9, 40)),
        ("apt_0015", "check-in", (9, 52)),  # waits 20 minutes: the alert
        ("apt_0002", "check-in", (10, 5)),
    ]:  # apt_0016 at 10:00 not arrived: late; apt_0003 at 10:30 still to come
        desk.clock.set(_monday(hh, mm))
        appointments.act_on_appointment(desk, apt_id, action)
    desk.clock.set(_monday(10, 12))


@pytest.mark.parametrize("size", SIZES)
def test_flow_board(snap_compare, desk, size):
    _live_monday(desk)

    async def run_before(pilot):
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


def test_flow_board_no_color(snap_compare, desk, monkeypatch):
    """Without colour the alert still reads: its glyph and reverse video; the now line its words."""
    _live_monday(desk)
    monkeypatch.setenv("NO_COLOR", "1")

    async def run_before(pilot):
        await settle(pilot)
        assert pilot.app.no_color

    assert snap_compare(make_app(desk), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_group_roster(snap_compare, desk, size):
    """The demo's class (three of eight going), Sophie marked paid and Mia not going."""
    group = next(r.appointment for r in day_list.agenda(desk, location_id="loc_central", day=WEDNESDAY).items
                 if r.appointment.group)
    version = attendees.update_attendee(desk, group.id, "pat_sophie_rahman", payment_status="paid",
                                        expect_version=group.version).version
    attendees.update_attendee(desk, group.id, "pat_mia_thornton", attendance_status="not_going",
                              expect_version=version)

    async def run_before(pilot):
        await settle(pilot)
        home = pilot.app.screen
        home.show_day(WEDNESDAY)
        await settle(pilot)
        table = home.query_one("#agenda")
        table.move_cursor(row=table.get_row_index(group.id))
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=size, run_before=run_before)


def test_waitlist(snap_compare, desk):
    """Two waiting: one for a time that is taken (nothing free yet), one with an offer; the
    header counts the offer."""
    from frontdesk.services.waitlist import WaitlistRequest, add_entry

    rows = day_list.agenda(desk, location_id="loc_central", day=WEDNESDAY).items
    booked = rows[_active_index(desk)].appointment
    start = booked.start_time.strftime("%H:%M")
    end = booked.end_time.strftime("%H:%M")  # London is on UTC in January
    others = [r.appointment.patient_id for r in rows if r.appointment.patient_id not in (None, booked.patient_id)]
    add_entry(desk, WaitlistRequest(patient_id=others[0], appointment_type_id=booked.appointment_type_id,
                                    clinician_id=booked.clinician_profile_id, location_id=booked.location_id,
                                    remote=False, earliest="2025-01-22", latest="2025-01-22", times=f"{start}-{end}"))
    desk.clock.advance(minutes=95)
    add_entry(desk, WaitlistRequest(patient_id=booked.patient_id, appointment_type_id=booked.appointment_type_id,
                                    days="fri", times="14:00-17:00", note="afternoons"))
    desk.clock.advance(minutes=20)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("W")
        await settle(pilot)
        pilot.app.screen.query_one(ClinicHeader).tick()
        await settle(pilot)

    assert snap_compare(make_app(desk), terminal_size=(80, 24), run_before=run_before)
