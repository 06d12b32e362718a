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

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.objects import ActionResult, AvailabilityResult, Page


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The fields of a dataclass, in order; None for any other type."""
    return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None


def _instant(value: datetime) -> str:
    # Z for UTC itself; a zone that happens to sit at +00:00 (London in winter) keeps its offset.
    if value.tzinfo is UTC or getattr(value.tzinfo, "key", None) in ("UTC", "Etc/UTC"):
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


_PLAIN = frozenset({str, bool, int, float})


class _Converter:
    """Turns plain objects into JSON values. An object met twice (a slot in both the flat
    list and the day view) is converted once and shared: a month of slots stays fast."""

    def __init__(self) -> None:
        self._seen: dict[int, Any] = {}

    def __call__(self, value: Any) -> Any:
        if value is None or type(value) in _PLAIN:
            return value
        key = id(value)
        if key in self._seen:
            return self._seen[key]
        fields = _field_names(type(value))
        if fields is not None:
            out: Any = {}
            for name in fields:
                item = getattr(value, name)
                out[name] = item if item is None or type(item) in _PLAIN else self(item)
        elif isinstance(value, datetime):
            out = _instant(value)
        elif isinstance(value, date):
            out = value.isoformat()
        elif isinstance(value, dict):
            out = {k: self(v) for k, v in value.items()}
        elif isinstance(value, list | tuple):
            out = [v if type(v) in _PLAIN else self(v) for v in value]
        else:
            out = value
        self._seen[key] = out
        return out


def to_jsonable(value: Any) -> Any:
    return _Converter()(value)


def _meta() -> dict[str, Any]:
    return {"request_id": f"req_{uuid.uuid4().hex[:16]}"}


def success(result: Any) -> dict[str, Any]:
    meta = _meta()
    convert = _Converter()
    if isinstance(result, Page):
        meta.update(limit=result.limit, next_offset=result.next_offset, has_more=result.has_more)
        return {"data": convert(result.items), "meta": meta}
    if isinstance(result, ActionResult):
        meta.update(
            action=result.action,
            performed_at=convert(result.performed_at),
            performed_by=result.performed_by,
        )
        return {"data": convert(result.appointment), "meta": meta}
    if isinstance(result, AvailabilityResult):
        meta.update(timezone=result.timezone, count=len(result.slots))
        # One converter for both: a slot in the flat list and in its day is converted once.
        return {"data": convert(result.slots), "days": convert(result.days), "meta": meta}
    return {"data": convert(result), "meta": meta}


def failure(error: FrontdeskError) -> dict[str, Any]:
    return {"data": None, "meta": _meta(), "error": error.to_dict()}


def dumps(document: dict[str, Any]) -> str:
    """Indented for a person at a terminal; compact for a script. Text stays readable
    (no ASCII escaping), except what must not reach a terminal or cannot be printed."""
    if sys.stdout.isatty():
        text = json.dumps(document, ensure_ascii=False, indent=2)
    else:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    if text.isascii() and "\x7f" not in text:  # the usual document: nothing to escape
        return text
    return _UNPRINTABLE.sub(_escaped, text)


# DEL and the C1 controls (a terminal acts on U+009B as on ESC [) and lone surrogates (no
# UTF-8 output can print them). json escapes the C0 controls itself; these it leaves raw.
# JSON's own syntax is printable ASCII, so any of them found in the text is inside a string,
# where \uXXXX means the same character.
_UNPRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04x}"
