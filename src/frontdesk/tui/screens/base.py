"""What every frontdesk screen shares: service calls in thread workers that report back by
messages, readable errors, and a hook for live refresh."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from frontdesk.domain.errors import FrontdeskError
from frontdesk.tui import format as fmt

if TYPE_CHECKING:
    from frontdesk.services.context import Context
    from frontdesk.tui.app import FrontdeskApp

T = TypeVar("T")

# How a code reads in a notification's title.
ERROR_TITLES = {
    "VALIDATION_ERROR": "Please check",
    "NOT_FOUND": "Not found",
    "DATE_RANGE_TOO_LARGE": "Range too large",
    "SLOT_UNAVAILABLE": "Slot taken",
    "HOLD_EXPIRED": "Hold expired",
    "HOLD_NOT_ACTIVE": "Hold no longer active",
    "HOLD_ALREADY_EXTENDED": "Already extended",
    "INVALID_STATE_TRANSITION": "Not allowed",
    "IDEMPOTENCY_CONFLICT": "Conflict",
    "DATABASE_BUSY": "Database busy",
    "DATABASE_ERROR": "Database problem",
    "ERROR": "Something went wrong",
}


class ServiceDone(Message):
    """A service call made in a thread worker returned; `on_done` takes its result."""

    def __init__(self, on_done: Callable[[Any], None], result: Any) -> None:
        super().__init__()
        self.on_done = on_done
        self.result = result


class ServiceFailed(Message):
    """A service call refused (a FrontdeskError) or broke; never shown as a traceback.

    `on_failed`, if the caller gave one, is asked first: it returns True when it has told the
    desk itself, False when the usual error notification should be shown too.
    """

    def __init__(
        self, code: str, message: str, details: dict | None = None,
        on_failed: Callable[[ServiceFailed], bool] | None = None,
    ) -> None:
        super().__init__()
        self.code = code
        self.message = message
        self.details = details or {}
        self.on_failed = on_failed


class DataChanged(Message):
    """Another desk (or this one) changed appointments or holds: reload what is visible."""


# A call that meets DATABASE_BUSY (nothing was written) is tried again after these pauses,
# each after the database's own bounded wait, before the desk is told.
BUSY_RETRY_PAUSES = (0.5, 1.0)


def _call_with_retries(call: Callable[[], T], pause: Callable[[float], None] = time.sleep) -> T:
    for wait in BUSY_RETRY_PAUSES:
        try:
            return call()
        except FrontdeskError as error:
            if error.code != "DATABASE_BUSY" or get_current_worker().is_cancelled:
                raise
        pause(wait)
    return call()


def run_service_call(
    target: Screen,
    call: Callable[[], T],
    on_done: Callable[[T], None],
    on_failed: Callable[[ServiceFailed], bool] | None,
) -> None:
    """Body of a thread worker: run the call, post the outcome to the screen as a message."""
    outcome: Message
    try:
        result = _call_with_retries(call)
    except FrontdeskError as error:
        outcome = ServiceFailed(error.code, error.message, error.details, on_failed)
    except Exception as error:  # a bug: still a sentence, and never its text (it may quote a patient)
        target.log.error("service call failed", type(error).__name__)
        outcome = ServiceFailed(
            "ERROR", f"Something went wrong ({type(error).__name__}); nothing more is shown", on_failed=on_failed
        )
    else:
        outcome = ServiceDone(on_done, result)
    if not get_current_worker().is_cancelled:
        target.post_message(outcome)


class FrontdeskScreen(Screen):
    """A screen whose database work runs in thread workers.

    `self.call_service(group, partial(backend.day_list, ...), self.show_page)` runs the call
    with this desk's context in a thread; its result comes back to the callback on the event
    loop, a refusal to `on_failed` if given (else as an error notification). The calls are
    the functions of `tui/backend.py`, the UI's one door to the services.
    """

    app: FrontdeskApp
    stale = False  # data changed while another screen was on top

    @property
    def ctx(self) -> Context:
        return self.app.ctx

    def call_service(
        self,
        group: str,
        call: Callable[[Context], T],
        on_done: Callable[[T], None],
        on_failed: Callable[[ServiceFailed], bool] | None = None,
        *,
        exclusive: bool = True,
    ) -> None:
        """Run `call(ctx)` in a thread worker of `group` (exclusive: a newer call of the
        group cancels an older one, as for page loads)."""
        ctx = self.ctx
        self.run_worker(
            lambda: run_service_call(self, lambda: call(ctx), on_done, on_failed),
            thread=True,
            group=group,
            exclusive=exclusive,
            exit_on_error=False,
            name=group,
        )

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        message.on_done(message.result)

    def on_service_failed(self, message: ServiceFailed) -> None:
        message.stop()
        if message.on_failed is None or not message.on_failed(message):
            self.show_error(message)

    def show_error(self, message: ServiceFailed) -> None:
        self.notify(
            fmt.visible(message.message),
            title=ERROR_TITLES.get(message.code, message.code),
            severity="error",
            timeout=8,
            markup=False,
        )

    def on_data_changed(self, message: DataChanged) -> None:
        message.stop()
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.stale:
            self.stale = False
            self.refresh_data()

    def refresh_data(self) -> None:
        """Reload what the screen shows (only the visible page); screens override."""
