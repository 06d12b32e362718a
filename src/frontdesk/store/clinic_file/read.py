"""Reading a clinic file: TOML or JSON (by its ending) into plain data, the same for both.

A file that cannot be read, is not UTF-8, does not parse or nests too deeply is a
VALIDATION_ERROR naming its place; nothing here knows what the sections mean.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from frontdesk.store.clinic_file.fields import file_errors

# Deeper than any clinic file needs; deeper still would exhaust Python's stack.
MAX_DEPTH = 20
# A clinic file of a large practice is a few megabytes.
MAX_BYTES = 50_000_000


class TooDeep(Exception):
    pass


def _plain(value: Any, depth: int = 0) -> Any:
    """TOML's own dates and times as the strings the file format uses, so TOML equals JSON."""
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        raise TooDeep
    if isinstance(value, dict):
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat(timespec="minutes" if not value.second else "seconds")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M") if not value.second else value.isoformat()
    return value


def read_clinic_file(path: str | Path) -> dict[str, Any]:
    """The file's data, TOML or JSON by its ending; VALIDATION_ERROR naming the place if it
    cannot be read or does not parse."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise file_errors(source, [f"{source}: cannot tell the format from the ending {suffix or '(none)'!r}; use .toml or .json"])
    try:
        if path.stat().st_size > MAX_BYTES:
            raise file_errors(source, [f"{source}: is larger than {MAX_BYTES // 1_000_000} MB"])
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise file_errors(source, [f"{source}: byte {exc.start}: the file is not UTF-8 text"]) from None
    except OSError as exc:
        raise file_errors(source, [f"{source}: cannot be read ({exc.strerror or exc})"]) from None
    try:
        if suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise file_errors(source, [f"{source}: line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
        else:
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise file_errors(source, [f"{source}: {_toml_problem(exc)}"]) from None
        return _plain(data)
    except (RecursionError, TooDeep):
        raise file_errors(source, [f"{source}: lists or tables nest more than {MAX_DEPTH} deep"]) from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise file_errors(source, [f"{source}: {exc}"]) from None


def _toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    message = str(getattr(exc, "msg", "") or exc)
    lineno, colno = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found:
        message = message[: found.start()]
        lineno, colno = lineno or int(found.group(1)), colno or int(found.group(2))
    elif message.endswith("(at end of document)"):
        return "at the end of the file: " + message.removesuffix(" (at end of document)")
    if lineno:
        return f"line {lineno}, column {colno}: {message}"
    return message

