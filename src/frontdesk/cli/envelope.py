"""The JSON envelope of cli.md: plain objects in, one JSON document out."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import uuid
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import orjson

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.objects import ActionResult, AvailabilityResult, Page, SeriesBooked


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The fields of a dataclass, in order; None for any other type."""
    return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None


def _instant(value: datetime) -> str:
    # Z for UTC itself; a zone that happens to sit at +00:00 (London in winter) keeps its offset.
    if value.tzinfo is UTC or getattr(value.tzinfo, "key", None) in ("UTC", "Etc/UTC"):
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _meta() -> dict[str, Any]:
    return {"request_id": f"req_{uuid.uuid4().hex[:16]}"}


def success(result: Any) -> dict[str, Any]:
    """The envelope around a service's answer (its dataclasses are written by `dumps`)."""
    meta = _meta()
    if isinstance(result, Page):
        meta.update(limit=result.limit, next_offset=result.next_offset, has_more=result.has_more)
        if result.next_cursor is not None:  # lists that seek: the next page, read without skipping
            meta["next_cursor"] = result.next_cursor
        return {"data": result.items, "meta": meta}
    if isinstance(result, ActionResult):
        meta.update(action=result.action, performed_at=result.performed_at, performed_by=result.performed_by)
        if result.series is not None:  # what a scope other than `one` reached
            meta["series"] = result.series
        return {"data": result.appointment, "meta": meta}
    if isinstance(result, SeriesBooked):
        meta.update(appointment_ids=result.appointment_ids)
        return {"data": result.appointment, "meta": meta}
    if isinstance(result, AvailabilityResult):
        meta.update(timezone=result.timezone, count=len(result.slots))
        return {"data": result.slots, "days": result.days, "meta": meta}
    return {"data": result, "meta": meta}


def failure(error: FrontdeskError) -> dict[str, Any]:
    return {"data": None, "meta": _meta(), "error": error.to_dict()}


def answer_json(answer: Any) -> str:
    """A service's answer in its envelope, written. Availability asked in UTC holds UTC
    instants only, which orjson writes itself as `_instant` would (Z): a month of slots is
    tens of thousands of instants, each a call back into Python otherwise."""
    in_utc = isinstance(answer, AvailabilityResult) and answer.timezone == "UTC"
    return dumps(success(answer), instants_in_utc=in_utc)


def dumps(document: dict[str, Any], pretty: bool | None = None, *, instants_in_utc: bool = False) -> str:
    """One JSON document, written by orjson (dataclasses field by field, in order): indented
    for a person at a terminal, compact for a script. Text stays readable (no ASCII
    escaping), except what must not reach a terminal or cannot be printed. Instants go
    through `_instant` unless the caller knows every one is in UTC (`instants_in_utc`)."""
    if pretty is None:
        pretty = sys.stdout.isatty()
    instants = orjson.OPT_UTC_Z if instants_in_utc else orjson.OPT_PASSTHROUGH_DATETIME
    option = instants | (orjson.OPT_INDENT_2 if pretty else 0)
    try:
        text = orjson.dumps(document, default=_value, option=option).decode()
    except orjson.JSONEncodeError:  # a lone surrogate in stored text: the standard library writes it
        text = json.dumps(document, default=_value, ensure_ascii=False, indent=2 if pretty else None,
                          separators=None if pretty else (",", ":"))
    if text.isascii() and "\x7f" not in text:  # the usual document: nothing to escape
        return text
    return _UNPRINTABLE.sub(_escaped, text)


def _value(value: Any) -> Any:
    """What orjson hands back: instants as cli.md writes them, dates, and (for the fallback)
    dataclasses."""
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _field_names(type(value))
        assert names is not None  # a dataclass, checked above
        return {name: getattr(value, name) for name in names}
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# DEL and the C1 controls (a terminal acts on U+009B as on ESC [) and lone surrogates (no
# UTF-8 output can print them). json escapes the C0 controls itself; these it leaves raw.
# JSON's own syntax is printable ASCII, so any of them found in the text is inside a string,
# where \uXXXX means the same character.
_UNPRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04x}"
