"""Series (booking.md "Series"): the occurrences of an RRULE, held and booked as one.

A series starts at its first slot and recurs in that slot's local wall time (the
location's, or for a remote slot the clinician's), so a weekly 09:00 stays 09:00 across a
daylight-saving change. A wall time in the spring-forward gap moves forward by the gap and a
repeated one means its first occurrence, as for working hours (domain/timeutil.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from frontdesk.domain.blocks import _normalise, _parts, _usable_rule  # the same hostile-rule checks as blocks
from frontdesk.domain.errors import FrontdeskError, validation
from frontdesk.domain.timeutil import iso, naive_local_to_utc

MAX_OCCURRENCES = 52  # a year of weekly visits

# Cancel and text edits of a series occurrence reach: this one, this and later ones, or all.
SCOPE_ONE, SCOPE_FOLLOWING, SCOPE_ALL = "one", "following", "all"
SCOPES = (SCOPE_ONE, SCOPE_FOLLOWING, SCOPE_ALL)

# Why an occurrence cannot be held, in words a desk understands.
TAKEN = "taken"  # another appointment or hold
BLOCKED = "blocked"  # time off, lunch, a meeting
OUTSIDE_HOURS = "outside working hours"
IN_THE_PAST = "in the past"
TOO_SOON = "too soon (the type's notice)"
NO_ROOM = "no room free"


@dataclass(frozen=True)
class Occurrence:
    index: int  # 0 for the first
    start: datetime  # UTC
    end: datetime

    def as_json(self) -> dict:
        return {"index": self.index, "start_time": iso(self.start), "end_time": iso(self.end)}


def check_rule(text: object) -> str:
    """The rule as given (without an "RRULE:" prefix), or VALIDATION_ERROR with field
    `rrule`: not one RFC 5545 rule, or neither COUNT nor UNTIL (a series must end)."""
    if not isinstance(text, str) or not text.strip():
        raise validation("A series needs an RRULE, e.g. FREQ=WEEKLY;COUNT=10", field="rrule")
    rule = _normalise(text)
    try:
        parts = _parts(rule)
    except FrontdeskError as error:
        raise _bad(rule, error.message) from None
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise _bad(rule, f"RRULE {rule!r} has neither COUNT nor UNTIL: a series must end "
                         f"(at most {MAX_OCCURRENCES} occurrences)")
    return rule


def _bad(rule: str, message: str) -> FrontdeskError:
    return validation(message, field="rrule", rrule=rule)


def expand(rule: str, first_start: datetime, duration: timedelta, tz: ZoneInfo,
           gap: timedelta = timedelta(0)) -> list[Occurrence]:
    """Every occurrence of `rule` from the first slot's start (an instant), in `tz`'s wall
    time, each lasting `duration`. VALIDATION_ERROR (field `rrule`) when the rule is not
    usable, does not fall on the first slot, has more than MAX_OCCURRENCES occurrences, or
    its occurrences come closer than `gap` (the type's padding) to one another: one series
    may not stand in its own way."""
    rule = check_rule(rule)
    wall = first_start.astimezone(tz).replace(tzinfo=None)
    try:
        parsed = _usable_rule(rule, wall, tz.key)
        locals_ = list(islice(parsed, MAX_OCCURRENCES + 1))
    except FrontdeskError as error:
        raise _bad(rule, error.message.replace("for a block", "for a series")) from None
    except (ValueError, OverflowError) as exc:
        raise _bad(rule, f"RRULE {rule!r} cannot be expanded: {exc}") from None
    if len(locals_) > MAX_OCCURRENCES:
        raise _bad(rule, f"RRULE {rule!r} has more than {MAX_OCCURRENCES} occurrences; a series holds at most {MAX_OCCURRENCES}")
    if not locals_ or locals_[0] != wall:
        raise _bad(rule, f"RRULE {rule!r} does not fall on the first slot ({wall.isoformat(timespec='minutes')} local); "
                         "choose a rule whose first occurrence is that slot")
    out: list[Occurrence] = []
    for index, local in enumerate(locals_):
        start = naive_local_to_utc(local, tz)
        if out and start < out[-1].end + gap:
            raise _bad(rule, f"RRULE {rule!r} repeats before each visit ends (occurrence {index} starts "
                             f"at {iso(start)}, during occurrence {index - 1})")
        out.append(Occurrence(index, start, start + duration))
    return out


def check_scope(scope: str | None, in_series: bool) -> str:
    """`one` (the default), `following` or `all`; the last two only for an occurrence of a series."""
    scope = SCOPE_ONE if scope is None else scope
    if scope not in SCOPES:
        raise validation(f"{scope!r} is not a scope; use one of {', '.join(SCOPES)}", field="scope")
    if scope != SCOPE_ONE and not in_series:
        raise validation(f"Scope {scope!r} is for an appointment of a series; this one is not in a series",
                         field="scope")
    return scope


def in_scope(scope: str, named_index: int | None, index: int | None) -> bool:
    """Whether the occurrence at `index` is reached from the one at `named_index`."""
    if scope == SCOPE_ALL:
        return True
    if scope == SCOPE_FOLLOWING:
        return index is not None and named_index is not None and index >= named_index
    return index == named_index
