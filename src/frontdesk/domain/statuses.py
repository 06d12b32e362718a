"""The words of the booking rules: appointment statuses, hold states, modes, defaults.

A module of its own, importing nothing, because the command line needs these before
anything else is loaded; the CLI, the UI, the services and the store all read them here.
"""

from enum import StrEnum

STATUSES = ("pending_approval", "pending", "confirmed", "scheduled", "cancelled", "completed", "no_show")

# The desk's words for each status: the UI's labels and the refusals' wording.
STATUS_LABELS = {
    "pending_approval": "Needs approval",
    "pending": "Pending",
    "confirmed": "Confirmed",
    "scheduled": "Scheduled",
    "cancelled": "Cancelled",
    "completed": "Completed",
    "no_show": "No-show",
}

# Appointment statuses that take time; cancelled, completed and no_show do not.
ACTIVE_APPOINTMENT_STATUSES = ("pending_approval", "pending", "confirmed", "scheduled")


class HoldState(StrEnum):
    """A hold's state. `expired` is read from the clock, never stored."""

    ACTIVE = "active"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"


HOLD_STATES = tuple(state.value for state in HoldState)

# How an appointment type may be booked (its `modes`), and how one slot happens.
IN_PERSON = "in_person"
REMOTE = "remote"
MODES = (IN_PERSON, REMOTE)

# A hold lasts this long unless the clinic file sets `hold_minutes`.
DEFAULT_HOLD_MINUTES = 15

# The flow board, unless the clinic file sets them: a visit not arrived this long after its
# start is late; a patient waiting this long after arriving is an alert.
DEFAULT_LATE_AFTER_MINUTES = 10
DEFAULT_WAITING_ALERT_MINUTES = 15

# A group's attendee (appointment-model `attendees`): going or not (not_going frees the
# seat), and how the seat is paid.
GOING = "going"
NOT_GOING = "not_going"
ATTENDEE_STATUSES = (GOING, NOT_GOING)
PAYMENT_STATUSES = ("not_applicable", "pending", "paid")
