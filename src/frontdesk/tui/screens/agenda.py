"""Home: the day's appointments at the chosen location, a page at a time."""

from __future__ import annotations

import shlex
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.widgets import DataTable, Footer, Label, Static

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
from frontdesk.tui.widgets import ClinicHeader, FieldInput, FitTable

if TYPE_CHECKING:  # imported for annotations only: keeps the first frame quick
    from datetime import datetime

    from frontdesk.services.objects import AgendaRow, AppointmentView, Page

PAGE_SIZE = 50
ALL = "__all__"
# Keys that need a clinic: a database without one answers only b (to say so), help and quit.
DAY_ACTIONS = frozenset(
    {"next_day", "previous_day", "today", "go_to_date", "search", "cancel", "edit", "next_page", "previous_page", "location",
     "clear_filters", "visit", "visit_menu", "move"}
)

# The state column (booking.md "The day"). A later issue moves these minutes into the clinic file.
LATE_AFTER_MINUTES = 10  # not arrived this long after the start: "late"
WAITING_ALERT_MINUTES = 15  # waiting this long after arriving: an alert
ALERT_GLYPH = "⚠"  # with reverse and bold, the alert reads without colour too

# The day's actions on a row: (service action, key, what the desk reads).
VISIT_ACTIONS = (
    ("confirm", "k", "Confirm"),
    ("check-in", "i", "Check in (arrived)"),
    ("start", "s", "Start (in room)"),
    ("complete", "d", "Done (complete)"),
    ("no-show", "N", "No-show"),
    ("revert", "u", "Revert the last action"),
)
MOVE_KEY = "m"


def _minutes(since: datetime, now: datetime) -> str:
    minutes = max(int((now - since).total_seconds() // 60), 0)
    return f"{minutes} min" if minutes < 100 else f"{minutes // 60} h {minutes % 60:02d}"


def visit_state(apt: AppointmentView, now: datetime) -> Text:
    """How far the visit has got, at `now` (the app clock): read at a glance, alerts without colour."""
    attendance = apt.attendance_status
    if apt.status == "completed" or attendance == "checked_out":
        return Text("done")
    if apt.status in ("cancelled", "no_show"):
        return fmt.status_text(apt.status)
    if attendance == "in_room":
        return Text(f"in room {_minutes(apt.actual_start_time or now, now)}")
    if attendance == "arrived":
        arrived = apt.arrived_at or now
        if now - arrived >= timedelta(minutes=WAITING_ALERT_MINUTES):
            return Text(f"{ALERT_GLYPH} waits {_minutes(arrived, now)}", style="bold reverse")
        return Text(f"arrived {_minutes(arrived, now)}")
    if now - apt.start_time >= timedelta(minutes=LATE_AFTER_MINUTES):
        return Text("late", style="bold")
    return fmt.status_text(apt.status)


def allowed_actions(apt: AppointmentView, now: datetime, zone: str | None) -> list[str]:
    """The day's actions the rules allow on the appointment now (revert: when its last action
    was made today, in the appointment's zone)."""
    from frontdesk.domain import day
    from frontdesk.domain.errors import FrontdeskError

    visit = day.Visit(apt.status, apt.attendance_status, apt.arrived_at, apt.actual_start_time, apt.actual_end_time)
    today, local_day = fmt.local(now, zone).date(), fmt.local(apt.start_time, zone).date()
    allowed = []
    for action, _, _ in VISIT_ACTIONS:
        if action == day.REVERT:
            if apt.last_action_on == today:
                allowed.append(action)
            continue
        try:
            day.apply(action, visit, now=now, start=apt.start_time, today=today, local_day=local_day)
        except FrontdeskError:
            continue
        allowed.append(action)
    return allowed


def can_move(apt: AppointmentView) -> bool:
    """booking.md: only an active appointment not yet arrived is moved."""
    from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES

    return apt.status in ACTIVE_APPOINTMENT_STATUSES and not apt.attendance_status


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
        Binding("t", "today", "Today", show=False, id="today"),
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
    ]

    def __init__(self) -> None:
        super().__init__()
        self.day: date | None = None
        self.page_offset = 0
        self.page: Page[AgendaRow] | None = None
        self.rows: dict[str, AgendaRow] = {}
        self._states: dict[str, Text] = {}  # the state cell drawn for each row
        self._select_after_load: str | None = None

    def compose(self) -> ComposeResult:
        yield DayHeader()
        with Horizontal(id="day-bar"):
            yield Label("Loading…", id="day-label")
        with Horizontal(id="filters", classes="filters"):
            yield Choice("Clinician", [("All clinicians", ALL)], id="clinician")
            yield Choice("Status", [("Any status", ALL), *((label, value) for value, label in fmt.STATUS_LABELS.items())], id="status")
            yield FieldInput(placeholder="Search patient (/)", id="search", compact=True)
        yield FitTable(
            [
                ("time", "Time", 11, True),
                ("patient", "Patient", 4, False),
                ("clinician", "Clinician", 4, False),
                ("type", "Type", 4, False),
                ("room", "Room", 3, False),
                ("status", "State", 16, True),
            ],
            id="agenda",
            zebra_stripes=True,
        )
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
        self.day = self.day or self.app.today()
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
            backend.day_list,
            location_id=self.app.location.id,
            day=self.day,
            clinician_id=None if clinician == ALL else clinician,
            status=None if status == ALL else status,
            search=search or None,
            limit=PAGE_SIZE,
            offset=self.page_offset,
        )
        self.call_service("agenda", query, self.show_page, self.day_not_loaded)

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

    def show_page(self, page: Page[AgendaRow]) -> None:
        table = self.query_one("#agenda", DataTable)
        keep = self._select_after_load or self.highlighted_id()
        self._select_after_load = None
        self.page = page
        self.rows = {row.appointment.id: row for row in page.items}
        zone = self.app.zone
        now = self.ctx.clock.now()
        self._states = {row.appointment.id: visit_state(row.appointment, now) for row in page.items}
        table.clear()
        for row in page.items:
            apt = row.appointment
            time = f"{fmt.hhmm(apt.start_time, zone)}–{fmt.hhmm(apt.end_time, zone)}"
            table.add_row(
                Text(time, style=fmt.status_style(apt.status)),
                fmt.plain(row.patient_name),
                fmt.plain(row.clinician_name),
                fmt.plain(row.type_name or apt.title),
                fmt.plain(", ".join(row.room_names) or ("Remote" if apt.is_remote else None)),
                self._states[apt.id],
                key=apt.id,
            )
        if keep in self.rows:
            table.move_cursor(row=table.get_row_index(keep))
        self._show_page_info()

    def show_states(self) -> None:
        """Redraw the state cells the clock has changed (waiting minutes, late, alerts)."""
        if not self.rows:
            return
        table = self.query_one("#agenda", DataTable)
        now = self.ctx.clock.now()
        for apt_id, row in self.rows.items():
            state = visit_state(row.appointment, now)
            if state != self._states.get(apt_id):
                self._states[apt_id] = state
                table.update_cell(apt_id, "status", state)

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
        if not page.items and page.offset == 0:
            info.update("No appointments on this day." if not self._filtered() else "No appointments match the filters.")
            return
        first, last = page.offset + 1, page.offset + len(page.items)
        text = f"Appointments {first}–{last}"
        if page.has_more:
            text += " · more: ] next page"
        if page.offset:
            text += " · [ previous page"
        info.update(Text(text))

    def _filtered(self) -> bool:
        return (
            self.query_one("#clinician", Choice).value != ALL
            or self.query_one("#status", Choice).value != ALL
            or bool(self.query_one("#search", FieldInput).value.strip())
        )

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
        self.query_one("#agenda", DataTable).focus()
        if self.day is not None:
            self.page_offset = 0
            self.load()

    # --- days and pages ---------------------------------------------------------------------

    def show_day(self, day: date, select_id: str | None = None) -> None:
        self.day = day
        self.page_offset = 0
        self._select_after_load = select_id
        self.load()

    def action_next_day(self) -> None:
        if self.day:
            self.show_day(self.day + timedelta(days=1))

    def action_previous_day(self) -> None:
        if self.day:
            self.show_day(self.day - timedelta(days=1))

    def action_today(self) -> None:
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
            self.show_day(self.app.today())

        choices = [(f"{loc.name} ({loc.timezone})", loc.id) for loc in overview.locations]
        self.app.push_screen(ChoiceModal("Location", choices, self.app.location.id if self.app.location else None), chosen)

    # --- rows -------------------------------------------------------------------------------

    def highlighted_id(self) -> str | None:
        table = self.query_one("#agenda", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # cursor outside the rows while the table refills
            return None

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
            ask_edit(self, row.appointment, self.updated)

    def updated(self, result) -> None:
        after_update(self, result, self.updated)
        self.load()

    # --- the day's actions ------------------------------------------------------------------

    def action_visit(self, action: str) -> None:
        row = self._highlighted_row()
        if row is None:
            return
        apt = row.appointment
        act = partial(backend.act_on_appointment, appointment_id=apt.id, action=action, version=apt.version)
        self.call_service("visit", act, self.visit_done, self.visit_refused, exclusive=False)

    def visit_done(self, result) -> None:
        self._select_after_load = result.appointment.id
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

        choices = [(f"{t.name} · {t.duration_minutes} min", t.id) for t in overview.appointment_types]
        self.app.push_screen(ChoiceModal("Appointment type", choices), type_chosen)
