"""Home: the day's appointments at the chosen location, a page at a time."""

from __future__ import annotations

import shlex
from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.widgets import DataTable, Footer, Label, Static

from frontdesk.domain.appointments import DAY_LIST_LIMIT
from frontdesk.domain.staff_video import VISIT_ONLY_ACTIONS
from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.choice import Choice, ChoiceModal
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.screens.changes import (
    after_cancel,
    after_update,
    ask_cancel,
    ask_edit,
)
from frontdesk.tui.screens.flow_board import (
    EXTERNAL_KEY,
    NOW_KEY,
    VISIT_ACTIONS,
    FlowTable,
    allowed_actions,
    can_move,
    external_cells,
    now_cells,
    now_index,
    row_cells,
    visit_state,
)
from frontdesk.tui.widgets import ClinicHeader, FieldInput, highlighted_key

if TYPE_CHECKING:  # imported for annotations only: keeps the first frame quick
    from datetime import datetime

    from frontdesk.services.objects import AgendaRow, AppointmentView, ExternalBusyView, Page

PAGE_SIZE = DAY_LIST_LIMIT  # a whole day at one site is one list (the now line and t need it); pages past that
ALL = "__all__"
# Keys that need a clinic: a database without one answers only b (to say so), help and quit.
DAY_ACTIONS = frozenset(
    {"next_day", "previous_day", "today", "go_to_date", "search", "cancel", "edit", "next_page", "previous_page", "location",
     "clear_filters", "visit", "visit_menu", "move", "to_do"}
)

MOVE_KEY = "m"
TO_DO_KEY = "T"


class DayHeader(ClinicHeader):
    """The clinic header, whose clock tick also redraws the day list's waiting times."""

    def tick(self) -> None:
        super().tick()
        if isinstance(self.screen, AgendaScreen):
            self.screen.show_states()


class AgendaScreen(FrontdeskScreen):
    AUTO_FOCUS = "#agenda"

    BINDINGS = [
        Binding("b", "book", "Book", id="book"),
        Binding("n", "next_day", "Next", tooltip="Next day", id="next-day"),
        Binding("p", "previous_day", "Prev", tooltip="Previous day", id="previous-day"),
        Binding("t", "today", "Today", show=False, tooltip="Today, the cursor at the now line", id="today"),
        Binding("g", "go_to_date", "Date", id="go-to-date"),
        Binding("slash", "search", "Search", id="search"),
        # Cancel and edit are in the Actions menu too: the footer keeps its room at 80x24.
        Binding("c", "cancel", "Cancel", show=False, id="cancel"),
        Binding("e", "edit", "Edit", show=False, id="edit"),
        Binding("right_square_bracket", "next_page", "Next page", show=False, id="next-page"),
        Binding("left_square_bracket", "previous_page", "Previous page", show=False, id="previous-page"),
        Binding("l", "location", "Location", show=False, id="location"),
        Binding("escape", "clear_filters", "Clear filters", show=False, id="clear-filters"),
        Binding("a", "visit_menu", "Actions", tooltip="Actions on the appointment: a menu", id="visit-menu"),
        *(
            Binding(key, f"visit('{action}')", label, show=False, id=f"visit-{action}")
            for action, key, label in VISIT_ACTIONS
        ),
        Binding(MOVE_KEY, "move", "Move", show=False, tooltip="Move the appointment to another time", id="move"),
        Binding(TO_DO_KEY, "to_do", "To do", show=False,
                tooltip="To do: only visits not yet arrived, waiting or late (again: all)", id="to-do"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.day: date | None = None
        self.page_offset = 0
        self.page: Page[AgendaRow] | None = None
        self.rows: dict[str, AgendaRow] = {}
        self.external: list[ExternalBusyView] = []  # the clinicians' own calendars' busy time, shown among the rows
        self._states: dict[str, Text] = {}  # the state cell drawn for each row
        self._select_after_load: str | None = None  # a row's key, or NOW_KEY: the first row from now on
        self._shown_day: date | None = None  # the day of the list on screen
        self._now_at: int | None = None  # where the now line is among the page's rows (None: not shown)
        self._now_label = ""
        self.to_do = False  # the "to do" filter (T)

    def compose(self) -> ComposeResult:
        yield DayHeader()
        with Horizontal(id="day-bar"):
            yield Label("Loading…", id="day-label")
        with Horizontal(id="filters", classes="filters"):
            yield Choice("Clinician", [("All clinicians", ALL)], id="clinician")
            yield Choice("Status", [("Any status", ALL), *((label, value) for value, label in fmt.STATUS_LABELS.items())], id="status")
            yield FieldInput(placeholder="Search patient (/)", id="search", compact=True)
        yield FlowTable(id="agenda", zebra_stripes=True)
        yield Label("", id="page-info")
        with Container(id="empty-state"):
            no_clinic = Static(id="no-clinic")
            no_clinic.border_title = "No clinic loaded"
            yield no_clinic
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.app.overview is None:
            # after the first frame: the list's frame shows at once, its data follows
            self.call_after_refresh(self._load_overview)
        else:
            self._start()

    # --- loading ----------------------------------------------------------------------------

    def _load_overview(self) -> None:
        self.call_service("overview", backend.overview, self.show_overview)

    def show_overview(self, result) -> None:
        overview, self.app.database = result
        self.app.set_overview(overview)
        self._start()

    def _start(self) -> None:
        overview = self.app.overview
        assert overview is not None  # loaded before the list starts
        clinicians = self.query_one("#clinician", Choice)
        clinicians.set_options([("All clinicians", ALL), *((c.name, c.id) for c in overview.clinicians)])
        if self.day is None:
            self.day = self.app.today()
            self._select_after_load = NOW_KEY
        self.query_one(ClinicHeader).tick()
        self.load()

    def load(self) -> None:
        self._show_empty_state(self.app.location is None)
        if self.app.location is None or self.day is None:
            return
        clinician = self.query_one("#clinician", Choice).value
        status = self.query_one("#status", Choice).value
        search = self.query_one("#search", FieldInput).value.strip()
        self._show_day_label()
        query = partial(
            backend.day_rows,
            # A clinician's own busy time is no visit: shown only when the list is not filtered to visits.
            external=not (status != ALL or search or self.to_do),
            location_id=self.app.location.id,
            day=self.day,
            clinician_id=None if clinician == ALL else clinician,
            status=None if status == ALL else status,
            search=search or None,
            to_do=self.to_do,
            limit=PAGE_SIZE,
            offset=self.page_offset,
        )
        self.call_service("agenda", query, lambda found: self.show_page(*found), self.day_not_loaded)

    def refresh_data(self) -> None:
        if self.app.overview is None:
            return
        if self.app.location is None:  # no clinic yet: has one been loaded since?
            self._load_overview()
        else:
            self.load()

    # --- a database without a clinic --------------------------------------------------------

    def _show_empty_state(self, empty: bool) -> None:
        if empty:
            self.query_one("#no-clinic", Static).update(self._no_clinic_text())
        if empty != self.has_class("-empty"):
            self.set_class(empty, "-empty")
            self.refresh_bindings()

    def _no_clinic_text(self) -> Text:
        """What to do about a database without a clinic: the commands to run, with this database in them."""
        database = self.app.database or ""
        is_sqlite = database.startswith("sqlite:///")
        if is_sqlite:
            database = database.removeprefix("sqlite:///")
        load = "frontdesk load FILE"
        if self.ctx.db_url:  # not the default database: the command must name this one
            load += f" --db {shlex.quote(database) if is_sqlite and database else 'URL'}"
        text = Text("This database has no clinic in it yet")
        if database:
            text.append(":\n  ")
            text.append(fmt.visible(database), style="bold")
        text.append("\n\nLoad your clinic's file into it:\n  ")
        text.append(load, style="bold")
        text.append("\n  (a sample file: sample_data/clinic.toml)")
        text.append("\n\nOr open the demo clinic, in a database of its own:\n  ")
        text.append("frontdesk demo", style="bold")
        text.append("\n\nAfter loading, press Ctrl+R here.", style="dim")
        return text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in DAY_ACTIONS and self.has_class("-empty"))

    def show_page(self, page: Page[AgendaRow], external: list[ExternalBusyView] | None = None) -> None:
        keep = self._select_after_load or self.highlighted_id()
        self._select_after_load = None
        # The same list read again: if the kept row has gone (the to-do filter dropped a visit
        # just done), the cursor stays where it was in the list rather than jumping to the top.
        same_list = self.page is not None and (self._shown_day, self.page.offset) == (self.day, page.offset)
        place = self.query_one("#agenda", FlowTable).cursor_row if same_list else None
        self.page, self._shown_day = page, self.day
        self.rows = {row.appointment.id: row for row in page.items}
        # Only beside the whole day: on a later page the earlier external time would sit alone.
        self.external = list(external or []) if page.offset == 0 else []
        self._draw(keep, place)
        self._show_page_info()

    def _draw(self, keep: str | None, place: int | None = None) -> None:
        """Fill the table from the page: the states and the now line at the clock; the cursor
        on `keep` (NOW_KEY: the first row from now on), else at row `place`."""
        table = self.query_one("#agenda", FlowTable)
        page = self.page
        if page is None:
            return
        zone, now = self.app.zone, self.ctx.clock.now()
        self._states = {row.appointment.id: self._state(row, now) for row in page.items}
        rows = [(row.appointment.id, row_cells(row, self._states[row.appointment.id], zone)) for row in page.items]
        if self.external:  # among the visits by start; a visit first at the same start
            timed = [(row.appointment.start_time, key_cells) for row, key_cells in zip(page.items, rows, strict=True)]
            timed += [(busy.busy_start, (f"{EXTERNAL_KEY}{n}", external_cells(busy, zone)))
                      for n, busy in enumerate(self.external)]
            rows = [key_cells for _, key_cells in sorted(timed, key=lambda item: item[0])]
        self._now_at = self._now_index(now)
        if self._now_at is not None:
            self._now_label = fmt.hhmm(now, zone)
            if keep == NOW_KEY and self._now_at < len(rows):
                keep = rows[self._now_at][0]  # the first from now on; else the line
            rows.insert(self._now_at, (NOW_KEY, now_cells(now, zone, self._now_style())))
        table.show(rows, keep, place)
        if self._now_at is not None and keep != NOW_KEY and table.highlighted_key() == NOW_KEY:
            table.move_cursor(row=min(self._now_at + 1, table.row_count - 1))  # not on the line unasked

    def _state(self, row: AgendaRow, now: datetime) -> Text:
        overview = self.app.overview
        assert overview is not None  # rows come only once the clinic is read
        return visit_state(row.appointment, now, overview.late_after_minutes, overview.waiting_alert_minutes)

    def _now_index(self, now: datetime) -> int | None:
        """Where the now line goes on this page: only on today's list."""
        page = self.page
        if page is None or self.day != self.app.today():
            return None
        starts = sorted([row.appointment.start_time for row in page.items] + [b.busy_start for b in self.external])
        return now_index(starts, now, earlier_pages=page.offset > 0, later_pages=page.has_more)

    def _now_style(self) -> str:
        return f"bold {self.app.current_theme.accent or ''}".strip()

    def show_states(self) -> None:
        """Redraw what the clock has changed: waiting times, late, alerts, and the now line."""
        if self.page is None:
            return
        now = self.ctx.clock.now()
        if self._now_index(now) != self._now_at:  # an appointment's start has passed: the line moves
            self._draw(self.highlighted_id())
            return
        table = self.query_one("#agenda", FlowTable)
        if self._now_at is not None and fmt.hhmm(now, self.app.zone) != self._now_label:
            self._now_label = fmt.hhmm(now, self.app.zone)
            line = now_cells(now, self.app.zone, self._now_style())
            table.update(NOW_KEY, "time", line["time"])
            table.update(NOW_KEY, "span", line["span"])
        for apt_id, row in self.rows.items():
            state = self._state(row, now)
            if state != self._states.get(apt_id):
                self._states[apt_id] = state
                table.update(apt_id, "status", state)

    def _show_day_label(self) -> None:
        if self.day is None:
            return
        today = self.app.today()
        label = Text(fmt.day_label(self.day), style="bold")
        offset = (self.day - today).days
        relative = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(offset)
        if relative:
            label.append(f" ({relative})")
        noon = self._noon(self.day)
        label.append(f"  ·  times in {self.app.zone} ({fmt.zone_abbrev(noon, self.app.zone)})", style="dim")
        self.query_one("#day-label", Label).update(label)

    def _noon(self, day: date) -> datetime:
        from datetime import datetime, time

        return datetime.combine(day, time(12), tzinfo=fmt.tz(self.app.zone))

    def _show_page_info(self) -> None:
        page = self.page
        info = self.query_one("#page-info", Label)
        if page is None:
            return
        text = Text()
        if self.to_do:
            text.append("To do", style="bold reverse")
            text.append(f" (not arrived, waiting, late; {TO_DO_KEY}: all) · ")
        if not page.items and page.offset == 0:
            if self.to_do and self._filtered() == 1:
                text.append("Nothing left to do on this day.")
            else:
                text.append("No appointments on this day." if not self._filtered() else "No appointments match the filters.")
            info.update(text)
            return
        first, last = page.offset + 1, page.offset + len(page.items)
        text.append(f"Appointments {first}–{last}")
        if page.has_more:
            text.append(" · more: ] next page")
        if page.offset:
            text.append(" · [ previous page")
        info.update(text)

    def _filtered(self) -> int:
        """How many filters are on."""
        return sum((
            self.query_one("#clinician", Choice).value != ALL,
            self.query_one("#status", Choice).value != ALL,
            bool(self.query_one("#search", FieldInput).value.strip()),
            self.to_do,
        ))

    # --- filters ----------------------------------------------------------------------------

    def on_choice_changed(self, event: Choice.Changed) -> None:
        if self.app.overview is not None and self.day is not None:
            self.page_offset = 0
            self.load()

    def on_input_changed(self, event: FieldInput.Changed) -> None:
        if event.input.id == "search" and self.day is not None:
            self.page_offset = 0
            self.load()

    def on_input_submitted(self, event: FieldInput.Submitted) -> None:
        self.query_one("#agenda", DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#search", FieldInput).focus()

    def action_clear_filters(self) -> None:
        self.query_one("#clinician", Choice).select(ALL)
        self.query_one("#status", Choice).select(ALL)
        self.query_one("#search", FieldInput).value = ""
        self.to_do = False
        self.query_one("#agenda", DataTable).focus()
        if self.day is not None:
            self.page_offset = 0
            self.load()

    def action_to_do(self) -> None:
        """Only what the desk still has to see to (again: everything)."""
        self.to_do = not self.to_do
        if self.day is not None:
            self.page_offset = 0
            self.load()

    # --- days and pages ---------------------------------------------------------------------

    def show_day(self, day: date, select_id: str | None = None) -> None:
        """Today's list opens on now (the first visit from now on), unless a row is named."""
        self.day = day
        self.page_offset = 0
        self._select_after_load = select_id or (NOW_KEY if day == self.app.today() else None)
        self.load()

    def action_next_day(self) -> None:
        if self.day:
            self.show_day(self.day + timedelta(days=1))

    def action_previous_day(self) -> None:
        if self.day:
            self.show_day(self.day - timedelta(days=1))

    def action_today(self) -> None:
        """Today, the cursor at the now line."""
        self.show_day(self.app.today())

    def action_go_to_date(self) -> None:
        from frontdesk.tui.modals import DateModal

        if self.day is None or self.app.location is None:
            return

        def chosen(day: date | None) -> None:
            if day is not None:
                self.show_day(day)

        self.app.push_screen(DateModal(self.app.today(), self.day), chosen)

    def action_next_page(self) -> None:
        if self.page and self.page.has_more and self.page.next_offset is not None:
            self.page_offset = self.page.next_offset
            self.load()

    def action_previous_page(self) -> None:
        if self.page_offset:
            self.page_offset = max(0, self.page_offset - PAGE_SIZE)
            self.load()

    def action_location(self) -> None:
        from frontdesk.tui import themes

        overview = self.app.overview
        if overview is None or not overview.locations:
            return

        def chosen(location_id: str | None) -> None:
            if location_id is None:
                return
            self.app.location = next(loc for loc in overview.locations if loc.id == location_id)
            themes.remember(location_id=location_id)
            self.query_one(ClinicHeader).tick()
            self.show_day(self.day or self.app.today())  # the same day at the other site

        choices = [(f"{loc.name} ({loc.timezone})", loc.id) for loc in overview.locations]
        self.app.push_screen(ChoiceModal("Location", choices, self.app.location.id if self.app.location else None), chosen)

    # --- rows -------------------------------------------------------------------------------

    def highlighted_id(self) -> str | None:
        return highlighted_key(self.query_one("#agenda", DataTable))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from frontdesk.tui.screens.appointment import AppointmentScreen

        def closed(to_move: AppointmentView | None) -> None:
            if to_move is not None:  # m on the appointment screen
                self.move(to_move)

        if event.row_key.value in self.rows:
            self.app.push_screen(AppointmentScreen(event.row_key.value), closed)

    def _highlighted_row(self) -> AgendaRow | None:
        row = self.rows.get(self.highlighted_id() or "")
        if row is None:
            self.notify("No appointment selected.", severity="warning")
        return row

    def action_cancel(self) -> None:
        row = self._highlighted_row()
        if row is not None:
            ask_cancel(self, row.appointment, row.patient_name, self.cancelled)

    def cancelled(self, result) -> None:
        row = self.rows.get(getattr(getattr(result, "current", None), "id", "") or "")
        if after_cancel(self, result, row.patient_name if row else None, self.cancelled):
            self.notify(f"Cancelled: {fmt.visible(result.appointment.title)}", title="Appointment cancelled", markup=False)
        self.load()

    def action_edit(self) -> None:
        row = self._highlighted_row()
        if row is not None:
            ask_edit(self, row.appointment, row.patient_name, self.updated)

    def updated(self, result) -> None:
        row = self.rows.get(getattr(getattr(result, "current", None), "id", "") or "")
        after_update(self, result, row.patient_name if row else None, self.updated)
        self.load()

    # --- the day's actions ------------------------------------------------------------------

    def action_visit(self, action: str) -> None:
        row = self._highlighted_row()
        if row is None:
            return
        apt = row.appointment
        if apt.internal and action in VISIT_ONLY_ACTIONS:
            label = next(label for name, _, label in VISIT_ACTIONS if name == action)
            self.notify(f"{label}: not for staff time. {fmt.visible(apt.title)} is no patient's visit; "
                        "it can be cancelled (c) or edited (e).", title="Staff time", severity="warning", markup=False)
            return
        act = partial(backend.act_on_appointment, appointment_id=apt.id, action=action, version=apt.version)
        self.call_service("visit", act, self.visit_done, self.visit_refused, exclusive=False)

    def visit_done(self, result) -> None:
        """The row shows the change at once, from the action's own answer; then the day is
        read again (the to-do filter, the freed time, other desks' changes)."""
        apt = result.appointment
        row = self.rows.get(apt.id)
        if row is not None and self.page is not None:
            row = self.rows[apt.id] = replace(row, appointment=apt)
            self.page.items[:] = [row if item.appointment.id == apt.id else item for item in self.page.items]
            state = self._states[apt.id] = self._state(row, self.ctx.clock.now())
            table = self.query_one("#agenda", FlowTable)
            for column, cell in row_cells(row, state, self.app.zone).items():
                table.update(apt.id, column, cell)
        self._select_after_load = apt.id
        self.load()

    def visit_refused(self, message: ServiceFailed) -> bool:
        self.load()  # a refusal often means the row changed: show it as it is
        if message.code == backend.VERSION_CONFLICT:
            self.notify(f"{fmt.visible(message.message)}. The row is shown as it is now.",
                        title="Changed meanwhile", severity="warning", timeout=8, markup=False)
            return True
        return False  # the service's own words say why

    def action_visit_menu(self) -> None:
        from frontdesk.domain.appointments import can_cancel

        row = self._highlighted_row()
        if row is None:
            return
        apt = row.appointment
        allowed = allowed_actions(apt, self.ctx.clock.now(), self.app.location_zone(apt.location_id))
        choices = [(f"{label}  ({key})", action) for action, key, label in VISIT_ACTIONS if action in allowed]
        if can_move(apt):
            choices.append((f"Move to another time  ({MOVE_KEY})", "move"))
        choices.append(("Edit title, notes, attendee  (e)", "edit"))
        if can_cancel(apt.status):
            choices.append(("Cancel the appointment  (c)", "cancel"))
        row_actions = {"move": self.action_move, "edit": self.action_edit, "cancel": self.action_cancel}

        def chosen(action: str | None) -> None:
            if action in row_actions:
                row_actions[action]()
            elif action is not None:
                self.action_visit(action)

        title = f"{fmt.visible(row.patient_name or apt.title)} · {fmt.hhmm(apt.start_time, self.app.zone)}"
        self.app.push_screen(ChoiceModal(title, choices), chosen)

    def action_move(self) -> None:
        row = self._highlighted_row()
        if row is not None:
            self.move(row.appointment)

    def move(self, apt: AppointmentView) -> None:
        """The slot picker for the appointment's type, its own time not counted as busy."""
        from frontdesk.tui.screens.slots import SlotPickerScreen

        if apt.internal:
            self.notify("Staff time is moved by changing its times: frontdesk appointments update ID "
                        "--start-time … --end-time …", title="Move", severity="warning", markup=False)
            return
        if not can_move(apt):
            self.notify("Only an appointment still to come, not yet arrived, can be moved.", title="Move", severity="warning")
            return
        overview = self.app.overview
        assert overview is not None  # the day list shows rows only once the clinic is read
        known_types = {t.id for t in overview.appointment_types}
        if apt.appointment_type_id is None or apt.appointment_type_id not in known_types:
            self.notify("This appointment has no appointment type to look for slots of.", title="Move", severity="warning")
            return
        self.app.push_screen(SlotPickerScreen(apt.appointment_type_id, moving=apt), self.moved)

    def moved(self, appointment) -> None:
        if appointment is None:
            self.load()
            return
        zone = self.app.location_zone(appointment.location_id)
        self.notify(f"Moved to {fmt.when(appointment.start_time, appointment.end_time, zone)}", title="Appointment moved")
        overview = self.app.overview
        assert overview is not None
        if appointment.location_id and self.app.location and appointment.location_id != self.app.location.id:
            self.app.location = next(loc for loc in overview.locations if loc.id == appointment.location_id)
        self.show_day(fmt.local(appointment.start_time, zone).date(), select_id=appointment.id)

    def day_not_loaded(self, message: ServiceFailed) -> bool:
        self.query_one("#page-info", Label).update(Text(f"Could not load the day: {fmt.visible(message.message)}"))
        return False

    # --- booking ----------------------------------------------------------------------------

    def action_book(self) -> None:
        from frontdesk.tui.screens.slots import SlotPickerScreen

        overview = self.app.overview
        if overview is None:
            return
        if self.app.location is None or not overview.appointment_types:
            why = "no clinic is loaded in this database" if self.app.location is None else "this clinic has no appointment types"
            self.app.clear_notifications()  # pressed again: still one message, not a pile
            self.notify(f"Nothing to book yet: {why}.", title="Book", severity="warning")
            return

        def booked(appointment) -> None:
            if appointment is not None:
                zone = self.app.location_zone(appointment.location_id)
                if appointment.location_id and self.app.location and appointment.location_id != self.app.location.id:
                    self.app.location = next(loc for loc in overview.locations if loc.id == appointment.location_id)
                self.show_day(fmt.local(appointment.start_time, zone).date(), select_id=appointment.id)

        def type_chosen(type_id: str | None) -> None:
            if type_id is not None:
                self.app.push_screen(SlotPickerScreen(type_id, day=self.day), booked)

        choices = [(fmt.type_label(t), t.id) for t in overview.appointment_types]
        self.app.push_screen(ChoiceModal("Appointment type", choices), type_chosen)
