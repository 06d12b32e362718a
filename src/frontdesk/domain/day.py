"""The day: arrival to departure (booking.md "The day").

An appointment's `status` keeps the seven values of appointments-api; how far a visit has
got on its day is its `attendance_status` (arrived, in room, checked out) with the times
of each step. Every action is a pure function from the visit as it is to the visit as it
will be, or INVALID_STATE_TRANSITION. Pure: the clock and the local date come in as values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import Any

from frontdesk.domain.errors import INVALID_STATE_TRANSITION, FrontdeskError
from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES

ARRIVED, IN_ROOM, CHECKED_OUT = "arrived", "in_room", "checked_out"
ATTENDANCE_STATUSES = (ARRIVED, IN_ROOM, CHECKED_OUT)

CONFIRM, CHECK_IN, START, COMPLETE, NO_SHOW, REVERT = "confirm", "check-in", "start", "complete", "no-show", "revert"
DAY_ACTIONS = (CONFIRM, CHECK_IN, START, COMPLETE, NO_SHOW, REVERT)
# The past tense the API puts into `meta.action`.
DONE = {
    CONFIRM: "confirmed", CHECK_IN: "checked_in", START: "started", COMPLETE: "completed",
    NO_SHOW: "marked_no_show", REVERT: "reverted",
}


@dataclass(frozen=True)
class Visit:
    """What the day's actions read and change."""

    status: str
    attendance_status: str | None = None
    arrived_at: datetime | None = None
    actual_start_time: datetime | None = None
    actual_end_time: datetime | None = None

    def as_record(self) -> dict[str, Any]:
        """JSON-ready, to be kept for `revert`."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Visit:
        times = ("arrived_at", "actual_start_time", "actual_end_time")
        fields: dict[str, Any] = {k: (datetime.fromisoformat(v) if k in times and v else v) for k, v in record.items()}
        return cls(**fields)


def _refuse(visit: Visit, action: str, why: str) -> FrontdeskError:
    return FrontdeskError(
        INVALID_STATE_TRANSITION,
        why,
        {"current_status": visit.status, "attendance_status": visit.attendance_status, "attempted_action": action},
    )


def apply(action: str, visit: Visit, *, now: datetime, start: datetime, today: date, local_day: date) -> Visit:
    """The visit after `action` (not `revert`; see `revert`). `today` and `local_day` are the
    date now and the date of the appointment's start, both in the appointment's own zone."""
    active = visit.status in ACTIVE_APPOINTMENT_STATUSES
    arrived = visit.attendance_status in (ARRIVED, IN_ROOM, CHECKED_OUT)
    if action == CONFIRM:
        if visit.status not in ("pending_approval", "pending", "scheduled"):
            raise _refuse(visit, action, f"Only a pending or scheduled appointment can be confirmed, not a {_said(visit)} one")
        return replace(visit, status="confirmed")
    if action == CHECK_IN:
        if not active or arrived:
            raise _refuse(visit, action, f"A {_said(visit)} appointment cannot be checked in")
        if today != local_day:
            raise _refuse(visit, action, f"Check-in is on the day of the appointment ({local_day.isoformat()})")
        return replace(visit, attendance_status=ARRIVED, arrived_at=now)
    if action == START:
        if visit.attendance_status != ARRIVED:
            raise _refuse(visit, action, "Only an arrived patient can be taken into the room")
        return replace(visit, attendance_status=IN_ROOM, actual_start_time=now)
    if action == COMPLETE:
        if visit.attendance_status not in (ARRIVED, IN_ROOM):
            raise _refuse(visit, action, "Only an arrived or in-room visit can be completed")
        return replace(
            visit, status="completed", attendance_status=CHECKED_OUT, actual_end_time=now,
            actual_start_time=visit.actual_start_time or now,
        )
    if action == NO_SHOW:
        if not active or arrived:
            raise _refuse(visit, action, f"A {_said(visit)} appointment cannot be marked as a no-show")
        if now < start:
            raise _refuse(visit, action, "An appointment that has not started yet cannot be a no-show")
        return replace(visit, status="no_show")
    raise ValueError(f"unknown day action {action!r}")


def revert(visit: Visit, history: list[dict[str, Any]], *, today: date) -> tuple[Visit, list[dict[str, Any]]]:
    """Undo the last day action (its record in `history`, newest last) if it was made today
    (in the appointment's zone); the visit as it was before it, and the shorter history."""
    if not history:
        raise _refuse(visit, REVERT, "There is no action to revert")
    last = history[-1]
    if date.fromisoformat(last["on"]) != today:
        raise _refuse(visit, REVERT, "Only an action of today can be reverted")
    return Visit.from_record(last["before"]), history[:-1]


def record(action: str, before: Visit, today: date) -> dict[str, Any]:
    """What `revert` needs to know of an action."""
    return {"action": action, "on": today.isoformat(), "before": before.as_record()}


def takes_time(status: str) -> bool:
    """Whether a visit in `status` is busy time (completed and no-show ones stop being)."""
    return status in ACTIVE_APPOINTMENT_STATUSES


def _said(visit: Visit) -> str:
    if visit.attendance_status == ARRIVED:
        return "checked-in"
    if visit.attendance_status == IN_ROOM:
        return "in-room"
    return visit.status.replace("_", " ").replace("no show", "no-show")
