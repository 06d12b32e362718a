"""Busy time of a resource: what keeps a slot from being offered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from frontdesk.domain.intervals import Interval

BLOCK = "block"
APPOINTMENT = "appointment"
HOLD = "hold"
EXTERNAL = "external"  # a clinician's own calendar, imported (services/calendars.py): busy like a block

# Busy rows longer than this are flagged (`busy_times.long_span`), so a read of a window can
# bound its index range on both sides: every other row touching [start, end) ends before
# end + LONG_SPAN.
LONG_SPAN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Busy:
    """One busy interval of one resource.

    `interval` is padded by the booking's own type's padding (blocks have none). `start` is
    the unpadded start of an appointment or hold: a group type counts bookings sharing a
    start, and they do not block each other.
    """

    interval: Interval
    source: str  # BLOCK, EXTERNAL, APPOINTMENT or HOLD
    appointment_type_id: str | None = None
    start: datetime | None = None
    ref_id: str | None = None  # the appointment's or hold's id, or the block's id as text (EXTERNAL: its source)
    seats: int = 1  # a group's seats it stands for: a group appointment's attendees going, a seat hold 1

    def span(self) -> BusySpan:
        return BusySpan(
            int(self.interval.start.timestamp() // 1),
            -int(-self.interval.end.timestamp() // 1),
            self.source,
            self.appointment_type_id,
            None if self.start is None else int(self.start.timestamp() // 1),
            self.ref_id,
            self.seats,
        )


class BusySpan(NamedTuple):
    """Busy, in whole seconds since the epoch: what the engine works on (cheap to make by
    the ten thousand). start/end are padded; booked_start is the booking's own start."""

    start: int
    end: int
    source: str
    appointment_type_id: str | None = None
    booked_start: int | None = None
    ref_id: str | None = None
    seats: int = 1

    def busy(self) -> Busy:
        at = None if self.booked_start is None else datetime.fromtimestamp(self.booked_start, UTC)
        interval = Interval(datetime.fromtimestamp(self.start, UTC), datetime.fromtimestamp(self.end, UTC))
        return Busy(interval, self.source, self.appointment_type_id, at, self.ref_id, self.seats)
