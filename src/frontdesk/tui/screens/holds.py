"""Holds in force at every desk: who holds which slot, and for how long; release any of them."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.screens.base import FrontdeskScreen, ServiceFailed
from frontdesk.tui.widgets import ClinicHeader, FitTable, highlighted_key

if TYPE_CHECKING:  # annotations only: keeps the first frame quick
    from frontdesk.services.objects import HoldView, Page

SHOWN = 100  # the most a page may hold; more holds in force than this at once is not a front desk


class HoldsScreen(FrontdeskScreen):
    AUTO_FOCUS = "#holds"

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("r", "release", "Release", tooltip="Release the selected hold (asks first)", id="release"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.holds: dict[str, HoldView] = {}
        self._shown_left: dict[str, str] = {}
        self._reloading = False

    def compose(self) -> ComposeResult:
        yield ClinicHeader()
        yield Label("Holds in force at every desk, soonest to expire first", classes="screen-title")
        yield FitTable(
            [
                ("left", "Left", 5, True),
                ("desk", "Desk", 3, False),
                ("operator", "Operator", 3, False),
                ("type", "Type", 4, False),
                ("clinician", "Clinician", 4, False),
                ("slot", "Slot", 21, True),
            ],
            id="holds",
            zebra_stripes=True,
        )
        yield Label("Loading…", id="holds-info")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_data()
        self.set_interval(0.5, self.tick)

    def refresh_data(self) -> None:
        self._reloading = True
        self.call_service("holds", partial(backend.holds_in_force, limit=SHOWN), self.show_holds, self.failed_holds)

    def action_back(self) -> None:
        self.dismiss()

    # --- the list ---------------------------------------------------------------------------

    def show_holds(self, page: Page[HoldView]) -> None:
        self._reloading = False
        table = self.query_one("#holds", DataTable)
        keep = self.highlighted_id()
        self.holds = {hold.id: hold for hold in page.items}
        self._shown_left = {}
        table.clear()
        now = self.ctx.clock.now()
        for hold in page.items:
            left = self._left(hold, now)
            self._shown_left[hold.id] = left
            table.add_row(
                Text(left),
                self._desk_text(hold),
                fmt.plain(hold.created_by),
                fmt.plain(self._type_label(hold)),
                fmt.plain(self.app.clinician_name(hold.clinician_id) or hold.clinician_id),
                Text(self.slot_label(hold)),
                key=hold.id,
            )
        if keep in self.holds:
            table.move_cursor(row=table.get_row_index(keep))
        if not page.items:
            info = "No holds in force."
        else:
            info = f"{len(page.items)} hold{'s' if len(page.items) != 1 else ''} in force · r releases the selected one"
            if page.has_more:
                info += f" · the {SHOWN} soonest to expire shown"
        self.query_one("#holds-info", Label).update(Text(info))

    def failed_holds(self, message: ServiceFailed) -> bool:
        self._reloading = False
        self.query_one("#holds-info", Label).update(Text(f"Could not load the holds: {fmt.visible(message.message)}"))
        return False

    def tick(self) -> None:
        """Time left, from each hold's expiry and the app's clock (never counted down); a hold
        that runs out leaves the list at the reload it sets off."""
        now = self.ctx.clock.now()
        table = self.query_one("#holds", DataTable)
        ran_out = False
        for hold in self.holds.values():
            left = self._left(hold, now)
            ran_out = ran_out or hold.expires_at <= now
            if left != self._shown_left.get(hold.id):
                self._shown_left[hold.id] = left
                table.update_cell(hold.id, "left", Text(left))
        if ran_out and not self._reloading:
            self.refresh_data()

    @staticmethod
    def _left(hold: HoldView, now: datetime) -> str:
        return fmt.countdown(hold.expires_at - now)

    def _desk_text(self, hold: HoldView) -> Text:
        text = fmt.plain(hold.desk)
        if hold.desk == self.ctx.desk:
            text.append(" (here)", style="bold")
        return text

    def _type_label(self, hold: HoldView) -> str:
        name = self.app.type_name(hold.appointment_type_id) or hold.appointment_type_id
        return f"{name} (remote)" if hold.is_remote else name

    def slot_label(self, hold: HoldView) -> str:
        """'Mon 20 Jan 09:00 GMT': the start in its location's zone (a remote hold: the clinician's)."""
        zone = self.app.location_zone(hold.location_id) if hold.location_id else self._clinician_zone(hold.clinician_id)
        start = fmt.local(hold.start_time, zone)
        return f"{start:%a} {start.day} {start:%b %H:%M} {fmt.zone_abbrev(hold.start_time, zone)}"

    def _clinician_zone(self, clinician_id: str) -> str:
        overview = self.app.overview
        clinician = next((c for c in overview.clinicians if c.id == clinician_id), None) if overview else None
        return clinician.timezone if clinician and clinician.timezone else self.app.zone

    def highlighted_id(self) -> str | None:
        return highlighted_key(self.query_one("#holds", DataTable))

    # --- releasing ----------------------------------------------------------------------------

    def action_release(self) -> None:
        from frontdesk.tui.modals import ConfirmModal

        hold = self.holds.get(self.highlighted_id() or "")
        if hold is None:
            self.notify("No hold selected.", severity="warning")
            return
        question = (
            f"Release the hold on {self.slot_label(hold)} with "
            f"{self.app.clinician_name(hold.clinician_id) or hold.clinician_id}, "
            f"made by {hold.created_by} at {hold.desk or 'an unknown desk'}? The slot becomes free for anyone."
        )
        if hold.id in self.app.owned_holds:
            question += " This desk is booking with it."

        def answered(yes: bool | None) -> None:
            if yes:
                self.call_service("release", partial(backend.release_hold, hold_id=hold.id), self.released,
                                  self.failed_release, exclusive=False)

        self.app.push_screen(ConfirmModal(question, yes="Release", no="Keep"), answered)

    def released(self, hold: HoldView) -> None:
        self.app.owned_holds.discard(hold.id)
        self.notify(f"The slot {self.slot_label(hold)} is free again.", title="Hold released", markup=False)
        self.refresh_data()

    def failed_release(self, message: ServiceFailed) -> bool:
        self.refresh_data()  # confirmed, released or run out meanwhile: show what is in force now
        return False
