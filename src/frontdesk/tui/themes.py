"""Themes shipped as TOML files in themes/, and the user's remembered choice.

A theme file holds the fields of `textual.theme.Theme` (name, primary, ..., dark, and a
[variables] table). Users may add their own in `<config folder>/themes/`. Every theme, shipped
or added, must give the text the app draws WCAG 2 contrast against what it is drawn on
(`contrast_problems`); one that does not is not offered, and the app says why. The choice is
kept in the user's config folder as settings.json.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path

from textual.color import Color
from textual.theme import Theme

from frontdesk import paths

DEFAULT_THEME = "frontdesk-dark"
_THEME_FIELDS = {f.name for f in fields(Theme)}

# WCAG 2: 4.5:1 for text (AA); a theme named "...high-contrast" promises 7:1 (AAA).
MIN_CONTRAST = 4.5
HIGH_CONTRAST = 7.0
_DIM = 0.66  # how Textual draws "dim" text (cancelled rows): blended this far from the background

# The text the app draws, on what (theme variables; "X N%" is X at N% over the background).
DRAWN_PAIRS = [
    ("text", "background"), ("text", "surface"), ("text", "panel"),
    ("foreground", "background"), ("foreground", "surface"), ("foreground", "panel"),
    ("text-muted", "background"), ("text-muted", "surface"),  # hints, placeholders, page line
    ("dim text", "background"),  # cancelled and no-show rows
    ("primary", "background"), ("primary", "surface"),  # headings, titles
    ("accent", "surface"),  # help headings
    ("error", "background"), ("error", "surface"),  # "Required." and other field errors
    ("warning", "surface"),  # another desk's change (drawn reversed)
    ("footer-key-foreground", "footer-background"), ("footer-description-foreground", "footer-background"),
    ("block-cursor-foreground", "block-cursor-background"),  # the selected row
    ("input-cursor-foreground", "input-cursor-background"),
    ("text", "success 30%"), ("text", "warning"), ("text", "error"),  # the countdown
]


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


def contrast_ratio(first: Color, second: Color) -> float:
    """WCAG 2 contrast ratio of two opaque colours, from 1 to 21."""
    def luminance(color: Color) -> float:
        def linear(channel: int) -> float:
            c = channel / 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        return 0.2126 * linear(color.r) + 0.7152 * linear(color.g) + 0.0722 * linear(color.b)

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _resolve(value: str, variables: dict[str, str], under: Color) -> Color:
    """A theme variable's value as the opaque colour it makes over `under`."""
    value = variables.get(value, value)
    name, _, percent = value.partition(" ")
    alpha = float(percent.rstrip("%")) / 100 if percent else 1.0
    if name == "auto":  # Textual's "readable text on whatever is below"
        return under + under.get_contrast_text(alpha)
    color = _resolve(name, variables, under) if name in variables else Color.parse(name)
    return under + color.multiply_alpha(alpha)


def contrast_problems(theme: Theme) -> list[str]:
    """The pairs of DRAWN_PAIRS whose contrast is below the theme's promise, as sentences."""
    variables = theme.to_color_system().generate()
    needed = HIGH_CONTRAST if theme.name.endswith("high-contrast") else MIN_CONTRAST
    background = Color.parse(variables["background"])
    problems = []
    for text, below in DRAWN_PAIRS:
        ground = _resolve(below, variables, background)
        if text == "dim text":
            colour = ground.blend(_resolve("foreground", variables, ground), _DIM)
        else:
            colour = _resolve(text, variables, ground)
        ratio = contrast_ratio(colour, ground)
        if ratio < needed:
            problems.append(f"{text} on {below} is {ratio:.1f}:1, below {needed:g}:1")
    return problems


def user_themes_dir() -> Path:
    return paths.config_dir() / "themes"


def load_themes(*folders: Path) -> tuple[list[Theme], list[str]]:
    """Every theme file in the folders (the shipped ones and the user's own by default), and a
    message for each file that cannot be read or fails the contrast check."""
    themes: list[Theme] = []
    problems: list[str] = []
    for folder in folders or (paths.packaged_dir("themes"), user_themes_dir()):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                theme = theme_from_file(path)
            except ThemeFileError as error:
                problems.append(str(error))
                continue
            weak = contrast_problems(theme)
            if weak:
                problems.append(f"{path.name}: not used, too little contrast: {'; '.join(weak)}")
            else:
                themes.append(theme)
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
