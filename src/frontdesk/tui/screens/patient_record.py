"""The patient record: find anyone in the clinic (ctrl+f from any screen), then their details
(edit them with the service's own checks), upcoming and past appointments with their status
and the no-show count, and keys to book, move or cancel from there."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Label, Static

from frontdesk.domain.patients import date_example, format_date
from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.forms import check_date_of_birth, check_email, check_phone, check_text
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.widgets import ClinicHeader, FieldInput, FitTable

if TYPE_CHECKING:
    from frontdesk.services.objects import AppointmentView, Page, PatientView
    from frontdesk.services.patients import PatientHistory

SEARCH_MIN_CHARS = 2
# The phone column fits a whole international number (+33 1 23 45 67 89), to read it back.
PATIENT_COLUMNS = [("name", "Name", 3, False), ("born", "Born", 10, True), ("phone", "Phone", 17, True),
                   ("email", "Email", 3, False)]
EDIT_FIELDS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("date_of_birth", "Born"),
    ("phone", "Phone"),
    ("email", "Email"),
)


def _order(app) -> str:
    overview = getattr(app, "overview", None)
    return overview.date_order if overview is not None else "DMY"


def _country(app) -> str:
    overview = getattr(app, "overview", None)
    return overview.country if overview is not None else "GB"


class PatientSearchModal(ModalScreen[str | None], FrontdeskScreen):
    """Find a patient across the whole clinic; Enter on a result opens their record."""

    AUTO_FOCUS = "#patient-find"
    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back", id="back"),
        Binding("down", "to_results", "Results", show=False, id="to-results"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, PatientView] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Find a patient", classes="title")
            yield Static(f"Name (any order), date of birth ({date_example(_order(self.app))}), phone or email",
                         classes="hint")
            yield FieldInput(placeholder="e.g. bloggs jo, 07700 900396", id="patient-find", compact=True)
            yield FitTable(PATIENT_COLUMNS, id="patient-results")
            yield Label("", id="patient-found", classes="hint")

    def on_input_changed(self, event: FieldInput.Changed) -> None:
        text = event.value.strip()
        if len(text) >= SEARCH_MIN_CHARS:
            self.call_service("search", partial(backend.search_patients, text=text), self.show_results)
        else:
            self.query_one("#patient-results", DataTable).clear()
            self.found = {}
            self.query_one("#patient-found", Label).update("")

    def show_results(self, page: Page[PatientView]) -> None:
        table = self.query_one("#patient-results", DataTable)
        table.clear()
        self.found = {p.id: p for p in page.items}
        for p in page.items:
            table.add_row(
                fmt.plain(fmt.person_name(p.first_name, p.last_name)),
                fmt.plain(format_date(p.date_of_birth, _order(self.app)) or None),
                fmt.plain(p.phone_display or p.phone),
                fmt.plain(p.email),
                key=p.id,
            )
        more = " (more: type more of it)" if page.has_more else ""
        words = f"{len(page.items)} found{more}; ↓ then Enter opens the record" if page.items else "No patient found."
        self.query_one("#patient-found", Label).update(words)

    def on_input_submitted(self, event: FieldInput.Submitted) -> None:
        if len(self.found) == 1:
            self.dismiss(next(iter(self.found)))
        else:
            self.action_to_results()

    def action_to_results(self) -> None:
        table = self.query_one("#patient-results", DataTable)
        if table.row_count:
            table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value in self.found:
            self.dismiss(event.row_key.value)

    def action_back(self) -> None:
        self.dismiss(None)


class PatientEditModal(ModalScreen[dict | None]):
    """A patient's details to change, checked beside each field with the service's own rules;
    returns only the fields that changed."""

    BINDINGS: ClassVar = [
        Binding("ctrl+s", "save", "Save", id="save"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self, patient: PatientView, order: str, country: str, today: date) -> None:
        super().__init__()
        self.order, self.country, self.today = order, country, today
        self.original = {
            "first_name": fmt.visible(patient.first_name),
            "last_name": fmt.visible(patient.last_name),
            "date_of_birth": format_date(patient.date_of_birth, order),
            "phone": fmt.visible(patient.phone_display or patient.phone or ""),
            "email": fmt.visible(patient.email or ""),
        }

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Edit patient", classes="title")
            for name, label in EDIT_FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    placeholder = date_example(self.order) if name == "date_of_birth" else ""
                    yield FieldInput(self.original[name], id=name, compact=True, placeholder=placeholder)
                error = Label("", id=f"{name}-error", classes="field-error")
                error.display = False  # a line only while it has something to say
                yield error
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Back (Esc)", id="back", compact=True)

    def problem(self, name: str, value: str) -> str | None:
        if name in ("first_name", "last_name"):
            return check_text(value, name) if value else "Required."
        if name == "email":
            return check_email(value)
        if name == "phone":
            return check_phone(value, self.country)
        return check_date_of_birth(value, self.today, self.order)

    def on_input_changed(self, event: FieldInput.Changed) -> None:
        name = event.input.id or ""
        self._tell(name, self.problem(name, event.value.strip()))

    def _tell(self, name: str, message: str | None) -> None:
        label = self.query_one(f"#{name}-error", Label)
        label.update(message or "")
        label.display = bool(message)

    def on_input_submitted(self) -> None:
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_save() if event.button.id == "save" else self.dismiss(None)

    def action_save(self) -> None:
        values = {name: self.query_one(f"#{name}", FieldInput).value.strip() for name, _ in EDIT_FIELDS}
        problems = {name: p for name, value in values.items() if (p := self.problem(name, value))}
        for name, _ in EDIT_FIELDS:
            self._tell(name, problems.get(name))
        if problems:
            self.query_one(f"#{next(n for n, _ in EDIT_FIELDS if n in problems)}", FieldInput).focus()
            return
        self.dismiss({name: value or None for name, value in values.items() if value != self.original[name]})

    def action_back(self) -> None:
        self.dismiss(None)


class PatientRecordScreen(FrontdeskScreen):
    """One patient: details, upcoming and past appointments; edit, book, move, cancel."""

    AUTO_FOCUS = "#record-upcoming"
    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back", id="back"),
        Binding("e", "edit", "Edit", tooltip="Edit the patient's details", id="edit"),
        Binding("b", "book", "Book", tooltip="Book an appointment for this patient", id="book"),
        Binding("m", "move", "Move", tooltip="Move the selected appointment to another time", id="move"),
        Binding("c", "cancel", "Cancel appt", tooltip="Cancel the selected appointment", id="cancel"),
    ]

    def __init__(self, patient_id: str) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.history: PatientHistory | None = None
        self.appointments: dict[str, AppointmentView] = {}
        self._last_table = "record-upcoming"

    def compose(self) -> ComposeResult:
        yield ClinicHeader()
        yield Label("Patient", id="record-title", classes="screen-title")
        yield Static("Loading…", id="record-details")
        yield Static("", id="record-waitlist")  # shown when the patient waits for a slot
        yield Label("Upcoming", id="record-upcoming-label", classes="section")
        yield FitTable(self._columns(), id="record-upcoming")
        yield Label("Past", id="record-past-label", classes="section")
        yield FitTable(self._columns(), id="record-past")
        yield Footer(compact=True)

    @staticmethod
    def _columns() -> list[tuple[str, str, int, bool]]:
        return [("when", "When", 27, True), ("status", "Status", 14, True), ("type", "Type", 3, False),
                ("clinician", "Clinician", 3, False)]

    def on_mount(self) -> None:
        self.query_one("#record-waitlist").display = False
        self.load()

    def load(self) -> None:
        self.call_service("record", partial(backend.patient_record, patient_id=self.patient_id), self.show,
                          self.not_loaded)
        self.call_service("record-waitlist", partial(backend.patient_waitlist, patient_id=self.patient_id),
                          self.show_waitlist)

    def show_waitlist(self, entries) -> None:
        """'Waiting for: Follow-up · Dr Okafor · tue · 09:00-12:00 (2d 4h)', one line an entry."""
        from frontdesk.tui.screens.waitlist import wish_label

        box = self.query_one("#record-waitlist", Static)
        box.display = bool(entries)
        lines = Text()
        for entry in entries:
            if lines:
                lines.append("\n")
            lines.append("Waiting for: ", style="bold")
            lines.append(fmt.visible(f"{wish_label(self.app, entry)} ({entry.waited})"))
        box.update(lines)

    def refresh_data(self) -> None:
        self.load()

    def not_loaded(self, message: ServiceFailed) -> bool:
        self.query_one("#record-details", Static).update(Text(fmt.visible(message.message)))
        return False

    @property
    def patient(self) -> PatientView | None:
        return self.history.patient if self.history else None

    def show(self, history: PatientHistory) -> None:
        self.history = history
        p = history.patient
        app = self.app
        self.query_one("#record-title", Label).update(
            Text.assemble((fmt.visible(fmt.person_name(p.first_name, p.last_name)), "bold"), ("  patient record", "dim")))
        details = Table.grid(padding=(0, 2))
        details.add_column(style="bold", min_width=8)
        details.add_column(overflow="fold")
        details.add_column(style="bold", min_width=6)
        details.add_column(overflow="fold")
        details.add_row("Born", fmt.plain(format_date(p.date_of_birth, _order(app)) or None),
                        "Phone", fmt.plain(p.phone_display or p.phone))
        no_shows = Text(str(history.no_shows), style="bold" if history.no_shows else "")
        details.add_row("Email", fmt.plain(p.email), "No-shows", no_shows)
        self.query_one("#record-details", Static).update(details)
        self.appointments = {a.id: a for a in (*history.upcoming, *history.past)}
        for table_id, rows in (("record-upcoming", history.upcoming), ("record-past", history.past)):
            table = self.query_one(f"#{table_id}", FitTable)
            table.clear()
            for apt in rows:
                zone = app.location_zone(apt.location_id)
                table.add_row(Text(fmt.when(apt.start_time, apt.end_time, zone)), fmt.status_text(apt.status),
                              fmt.plain(app.type_name(apt.appointment_type_id) or apt.title),
                              fmt.plain(app.clinician_name(apt.clinician_profile_id)), key=apt.id)
        more = f" (newest {len(history.past) + len(history.upcoming)} of {history.total})" if history.has_more else ""
        self.query_one("#record-upcoming-label", Label).update(f"Upcoming ({len(history.upcoming)})")
        self.query_one("#record-past-label", Label).update(
            f"Past ({len(history.past)}{more}) · no-shows: {history.no_shows}")

    # --- the selected appointment -------------------------------------------------------------

    def on_descendant_focus(self, event) -> None:
        if event.widget.id in ("record-upcoming", "record-past"):
            self._last_table = event.widget.id

    def selected(self) -> AppointmentView | None:
        table = self.query_one(f"#{self._last_table}", FitTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.appointments.get(key) if key is not None else None

    def _patient_name(self) -> str | None:
        p = self.patient
        return fmt.person_name(p.first_name, p.last_name) if p else None

    # --- actions ------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_edit(self) -> None:
        if self.patient is None:
            return
        modal = PatientEditModal(self.patient, _order(self.app), _country(self.app), self.app.today())
        self.app.push_screen(modal, self.save)

    def save(self, changes: dict | None, allow_duplicate: bool = False) -> None:
        if not changes or self.patient is None:
            return
        call = partial(backend.update_patient, patient_id=self.patient_id, changes=changes,
                       version=self.patient.version, allow_duplicate=allow_duplicate)
        self.call_service("save", call, self.saved, partial(self.not_saved, changes), exclusive=False)

    def saved(self, _patient) -> None:
        self.notify("Changes saved.", title="Patient updated")
        self.load()

    def not_saved(self, changes: dict, message: ServiceFailed) -> bool:
        from frontdesk.tui.modals import ConfirmModal

        if message.code == "VERSION_CONFLICT":
            self.notify("Another desk changed this patient meanwhile: look again, then edit.",
                        title="Changed meanwhile", severity="warning")
            self.load()
            return True
        matches = message.details.get("matches")
        if message.code == "VALIDATION_ERROR" and matches:
            def answered(anyway: bool | None) -> None:
                if anyway:
                    self.save(changes, allow_duplicate=True)

            self.app.push_screen(ConfirmModal(f"{fmt.visible(message.message)}.", yes="Save anyway", no="Back"), answered)
            return True
        return False

    def action_book(self) -> None:
        from frontdesk.tui.choice import ChoiceModal
        from frontdesk.tui.screens.patient import PatientDraft
        from frontdesk.tui.screens.slots import SlotPickerScreen

        overview = self.app.overview
        if self.patient is None or overview is None or not overview.appointment_types:
            self.notify("Nothing to book yet: this clinic has no appointment types.", title="Book", severity="warning")
            return
        patient = self.patient

        def type_chosen(type_id: str | None) -> None:
            if type_id is not None:
                picker = SlotPickerScreen(type_id)
                picker.draft = PatientDraft(patient=patient)  # the hold's form starts with this patient
                self.app.push_screen(picker, lambda _booked: self.load())

        choices = [(fmt.type_label(t), t.id) for t in overview.appointment_types]
        self.app.push_screen(ChoiceModal("Appointment type", choices), type_chosen)

    def action_move(self) -> None:
        from frontdesk.tui.screens.flow_board import can_move
        from frontdesk.tui.screens.slots import SlotPickerScreen

        apt = self.selected()
        if apt is None:
            return
        if not can_move(apt):
            self.notify("Only an appointment still to come, not yet arrived, can be moved.", title="Move",
                        severity="warning")
            return
        known = {t.id for t in self.app.overview.appointment_types} if self.app.overview else set()
        if apt.appointment_type_id not in known:
            self.notify("This appointment has no appointment type to look for slots of.", title="Move",
                        severity="warning")
            return
        self.app.push_screen(SlotPickerScreen(apt.appointment_type_id, moving=apt), lambda _moved: self.load())

    def action_cancel(self) -> None:
        from frontdesk.tui.screens.changes import ask_cancel

        apt = self.selected()
        if apt is not None:
            ask_cancel(self, apt, self._patient_name(), self.cancelled)

    def cancelled(self, result) -> None:
        from frontdesk.tui.screens.changes import after_cancel

        if after_cancel(self, result, self._patient_name(), self.cancelled):
            self.notify("The appointment is cancelled.", title="Appointment cancelled")
        self.load()
