"""The move dialog: the held time for a move, "from -> to" under the hold's countdown."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from frontdesk.tui import backend
from frontdesk.tui import format as fmt
from frontdesk.tui.screens.base import (
    ERROR_TITLES,
    ServiceDone,
    ServiceFailed,
    run_service_call,
)
from frontdesk.tui.widgets import HoldCountdown

if TYPE_CHECKING:
    from frontdesk.services.objects import HoldView
    from frontdesk.tui.app import FrontdeskApp


class MoveModal(ModalScreen[bool]):
    """The held time for a move: "from -> to" under the hold's countdown. Enter moves, x extends
    the hold once, Escape lets the hold go."""

    BINDINGS = [
        Binding("enter", "answer(True)", "Move", id="move"),
        Binding("x,ctrl+x", "extend", "Extend hold", tooltip="Extend the hold once", id="extend"),
        Binding("escape", "answer(False)", "Back (release the hold)", id="back"),
    ]

    app: FrontdeskApp

    def __init__(self, title: str, old: tuple[str, str], new: tuple[str, str], expires_at: datetime,
                 hold_id: str | None = None) -> None:
        super().__init__()
        self.title_text, self.old, self.new = title, old, new
        self.expires_at = expires_at
        self.hold_id = hold_id
        self.extended = False
        self.extending = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(f"Move {self.title_text}", style="bold"), classes="title")
            yield HoldCountdown(self.expires_at, extendable=self.hold_id is not None, extend_key="x", id="countdown")
            yield Static(self._question(), classes="question")

    def _question(self) -> Text:
        (old_when, old_where), (new_when, new_where) = self.old, self.new
        text = Text.assemble(
            ("from  ", "dim"), old_when, "\n      ", fmt.visible(old_where), "\n",
            ("  ->  ", "bold"), (new_when, "bold"), "\n      ", (fmt.visible(new_where), "bold"),
        )
        keys = "Enter: move it   " + ("" if self.extended or self.hold_id is None else "x: extend the hold   ")
        text.append(f"\n\n{keys}Esc: back, hold let go", style="dim")
        return text

    def on_hold_countdown_expired(self, message: HoldCountdown.Expired) -> None:
        if self.extending:  # the service decides whether it was in time
            return
        self.app.notify("The hold ran out before the move; the appointment kept its time.", title="Hold expired",
                        severity="warning")
        self.dismiss(False)

    def action_answer(self, move: bool) -> None:
        self.dismiss(move)

    # --- extending the hold, once (a modal has no call_service: its own thread worker) ---------

    def action_extend(self) -> None:
        if self.hold_id is None or self.extending:
            return
        if self.extended:
            self.app.notify("This hold was already extended once.", title="Already extended", severity="warning")
            return
        self.extending = True
        ctx, hold_id = self.app.ctx, self.hold_id
        self.run_worker(partial(run_service_call, self, partial(backend.extend_hold, ctx, hold_id), self.now_extended,
                                self.not_extended), thread=True, exit_on_error=False, name="extend")

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        message.on_done(message.result)

    def on_service_failed(self, message: ServiceFailed) -> None:
        message.stop()
        assert message.on_failed is not None  # the one call made here names it
        message.on_failed(message)

    def now_extended(self, hold: HoldView) -> None:
        self.extending, self.extended = False, True
        self.query_one(HoldCountdown).restart(hold.expires_at, extendable=False)
        self.query_one(".question", Static).update(self._question())
        zone = self.app.location_zone(hold.location_id)
        self.app.notify(f"The hold now runs out at {fmt.hhmm(hold.expires_at, zone)} {fmt.zone_abbrev(hold.expires_at, zone)}. "
                        "It can be extended only once.", title="Hold extended")

    def not_extended(self, message: ServiceFailed) -> bool:
        self.extending = False
        self.extended = message.code == "HOLD_ALREADY_EXTENDED"
        self.app.notify(fmt.visible(message.message), title=ERROR_TITLES.get(message.code, message.code),
                        severity="warning", markup=False)
        countdown = self.query_one(HoldCountdown)
        expires_at = message.details.get("expires_at")
        # Ran out meanwhile: restarting posts Expired again, which lets the hold go.
        countdown.restart(datetime.fromisoformat(expires_at) if expires_at else countdown.expires_at, extendable=False)
        return True
