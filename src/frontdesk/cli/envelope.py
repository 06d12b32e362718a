"""The JSON envelope of cli.md: plain objects in, one JSON document out."""

from __future__ import annotations

import dataclasses
import json
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import cache
from itertools import chain
from operator import attrgetter, is_
from typing import Any

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.objects import ActionResult, AvailabilityResult, Page, Slot


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


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
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out: Any = {}
            for name in _field_names(type(value)):
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


class _Written:
    """A JSON value already written as compact text, in pieces; dumps splices it in as it
    stands. (Pieces, so that megabytes of slots are copied once, into the document.)"""

    __slots__ = ("pieces",)

    def __init__(self, *pieces: str) -> None:
        self.pieces = pieces


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Texts(dict):
    """The JSON text of plain values (str, bool, None), each written once."""

    def __missing__(self, key: str | bool | None) -> str:
        text = self[key] = _compact(key)
        return text


_SLOT_FIELDS = ("start_time", "end_time", "clinician_id", "clinician_name", "location_id", "location_name",
                "is_remote", "resource_ids")


def _availability_json(result: AvailabilityResult) -> tuple[_Written, _Written]:
    """`data` and `days` of a result as text, fast enough for a month of thousands of slots.

    The day view, in order, is the flat list cut by date: each slot is written once, and
    `data` is the days joined. A slot is written from pieces written once each: an instant
    (the engine shares one datetime per instant; found by identity, as equal datetimes of a
    zone may differ in fold) and an id, name or flag.
    """
    in_order = chain.from_iterable(result.days.values())
    cut = sum(map(len, result.days.values())) == len(result.slots) and all(map(is_, in_order, result.slots))
    if not cut or _field_names(Slot) != _SLOT_FIELDS:  # the plain way (a new field: until taught here)
        return _Written(_compact(to_jsonable(result.slots))), _Written(_compact(to_jsonable(result.days)))
    value = _Texts().__getitem__
    moments = [*map(attrgetter("start_time"), result.slots), *map(attrgetter("end_time"), result.slots)]
    distinct = dict(zip(map(id, moments), moments))
    instant = {key: f'"{_instant(moment)}"' for key, moment in distinct.items()}  # ISO 8601 needs no escaping

    def write(slots: list[Slot]) -> str:
        return ",".join(
            f'{{"start_time":{instant[id(s.start_time)]},"end_time":{instant[id(s.end_time)]},'
            f'"clinician_id":{value(s.clinician_id)},"clinician_name":{value(s.clinician_name)},'
            f'"location_id":{value(s.location_id)},"location_name":{value(s.location_name)},'
            f'"is_remote":{value(s.is_remote)},"resource_ids":[{",".join(map(value, s.resource_ids))}]}}'
            for s in slots
        )

    days = {day: write(slots) for day, slots in result.days.items()}
    data = _separated((text,) for text in days.values() if text)
    day_view = _separated((f"{_compact(day)}:[", text, "]") for day, text in days.items())
    return _Written("[", *data, "]"), _Written("{", *day_view, "}")


def _separated(groups: Iterable[tuple[str, ...]]) -> list[str]:
    """Groups of pieces with a comma between groups, as pieces."""
    pieces: list[str] = []
    for group in groups:
        pieces.append(",")
        pieces += group
    return pieces[1:]


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
        data, days = _availability_json(result)
        return {"data": data, "days": days, "meta": meta}
    return {"data": convert(result), "meta": meta}


def failure(error: FrontdeskError) -> dict[str, Any]:
    return {"data": None, "meta": _meta(), "error": error.to_dict()}


def dumps(document: dict[str, Any]) -> str:
    """Indented for a person at a terminal; compact (and much faster) for a script."""
    if sys.stdout.isatty():
        return json.dumps(document, indent=2, ensure_ascii=False, default=_read_written)
    written: list[_Written] = []

    def mark(value: Any) -> str:
        if not isinstance(value, _Written):
            raise TypeError(f"{type(value).__name__} is not JSON serializable")
        written.append(value)
        return _MARK

    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=mark)
    if not written:
        return text
    parts = text.split(f'"{_MARK}"')  # the encoder calls `mark` in document order
    assert len(parts) == len(written) + 1
    pieces = [parts[0]]
    for value, part in zip(written, parts[1:]):
        pieces += value.pieces
        pieces.append(part)
    return "".join(pieces)


# A placeholder no value can spell by chance: random for each process.
_MARK = f"written-{uuid.uuid4().hex}"


def _read_written(value: Any) -> Any:
    if isinstance(value, _Written):
        return json.loads("".join(value.pieces))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
