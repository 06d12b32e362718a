"""The JSON envelope of cli.md: plain objects in, one JSON document out."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.objects import ActionResult, AvailabilityResult, Page


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        # Z for UTC itself; a zone that happens to sit at +00:00 (London in winter) keeps its offset.
        if value.tzinfo is UTC or getattr(value.tzinfo, "key", None) in ("UTC", "Etc/UTC"):
            return value.isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def _meta() -> dict[str, Any]:
    return {"request_id": f"req_{uuid.uuid4().hex[:16]}"}


def success(result: Any) -> dict[str, Any]:
    meta = _meta()
    if isinstance(result, Page):
        meta.update(limit=result.limit, next_offset=result.next_offset, has_more=result.has_more)
        return {"data": to_jsonable(result.items), "meta": meta}
    if isinstance(result, ActionResult):
        meta.update(
            action=result.action,
            performed_at=to_jsonable(result.performed_at),
            performed_by=result.performed_by,
        )
        return {"data": to_jsonable(result.appointment), "meta": meta}
    if isinstance(result, AvailabilityResult):
        meta.update(timezone=result.timezone, count=len(result.slots))
        return {"data": to_jsonable(result.slots), "days": to_jsonable(result.days), "meta": meta}
    return {"data": to_jsonable(result), "meta": meta}


def failure(error: FrontdeskError) -> dict[str, Any]:
    return {"data": None, "meta": _meta(), "error": error.to_dict()}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)
