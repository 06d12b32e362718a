"""Driving the front-desk UI in tests: the app factory as tests use it, waiting for workers,
typing, and reading the screen through Textual's public API."""

from __future__ import annotations

import html
import re
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from textual.widgets import DataTable, OptionList

from frontdesk.services import holds
from frontdesk.services.objects import HoldRequest
from frontdesk.tui.app import FrontdeskApp, create_app
from frontdesk.tui.screens.slots import SlotPickerScreen

NOW = datetime(2025, 1, 20, 8, 0, tzinfo=UTC)  # Monday, 08:00 in London
MONDAY = date(2025, 1, 20)
FOLLOW_UP = "type_follow_up"


# A run of text in Rich's SVG: its x (12.2 px a cell) and its line.
_SVG_TEXT = re.compile(r'<text [^>]*\bx="([0-9.]+)"[^>]*line-(\d+)\)"[^>]*>([^<]*)</text>')
_CELL_WIDTH = 12.2


def make_app(ctx, **kwargs) -> FrontdeskApp:
    app = create_app(ctx, **kwargs)
    app.blink = False
    app.animation_level = "none"
    return app


async def settle(pilot) -> None:
    """Let thread workers finish and their messages land."""
    for _ in range(4):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, condition, tries: int = 100) -> None:
    """Pause until condition() holds: for Textual's own timers, which the fake clock does not drive."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the screen never showed what was awaited")


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)  # Pilot names each character's key itself


def screen_text(app) -> str:
    """The screen's text, line by line, read from its public picture (export_screenshot)."""
    width, height = app.size
    lines = [[" "] * width for _ in range(height)]
    for x, line, text in _SVG_TEXT.findall(app.export_screenshot()):
        column = round(float(x) / _CELL_WIDTH)
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ").rstrip("\n")):
            if int(line) < height and column + offset < width:
                lines[int(line)][column + offset] = char
    return "\n".join("".join(chars).rstrip() for chars in lines)


def notifications(app) -> list[str]:
    """The notifications showing now: each toast's title and message as drawn (an app run
    with `run_test(notifications=True)`, as `running` does)."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def row_texts(table: DataTable) -> list[str]:
    return [" | ".join(str(cell) for cell in table.get_row_at(index)) for index in range(table.row_count)]


def appointment_rows(table: DataTable) -> list[str]:
    """row_texts of the day list's appointments: without the line marking now (today's list)."""
    from frontdesk.tui.screens.flow_board import NOW_KEY

    return [text for key, text in zip(table.rows, row_texts(table)) if key.value != NOW_KEY]


async def choose(pilot, choice_id: str, wanted) -> None:
    """Tab to the Choice `choice_id`, open its list with Enter, then pick_option(wanted)."""
    app = pilot.app
    for _ in range(8):
        if app.focused is not None and app.focused.id == choice_id:
            break
        await pilot.press("tab")
    assert app.focused.id == choice_id
    await pilot.press("enter")
    await settle(pilot)
    await pick_option(pilot, wanted)


async def pick_option(pilot, wanted) -> None:
    """In the open list, arrow from the highlighted option to the one wanted(option) is true of, Enter."""
    options = pilot.app.screen.query_one(OptionList)
    index = next(n for n, option in enumerate(options.options) if wanted(option))
    steps = index - (options.highlighted or 0)
    await pilot.press(*["down" if steps > 0 else "up"] * abs(steps), "enter")
    await settle(pilot)


async def open_booking(pilot, type_id: str = FOLLOW_UP) -> SlotPickerScreen:
    """b, then arrows to the type, Enter: the slot picker for that type."""
    app = pilot.app
    await pilot.press("b")
    await settle(pilot)
    await pick_option(pilot, lambda option: option.id == type_id)
    assert isinstance(app.screen, SlotPickerScreen)
    return app.screen


async def hold_first_slot(pilot) -> None:
    """The follow-up's slot picker, then Enter on its first slot: the patient details screen."""
    await open_booking(pilot)
    await pilot.press("enter")
    await settle(pilot)


@asynccontextmanager
async def running(desk, size: tuple[int, int] = (100, 30)):
    """The desk's app at a fixed size, its first data loaded."""
    app = make_app(desk)
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(pilot)
        yield app, pilot


def hold_same_time(ctx, type_id: str, like):
    """A hold made through ctx for the time of `like`, a slot or a hold (same clinician, start, place)."""
    return holds.create_hold(
        ctx,
        HoldRequest(
            appointment_type_id=type_id,
            clinician_id=like.clinician_id,
            start=like.start_time,
            location_id=like.location_id,
            is_remote=like.is_remote,
        ),
    )


def first_slot_key(screen: SlotPickerScreen) -> str:
    table = screen.query_one("#slots", DataTable)
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


async def type_new_patient(pilot) -> None:
    """On the patient screen: a new patient, Zoe Quill, born 1990-02-03 (the cursor left in Born)."""
    await pilot.press("ctrl+n")
    await type_text(pilot, "Zoe")
    await pilot.press("tab")
    await type_text(pilot, "Quill")
    await pilot.press("tab")
    await type_text(pilot, "1990-02-03")
