"""What every supported engine can store, checked before a flush so SQLite and PostgreSQL
refuse the same values the same way: VALIDATION_ERROR naming the field, nothing written.

SQLite would store a 300-character name in a String(200), an integer of 2**40 or a NUL;
PostgreSQL refuses each with a DataError. One check here guards every write through the ORM
(command line, UI, clinic file), instead of a check at each entrance.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from frontdesk.domain.errors import validation

# PostgreSQL's INTEGER; SQLite's is 64 bits, as is a BigInteger on both.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def text_problem(value: str) -> str | None:
    """Why no engine stores this text as it stands, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid text (a lone surrogate)"
    return None


def value_problem(column_type: Any, value: Any) -> tuple[str, dict[str, Any]] | None:
    """Why a column of this type cannot hold the value on every engine, with details, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            return problem, {}
        length = getattr(column_type, "length", None)
        if isinstance(column_type, String) and length is not None and len(value) > length:
            return f"is longer than {length} characters", {"max_length": length}
    elif isinstance(value, int) and isinstance(column_type, Integer) and not isinstance(column_type, Boolean):
        low, high = (BIGINT_MIN, BIGINT_MAX) if isinstance(column_type, BigInteger) else (INTEGER_MIN, INTEGER_MAX)
        if not low <= value <= high:
            return f"is out of range ({low} to {high})", {"min": low, "max": high}
    elif isinstance(value, datetime) and value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            return "is outside the calendar once turned into UTC", {}
    return None


def check_values(session: Session, _flush_context: Any = None, _instances: Any = None) -> None:
    """Refuse the flush when any new or changed value cannot be stored on every engine."""
    for obj in (*session.new, *session.dirty):
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            if attr.key not in state.dict:  # not loaded, so not changed
                continue
            value = state.dict[attr.key]
            found = value_problem(attr.columns[0].type, value)
            if found:
                message, details = found
                raise validation(f"{attr.key} {message}", field=attr.key, **details)


def guard_writes(sessions: sessionmaker) -> None:
    event.listen(sessions, "before_flush", check_values)
