"""Patient details for a held slot: find or enter the patient, then confirm before the hold runs out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Label, Static

from frontdesk.domain.patients import date_example, format_date
from frontdesk.services.objects import (
    ConfirmRequest,
    HoldRequest,
    HoldView,
    NewPatient,
    PatientView,
)
from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.forms import (
    check_date_of_birth,
    check_email,
    check_new_patient,
    check_phone,
    check_text,
)
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.screens.repeat import RepeatModal, frequency, series_end, series_summary
from frontdesk.tui.widgets import ClinicHeader, FieldInput, FitTable, HoldCountdown

NEW_PATIENT_FIELDS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("date_of_birth", "Born"),
    ("phone", "Phone"),
    ("email", "Email"),
)
ATTENDEE_FIELDS = (("attendee_name", "Attendee"), ("attendee_email", "Att. email"))
SEARCH_MIN_CHARS = 2
NEW_ANYWAY = "<new patient>"  # the choice "create a new patient anyway" (no id has < or >)
FORM_FIELDS = ("find", *(name for name, _ in NEW_PATIENT_FIELDS + ATTENDEE_FIELDS))


@dataclass(frozen=True)
class PatientDraft:
    """What the desk typed (or chose) for a hold, kept for the next hold when this one ran out."""

    values: dict[str, str] = field(default_factory=dict)  # field id -> text as typed
    patient: PatientView | None = None
    auto_attendee: tuple[str, str] = ("", "")

    @property
    def empty(self) -> bool:
        return self.patient is None and not any(v.strip() for v in self.values.values())


class PatientScreen(FrontdeskScreen):
    AUTO_FOCUS = "#find"

    BINDINGS = [
        Binding("ctrl+s", "confirm", "Confirm", tooltip="Confirm the booking", id="confirm"),
        Binding("ctrl+n", "new_patient", "New patient", id="new-patient"),
        Binding("ctrl+f", "find", "Find", tooltip="Find an existing patient", id="find"),
        Binding("ctrl+x", "extend", "Extend", tooltip="Extend the hold once (x outside a text field)",
                priority=True, id="extend"),
        Binding("x", "extend", "Extend", show=False, id="extend-x"),
        Binding("ctrl+r", "repeat", "Repeat", tooltip="Repeat the slot weekly, every 2 or 4 weeks (previewed first)",
                id="repeat"),
        Binding("escape", "leave", "Back", tooltip="Back to the slots (the hold is released)", id="leave"),
        Binding("r", "hold_again", "Hold again", id="hold-again"),
        Binding("s", "pick_another", "Pick another", id="pick-another"),
        Binding("down", "to_results", "Results", show=False, id="to-results"),
    ]

    def __init__(self, hold: HoldView, draft: PatientDraft | None = None) -> None:
        super().__init__()
        self.hold = hold
        self.draft = draft  # typed for an earlier hold that ran out: filled in on mount
        self.patient: PatientView | None = None
        self.locked = False
        self.can_hold_again = True  # once locked: the same slot may still be free
        self.busy = False
        self.results: dict[str, PatientView] = {}
        self._auto_attendee = ("", "")
        self._leave_question: Screen | None = None

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ClinicHeader()
        with Horizontal(id="hold-bar"):
            yield Static(self._hold_summary(), id="hold-summary")
            yield HoldCountdown(self.hold.expires_at, extendable=self.hold.extended_at is None, id="countdown")
        with Vertical(id="expired-panel"):
            yield Static("", id="expired-message")
            with Horizontal(classes="buttons"):
                yield Button("Hold this slot again (r)", id="again", variant="primary", compact=True)
                yield Button("Pick another slot (s)", id="another", compact=True)
        with VerticalScroll(id="patient-form"):
            yield Label("Find a patient — name, date of birth or phone (ctrl+f)", classes="section")
            yield FieldInput(placeholder="e.g. smith, 1980-04-02, 07700", id="find", compact=True)
            yield FitTable(
                # The phone column fits a whole international number, to read it back to the caller.
                [("name", "Name", 3, False), ("born", "Born", 10, True), ("phone", "Phone", 17, True), ("email", "Email", 3, False)],
                id="results",
            )
            yield Static(Text("Booking for: a new patient (fill in below)", style="dim"), id="chosen")
            yield Label("New patient (ctrl+n)", classes="section")
            for name, label in NEW_PATIENT_FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    yield FieldInput(id=name, compact=True, placeholder=date_example(self._order()) if name == "date_of_birth" else "")
                    yield Label("", id=f"{name}-error", classes="field-error")
            yield Label("Attendee (filled from the patient)", classes="section")
            for name, label in ATTENDEE_FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    yield FieldInput(id=name, compact=True)
                    yield Label("", id=f"{name}-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Confirm booking (ctrl+s)", id="confirm", variant="success", compact=True)
                yield Button("Back (Esc)", id="leave", compact=True)
        yield Footer(compact=True)

    def _hold_summary(self) -> Text:
        app = self.app
        hold = self.hold
        zone = app.location_zone(hold.location_id)
        where = "Remote (video)" if hold.is_remote else app.location_name(hold.location_id)
        rooms = ", ".join(app.room_names(hold.resource_ids))
        first = " · ".join(p for p in (app.type_name(hold.appointment_type_id), app.clinician_name(hold.clinician_id)) if p)
        second = " · ".join(p for p in (fmt.when(hold.start_time, hold.end_time, zone), f"{where}, {rooms}" if rooms else where) if p)
        summary = Text.assemble((first, "bold"), "\n", second)
        if hold.series_rule:  # a third line: "Weekly × 6 (1 skipped) · the last Mon 24 Feb 2025"
            summary.append(f"\n{series_summary(hold)} · the last {series_end(hold, zone)}", style="bold")
        return summary

    def _order(self) -> str:
        overview = self.app.overview
        return overview.date_order if overview else "DMY"

    def _country(self) -> str:
        overview = self.app.overview
        return overview.country if overview else "GB"

    def on_mount(self) -> None:
        self.query_one("#expired-panel").display = False
        if self.draft is not None and not self.draft.empty:
            self._fill_in(self.draft)
            self.notify("What was typed for the last hold is filled in.", title="Details kept")

    def _fill_in(self, draft: PatientDraft) -> None:
        for name, value in draft.values.items():
            self.query_one(f"#{name}", FieldInput).value = value
        self._auto_attendee = draft.auto_attendee
        if draft.patient is not None:
            attendee = (draft.values.get("attendee_name", ""), draft.values.get("attendee_email", ""))
            self.choose_patient(draft.patient)
            self._set_attendee(*attendee, force=True)  # as the desk left them, not as refilled
            self._auto_attendee = draft.auto_attendee

    def typed(self) -> PatientDraft:
        """What the desk has typed or chosen here."""
        values = {name: self.query_one(f"#{name}", FieldInput).value for name in FORM_FIELDS}
        return PatientDraft(values, self.patient, self._auto_attendee)

    # --- finding a patient ------------------------------------------------------------------

    def on_input_changed(self, event: FieldInput.Changed) -> None:
        name = event.input.id
        if name == "find":
            text = event.value.strip()
            if len(text) >= SEARCH_MIN_CHARS:
                self.call_service("search", partial(backend.search_patients, text=text), self.show_results)
            else:
                self.query_one("#results", DataTable).clear()
                self.results = {}
            return
        if name in ("first_name", "last_name", "email"):
            self._fill_attendee_from_form()
        self._check_field(name, event.value.strip())

    def show_results(self, page) -> None:
        table = self.query_one("#results", DataTable)
        table.clear()
        self.results = {p.id: p for p in page.items}
        for patient in page.items:
            table.add_row(
                fmt.plain(fmt.person_name(patient.first_name, patient.last_name)),
                fmt.plain(format_date(patient.date_of_birth, self._order()) or None),
                fmt.plain(patient.phone_display or patient.phone),
                fmt.plain(patient.email),
                key=patient.id,
            )

    def action_to_results(self) -> None:
        table = self.query_one("#results", DataTable)
        if table.row_count:
            table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "hold_again":
            return self.locked and self.can_hold_again
        if action == "pick_another":
            return self.locked
        if action in ("confirm", "new_patient", "find", "extend"):
            return not self.locked
        if action == "repeat":
            return not self.locked and self.hold.series_rule is None
        if action == "to_results":
            return self.focused is not None and self.focused.id == "find"
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        patient = self.results.get(key) if key is not None else None
        if patient is not None:
            self.choose_patient(patient)

    def choose_patient(self, patient: PatientView) -> None:
        self.patient = patient
        name = fmt.visible(fmt.person_name(patient.first_name, patient.last_name))
        born = format_date(patient.date_of_birth, self._order())
        details = fmt.visible(" · ".join(x for x in (f"born {born}" if born else "", patient.phone_display or patient.phone or "") if x))
        chosen = Text("Booking for: ", style="bold")
        chosen.append(name)
        if details:
            chosen.append(f"  ({details})", style="dim")
        self.query_one("#chosen", Static).update(chosen)
        for field_id, _ in NEW_PATIENT_FIELDS:
            self.query_one(f"#{field_id}", FieldInput).disabled = True
            self.query_one(f"#{field_id}-error", Label).update("")
        self._set_attendee(name, fmt.visible(patient.email or ""))
        self.query_one("#confirm", Button).focus()

    def action_new_patient(self) -> None:
        self.patient = None
        self.query_one("#chosen", Static).update(Text("Booking for: a new patient (fill in below)", style="dim"))
        for field_id, _ in NEW_PATIENT_FIELDS:
            self.query_one(f"#{field_id}", FieldInput).disabled = False
        self._fill_attendee_from_form(force=True)
        self.query_one("#first_name", FieldInput).focus()

    def action_find(self) -> None:
        self.query_one("#find", FieldInput).focus()

    # --- the attendee follows the patient unless the user typed their own -------------------

    def _set_attendee(self, name: str, email: str, force: bool = True) -> None:
        name_input = self.query_one("#attendee_name", FieldInput)
        email_input = self.query_one("#attendee_email", FieldInput)
        auto_name, auto_email = self._auto_attendee
        if force or name_input.value == auto_name:
            name_input.value = name
        if force or email_input.value == auto_email:
            email_input.value = email
        self._auto_attendee = (name, email)

    def _fill_attendee_from_form(self, force: bool = False) -> None:
        if self.patient is not None:
            return
        values = self._form_values()
        self._set_attendee(fmt.person_name(values["first_name"], values["last_name"]), values["email"], force=force)

    # --- checking and confirming ------------------------------------------------------------

    def _form_values(self) -> dict[str, str]:
        names = [name for name, _ in NEW_PATIENT_FIELDS + ATTENDEE_FIELDS]
        return {name: self.query_one(f"#{name}", FieldInput).value.strip() for name in names}

    def _check_field(self, name: str | None, value: str) -> None:
        checks = {
            "email": check_email,
            "attendee_email": lambda v: check_email(v, "attendee_email"),
            "phone": lambda v: check_phone(v, self._country()),
            "date_of_birth": lambda v: check_date_of_birth(v, self.app.today(), self._order()),
            "attendee_name": lambda v: check_text(v, "attendee_name"),
        }
        if name in checks:
            self.query_one(f"#{name}-error", Label).update(checks[name](value) or "")
        elif name in ("first_name", "last_name") and value:
            self.query_one(f"#{name}-error", Label).update(check_text(value, name) or "")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions: dict[str | None, Callable[[], None]] = {"confirm": self.action_confirm, "leave": self.action_leave, "again": self.action_hold_again, "another": self.action_pick_another}
        actions[event.button.id]()

    def action_confirm(self, allow_duplicate: bool = False) -> None:
        if self.locked or self.busy:
            return
        values = self._form_values()
        problems = {}
        if self.patient is None:
            problems = check_new_patient(values, self.app.today(), self._order(), self._country())
        for name, problem in (
            ("attendee_name", check_text(values["attendee_name"], "attendee_name")),
            ("attendee_email", check_email(values["attendee_email"], "attendee_email")),
        ):
            if problem:
                problems[name] = problem
        for name, _ in NEW_PATIENT_FIELDS + ATTENDEE_FIELDS:
            self.query_one(f"#{name}-error", Label).update(problems.get(name, "") if (self.patient is None or name.startswith("attendee")) else "")
        if problems:
            first_bad = next(name for name, _ in NEW_PATIENT_FIELDS + ATTENDEE_FIELDS if name in problems)
            self.query_one(f"#{first_bad}", FieldInput).focus()
            self.notify("Please check the fields marked beside them.", title="Patient details", severity="warning")
            return
        request = ConfirmRequest(
            patient_id=self.patient.id if self.patient else None,
            new_patient=None
            if self.patient
            else NewPatient(
                first_name=values["first_name"],
                last_name=values["last_name"],
                email=values["email"] or None,
                phone=values["phone"] or None,
                date_of_birth=values["date_of_birth"] or None,
            ),
            attendee_name=values["attendee_name"] or None,
            attendee_email=values["attendee_email"] or None,
            allow_duplicate=allow_duplicate,
        )
        self.busy = True
        self.query_one("#confirm", Button).disabled = True
        confirm = partial(backend.confirm_hold, hold_id=self.hold.id, request=request)
        self.call_service("confirm", confirm, self.booked, self.not_booked, exclusive=False)

    def booked(self, appointment) -> None:
        self.busy = False
        self.app.owned_holds.discard(self.hold.id)
        zone = self.app.location_zone(appointment.location_id)
        who, when = fmt.visible(appointment.attendee_name or appointment.title), fmt.when(appointment.start_time, appointment.end_time, zone)
        if self.hold.series_rule:  # a series: how many were booked
            when = f"{len(self.hold.occurrences or [])} appointments booked, {frequency(self.hold.series_rule)} from {when}"
        self.notify(
            f"{who} · {when}",
            title="Booked",
            markup=False,
        )
        self.dismiss(appointment)

    def not_booked(self, message: ServiceFailed) -> bool:
        self.busy = False
        self.query_one("#confirm", Button).disabled = False
        if message.code == "HOLD_EXPIRED":
            self.app.owned_holds.discard(self.hold.id)
            if self._slot_started():
                self.lock_form(self._started_words(), can_hold_again=False)
            else:
                self.lock_form("The hold ran out before the booking was confirmed. Nothing was booked.")
            return False
        if message.code == "HOLD_NOT_ACTIVE":
            self.app.owned_holds.discard(self.hold.id)
            self.lock_form("This hold is no longer active (released or already booked). Nothing was booked.")
            return False
        if message.code == "SLOT_UNAVAILABLE":
            # The hold lapsed by another desk's clock and that desk booked the time.
            self.app.owned_holds.discard(self.hold.id)
            self.lock_form("The hold lapsed and the slot was taken by another desk. Nothing was booked.",
                           can_hold_again=False)
            return True
        matches = message.details.get("matches")
        if message.code == "VALIDATION_ERROR" and matches:
            self.offer_match(matches)
            return True
        field = message.details.get("field")
        if message.code == "VALIDATION_ERROR" and isinstance(field, str):
            name = field.removeprefix("new_patient.").removeprefix("new_patient_")
            if self.query(f"#{name}-error"):
                self.query_one(f"#{name}-error", Label).update(Text(message.message))
        return False

    def offer_match(self, matches: list[dict]) -> None:
        """The new patient looks like one already there: book for them, or create anyway."""
        from frontdesk.tui.choice import ChoiceModal

        found = {m["id"]: m for m in matches}
        choices = []
        for m in matches:
            born = format_date(date.fromisoformat(m["date_of_birth"]), self._order()) if m["date_of_birth"] else ""
            about = " · ".join(x for x in (f"born {born}" if born else "", m["phone"] or "", m["email"] or "") if x)
            choices.append((f"Use {fmt.person_name(m['first_name'], m['last_name'])} ({about}) — same {', '.join(m['same'])}", m["id"]))
        choices.append(("Create a new patient anyway", NEW_ANYWAY))

        def chosen(choice: str | None) -> None:
            if choice == NEW_ANYWAY:
                self.action_confirm(allow_duplicate=True)
            elif choice in found:
                m = found[choice]
                self.choose_patient(PatientView(
                    m["id"], m["first_name"], m["last_name"],
                    date.fromisoformat(m["date_of_birth"]) if m["date_of_birth"] else None,
                    m["email"], m["phone"], phone_display=m["phone"],
                ))
                self.notify("Booking for the patient already on file; confirm with ctrl+s.", title="Patient found")

        self.app.push_screen(ChoiceModal("This patient may already be on file", choices), chosen)

    # --- repeating the slot: a series under the same countdown ---------------------------------

    def action_repeat(self) -> None:
        if not self.locked and not self.busy and self.hold.series_rule is None:
            self.app.push_screen(RepeatModal(self.hold, self.app.today()), self.repeated)

    def repeated(self, hold: HoldView | None) -> None:
        if hold is None or self.locked:
            return
        self.hold = hold
        self.query_one("#hold-summary", Static).update(self._hold_summary())
        self.refresh_bindings()
        self.notify(f"{series_summary(hold)} held. Confirming books them all.", title="Series held")

    # --- extending the hold, once ---------------------------------------------------------------

    def action_extend(self) -> None:
        if self.locked or self.busy:
            return
        if self.hold.extended_at is not None:
            self._already_extended(self.hold.expires_at)
            return
        self.busy = True  # the countdown may reach zero meanwhile: the service decides
        self.call_service("extend", partial(backend.extend_hold, hold_id=self.hold.id), self.extended,
                          self.not_extended, exclusive=False)

    def extended(self, hold: HoldView) -> None:
        self.busy = False
        self.hold = hold
        self.query_one(HoldCountdown).restart(hold.expires_at, extendable=False)
        self.notify(f"The hold now runs out at {self._hhmm(hold.expires_at)}. It can be extended only once.",
                    title="Hold extended")

    def not_extended(self, message: ServiceFailed) -> bool:
        self.busy = False
        if message.code == "HOLD_ALREADY_EXTENDED":  # another terminal of this desk did it
            expires_at = datetime.fromisoformat(message.details["expires_at"])
            self.query_one(HoldCountdown).restart(expires_at, extendable=False)
            self._already_extended(expires_at)
            return True
        if message.code == "HOLD_EXPIRED":
            self.hold_ended()
            return True
        if message.code in ("SLOT_UNAVAILABLE", "HOLD_NOT_ACTIVE"):
            return self.not_booked(message)
        return False

    def _already_extended(self, expires_at: datetime) -> None:
        self.notify(f"This hold was already extended once; it runs out at {self._hhmm(expires_at)}.",
                    title="Already extended", severity="warning")

    # --- expiry -----------------------------------------------------------------------------

    def _hhmm(self, instant: datetime) -> str:
        zone = self.app.location_zone(self.hold.location_id)
        return f"{fmt.hhmm(instant, zone)} {fmt.zone_abbrev(instant, zone)}"

    def _slot_started(self) -> bool:
        return self.app.ctx.clock.now() >= self.hold.start_time

    def _started_words(self) -> str:
        return f"The hold ended: its time ({self._hhmm(self.hold.start_time)}) has started, so it cannot be held again. Nothing was booked."

    def on_hold_countdown_expired(self, message: HoldCountdown.Expired) -> None:
        if not self.locked and not self.busy:
            self.hold_ended()

    def hold_ended(self) -> None:
        """The hold's time is up by the clock: say why, lock the form."""
        self.app.owned_holds.discard(self.hold.id)
        if self._slot_started():
            self.lock_form(self._started_words(), can_hold_again=False)
        else:
            self.lock_form(f"The hold ran out at {self._hhmm(self.hold.expires_at)}. Nothing was booked.")

    def lock_form(self, reason: str, can_hold_again: bool = True) -> None:
        self.locked = True
        self._close_leave_question()
        self.query_one("#patient-form").disabled = True
        panel = self.query_one("#expired-panel")
        panel.display = True
        again = self.query_one("#again", Button)
        if can_hold_again:
            advice = " Hold the same slot again if it is still free, or pick another."
        else:
            advice = " Pick another slot (s); what was typed is kept."
        self.query_one("#expired-message", Static).update(Text(reason + advice))
        again.disabled = not can_hold_again
        self.can_hold_again = can_hold_again
        (again if can_hold_again else self.query_one("#another", Button)).focus()
        self.refresh_bindings()

    def unlock_form(self) -> None:
        self.locked = False
        self.query_one("#expired-panel").display = False
        self.query_one("#patient-form").disabled = False
        self.query_one("#confirm", Button).disabled = False
        if self.patient is not None:
            self.query_one("#confirm", Button).focus()
        else:
            self.query_one("#find", FieldInput).focus()
        self.refresh_bindings()

    def action_hold_again(self) -> None:
        hold = self.hold
        request = HoldRequest(
            appointment_type_id=hold.appointment_type_id,
            clinician_id=hold.clinician_id,
            start=hold.start_time,
            duration_minutes=int((hold.end_time - hold.start_time) / timedelta(minutes=1)),
            location_id=hold.location_id,
            room_id=None if hold.is_remote else self.app.room_id_of(hold.resource_ids),
            is_remote=hold.is_remote,
        )
        self.query_one("#again", Button).disabled = True
        self.call_service("rehold", partial(backend.create_hold, request=request), self.held_again, self.not_held_again,
                          exclusive=False)

    def held_again(self, hold: HoldView) -> None:
        self.app.owned_holds.add(hold.id)
        self.hold = hold
        self.query_one("#hold-summary", Static).update(self._hold_summary())
        self.query_one(HoldCountdown).restart(hold.expires_at, extendable=hold.extended_at is None)
        self.unlock_form()
        self.notify("The slot is held again.", title="Held")

    def not_held_again(self, message: ServiceFailed) -> bool:
        if message.code == "SLOT_UNAVAILABLE":
            if message.details.get("reason") == "started":
                words = f"That slot's time ({self._hhmm(self.hold.start_time)}) has started: it cannot be held again."
            else:
                words = "That slot was taken by another desk in the meantime."
            self.query_one("#expired-message", Static).update(Text(f"{words} Pick another slot (s); what was typed is kept."))
            self.query_one("#another", Button).focus()
            self.can_hold_again = False
            self.refresh_bindings()
            return True
        self.query_one("#again", Button).disabled = False
        return False

    def action_pick_another(self) -> None:
        # Back to the slot picker with what was typed: it fills the next hold's form.
        self.dismiss(self.typed())

    # --- leaving ----------------------------------------------------------------------------

    def action_leave(self) -> None:
        from frontdesk.tui.modals import ConfirmModal

        if self.locked:
            self.dismiss(None)
            return

        def answered(leave: bool | None) -> None:
            self._leave_question = None
            if leave and not self.locked:
                self.call_service("release", partial(backend.release_hold, hold_id=self.hold.id), self.released,
                                  self.release_failed, exclusive=False)

        self._leave_question = ConfirmModal("Leave without booking? The slot will be released for others.",
                                            yes="Release and leave", no="Stay")
        self.app.push_screen(self._leave_question, answered)

    def _close_leave_question(self) -> None:
        """The hold ended while the desk was asked whether to leave: the question is moot."""
        question = self._leave_question
        if question is not None and question.is_current:
            question.dismiss(None)

    def released(self, _hold) -> None:
        self.app.owned_holds.discard(self.hold.id)
        self.dismiss(None)

    def release_failed(self, message: ServiceFailed) -> bool:
        # Expired or already gone: there is nothing left to give back, so leaving is fine.
        self.app.owned_holds.discard(self.hold.id)
        self.dismiss(None)
        return True
