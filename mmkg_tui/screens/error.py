"""A user-facing problem (engine.errors.MMKGError) explained, instead of a traceback."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static


class ErrorScreen(Screen):
    BINDINGS = [Binding("q,escape", "app.exit_app", "Quit", id="error.quit")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Center():
            with Vertical(id="error-box"):
                yield Static(Text(self.title_text, style="bold red"), id="error-title")
                yield Static(Text(self.text), id="error-text")
                yield Static(Text("Fix the path or the data and start mmkg-tui again. "
                                  "`mmkg-tui --help` lists the options; `mmkg-tui` alone opens the demo.",
                                  style="dim"), id="error-hint")
        yield Footer()
