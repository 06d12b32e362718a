"""Modal screens; each returns a typed result through dismiss()."""

from __future__ import annotations

from datetime import date

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from frontdesk.tui import format as fmt
from frontdesk.tui.choice import Choice
from frontdesk.tui.forms import check_email, check_text, parse_day
from frontdesk.tui.widgets import FieldInput, NotesArea


# Which occurrences of a series a cancel or an edit reaches (domain/series.py's scopes).
SCOPES = [("This one only", "one"), ("This and the following", "following"), ("All in the series", "all")]


def scope_field(scope: str | None) -> ComposeResult:
    """The scope choice, for an appointment of a series only (`scope` None: not in one)."""
    if scope is not None:
        with Horizontal(classes="field"):
            yield Label("Which", classes="field-label")
            yield Choice("Which appointments of the series", SCOPES, scope, id="scope")


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question. y / n, Enter on a button, Escape means no."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(fmt.visible(self.question)), classes="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="primary", compact=True)
                yield Button(f"{self.no} (n)", id="no", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class CancelModal(ModalScreen[str | None]):
    """Ask why an appointment is cancelled. Returns the reason, or None if the user backs out.
    For an appointment of a series it asks which ones too (`scope`, read when it returns)."""

    AUTO_FOCUS = "#reason"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, summary: str, reason: str = "", notice: str | None = None, scope: str | None = None) -> None:
        super().__init__()
        self.summary = summary
        self.reason = reason  # what the desk typed before, kept across a conflict
        self.notice = notice
        self.scope = scope  # None: not in a series

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Cancel appointment", classes="title")
            if self.notice:
                yield Static(Text(fmt.visible(self.notice)), classes="notice")
            yield Static(Text(fmt.visible(self.summary)), classes="question")
            yield from scope_field(self.scope)
            yield Label("Reason")
            yield FieldInput(self.reason, placeholder="e.g. patient called to cancel", id="reason", compact=True)
            yield Label("", id="reason-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel appointment (Enter)", id="confirm", variant="error", compact=True)
                yield Button("Keep it (Esc)", id="keep", compact=True)

    def on_input_submitted(self, event: FieldInput.Submitted) -> None:
        self._submit()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        self.scope = event.value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        reason = self.query_one("#reason", FieldInput).value.strip()
        problem = check_text(reason, "reason") if reason else "Please give a reason for the cancellation."
        if problem:
            self.query_one("#reason-error", Label).update(problem)
            self.query_one("#reason", FieldInput).focus()
            return
        self.dismiss(reason)

    def action_back(self) -> None:
        self.dismiss(None)


class EditModal(ModalScreen[dict | None]):
    """Edit title, notes and attendee details. Returns only the fields that changed. For an
    appointment of a series it asks which ones too (`scope`, read when it returns)."""

    AUTO_FOCUS = "#title"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        summary: str,
        title: str,
        description: str | None,
        attendee_name: str | None,
        attendee_email: str | None,
        *,
        typed: dict | None = None,
        notice: str | None = None,
        scope: str | None = None,
    ) -> None:
        super().__init__()
        self.summary = summary  # whose appointment, and when
        self.notice = notice
        self.scope = scope  # None: not in a series
        # Shown with any control character made visible; a field left as shown counts as unchanged.
        self.original = {
            "title": fmt.visible(title or ""),
            "description": fmt.visible(description or ""),
            "attendee_name": fmt.visible(attendee_name or ""),
            "attendee_email": fmt.visible(attendee_email or ""),
        }
        # The fields start as the desk left them when its save met another desk's change.
        self.shown = {**self.original, **{k: fmt.visible(v or "") for k, v in (typed or {}).items() if k in self.original}}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Edit appointment", classes="title")
            yield Static(Text(fmt.visible(self.summary)), classes="question")
            if self.notice:
                yield Static(Text(fmt.visible(self.notice)), classes="notice")
            yield from scope_field(self.scope)
            with Horizontal(classes="field"):
                yield Label("Title", classes="field-label")
                yield FieldInput(self.shown["title"], id="title", compact=True)
            with Horizontal(classes="field"):
                yield Label("Attendee", classes="field-label")
                yield FieldInput(self.shown["attendee_name"], id="attendee_name", compact=True)
            with Horizontal(classes="field"):
                yield Label("Email", classes="field-label")
                yield FieldInput(self.shown["attendee_email"], id="attendee_email", compact=True)
            yield Label("", id="email-error", classes="field-error")
            yield Label("Notes")
            notes = NotesArea(self.shown["description"], id="description", soft_wrap=True, compact=True)
            if not getattr(self.app, "blink", True):
                notes.cursor_blink = False
            yield notes
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Back (Esc)", id="back", compact=True)

    def on_input_submitted(self) -> None:
        self.action_save()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        self.scope = event.value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        values = {name: self.query_one(f"#{name}", FieldInput).value.strip() for name in ("title", "attendee_name", "attendee_email")}
        values["description"] = self.query_one("#description", NotesArea).text.rstrip()
        if not values["title"]:
            self.query_one("#email-error", Label).update("A title is required.")
            return
        for name in values:
            if name == "attendee_email":
                problem = check_email(values[name], name)
            else:
                problem = check_text(values[name], name, multiline=name == "description")
            if problem:
                self.query_one("#email-error", Label).update(problem)
                self.query_one(f"#{name}").focus()
                return
        changes = {name: (value or None) for name, value in values.items() if value != self.original[name]}
        if "title" in changes:
            changes["title"] = values["title"]
        self.dismiss(changes)

    def action_back(self) -> None:
        self.dismiss(None)


class DateModal(ModalScreen[date | None]):
    """Go to a date: YYYY-MM-DD, 'today', 'tomorrow', '+3', '-1', or a weekday ('mon')."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, today: date, current: date) -> None:
        super().__init__()
        self.today = today
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Go to date", classes="title")
            yield Static(f"{self._example()}, 31 dec, YYYY-MM-DD, today, tomorrow, +3 / -3 (days from today), "
                         "or a weekday (mon … sun)", classes="hint")
            yield FieldInput(self.current.isoformat(), id="day", compact=True)
            yield Label("", id="day-error", classes="field-error")
            yield Label("", id="day-preview", classes="hint")

    def _order(self) -> str:
        overview = getattr(self.app, "overview", None)  # the clinic's date order, once read
        return overview.date_order if overview is not None else "DMY"

    def _example(self) -> str:
        return {"MDY": "12/31", "YMD": "12/31"}.get(self._order(), "31/12")

    def on_input_changed(self, event: FieldInput.Changed) -> None:
        day = parse_day(event.value, self.today, self._order())
        self.query_one("#day-preview", Label).update(fmt.day_label(day) if day else "")
        self.query_one("#day-error", Label).update("")

    def on_input_submitted(self, event: FieldInput.Submitted) -> None:
        day = parse_day(event.value, self.today, self._order())
        if day is None:
            self.query_one("#day-error", Label).update(f"Not a date I can read; try {self._example()}, 2025-01-31 or +7.")
            return
        self.dismiss(day)

    def action_back(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key, screen by screen. F1, ? or Escape closes it."""

    BINDINGS = [
        Binding("escape,f1,question_mark,q", "close", "Close"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide help"):
            yield Label("Keys  (arrows / PgUp / PgDn scroll · Esc closes)", classes="title")
            with VerticalScroll(id="help-scroll", can_focus=True):
                for heading, keys in self.sections:
                    table = Table.grid(padding=(0, 2))
                    table.add_column(min_width=14, style="bold")
                    table.add_column()
                    for key, description in keys:
                        table.add_row(key, description)
                    yield Label(heading, classes="help-heading")
                    yield Static(table)

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
