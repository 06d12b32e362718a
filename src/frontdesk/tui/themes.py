"""Themes shipped as TOML files in themes/, and the user's remembered choice.

A theme file holds the fields of `textual.theme.Theme` (name, primary, ..., dark, and a
[variables] table). The choice is kept in the user's config folder as settings.json.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path

from textual.theme import Theme

from frontdesk import paths

DEFAULT_THEME = "frontdesk-dark"
_THEME_FIELDS = {f.name for f in fields(Theme)}


class ThemeFileError(ValueError):
    """A theme file that cannot be read: says which file and why."""


def theme_from_file(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ThemeFileError(f"{path.name}: {error}") from None
    unknown = sorted(set(data) - _THEME_FIELDS)
    if unknown:
        raise ThemeFileError(f"{path.name}: unknown fields {', '.join(unknown)}")
    if "name" not in data or "primary" not in data:
        raise ThemeFileError(f"{path.name}: a theme needs at least 'name' and 'primary'")
    return Theme(**data)


def load_themes(folder: Path | None = None) -> tuple[list[Theme], list[str]]:
    """Every theme file in the folder (sorted by name), and messages for files that failed."""
    folder = folder or paths.packaged_dir("themes")
    themes: list[Theme] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        try:
            themes.append(theme_from_file(path))
        except ThemeFileError as error:
            problems.append(str(error))
    return themes, problems


def _settings_path() -> Path:
    return paths.config_dir() / "settings.json"


def read_settings() -> dict:
    try:
        value = json.loads(_settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def remember(**changes: object) -> None:
    """Merge the changes into settings.json; a read-only home folder is not an error."""
    settings = read_settings() | changes
    path = _settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    except OSError:
        pass
