"""Small widgets: the header line, the hold countdown, one-line choices, inputs and tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable, Input, Static, TextArea
from textual.widgets.data_table import ColumnKey

from frontdesk.tui import format as fmt

if TYPE_CHECKING:
    from frontdesk.tui.app import FrontdeskApp


def highlighted_key(table: DataTable) -> str | None:
    """The key of the row under a table's cursor, or None (no rows, or the cursor outside
    them while the table refills)."""
    if not table.row_count:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # the cursor outside the rows while the table refills
        return None


class ClinicHeader(Static):
    """clinic › location · operator · the app clock (in the location's zone, zone named)."""

    DEFAULT_CSS = """
    ClinicHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    app: FrontdeskApp
    _shown: Text | None = None

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        app = self.app
        now = app.ctx.clock.now()
        zone = app.location.timezone if app.location else "UTC"
        left = Text(app.clinic_name, style="bold")
        if app.location:
            left.append(" › ")
            left.append(app.short_place(fmt.visible(app.location.name)))
        elif app.overview is not None:
            left.append(" › no clinic loaded", style="not bold")
        right = Text()
        offers = getattr(app, "waitlist_offers", 0)
        if offers:  # freed time fits someone waiting (W shows who)
            right.append(f"{offers} waitlist offer{'s' if offers != 1 else ''}", style="bold reverse")
            right.append("  ")
        right.append(fmt.visible(app.ctx.operator), style="italic")
        right.append("  ")
        right.append(f"{fmt.day_label(fmt.local(now, zone).date())} {fmt.hhmm(now, zone)} {fmt.zone_abbrev(now, zone)}")
        width = max(self.size.width - 2, 0)
        gap = width - len(left) - len(right)
        if gap < 1:  # narrow: keep the clock whole, shorten the place
            left.truncate(max(width - len(right) - 1, 0), overflow="ellipsis")
            gap = max(width - len(left) - len(right), 1)
        line = Text.assemble(left, " " * gap, right)
        if line != self._shown:  # the clock shows minutes: most ticks change nothing
            self._shown = line
            self.update(line, layout=False)  # one docked line: its size never depends on the text

    def on_resize(self) -> None:
        self.tick()


class HoldCountdown(Static):
    """Time left on a hold, mm:ss, always computed as expires_at - clock (never counted down).

    Colours change at two minutes and at thirty seconds (the last thirty seconds are also
    drawn reversed, which still shows with NO_COLOR); from two minutes a second line says
    so in words, and names the key that extends the hold while it can still be extended.
    At zero it posts Expired once.
    """

    DEFAULT_CSS = """
    HoldCountdown {
        width: auto;
        padding: 0 1;
        background: $success 30%;
        color: $text;  /* light or dark, whichever reads on the state's colour */
        text-style: bold;
    }
    HoldCountdown.-soon { background: $warning; }
    HoldCountdown.-final { background: $error; text-style: bold reverse; }
    HoldCountdown.-expired { background: $error; color: $text; text-style: bold reverse; }
    """

    app: FrontdeskApp
    SOON = timedelta(minutes=2)
    FINAL = timedelta(seconds=30)

    class Expired(Message):
        """The hold's time is up by the app's clock."""

    def __init__(self, expires_at: datetime, *, extendable: bool = False, extend_key: str = "ctrl+x", **kwargs) -> None:
        super().__init__(**kwargs)
        self.expires_at = expires_at
        self.extendable = extendable  # the desk may still extend it once
        self.extend_key = extend_key  # ctrl+x where a text field takes x as a letter
        self._expired_sent = False
        self._shown = ""

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(0.25, self.tick)

    def restart(self, expires_at: datetime, *, extendable: bool = False) -> None:
        self.expires_at = expires_at
        self.extendable = extendable
        self._expired_sent = False
        self.tick()

    @property
    def remaining(self) -> timedelta:
        return self.expires_at - self.app.ctx.clock.now()

    def label(self, left: timedelta) -> str:
        if left <= timedelta(0):
            return "Hold expired 00:00"
        label = f"Hold {fmt.countdown(left)} left"
        if left <= self.SOON:
            label += f"\nUnder 2 min: {self.extend_key} extends" if self.extendable else "\nUnder 2 minutes left"
        return label

    def tick(self) -> None:
        left = self.remaining
        expired = left <= timedelta(0)
        self.set_class(not expired and self.FINAL < left <= self.SOON, "-soon")
        self.set_class(not expired and left <= self.FINAL, "-final")
        self.set_class(expired, "-expired")
        label = self.label(left)
        if label != self._shown:
            # Width and height are auto: lay out again only when the label's shape changes.
            self.update(label, layout=len(label) != len(self._shown))
            self._shown = label
        if expired and not self._expired_sent:
            self._expired_sent = True
            self.post_message(self.Expired())


class VisibleControls(Highlighter):
    """Draws a field's control characters (a paste can bring them) as visible pictures,
    one for one, so they never reach the terminal; the form's check then refuses them."""

    def __call__(self, text: str | Text) -> Text:
        plain = text.plain if isinstance(text, Text) else text
        return Text(fmt.visible(plain), no_wrap=True, overflow="ignore", end="")

    def highlight(self, text: Text) -> None:
        pass


class FieldInput(Input):
    """An Input that follows the app's cursor-blink setting (off in tests and snapshots) and
    never draws a control character."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("highlighter", VisibleControls())
        super().__init__(*args, **kwargs)

    def on_mount(self) -> None:
        if not getattr(self.app, "blink", True):
            self.cursor_blink = False


class NotesArea(TextArea):
    """A TextArea that never draws a control character (see VisibleControls)."""

    def get_line(self, line_index: int) -> Text:
        return Text(fmt.visible(self.document.get_line(line_index)), end="", no_wrap=True)


class FitTable(DataTable):
    """A row-cursor DataTable whose columns share its width: fixed columns keep their width,
    the others split what is left by weight. Fixed widths also spare measuring every cell,
    which keeps filling a long slot list fast.

    Lines are cached by whether their row holds the cursor, not by where the cursor is:
    DataTable keys its line cache on the cursor's coordinate, so every Down that scrolls
    rebuilt all ~35 visible rows (about 10 ms a frame, over 16 ms with a garbage collection).

    Both need DataTable internals, as its public API has no line cache key and no way to set
    column widths: _render_line, _get_offsets, _row_locations, _update_count,
    _show_hover_cursor, _pseudo_class_state (the line cache), and _clear_caches,
    _require_update_dimensions (fitting columns). pyproject.toml pins Textual to the tested
    minor for that; tests/test_textual_internals.py names what moved after an upgrade.
    """

    SCROLLBAR_ROOM = 2

    def __init__(self, columns: list[tuple[str, str, int, bool]], **kwargs) -> None:
        """columns: (key, label, width or weight, is_fixed)."""
        kwargs.setdefault("cursor_type", "row")
        self._row_lines: LRUCache[tuple, Strip] = LRUCache(1000)
        super().__init__(**kwargs)
        self.column_plan: list[tuple[str, str, int, bool]] = []
        self.set_columns(columns)

    def set_columns(self, columns: list[tuple[str, str, int, bool]]) -> None:
        """Another set of columns (the rows go too); nothing happens if it is the same."""
        if columns == self.column_plan:
            return
        if self.column_plan:
            self.clear(columns=True)
        self.column_plan = columns
        for key, label, size, fixed in columns:
            self.add_column(label, key=key, width=size if fixed else max(size, len(label)))
        if self.is_mounted:
            self.fit_columns()

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        width = self.size.width - self.SCROLLBAR_ROOM - 2 * self.cell_padding * len(self.column_plan)
        fixed = sum(size for _, _, size, is_fixed in self.column_plan if is_fixed)
        weights = sum(size for _, _, size, is_fixed in self.column_plan if not is_fixed) or 1
        spare = max(width - fixed, 0)
        for key, label, size, is_fixed in self.column_plan:
            column = self.columns[ColumnKey(key)]
            column.auto_width = False
            column.width = size if is_fixed else max(spare * size // weights, 3)
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()

    # Home and End go to the first and last row (DataTable's own scroll sideways in a row cursor).
    def action_scroll_home(self) -> None:
        if self.cursor_type == "row" and self.row_count:
            self.move_cursor(row=0)

    def action_scroll_end(self) -> None:
        if self.cursor_type == "row" and self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def _render_line(self, y: int, x1: int, x2: int, base_style) -> Strip:
        if self.cursor_type != "row":
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, _ = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        if row_key in self._row_locations:
            row, height = self._row_locations.get(row_key), self.rows[row_key].height
        else:  # the header
            row, height = -1, self.header_height
        # Everything DataTable's own line key holds, with the cursor and hover reduced
        # to "on this row or not" (a row cursor lights whole rows).
        key = (
            y, x1, x2, self.size.width, base_style, height,
            self.show_cursor and self.cursor_coordinate.row == row,
            self._show_hover_cursor and self.hover_coordinate.row == row,
            self.show_cursor, self._show_hover_cursor, self._update_count, self._pseudo_class_state,
        )
        strip = self._row_lines.get(key)
        if strip is None:
            strip = self._row_lines[key] = super()._render_line(y, x1, x2, base_style)
        return strip

    _frame_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        # DataTable asks for rich_style once per line, and each time it walks every ancestor
        # blending backgrounds: work out once per frame (about 2 ms of a scrolling frame).
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    @property
    def rich_style(self) -> Style:
        return self._frame_style or super().rich_style

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._row_lines.clear()

    def notify_style_update(self) -> None:
        self._row_lines.clear()
        super().notify_style_update()
