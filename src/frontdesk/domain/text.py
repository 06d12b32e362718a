"""Text typed by people (names, titles, notes, reasons): one rule for every entrance.

A terminal acts on control characters instead of showing them: ESC starts a sequence that can
recolour the screen or retitle the window, CR and BS move the cursor over what is shown. So
such text is refused wherever it comes in (booking.md, "Integrity"): C0 controls other than
tab (and newline, in notes and reasons), DEL, C1 (U+0080-U+009F), and surrogate code points,
which are no character at all and cannot be stored as UTF-8.
"""

from __future__ import annotations

import re
from typing import Literal, overload

from frontdesk.domain.errors import validation

_C0_NAMES = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "TAB", "LF", "VT", "FF", "CR", "SO", "SI",
    "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
)
# Tab is allowed everywhere, newline only in text of several lines.
_REFUSED_ONE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_REFUSED_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def char_name(ch: str) -> str:
    """A refused character as a person can look it up: ESC, DEL, U+009B ..."""
    code = ord(ch)
    if code < 0x20:
        return _C0_NAMES[code]
    if code == 0x7F:
        return "DEL"
    return f"U+{code:04X}"


def refused_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of `text` that text from people may not hold, or None."""
    found = (_REFUSED_MULTILINE if multiline else _REFUSED_ONE_LINE).search(text)
    return found.group() if found else None


def _problem(ch: str) -> str:
    if "\ud800" <= ch <= "\udfff":
        return f"contains {char_name(ch)}, which is not a character; remove it"
    if ch == "\n":
        return "must be one line; remove the line break"
    return f"contains a control character ({char_name(ch)}); remove it"


def refusal(text: str, *, multiline: bool = False) -> str | None:
    """What is wrong with `text`, to follow the field's name ("contains a control character
    (ESC); remove it"), or None when it holds nothing refused."""
    ch = refused_character(text, multiline=multiline)
    return None if ch is None else _problem(ch)


def refuse_controls(text: str, field: str, *, multiline: bool = False, label: str | None = None) -> None:
    """VALIDATION_ERROR naming `field` when `text` holds a refused character."""
    ch = refused_character(text, multiline=multiline)
    if ch is not None:
        raise validation(f"{label or label_of(field)} {_problem(ch)}", field=field, character=char_name(ch))


def label_of(field: str) -> str:
    """`last_name` -> `Last name`: how a field reads in a message."""
    return field.replace("_", " ").capitalize()


@overload
def check_text(
    value: object,
    field: str,
    *,
    max_len: int,
    required: Literal[True],
    multiline: bool = False,
    label: str | None = None,
) -> str: ...


@overload
def check_text(
    value: object,
    field: str,
    *,
    max_len: int,
    required: bool = False,
    multiline: bool = False,
    label: str | None = None,
) -> str | None: ...


def check_text(
    value: object,
    field: str,
    *,
    max_len: int,
    required: bool = False,
    multiline: bool = False,
    label: str | None = None,
) -> str | None:
    """`value` trimmed; None when empty and not required. VALIDATION_ERROR naming `field` when
    it is not text, missing while required, longer than `max_len`, or holds a refused character."""
    label = label or label_of(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise validation(f"{label} must be text", field=field)
    value = value.strip()  # a stray newline at either end is harmless: trimmed, not refused
    refuse_controls(value, field, multiline=multiline, label=label)
    if not value:
        if required:
            raise validation(f"{label} is required", field=field)
        return None
    if len(value) > max_len:
        raise validation(f"{label} is longer than {max_len} characters", field=field, max_length=max_len)
    return value


def check_operator(name: object) -> str:
    """Who is at the terminal (`--operator`): recorded in every history entry, shown on screen."""
    return check_text(name, "operator", max_len=100, required=True)
