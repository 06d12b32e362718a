"""Themes are readable: every pair of text and ground the app draws meets WCAG 2 contrast,
the user's own themes are checked the same way, and focus and errors show without colour."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color
from tui_pilot import make_app, notifications, settle

from frontdesk import paths
from frontdesk.tui.choice import Choice
from frontdesk.tui.themes import HIGH_CONTRAST, contrast_problems, contrast_ratio, theme_from_file
from frontdesk.tui.widgets import FieldInput

SHIPPED = sorted((Path(__file__).parent.parent / "themes").glob("*.toml"))

# A theme as a user might write it: grey hints on black, as Textual's own placeholder draws them.
FAINT = """
name = "faint"
dark = true
primary = "#5f5f5f"
foreground = "#e4e4e4"
background = "#000000"
surface = "#000000"
panel = "#121212"
"""


def test_the_contrast_ratio_is_wcags():
    assert contrast_ratio(Color.parse("#000000"), Color.parse("#ffffff")) == pytest.approx(21)
    assert contrast_ratio(Color.parse("#767676"), Color.parse("#ffffff")) == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio(Color.parse("#123456"), Color.parse("#123456")) == pytest.approx(1)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_theme_meets_its_contrast(path):
    assert contrast_problems(theme_from_file(path)) == []


def test_a_faint_theme_is_caught_and_high_contrast_asks_more(tmp_path):
    faint = tmp_path / "faint.toml"
    faint.write_text(FAINT)
    problems = contrast_problems(theme_from_file(faint))
    assert any(p.startswith("primary on background") for p in problems)
    # The shipped dark theme passes 4.5:1 but would not pass as a high-contrast theme.
    dark = (tmp_path / "dark.toml")
    dark.write_text(SHIPPED[0].read_text().replace('name = "frontdesk-dark"', 'name = "my-high-contrast"'))
    assert all(f"below {HIGH_CONTRAST:g}:1" in p for p in contrast_problems(theme_from_file(dark)))
    assert contrast_problems(theme_from_file(dark))


async def test_a_users_own_theme_is_offered_and_a_faint_one_refused_with_why(desk):
    folder = paths.config_dir() / "themes"
    folder.mkdir(parents=True)
    (folder / "faint.toml").write_text(FAINT)
    (folder / "mine.toml").write_text(SHIPPED[0].read_text().replace('name = "frontdesk-dark"', 'name = "mine"'))
    app = make_app(desk, theme="faint")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        assert "mine" in app.available_themes and "faint" not in app.available_themes
        assert app.theme == "frontdesk-dark"
        said = " ".join(notifications(app))
        assert "faint.toml: not used, too little contrast: primary on background" in said


async def test_focus_and_the_typing_cursor_show_without_colour(desk, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        choice = app.screen.query_one("#clinician", Choice)
        choice.focus()
        await pilot.pause()
        assert choice.rich_style.underline and choice.rich_style.bold
        search = app.screen.query_one("#search", FieldInput)
        search.focus()
        await pilot.pause()
        assert search.get_component_rich_style("input--cursor").reverse
