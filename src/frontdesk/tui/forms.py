"""Field checks for the forms, as messages shown beside the field.

The rules are the domain's (the services apply the same ones and have the last word); this
module only turns a refusal into the message, so the form and the service never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from frontdesk.domain import appointments as rules
from frontdesk.domain.errors import FrontdeskError
from frontdesk.domain.patients import DEFAULT_COUNTRY, parse_date_of_birth, parse_date_text, phone_e164
from frontdesk.domain.text import refusal
from frontdesk.domain.words import field_label

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")



def check_text(value: str, field: str, *, multiline: bool = False) -> str | None:
    """The booking rule for text from people (domain.text): no control characters; newline
    only where `multiline`."""
    problem = refusal(value, multiline=multiline)
    return f"{field_label(field)} {problem}." if problem else None


def _problem(check: Callable[..., object], *args: object) -> str | None:
    """The domain's own message for a value it refuses, else None."""
    try:
        check(*args)
    except FrontdeskError as error:
        return error.message
    return None


def check_email(value: str, field: str = "email") -> str | None:
    return _problem(rules.check_email, value, field) if value else None


def check_phone(value: str, country: str = DEFAULT_COUNTRY) -> str | None:
    return _problem(phone_e164, value, country) if value else None


def check_date_of_birth(value: str, today: date, order: str = "DMY") -> str | None:
    """The clinic's date order (and ISO) as the service reads it; an impossible date says so."""
    return _problem(parse_date_of_birth, value, order, today) if value else None


def check_new_patient(values: dict[str, str], today: date, order: str = "DMY", country: str = DEFAULT_COUNTRY) -> dict[str, str]:
    """Messages by field name for a new patient's details; empty when all is well."""
    problems: dict[str, str] = {}
    for name in ("first_name", "last_name"):
        value = values.get(name, "").strip()
        message = check_text(value, name) if value else "Required."
        if message:
            problems[name] = message
    for name, message in (("email", check_email(values.get("email", "").strip())),
                          ("phone", check_phone(values.get("phone", "").strip(), country))):
        if message:
            problems[name] = message
    message = check_date_of_birth(values.get("date_of_birth", "").strip(), today, order)
    if message:
        problems["date_of_birth"] = message
    return problems


def parse_day(text: str, today: date, order: str = "DMY") -> date | None:
    """A date typed by a person: YYYY-MM-DD, today, tomorrow, yesterday, +N / -N, a weekday
    (the next one, today included), or a date in the clinic's order with or without its year
    (31/12, 31 dec, 31/12/2025; without a year, this year's)."""
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
        return parse_date_text(value, order, today, default_year=today.year)
    except FrontdeskError:
        return None
