"""What every frontdesk screen shares: service calls in thread workers that report back by
messages, readable errors, and a hook for live refresh."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from frontdesk.domain.errors import FrontdeskError
from frontdesk.tui import format as fmt

if TYPE_CHECKING:
    from frontdesk.tui.app import FrontdeskApp

# How a code reads in a notification's title.
ERROR_TITLES = {
    "VALIDATION_ERROR": "Please check",
    "NOT_FOUND": "Not found",
    "DATE_RANGE_TOO_LARGE": "Range too large",
    "SLOT_UNAVAILABLE": "Slot taken",
    "HOLD_EXPIRED": "Hold expired",
    "HOLD_NOT_ACTIVE": "Hold no longer active",
    "INVALID_STATE_TRANSITION": "Not allowed",
    "IDEMPOTENCY_CONFLICT": "Conflict",
    "DATABASE_BUSY": "Database busy",
    "DATABASE_ERROR": "Database problem",
    "ERROR": "Something went wrong",
}


class ServiceDone(Message):
    """A service call made in a thread worker returned."""

    def __init__(self, purpose: str, result: Any) -> None:
        super().__init__()
        self.purpose = purpose
        self.result = result


class ServiceFailed(Message):
    """A service call refused (a FrontdeskError) or broke; never shown as a traceback."""

    def __init__(self, purpose: str, code: str, message: str, details: dict | None = None) -> None:
        super().__init__()
        self.purpose = purpose
        self.code = code
        self.message = message
        self.details = details or {}


class DataChanged(Message):
    """Another desk (or this one) changed appointments or holds: reload what is visible."""


# A call that meets DATABASE_BUSY (nothing was written) is tried again after these pauses,
# each after the database's own bounded wait, before the desk is told.
BUSY_RETRY_PAUSES = (0.5, 1.0)


def _call_with_retries(call: Callable[[], Any], pause: Callable[[float], None] = time.sleep) -> Any:
    for wait in BUSY_RETRY_PAUSES:
        try:
            return call()
        except FrontdeskError as error:
            if error.code != "DATABASE_BUSY" or get_current_worker().is_cancelled:
                raise
        pause(wait)
    return call()


def run_service_call(target: Screen, purpose: str, call: Callable[[], Any]) -> None:
    """Body of a thread worker: run the call, post the outcome to the screen as a message."""
    try:
        result = _call_with_retries(call)
    except FrontdeskError as error:
        outcome: Message = ServiceFailed(purpose, error.code, error.message, error.details)
    except Exception as error:  # a bug: still a sentence, and never its text (it may quote a patient)
        target.log.error(f"{purpose} failed", type(error).__name__)
        outcome = ServiceFailed(purpose, "ERROR", f"Something went wrong ({type(error).__name__}); nothing more is shown")
    else:
        outcome = ServiceDone(purpose, result)
    if not get_current_worker().is_cancelled:
        target.post_message(outcome)


class FrontdeskScreen(Screen):
    """A screen whose database work runs in thread workers.

    `self.call_service("agenda", fn, *args)` runs fn(ctx, *args) in a thread; the result comes
    back to `done_agenda(result)`, a refusal to `failed_agenda(message)` when the screen has
    one, else as an error notification. fn is a small function of the screen's module that
    imports the service it calls inside itself, so the UI never waits for the services (and
    SQLAlchemy's ORM) to import.
    """

    app: FrontdeskApp
    stale = False  # data changed while another screen was on top

    @property
    def ctx(self):
        return self.app.ctx

    def call_service(self, purpose: str, function: Callable[..., Any], *args: Any, exclusive: bool = True, **kwargs: Any) -> None:
        ctx = self.ctx
        self.run_worker(
            lambda: run_service_call(self, purpose, lambda: function(ctx, *args, **kwargs)),
            thread=True,
            group=purpose,
            exclusive=exclusive,
            exit_on_error=False,
            name=purpose,
        )

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        handler = getattr(self, f"done_{message.purpose}", None)
        if handler is not None:
            handler(message.result)

    def on_service_failed(self, message: ServiceFailed) -> None:
        message.stop()
        handler = getattr(self, f"failed_{message.purpose}", None)
        if handler is None or handler(message) is False:
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
