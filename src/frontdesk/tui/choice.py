"""A choice among a few options: the one-line filter (`Choice`) and the list it opens
(`ChoiceModal`), which screens also open on their own (appointment type, location)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from frontdesk.tui import format as fmt


class ChoiceModal(ModalScreen[str | None]):
    """Pick one of a list (appointment type, location). Enter chooses, Escape backs out."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield OptionList(*[Option(Text(fmt.visible(label)), id=value) for label, value in self.choices], id="choices")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [value for _, value in self.choices]
        options.highlighted = ids.index(self.current) if self.current in ids else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_back(self) -> None:
        self.dismiss(None)


class Choice(Widget, can_focus=True):
    """One line showing the chosen option; Enter, Space, Down or a click opens the whole list
    (a ChoiceModal). Light where a Select is not: a Select mounts a hidden list of every option
    with it, and the home screen's two of them were a quarter of its first frame."""

    DEFAULT_CSS = """
    Choice {
        width: 1fr;
        height: 1;
        padding: 0 1 0 0;
        background: $surface;
        color: $foreground;
        pointer: pointer;
    }
    Choice:focus {
        background-tint: $foreground 10%;
        text-style: bold underline;  /* focus shows without colour too */
    }
    """

    BINDINGS = [Binding("enter,space,down", "open", "Choose", show=False)]

    class Changed(Message):
        """The user chose another option."""

        def __init__(self, choice: Choice, value: str) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(self, title: str, options: list[tuple[str, str]], value: str | None = None, **kwargs) -> None:
        """options: (label, value); value defaults to the first option's."""
        super().__init__(**kwargs)
        self.title = title
        self.options = options
        self.value = value if value is not None else options[0][1]

    def set_options(self, options: list[tuple[str, str]]) -> None:
        """New options; the value stays if it is still one of them, else becomes the first."""
        self.options = options
        if self.value not in {value for _, value in options}:
            self.value = options[0][1]
        self.refresh()

    def select(self, value: str) -> None:
        """Show this option (without posting Changed: the caller knows)."""
        self.value = value
        self.refresh()

    @property
    def label(self) -> str:
        return next((label for label, value in self.options if value == self.value), "")

    def render(self) -> Text:
        width = max(self.content_region.width - 2, 1)
        text = Text(fmt.visible(self.label), no_wrap=True, overflow="ellipsis")
        text.truncate(width, overflow="ellipsis", pad=True)
        text.append(" ▼", style="dim")
        return text

    def on_click(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        self.app.push_screen(ChoiceModal(self.title, self.options, self.value), self._chosen)

    def _chosen(self, value: str | None) -> None:
        if value is not None and value != self.value:
            self.select(value)
            self.post_message(self.Changed(self, value))
