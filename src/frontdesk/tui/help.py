"""The help screen's content: every key, read from the bindings themselves so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App
from textual.binding import Binding, BindingType


def _keys(app: App, bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    rows = []
    for binding in bindings:
        assert isinstance(binding, Binding)  # frontdesk's screens write their bindings in full
        keys = " / ".join(app.get_key_display(Binding(key.strip(), binding.action)) for key in binding.key.split(","))
        rows.append((keys, binding.tooltip or binding.description or binding.action.replace("_", " ")))
    return rows


def help_sections(app: App) -> list[tuple[str, list[tuple[str, str]]]]:
    from frontdesk.tui.modals import CancelModal, ConfirmModal, DateModal, EditModal
    from frontdesk.tui.screens.agenda import AgendaScreen
    from frontdesk.tui.screens.appointment import AppointmentScreen
    from frontdesk.tui.screens.holds import HoldsScreen
    from frontdesk.tui.screens.move import MoveModal
    from frontdesk.tui.screens.patient import PatientScreen
    from frontdesk.tui.screens.patient_record import PatientEditModal, PatientRecordScreen
    from frontdesk.tui.screens.repeat import RepeatModal
    from frontdesk.tui.screens.roster import Roster
    from frontdesk.tui.screens.slots import SlotPickerScreen
    from frontdesk.tui.screens.waitlist import WaitlistScreen

    everywhere = _keys(app, [b for b in app.BINDINGS if isinstance(b, Binding)]) + [
        ("ctrl+p", "Command palette: book, go to date, switch theme, switch location"),
        ("tab / shift+tab", "Move between fields, filters and lists"),
        ("↑ ↓ / PgUp PgDn", "Move in a list"),
        ("enter", "Choose (open a row, hold a slot, pick an option)"),
        ("escape", "Go back"),
    ]
    return [
        ("Everywhere", everywhere),
        ("Appointment list (home)", _keys(app, AgendaScreen.BINDINGS) + [("enter", "Open the appointment")]),
        ("Appointment", _keys(app, AppointmentScreen.BINDINGS)),
        ("Group roster (a class's appointment)", _keys(app, Roster.BINDINGS)),
        ("Slot picker", _keys(app, SlotPickerScreen.BINDINGS) + [("enter", "Hold the slot under the cursor")]),
        ("Patient details", _keys(app, PatientScreen.BINDINGS) + [("enter", "In the results: book for that patient")]),
        ("Patient record (ctrl+f, then Enter)", _keys(app, PatientRecordScreen.BINDINGS)
         + [("↑ ↓ / tab", "Choose an appointment (upcoming or past) to move or cancel")]),
        ("Edit patient", _keys(app, PatientEditModal.BINDINGS)),
        ("Repeat dialog (ctrl+r on patient details)", _keys(app, RepeatModal.BINDINGS)
         + [("enter", "In Visits: hold all (when every visit is free)")]),
        ("Moving an appointment", _keys(app, MoveModal.BINDINGS)),
        ("Holds in force (H)", _keys(app, HoldsScreen.BINDINGS)),
        ("Waitlist (W)", _keys(app, WaitlistScreen.BINDINGS) + [("enter", "Hold the best offer for that patient")]),
        ("Cancel dialog", _keys(app, CancelModal.BINDINGS) + [("enter", "Cancel the appointment with the reason")]),
        ("Edit dialog", _keys(app, EditModal.BINDINGS)),
        ("Go to date", _keys(app, DateModal.BINDINGS) + [("enter", "Go to the date typed")]),
        ("Questions", _keys(app, ConfirmModal.BINDINGS)),
    ]
