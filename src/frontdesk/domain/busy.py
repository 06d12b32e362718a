"""Busy time of a resource: what keeps a slot from being offered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from frontdesk.domain.intervals import Interval

BLOCK = "block"
APPOINTMENT = "appointment"
HOLD = "hold"

# Appointment statuses that take time; cancelled, completed and no_show do not.
ACTIVE_APPOINTMENT_STATUSES = ("pending_approval", "pending", "confirmed", "scheduled")


@dataclass(frozen=True, slots=True)
class Busy:
    """One busy interval of one resource.

    `interval` is padded by the booking's own type's padding (blocks have none). `start` is
    the unpadded start of an appointment or hold: a group type counts bookings sharing a
    start, and they do not block each other.
    """

    interval: Interval
    source: str  # BLOCK, APPOINTMENT or HOLD
    appointment_type_id: str | None = None
    start: datetime | None = None
    ref_id: str | None = None  # the appointment's or hold's id, or the block's id as text
