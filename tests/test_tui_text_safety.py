"""Text already stored with control characters (older data, a database written by something
else) is drawn with them made visible, never sent to the terminal (booking.md, "Integrity")."""

from __future__ import annotations

import sqlite3

from textual.widgets import DataTable
from tui_pilot import (
    MONDAY,
    appointment_rows,
    make_app,
    screen_text,
    settle,
    type_text,
)

from frontdesk.domain.text import refused_character
from frontdesk.services import appointments, day_list
from frontdesk.tui import format as fmt
from frontdesk.tui.modals import EditModal
from frontdesk.tui.screens.appointment import AppointmentScreen

HOSTILE_NAME = "\x1b[31mRed\x1b]0;pwned\x1b\\\x07\x9b2J"  # recolour, retitle, bell, C1 clear-screen
HOSTILE_NOTE = "call back\x1b[5m\nsecond line\x7f\x08"


def drawn_lines(app) -> list[str]:
    """Every line of the screen: the text Textual writes (the styles it adds itself are
    separate control segments), read from the screen's public picture."""
    return screen_text(app).splitlines()


def assert_nothing_for_the_terminal(app) -> str:
    lines = drawn_lines(app)
    for line in lines:
        assert refused_character(line) is None, repr(line)
    svg = app.export_screenshot()  # the public picture of the same screen
    assert "\x1b" not in svg and "\x07" not in svg and "\x9b" not in svg
    return "\n".join(lines)


def _write_underneath(desk) -> str:
    """Put hostile text straight into the database file with plain SQL, as another program
    might; returns the id of the appointment it went into."""
    row = next(r for r in day_list.agenda(desk, location_id="loc_central", day=MONDAY).items if r.appointment.patient_id)
    apt = row.appointment
    with sqlite3.connect(desk.db.url.database) as db:
        db.execute("UPDATE patients SET first_name = ?, last_name = ? WHERE id = ?", ("Mallory", HOSTILE_NAME, apt.patient_id))
        db.execute(
            "UPDATE appointments SET description = ?, attendee_name = ?, title = ? WHERE id = ?",
            (HOSTILE_NOTE, "Mallory " + HOSTILE_NAME, "Review\x1b[8m", apt.id),
        )
        db.execute("UPDATE status_history SET changed_by = ? WHERE appointment_id = ?", ("desk\x1b]0;x\x07", apt.id))
    return apt.id


async def test_stored_control_characters_never_reach_the_terminal(desk):
    appointment_id = _write_underneath(desk)
    app = make_app(desk)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        # The day list: the row is there, its name drawn with the controls made visible.
        text = assert_nothing_for_the_terminal(app)
        lines = text.splitlines()
        header = next(line for line in lines if "Clinician" in line)
        mallory = next(line for line in lines if "Mallory" in line)
        assert "Mallory ␛[31mRed␛]0;pwned" in mallory
        assert mallory.index("Priya") == header.index("Clinician")  # the columns stay where they were
        await pilot.press("slash")
        await type_text(pilot, "mallory")
        await settle(pilot)
        table = app.screen.query_one("#agenda", DataTable)
        assert len(appointment_rows(table)) == 1  # and the line marking now
        assert_nothing_for_the_terminal(app)

        # The appointment screen: name, attendee, title, notes, who changed it.
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        assert app.screen.appointment.id == appointment_id
        text = assert_nothing_for_the_terminal(app)
        assert "Review␛[8m" in text
        assert "Mallory ␛[31mRed␛]0;pwned␛\\␇�2J" in text
        assert "call back␛[5m" in text and "second line␡␈" in text  # the note keeps its line break
        assert "desk␛]0;x␇" in text

        # The edit dialog shows the same, and saving it untouched changes nothing.
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditModal)
        text = assert_nothing_for_the_terminal(app)
        assert "Review␛[8m" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)


async def test_a_pasted_control_character_is_refused_beside_the_field(desk):
    app = make_app(desk)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the first appointment of the day
        await settle(pilot)
        assert isinstance(app.screen, AppointmentScreen)
        before = appointments.get_appointment(desk, app.screen.appointment.id)
        await pilot.press("e")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, EditModal)
        # As a paste would put them there: drawn visibly while they are in the fields.
        modal.query_one("#attendee_name").value = "Eve\x1b[31m"
        modal.query_one("#description").text = "ring\x07 back\nlater\x9b2J"
        await settle(pilot)
        text = assert_nothing_for_the_terminal(app)
        assert "Eve␛[31m" in text and "ring␇ back" in text and "later�2J" in text

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is modal  # not saved
        assert str(modal.query_one("#email-error").render()) == "Attendee contains a control character (ESC); remove it."
        assert modal.focused.id == "attendee_name"

        modal.query_one("#attendee_name").value = "Eve"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is modal
        assert str(modal.query_one("#email-error").render()) == "Notes contains a control character (BEL); remove it."
        assert modal.focused.id == "description"
        after = appointments.get_appointment(desk, before.id)
        assert (after.attendee_name, after.description) == (before.attendee_name, before.description)


def test_visible_maps_every_control_character_to_something_printable():
    everything = "".join(chr(c) for c in range(0x100)) + "\ud800\udfff"
    shown = fmt.visible(everything)
    assert all(refused_character(line) is None for line in shown.split("\n"))
    assert fmt.visible("\x1b\x00\x7f\x9b\ud83d") == "␛␀␡��"
    assert fmt.visible("Zoë 李 [bold]") == "Zoë 李 [bold]"
    assert fmt.plain("a\x1bb").plain == "a␛b"
