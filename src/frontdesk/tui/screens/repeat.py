"""Repeat a held slot (the patient-details screen's ctrl+r): every week, 2 or 4 weeks, a
number of times or until a date. Each occurrence is previewed with its clash before anything
is held; then the one hold grows into a series hold under the same countdown."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.choice import Choice
from frontdesk.tui.forms import parse_day
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.widgets import FieldInput, HoldCountdown

if TYPE_CHECKING:
    from frontdesk.services.objects import HoldView, SeriesOccurrence

EVERY = [("Every week", "1"), ("Every 2 weeks", "2"), ("Every 4 weeks", "4")]
MIN_TIMES, MAX_TIMES = 2, 52  # a series holds at most 52 (domain/series.py)

_UNITS = {"HOURLY": "hour", "DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


def repeat_rule(weeks: int, ends: str, today: date, first_day: date) -> tuple[str | None, str]:
    """The RRULE for the desk's choice and how it reads ("6 visits"), or None and why not.
    A bare number is how many times; anything else a date (the desk's formats, `parse_day`),
    the series then lasting until that day's end in the slot's own wall time."""
    text = ends.strip()
    every = "FREQ=WEEKLY" + (f";INTERVAL={weeks}" if weeks > 1 else "")
    if not text:
        return None, "How many visits (2–52), or until which date?"
    if text.isdigit():
        times = int(text)
        if not MIN_TIMES <= times <= MAX_TIMES:
            return None, f"From {MIN_TIMES} to {MAX_TIMES} visits."
        return f"{every};COUNT={times}", f"{times} visits · or type a date to repeat until"
    day = parse_day(text, today)
    if day is None:
        return None, "Not a number of visits or a date I can read; try 6, 2025-03-31 or +60."
    if day <= first_day:
        return None, f"The date must be after the first visit ({fmt.day_label(first_day)})."
    if (day - first_day).days // (7 * weeks) + 1 > MAX_TIMES:
        return None, f"That is more than {MAX_TIMES} visits; choose an earlier date."
    return f"{every};UNTIL={day:%Y%m%d}T235959", f"until {fmt.day_label(day)} · or type a number of visits"


def frequency(rule: str) -> str:
    """How often a series' rule repeats, in words: "weekly", "every 2 weeks"."""
    parts = dict(item.partition("=")[::2] for item in rule.upper().split(";"))
    unit = _UNITS.get(parts.get("FREQ", ""), "time")
    interval = int(parts["INTERVAL"]) if parts.get("INTERVAL", "").isdigit() else 1
    if interval == 1:
        return {"day": "daily"}.get(unit, f"{unit}ly")
    return f"every {interval} {unit}s"


def series_summary(hold: HoldView) -> str | None:
    """A series hold as the desk reads it: "Weekly × 6 (1 skipped)"; None for one slot."""
    if not hold.series_rule:
        return None
    total = len(hold.occurrences or []) + len(hold.skipped)
    skipped = f" ({len(hold.skipped)} skipped)" if hold.skipped else ""
    return f"{frequency(hold.series_rule).capitalize()} × {total}{skipped}"


def series_end(hold: HoldView, zone: str) -> str:
    """The day of a series hold's last held visit."""
    last = datetime.fromisoformat(hold.occurrences[-1]["start_time"]) if hold.occurrences else hold.start_time
    return fmt.day_label(fmt.local(last, zone).date())


class RepeatModal(ModalScreen["HoldView | None"], FrontdeskScreen):
    """Choose how the held slot repeats, read the preview, then hold: all (only when every
    occurrence is free) or the free ones. Returns the series hold, or None (Back).

    A dialog (ModalScreen first: Textual reads a screen's CSS types along its first base)
    whose service calls run as every screen's do (`FrontdeskScreen.call_service`)."""

    AUTO_FOCUS = "#ends"

    DEFAULT_CSS = """
    RepeatModal #repeat-top { height: auto; }
    RepeatModal #repeat-top .title { width: 1fr; }
    RepeatModal #preview { height: auto; max-height: 45vh; }
    """

    BINDINGS = [
        Binding("ctrl+s", "hold_all", "Hold all", tooltip="Hold every occurrence (only when all are free)",
                id="hold-all"),
        Binding("ctrl+f", "hold_free", "Hold the free ones", tooltip="Hold the free occurrences, skip the others",
                id="hold-free"),
        Binding("escape", "back", "Back", tooltip="Back: the one slot stays held", id="back"),
    ]

    def __init__(self, hold: HoldView, today: date, ends: str = "6") -> None:
        super().__init__()
        self.hold = hold
        self.today = today
        self.ends = ends
        self.rule: str | None = None
        self.preview: list[SeriesOccurrence] | None = None  # for self.rule
        self.busy = False  # holding

    @property
    def zone(self) -> str:
        return self.app.location_zone(self.hold.location_id)

    def compose(self) -> ComposeResult:
        hold = self.hold
        slot = " · ".join(p for p in (self.app.type_name(hold.appointment_type_id),
                                      self.app.clinician_name(hold.clinician_id),
                                      fmt.when(hold.start_time, hold.end_time, self.zone)) if p)
        with Vertical(classes="dialog wide", id="repeat-dialog"):
            with Horizontal(id="repeat-top"):
                yield Label("Repeat this slot", classes="title")
                yield HoldCountdown(hold.expires_at, id="repeat-countdown")
            yield Static(Text(slot), classes="question")
            with Horizontal(classes="field"):
                yield Label("Repeat", classes="field-label")
                yield Choice("Repeat", EVERY, id="every")
            with Horizontal(classes="field"):
                yield Label("Visits", classes="field-label")
                yield FieldInput(self.ends, placeholder="6, or a date", id="ends", compact=True)
            yield Label("", id="ends-words", classes="hint")
            table: DataTable[str | Text] = DataTable(id="preview", cursor_type="row")
            table.add_columns("#", "Date", "Time", "")
            yield table
            yield Label("", id="tally")
            with Horizontal(classes="buttons"):
                yield Button("Hold all (ctrl+s)", id="hold-all", variant="primary", compact=True, disabled=True)
                yield Button("Hold the free ones (ctrl+f)", id="hold-free", compact=True, disabled=True)
                yield Button("Back (Esc)", id="back", compact=True)

    def on_mount(self) -> None:
        self.update_preview()

    # --- the rule and its preview -------------------------------------------------------------

    def on_choice_changed(self, event: Choice.Changed) -> None:
        self.update_preview()

    def on_input_changed(self, event: FieldInput.Changed) -> None:
        self.update_preview()

    def on_input_submitted(self, event: FieldInput.Submitted) -> None:
        self.action_hold_all()

    def refresh_data(self) -> None:
        """Another desk changed something: the clashes may have too. The preview on screen
        stays until the new one comes (no blank flash on every change elsewhere)."""
        if self.rule is not None:
            self._ask_preview(self.rule)

    def update_preview(self) -> None:
        weeks = int(self.query_one("#every", Choice).value)
        ends = self.query_one("#ends", FieldInput).value
        first_day = fmt.local(self.hold.start_time, self.zone).date()
        rule, words = repeat_rule(weeks, ends, self.today, first_day)
        self.rule, self.preview = rule, None
        # What the desk's typing was read as, or why it cannot be.
        self.query_one("#ends-words", Label).update(Text(words, style="" if rule else "bold"))
        table = self.query_one("#preview", DataTable)
        table.clear()
        table.styles.height = 1  # the header until the preview comes
        self.query_one("#tally", Label).update("")
        self._buttons()
        if rule is not None:
            self._ask_preview(rule)

    def _ask_preview(self, rule: str) -> None:
        preview = partial(backend.preview_series, hold_id=self.hold.id, rrule=rule)
        self.call_service("preview", preview, partial(self.show_preview, rule), self.not_previewed)

    def show_preview(self, rule: str, occurrences: list[SeriesOccurrence]) -> None:
        if rule != self.rule:
            return  # the desk changed the rule meanwhile
        self.preview = occurrences
        table = self.query_one("#preview", DataTable)
        table.clear()
        for occurrence in occurrences:
            start = fmt.local(occurrence.start_time, self.zone)
            clash = "free" if occurrence.free else f"✗ {occurrence.reason}"
            table.add_row(
                str(occurrence.index + 1),
                f"{start:%a} {start.day} {start:%b %Y}",
                f"{start:%H:%M}–{fmt.hhmm(occurrence.end_time, self.zone)} {fmt.zone_abbrev(occurrence.start_time, self.zone)}",
                Text(clash, style="" if occurrence.free else "bold"),
                key=str(occurrence.index),
            )
        table.styles.height = len(occurrences) + 1  # the header and each row (at most 45% of the screen)
        free = sum(o.free for o in occurrences)
        if free == len(occurrences):
            tally = f"All {free} free."
        else:
            tally = f"{free} of {len(occurrences)} free; {len(occurrences) - free} not (marked ✗)."
        self.query_one("#tally", Label).update(tally)
        self._buttons()

    def not_previewed(self, message: ServiceFailed) -> bool:
        if message.code in ("HOLD_EXPIRED", "HOLD_NOT_ACTIVE"):
            self.dismiss(None)
            return False
        if message.code == "VALIDATION_ERROR":  # e.g. more than 52 until that date
            self.query_one("#ends-words", Label).update(Text(fmt.visible(message.message), style="bold"))
            return True
        return False

    def _buttons(self) -> None:
        occurrences = self.preview or []
        free = sum(o.free for o in occurrences)
        self.query_one("#hold-all", Button).disabled = self.busy or not occurrences or free < len(occurrences)
        self.query_one("#hold-free", Button).disabled = self.busy or not 0 < free < len(occurrences)

    # --- holding ------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"hold-all": self.action_hold_all, "hold-free": self.action_hold_free, "back": self.action_back}[
            str(event.button.id)]()

    def action_hold_all(self) -> None:
        self._hold(skip_conflicts=False)

    def action_hold_free(self) -> None:
        self._hold(skip_conflicts=True)

    def _hold(self, skip_conflicts: bool) -> None:
        if self.busy or self.rule is None or self.preview is None:
            return
        free = sum(o.free for o in self.preview)
        if not skip_conflicts and free < len(self.preview):
            self.notify("Not every visit is free: ctrl+f holds the free ones.", title="Repeat", severity="warning")
            return
        if free == 0:
            return
        self.busy = True
        self._buttons()
        repeat = partial(backend.repeat_hold, hold_id=self.hold.id, rrule=self.rule,
                         skip_conflicts=skip_conflicts and free < len(self.preview))
        self.call_service("repeat", repeat, self.repeated, self.not_repeated, exclusive=False)

    def repeated(self, hold: HoldView) -> None:
        self.busy = False
        self.dismiss(hold)

    def not_repeated(self, message: ServiceFailed) -> bool:
        self.busy = False
        if message.code == "SLOT_UNAVAILABLE":
            self.notify("Another desk took some of these meanwhile; nothing changed, the one slot is still held. "
                        "The preview now shows them.", title="Not held", severity="warning", timeout=8)
            self.update_preview()
            return True
        if message.code in ("HOLD_EXPIRED", "HOLD_NOT_ACTIVE"):
            self.dismiss(None)
            return False
        self._buttons()
        return False

    def on_hold_countdown_expired(self, message: HoldCountdown.Expired) -> None:
        if not self.busy:  # holding: the service decides whether it was in time
            self.dismiss(None)

    def action_back(self) -> None:
        self.dismiss(None)
