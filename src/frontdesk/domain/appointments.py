"""Appointment rules: statuses and the actions between them, field checks, conflicts.

Pure: no I/O and no clock; `today` and `now` come in as values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from frontdesk.domain.errors import INVALID_STATE_TRANSITION, FrontdeskError, validation
from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES, STATUS_LABELS, STATUSES, HoldState
from frontdesk.domain.text import check_text, refuse_controls
from frontdesk.domain.timeutil import iso

# The statuses an appointment may be created in, may be cancelled from, and that take time.
OPEN_STATUSES = ACTIVE_APPOINTMENT_STATUSES
DEFAULT_STATUS = "pending"

# action -> (statuses it is allowed from, status it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "cancel": (OPEN_STATUSES, "cancelled"),
}
# The past tense the API puts into `meta.action`.
ACTION_NAMES = {"cancel": "cancelled"}

# Fields an update may change; `status` only ever changes through an action.
UPDATABLE_FIELDS = ("title", "description", "attendee_name", "attendee_email", "start_time", "end_time")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()./-]+$")


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise validation(f"{status!r} is not a status; use one of {', '.join(STATUSES)}", status=status)
    return status


def initial_status(status: str | None) -> str:
    """The status a new appointment starts in: one of the four open ones, `pending` if none."""
    if status is None:
        return DEFAULT_STATUS
    if status not in OPEN_STATUSES:
        raise validation(
            f"A new appointment starts in one of {', '.join(OPEN_STATUSES)}, not {status!r}", status=status
        )
    return status


def apply_action(current_status: str, action: str) -> str:
    """The status after `action`, or INVALID_STATE_TRANSITION."""
    allowed_from, target = ACTIONS[action]
    if current_status not in allowed_from:
        raise FrontdeskError(
            INVALID_STATE_TRANSITION,
            refusal(action, current_status),
            {"current_status": current_status, "attempted_action": action},
        )
    return target


def refusal(action: str, status: str) -> str:
    """Why `action` is refused in `status`, in the desk's words (the service and the UI alike):
    "A cancelled appointment cannot be cancelled"."""
    label = STATUS_LABELS.get(status, status).lower()
    article = "An" if label[:1] in "aeiou" else "A"
    return f"{article} {label} appointment cannot be {ACTION_NAMES.get(action, action)}"


def can_cancel(status: str) -> bool:
    """Whether an appointment in `status` may still be cancelled (the faces ask before offering it)."""
    return status in ACTIONS["cancel"][0]


def hold_state(stored_status: str, expires_at: datetime, now: datetime) -> HoldState:
    """A hold's state: `expired` is read from the clock, never written."""
    if stored_status == HoldState.ACTIVE and expires_at <= now:
        return HoldState.EXPIRED
    return HoldState(stored_status)


# --- fields ------------------------------------------------------------------------------


def check_email(email: str | None, field: str = "email") -> str | None:
    if email is None:
        return None
    email = email.strip()
    refuse_controls(email, field)
    if not _EMAIL.match(email) or len(email) > 200:
        raise validation(f"Not an email address (name@example.com): {email!r}", field=field)
    return email


def check_phone(phone: str | None, field: str = "phone") -> str | None:
    if phone is None:
        return None
    phone = phone.strip()
    digits = sum(ch.isdigit() for ch in phone)
    if not _PHONE_CHARS.match(phone) or not 7 <= digits <= 15:
        raise validation(f"Not a phone number (7 to 15 digits; + ( ) - . / and spaces between): {phone!r}", field=field)
    return phone


def check_date_of_birth(text: str | None, today: date) -> date | None:
    if text is None:
        return None
    try:
        if not isinstance(text, str) or len(text) != 10:
            raise ValueError
        born = date.fromisoformat(text)
    except ValueError:
        raise validation(f"Use YYYY-MM-DD, e.g. 1980-04-02 (not {text!r})", field="date_of_birth") from None
    if born > today:
        raise validation(f"Date of birth is in the future ({text})", field="date_of_birth")
    if born.year < 1900:
        raise validation(f"Date of birth is before 1900 ({text})", field="date_of_birth")
    return born


def check_name(text: str | None, field: str) -> str:
    return check_text(text, field, max_len=100, required=True)


@dataclass(frozen=True)
class PatientDetails:
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    date_of_birth: date | None


def check_new_patient(
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    phone: str | None,
    date_of_birth: str | None,
    today: date,
) -> PatientDetails:
    """New patient details, cleaned, or VALIDATION_ERROR naming the first bad field."""
    return PatientDetails(
        first_name=check_name(first_name, "first_name"),
        last_name=check_name(last_name, "last_name"),
        email=check_email(email or None),
        phone=check_phone(phone or None),
        date_of_birth=check_date_of_birth(date_of_birth or None, today),
    )


def check_place(is_remote: bool, location_id: str | None) -> None:
    """A remote appointment happens nowhere in particular: a location with it is a contradiction."""
    if is_remote and location_id is not None:
        raise validation("A remote appointment has no location", location_id=location_id, is_remote=True)


def check_title(title: str | None) -> str:
    return check_text(title, "title", max_len=200, required=True)


# Notes and reasons may run over several lines; names and titles are one line.
NOTES_MAX = 4000
REASON_MAX = 1000


def check_description(text: str | None) -> str | None:
    return check_text(text, "description", max_len=NOTES_MAX, multiline=True, label="Notes (description)")


def check_attendee_name(text: str | None) -> str | None:
    return check_text(text, "attendee_name", max_len=200)


def check_episode_id(text: str | None) -> str | None:
    return check_text(text, "episode_id", max_len=100, label="Episode")


def check_cancellation_reason(text: str | None) -> str | None:
    return check_text(text, "reason", max_len=REASON_MAX, multiline=True, label="Cancellation reason")


def check_overlap_reason(text: str | None) -> str | None:
    """The reason an overlap is allowed: None means no overlap asked for; given, it must say something."""
    if text is None:
        return None
    return check_text(text, "allow_overlap_reason", max_len=REASON_MAX, required=True, multiline=True, label="Overlap reason")


def check_times(start: datetime | None, end: datetime | None) -> int:
    """Start and end of an appointment; returns its length in whole minutes."""
    if start is None or end is None:
        raise validation("start_time and end_time are required", field="start_time" if start is None else "end_time")
    if start.tzinfo is None or end.tzinfo is None:
        raise validation("start_time and end_time need a UTC offset")
    if end <= start:
        raise validation("end_time must be after start_time", start_time=iso(start), end_time=iso(end))
    return int((end - start) // timedelta(minutes=1))


# --- paging ------------------------------------------------------------------------------

MAX_LIMIT = 100


# The desk's day list reads a whole day at a site at once; the API's lists stop at MAX_LIMIT.
DAY_LIST_LIMIT = 500

# What every engine's OFFSET takes (PostgreSQL's INTEGER; SQLite's and BIGINT are wider).
MAX_OFFSET = 2**31 - 1


def check_paging(limit: int, offset: int, max_limit: int = MAX_LIMIT) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise validation(f"limit must be between 1 and {max_limit}", limit=limit)
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise validation(f"offset must be between 0 and {MAX_OFFSET}", offset=offset)


def page_bounds(rows_fetched: int, limit: int, offset: int) -> tuple[bool, int | None]:
    """(has_more, next_offset) from a read of `limit + 1` rows at `offset`."""
    has_more = rows_fetched > limit
    return has_more, (offset + limit if has_more else None)
