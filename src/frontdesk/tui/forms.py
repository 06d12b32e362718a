"""Field checks for the forms, written as messages shown beside the field.

The services check again and have the last word; these only spare the user a round trip.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from frontdesk.domain.text import refusal

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]+$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# Labels of the fields whose text the forms check, as the messages name them.
LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "attendee_name": "Attendee",
    "attendee_email": "Attendee email",
    "title": "Title",
    "description": "Notes",
    "reason": "Reason",
}


def check_text(value: str, field: str, *, multiline: bool = False) -> str | None:
    """The booking rule for text from people (domain.text): no control characters; newline
    only where `multiline`."""
    problem = refusal(value, multiline=multiline)
    return f"{LABELS.get(field, field)} {problem}." if problem else None


def check_email(value: str, field: str = "email") -> str | None:
    if not value:
        return None
    if not _EMAIL.match(value):
        return "Not an email address (name@example.com)."
    return check_text(value, field)


def check_phone(value: str) -> str | None:
    if not value:
        return None
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or digits < 6:
        return "Digits, spaces and + ( ) - only; at least 6 digits."
    return None


def check_date_of_birth(value: str, today: date) -> str | None:
    if not value:
        return None
    try:
        born = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        born = None
    if born is None:
        return "Use YYYY-MM-DD, e.g. 1980-04-02."
    if born > today:
        return "Date of birth is in the future."
    if born.year < today.year - 130:
        return "Date of birth is too far back."
    return None


def check_new_patient(values: dict[str, str], today: date) -> dict[str, str]:
    """Messages by field name for a new patient's details; empty when all is well."""
    problems: dict[str, str] = {}
    for name in ("first_name", "last_name"):
        value = values.get(name, "").strip()
        message = check_text(value, name) if value else "Required."
        if message:
            problems[name] = message
    for name, check in (("email", check_email), ("phone", check_phone)):
        message = check(values.get(name, "").strip())
        if message:
            problems[name] = message
    message = check_date_of_birth(values.get("date_of_birth", "").strip(), today)
    if message:
        problems["date_of_birth"] = message
    return problems


def parse_day(text: str, today: date) -> date | None:
    """A date typed by a person: YYYY-MM-DD, today, tomorrow, yesterday, +N / -N, or a weekday
    (the next one, today included)."""
    value = text.strip().lower()
    if not value:
        return None
    if value in ("today", "t"):
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    if value == "yesterday":
        return today - timedelta(days=1)
    if re.fullmatch(r"[+-]\d{1,3}", value):
        return today + timedelta(days=int(value))
    if value[:3] in _WEEKDAYS and len(value) >= 3:
        ahead = (_WEEKDAYS.index(value[:3]) - today.weekday()) % 7
        return today + timedelta(days=ahead)
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None
