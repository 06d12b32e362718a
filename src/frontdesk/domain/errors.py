"""Errors with the codes of booking.md. Every refusal is one of these; nothing else reaches a user."""

from __future__ import annotations

from typing import Any

VALIDATION_ERROR = "VALIDATION_ERROR"
NOT_FOUND = "NOT_FOUND"
DATE_RANGE_TOO_LARGE = "DATE_RANGE_TOO_LARGE"
SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
HOLD_EXPIRED = "HOLD_EXPIRED"
HOLD_NOT_ACTIVE = "HOLD_NOT_ACTIVE"
HOLD_ALREADY_EXTENDED = "HOLD_ALREADY_EXTENDED"  # a hold is extended once at most
INVALID_STATE_TRANSITION = "INVALID_STATE_TRANSITION"
IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
VERSION_CONFLICT = "VERSION_CONFLICT"
DATABASE_BUSY = "DATABASE_BUSY"  # another desk held the write lock past the one bounded wait
DATABASE_ERROR = "DATABASE_ERROR"  # the disk or the database failed (read-only, full, connection lost)
INTERNAL_ERROR = "INTERNAL_ERROR"  # a defect in frontdesk: said in a sentence, never a traceback

CODES = frozenset(
    {
        VALIDATION_ERROR,
        NOT_FOUND,
        DATE_RANGE_TOO_LARGE,
        SLOT_UNAVAILABLE,
        HOLD_EXPIRED,
        HOLD_NOT_ACTIVE,
        HOLD_ALREADY_EXTENDED,
        INVALID_STATE_TRANSITION,
        IDEMPOTENCY_CONFLICT,
        VERSION_CONFLICT,
        DATABASE_BUSY,
        DATABASE_ERROR,
        INTERNAL_ERROR,
    }
)


class FrontdeskError(Exception):
    """A refusal a user can read: a code, a plain message and details."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        assert code in CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


def validation(message: str, **details: Any) -> FrontdeskError:
    return FrontdeskError(VALIDATION_ERROR, message, details)


def not_found(kind: str, id_: str) -> FrontdeskError:
    return FrontdeskError(NOT_FOUND, f"No {kind} with id {id_!r}", {"kind": kind, "id": id_})
