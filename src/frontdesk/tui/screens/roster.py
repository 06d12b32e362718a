"""A group's roster on its appointment screen: seats taken and left, each attendee's
attendance, payment and no-show, and keys to add, remove and mark them.

Every change names the version the desk saw: when another desk changed the class meanwhile,
nothing is overwritten, the roster reloads and says who changed it."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from frontdesk.domain.patients import format_date
from frontdesk.domain.statuses import GOING, NOT_GOING, PAYMENT_STATUSES
from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.backend import ChangeConflict
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.screens.changes import conflict_notice
from frontdesk.tui.widgets import FieldInput, FitTable

if TYPE_CHECKING:
    from frontdesk.services.objects import AppointmentView, AttendeeView
    from frontdesk.tui.app import FrontdeskApp

SEARCH_MIN_CHARS = 2
PAYMENT_WORDS = {"not_applicable": "not applicable", "pending": "pending", "paid": "paid"}


def seats_line(type_name: str, taken: int, capacity: int) -> str:
    """'Back Care Group Class · 3 of 8 seats taken · 5 left'."""
    return f"{type_name} · {taken} of {capacity} seats taken · {max(capacity - taken, 0)} left"


def attendance_text(attendee: AttendeeView) -> Text:
    if attendee.attendance_status == GOING:
        return Text("✓ going")
    return Text("✗ not going", style="dim")


def no_show_text(attendee: AttendeeView) -> Text:
    # A glyph and a word, so it reads without colour.
    return Text("⚠ no-show", style="bold") if attendee.no_show else Text("· no", style="dim")


def attendee_words(logged: object, names: dict[str, str]) -> object:
    """An attendee as the change log keeps it (a dict), in the desk's words:
    'Sophie Rahman · going · paid'. Anything else is returned as it is."""
    if not isinstance(logged, dict):
        return logged
    patient_id = str(logged.get("patient_id"))
    payment = str(logged.get("payment_status"))
    parts = [names.get(patient_id) or patient_id,
             "going" if logged.get("attendance_status") == GOING else "not going",
             "payment " + PAYMENT_WORDS.get(payment, payment)]
    if logged.get("no_show"):
        parts.append("no-show")
    return " · ".join(parts)


class Roster(Vertical):
    """The roster of the group shown by the AppointmentScreen that mounts it."""

    DEFAULT_CSS = """
    Roster {
        height: 1fr;
        padding: 0 1;
    }
    Roster #roster-seats {
        height: 1;
        text-style: bold;
    }
    Roster FitTable {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("a", "add", "Add", tooltip="Add a patient to the class (a seat must be free)", id="roster-add"),
        Binding("x,delete", "remove", "Remove", tooltip="Take the attendee off the class (asks first)",
                id="roster-remove"),
        Binding("g", "going", "Going", tooltip="Going / not going (not going frees the seat)", id="roster-going"),
        Binding("p", "payment", "Payment", tooltip="Payment: not applicable → pending → paid", id="roster-payment"),
        Binding("n", "no_show", "No-show", tooltip="No-show on / off (once the class has begun)", id="roster-no-show"),
    ]

    app: FrontdeskApp

    def __init__(self, appointment: AppointmentView) -> None:
        super().__init__()
        self.appointment = appointment

    def compose(self) -> ComposeResult:
        yield Label("", id="roster-seats")
        yield FitTable(
            [("name", "Attendee", 3, False), ("attendance", "Attendance", 11, True),
             ("payment", "Payment", 14, True), ("no_show", "No-show", 9, True)],
            id="roster-table", zebra_stripes=True,
        )

    def on_mount(self) -> None:
        self.show(self.appointment)
        self.query_one(FitTable).focus()

    @property
    def desk(self) -> FrontdeskScreen:
        screen = self.screen
        assert isinstance(screen, FrontdeskScreen)
        return screen

    def capacity(self) -> int:
        overview = self.app.overview
        types = overview.appointment_types if overview else []
        return next((t.capacity for t in types if t.id == self.appointment.appointment_type_id), 1)

    def type_name(self) -> str:
        return self.app.type_name(self.appointment.appointment_type_id) or fmt.visible(self.appointment.title)

    def show(self, appointment: AppointmentView) -> None:
        """The class as loaded; the cursor stays on the attendee it was on."""
        self.appointment = appointment
        going = sum(1 for a in appointment.attendees if a.attendance_status == GOING)
        self.query_one("#roster-seats", Label).update(Text(seats_line(self.type_name(), going, self.capacity())))
        table = self.query_one(FitTable)
        current = self.current()
        table.clear()
        for attendee in sorted(appointment.attendees, key=lambda a: (fmt.visible(a.name).casefold(), a.id)):
            table.add_row(fmt.plain(attendee.name), attendance_text(attendee),
                          Text(PAYMENT_WORDS.get(attendee.payment_status, attendee.payment_status)),
                          no_show_text(attendee), key=attendee.id)
        if current is not None and current.id in {a.id for a in appointment.attendees}:
            table.move_cursor(row=table.get_row_index(current.id))

    def current(self) -> AttendeeView | None:
        """The attendee under the cursor."""
        table = self.query_one(FitTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((a for a in self.appointment.attendees if a.id == key), None)

    # --- the keys ----------------------------------------------------------------------------

    def action_add(self) -> None:
        def chosen(patient: tuple[str, str] | None) -> None:
            if patient is None:
                return
            patient_id, name = patient
            if any(a.id == patient_id and a.attendance_status == GOING for a in self.appointment.attendees):
                self.notify(f"{name} is already going to this class.", title="Already going",
                            severity="warning", markup=False)
                return
            self._change(partial(backend.add_attendee, patient_id=patient_id), f"{name} added to the class.")

        self.app.push_screen(AddAttendeeModal(self.type_name()), chosen)

    def action_remove(self) -> None:
        attendee = self.current()
        if attendee is None:
            self.notify("No attendee to remove.", severity="warning")
            return
        name = fmt.visible(attendee.name)

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(partial(backend.remove_attendee, patient_id=attendee.id),
                             f"{name} is off the class; the seat is free.")

        from frontdesk.tui.modals import ConfirmModal

        self.app.push_screen(ConfirmModal(f"Take {name} off {self.type_name()}?", yes="Remove", no="Keep"), answered)

    def action_going(self) -> None:
        attendee = self.current()
        if attendee is not None:
            going = attendee.attendance_status != GOING
            self._update(attendee, {"attendance_status": GOING if going else NOT_GOING},
                         "going" if going else "not going (the seat is free)")

    def action_payment(self) -> None:
        attendee = self.current()
        if attendee is not None:
            index = PAYMENT_STATUSES.index(attendee.payment_status) if attendee.payment_status in PAYMENT_STATUSES else -1
            payment = PAYMENT_STATUSES[(index + 1) % len(PAYMENT_STATUSES)]
            self._update(attendee, {"payment_status": payment}, f"payment {PAYMENT_WORDS[payment]}")

    def action_no_show(self) -> None:
        attendee = self.current()
        if attendee is not None:
            no_show = not attendee.no_show
            self._update(attendee, {"no_show": no_show}, "a no-show" if no_show else "no longer a no-show")

    def _update(self, attendee: AttendeeView, changes: dict, said: str) -> None:
        self._change(partial(backend.update_attendee, patient_id=attendee.id, changes=changes),
                     f"{fmt.visible(attendee.name)}: {said}.")

    def _change(self, call, done: str) -> None:
        """Run a roster change on the version shown; then reload the screen (its change log too)."""
        apt = self.appointment
        call = partial(call, appointment_id=apt.id, version=apt.version)
        self.desk.call_service("roster", call, partial(self._changed, done), self._refused, exclusive=False)

    def _changed(self, done: str, result: AppointmentView | ChangeConflict) -> None:
        if isinstance(result, ChangeConflict):
            notice = conflict_notice(result, self.app.location_zone(result.current.location_id))
            self.notify(f"{notice} Nothing was changed: the roster now shows it as it is; try again.",
                        title="Changed meanwhile", severity="warning", timeout=10, markup=False)
            self.show(result.current)
        else:
            self.show(result)  # its version at once, so the next key names it
            self.notify(done, title="Roster", markup=False)
        self.desk.refresh_data()

    def _refused(self, message: ServiceFailed) -> bool:
        """A refusal (class full, not begun yet, …): the desk reads the service's sentence; reload."""
        self.desk.refresh_data()
        if message.code == "SLOT_UNAVAILABLE":
            self.notify(f"The class is full: no seat is left. ({fmt.visible(message.message)})",
                        title="Class full", severity="error", timeout=8, markup=False)
            return True
        return False


class AddAttendeeModal(FrontdeskScreen, ModalScreen[tuple[str, str] | None]):
    """Find a patient to add: type part of a name, phone or email; Enter on a result picks
    it (returns the patient's id and name), Escape backs out. (Not patient_record's
    PatientSearchModal: the screens' layers keep the appointment screen below the record.)"""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("down", "to_results", "Results", show=False)]
    AUTO_FOCUS = "#patient-find"

    def __init__(self, class_name: str) -> None:
        super().__init__()
        self.class_name = class_name
        self.names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Text(f"Add a patient to {self.class_name}"), classes="title")
            yield Static("Type part of a name, phone or email; ↓ to the results, Enter to add.", classes="hint")
            yield FieldInput(placeholder="Find a patient", id="patient-find", compact=True)
            yield DataTable(id="patient-results", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Born", "Phone")
        table.styles.height = 8

    def on_input_changed(self, event: FieldInput.Changed) -> None:
        text = event.value.strip()
        if len(text) >= SEARCH_MIN_CHARS:
            self.call_service("search", partial(backend.search_patients, text=text), self.show_results)
        else:
            self.query_one(DataTable).clear()
            self.names = {}

    def show_results(self, page) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.names = {}
        for patient in page.items:
            name = fmt.visible(fmt.person_name(patient.first_name, patient.last_name))
            self.names[patient.id] = name
            # As the clinic writes dates and phones, like every other list of patients.
            order = self.app.overview.date_order if self.app.overview else "DMY"
            table.add_row(fmt.plain(name), fmt.plain(format_date(patient.date_of_birth, order) or None),
                          fmt.plain(patient.phone_display or patient.phone), key=patient.id)

    def on_input_submitted(self, event: FieldInput.Submitted) -> None:
        self.action_to_results()

    def action_to_results(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        patient_id = str(event.row_key.value)
        self.dismiss((patient_id, self.names.get(patient_id, patient_id)))

    def action_back(self) -> None:
        self.dismiss(None)
