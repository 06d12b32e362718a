"""The day list as a flow board: what each row shows (the state at the app clock), the line
marking now, which columns fit the width, and the table that draws them."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual.widgets.data_table import ColumnKey

from frontdesk.domain.statuses import (
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_WAITING_ALERT_MINUTES,
)
from frontdesk.tui import format as fmt
from frontdesk.tui.widgets import FitTable, highlighted_key

if TYPE_CHECKING:
    from frontdesk.services.objects import AgendaRow, AppointmentView, ExternalBusyView

ALERT_GLYPH = "⚠"  # with reverse and bold, the alert reads without colour too
NOW_KEY = "__now__"  # the now line's row: not an appointment

# The day's actions on a row: (service action, key, what the desk reads).
VISIT_ACTIONS = (
    ("confirm", "k", "Confirm"),
    ("check-in", "i", "Check in (arrived)"),
    ("start", "s", "Start (in room)"),
    ("complete", "d", "Done (complete)"),
    ("no-show", "N", "No-show"),
    ("revert", "u", "Revert the last action"),
)


# --- the state column -------------------------------------------------------------------------


def _minutes(since: datetime, now: datetime) -> str:
    minutes = max(int((now - since).total_seconds() // 60), 0)
    return f"{minutes} min" if minutes < 100 else f"{minutes // 60} h {minutes % 60:02d}"


def visit_state(
    apt: AppointmentView,
    now: datetime,
    late_after: int = DEFAULT_LATE_AFTER_MINUTES,
    alert_after: int = DEFAULT_WAITING_ALERT_MINUTES,
) -> Text:
    """How far the visit has got, at `now` (the app clock): read at a glance, alerts without
    colour. `late_after` and `alert_after` are the clinic file's minutes. Staff time is no
    visit: it reads "staff" (never late, never an alert) until it is cancelled."""
    attendance = apt.attendance_status
    if apt.internal:
        return _status(apt.status) if apt.status == "cancelled" else Text("staff", style="dim")
    if apt.status == "completed" or attendance == "checked_out":
        return Text("done")
    if apt.status in ("cancelled", "no_show"):
        return _status(apt.status)
    if attendance == "in_room":
        return Text(f"in room {_minutes(apt.actual_start_time or now, now)}")
    if attendance == "arrived":
        arrived = apt.arrived_at or now
        if now - arrived >= timedelta(minutes=alert_after):
            return Text(f"{ALERT_GLYPH} waits {_minutes(arrived, now)}", style="bold reverse")
        return Text(f"arrived {_minutes(arrived, now)}")
    if now - apt.start_time >= timedelta(minutes=late_after):
        return Text("late", style="bold")
    return _status(apt.status)


def _status(status: str) -> Text:
    """A status in the State column's own lowercase words (done, late, no-show, confirmed...)."""
    text = fmt.status_text(status)
    return Text(text.plain.lower(), style=text.style)


def allowed_actions(apt: AppointmentView, now: datetime, zone: str | None) -> list[str]:
    """The day's actions the rules allow on the appointment now (revert: when its last action
    was made today, in the appointment's zone)."""
    from frontdesk.domain import day
    from frontdesk.domain.errors import FrontdeskError

    from frontdesk.domain.staff_video import VISIT_ONLY_ACTIONS

    visit = day.Visit(apt.status, apt.attendance_status, apt.arrived_at, apt.actual_start_time, apt.actual_end_time)
    today, local_day = fmt.local(now, zone).date(), fmt.local(apt.start_time, zone).date()
    allowed = []
    for action, _, _ in VISIT_ACTIONS:
        if apt.internal and action in VISIT_ONLY_ACTIONS:
            continue  # staff time is no patient's visit
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

    return apt.status in ACTIVE_APPOINTMENT_STATUSES and not apt.attendance_status and not apt.internal


# --- columns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    floor: int = 0  # 0: always as wide as its widest cell; else cut no narrower than this
    comfort: int = 0  # with a floor: cut to this, it still reads well (room for another column?)
    weight: int = 1  # a share of the room handed out to columns still cut: names read first
    least: int = 0  # never narrower (the state grows with the clock: "arrived 9 min", "⚠ waits 16 min")


TIME, SPAN, PATIENT, CLINICIAN, TYPE, ROOM, STATE, PHONE, NOTES = (
    Column("time", "Time"),  # the start: what the desk reads
    Column("span", "Time"),  # start–end, when there is room
    Column("patient", "Patient", floor=12, comfort=20, weight=2),
    Column("clinician", "Clinician", floor=8, comfort=16),
    Column("type", "Type", floor=8, comfort=16),
    Column("room", "Room", floor=6, comfort=12),
    Column("status", "State", least=14),
    Column("phone", "Phone", floor=8, comfort=16),
    Column("notes", "Notes", floor=8, comfort=24),
)
ALL_COLUMNS = (TIME, SPAN, PATIENT, CLINICIAN, TYPE, ROOM, STATE, PHONE, NOTES)


def choose_columns(naturals: dict[str, int], filled: set[str], space: int, padding: int) -> tuple[Column, ...]:
    """The columns for `space` cells: time, patient, clinician, type, room and state, leaving
    out the room, then the type, where even their narrowest widths do not fit (a 60-column
    terminal); then, while every column still fits at its comfortable width, the patient's
    phone, the end times and the notes, each only if some row has one (`filled`). The state
    stays last and whole."""

    def need(columns: tuple[Column, ...], comfortable: bool = True) -> int:
        widths = (min(naturals[c.key], c.comfort if comfortable else c.floor) if c.floor else naturals[c.key]
                  for c in columns)
        return sum(widths) + padding * len(columns)

    columns: tuple[Column, ...] = (TIME, PATIENT, CLINICIAN, TYPE, ROOM, STATE)
    for dropped in (ROOM, TYPE):
        if need(columns, comfortable=False) > space:
            columns = tuple(c for c in columns if c is not dropped)
    upgrades = (
        lambda cols: cols[:-1] + (PHONE, cols[-1]) if "phone" in filled else cols,
        lambda cols: (SPAN, *cols[1:]),
        lambda cols: cols[:-1] + (NOTES, cols[-1]) if "notes" in filled else cols,
    )
    for upgrade in upgrades:
        wider = upgrade(columns)
        if need(wider) <= space:
            columns = wider
    return columns


def fit_widths(columns: tuple[Column, ...], naturals: dict[str, int], space: int) -> dict[str, int]:
    """Each column's width in `space` cells: columns without a floor take their widest cell;
    the others start at their floor (or less, if their cells are narrower) and grow in turns,
    by weight, up to their widest cell. So no name is cut while another column has room to spare."""
    widths = {c.key: naturals[c.key] if not c.floor else min(c.floor, naturals[c.key]) for c in columns}
    flexible = [c for c in columns if c.floor]
    left = space - sum(widths.values())
    while left > 0:
        growing = [c for c in flexible if widths[c.key] < naturals[c.key]]
        if not growing:
            break
        for column in growing:
            step = min(column.weight, naturals[column.key] - widths[column.key], left)
            widths[column.key] += step
            left -= step
    return widths  # room to spare stays at the right: no column stands wider than its cells


def _where(apt: AppointmentView, rooms: list[str]) -> str | None:
    if rooms:
        return ", ".join(rooms)
    if apt.is_remote:
        return {"video": "Video", "phone": "Phone"}.get(apt.remote_channel or "", "Remote")
    return None


def row_cells(row: AgendaRow, state: Text, zone: str) -> dict[str, Text]:
    """One appointment's cells, by column key (more than the narrow columns show)."""
    apt = row.appointment
    start = fmt.hhmm(apt.start_time, zone)
    style = fmt.status_style(apt.status)
    notes = (apt.description or "").strip().splitlines()
    return {
        "time": Text(start, style=style),
        "span": Text(f"{start}–{fmt.hhmm(apt.end_time, zone)}", style=style),
        "patient": fmt.plain(f"Staff: {apt.title}") if apt.internal else fmt.plain(row.patient_name or apt.attendee_name),
        "clinician": fmt.plain(row.clinician_name),
        "type": fmt.plain(row.type_name or apt.title),
        "room": fmt.plain(_where(apt, row.room_names)),
        "status": state,
        "phone": fmt.plain(row.patient_phone),
        "notes": fmt.plain(notes[0] if notes else None),
    }


EXTERNAL_KEY = "__external__"  # a row of a clinician's own calendar (EXTERNAL_KEY + n): not an appointment


def external_cells(busy: ExternalBusyView, zone: str) -> dict[str, Text]:
    """A clinician's busy time from their own calendar: when and who, nothing of the event."""
    style = "dim italic"
    start = fmt.hhmm(busy.busy_start, zone)
    span = "all day" if busy.whole_day else f"{start}–{fmt.hhmm(busy.busy_end, zone)}"
    cells = {c.key: fmt.plain(None) for c in ALL_COLUMNS}
    cells.update(
        time=Text("all day" if busy.whole_day else start, style=style, no_wrap=True),
        span=Text(span, style=style, no_wrap=True),
        patient=Text("external (busy)", style=style, no_wrap=True),
        clinician=fmt.plain(busy.clinician_name),
    )
    cells["clinician"].stylize(style)
    return cells


# --- the now line -----------------------------------------------------------------------------


def now_index(starts: list[datetime], now: datetime, earlier_pages: bool, later_pages: bool) -> int | None:
    """Where the now line goes among a page's rows (sorted by start): before the first that
    starts at or after now. None when that place is on another page."""
    index = bisect_left(starts, now)
    if (index == 0 and earlier_pages) or (index == len(starts) and later_pages):
        return None
    return index


def now_cells(now: datetime, zone: str, style: str) -> dict[str, Text]:
    """The now line: the time, then a rule across every column (each cell cuts it to its width)."""
    rule = "─" * 300
    cells = {c.key: Text(rule, style=style, no_wrap=True, overflow="crop") for c in ALL_COLUMNS}
    cells["time"] = cells["span"] = Text.assemble((fmt.hhmm(now, zone), f"{style} reverse"), (f" {rule}", style), no_wrap=True, overflow="crop")
    cells["patient"] = Text(f"── now {rule}", style=style, no_wrap=True, overflow="crop")
    return cells


# --- the table --------------------------------------------------------------------------------


class FlowTable(FitTable):
    """The day list's table: it keeps the rows it was given (`show`) and draws the columns its
    width has room for (`choose_columns`), sized to their cells (`fit_widths`), choosing again
    when the terminal is resized. The cursor steps over the now line, which is no appointment."""

    def __init__(self, **kwargs) -> None:
        super().__init__([], **kwargs)
        self.shown_columns: tuple[Column, ...] = ()
        self._rows: list[tuple[str, dict[str, Text]]] = []
        self._naturals: dict[str, int] = {}
        self._filled: set[str] = set()

    def show(self, rows: list[tuple[str, dict[str, Text]]], cursor_key: str | None, place: int | None = None) -> None:
        """Fill the table with rows of (key, cells by column key), the cursor on `cursor_key`,
        else (that row gone) at row `place`."""
        self._rows = rows
        self._naturals = {c.key: max(cell_len(c.label), c.least) for c in ALL_COLUMNS}
        self._filled = set()
        for key, cells in rows:
            if key == NOW_KEY:  # the line's rule is as long as any column: it never sizes one
                continue
            for column, cell in cells.items():
                self._naturals[column] = max(self._naturals[column], cell.cell_len)
                if cell.plain != "—":
                    self._filled.add(column)
        self._draw(cursor_key, place)

    def update(self, row_key: str, column_key: str, cell: Text) -> None:
        """One cell changed (the clock moved): in the table and in the rows kept."""
        for key, cells in self._rows:
            if key == row_key:
                cells[column_key] = cell
        if ColumnKey(column_key) in self.columns:
            self.update_cell(row_key, column_key, cell)

    def _draw(self, cursor_key: str | None, place: int | None = None) -> None:
        columns = choose_columns(self._naturals, self._filled, self._space(0), 2 * self.cell_padding)
        if columns != self.shown_columns:
            self.clear(columns=True)
            for column in columns:
                self.add_column(column.label, key=column.key, width=len(column.label))
            self.shown_columns = columns
            self.column_plan = [(c.key, c.label, len(c.label), not c.floor) for c in columns]
        else:
            self.clear()
        for key, cells in self._rows:
            self.add_row(*(cells[c.key] for c in columns), key=key)
        if cursor_key is not None and cursor_key in self.rows:
            self.move_cursor(row=self.get_row_index(cursor_key), animate=False)
        elif place is not None and self.row_count:
            self.move_cursor(row=min(place, self.row_count - 1), animate=False)
        self.fit_columns()

    def _space(self, columns: int) -> int:
        return self.size.width - self.SCROLLBAR_ROOM - 2 * self.cell_padding * columns

    def on_resize(self) -> None:  # then FitTable's fits the widths
        if self._rows and choose_columns(self._naturals, self._filled, self._space(0), 2 * self.cell_padding) != self.shown_columns:
            self._draw(self.highlighted_key())

    def fit_columns(self) -> None:
        if not self.shown_columns:
            return
        naturals = {c.key: self._naturals[c.key] for c in self.shown_columns}
        for key, width in fit_widths(self.shown_columns, naturals, self._space(len(self.shown_columns))).items():
            column = self.columns[ColumnKey(key)]
            column.auto_width = False
            column.width = width
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()

    def highlighted_key(self) -> str | None:
        return highlighted_key(self)

    # No key leaves the cursor on the now line: it goes one row further the way it went (back,
    # at either end). Only `t`, on a day whose visits are all over, puts it there.
    def _off_the_line(self, step: int) -> None:
        if self.highlighted_key() == NOW_KEY:
            row = self.cursor_row + step if 0 <= self.cursor_row + step < self.row_count else self.cursor_row - step
            if 0 <= row < self.row_count:
                self.move_cursor(row=row, animate=False)

    def action_cursor_down(self) -> None:
        super().action_cursor_down()
        self._off_the_line(1)

    def action_cursor_up(self) -> None:
        super().action_cursor_up()
        self._off_the_line(-1)

    def action_page_down(self) -> None:
        super().action_page_down()
        self._off_the_line(1)

    def action_page_up(self) -> None:
        super().action_page_up()
        self._off_the_line(-1)

    def action_scroll_home(self) -> None:
        super().action_scroll_home()
        self._off_the_line(1)

    def action_scroll_end(self) -> None:
        super().action_scroll_end()
        self._off_the_line(-1)
