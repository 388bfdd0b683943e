"""`?`: every key binding of the main screen and the app, grouped, with what it does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

EXTRA = (
    ("j / k", "move down / up in lists (also arrows, g / G for top / bottom)"),
    ("tab / shift+tab", "move between controls (in Train: shift+tab from Start edits the settings)"),
    ("enter", "apply the typed threshold / press a button"),
    ("ctrl+p", "command palette: every action by name"),
)


def bindings_table(bindings: list[Binding]) -> Table:
    t = Table(show_edge=False, pad_edge=False, expand=True)
    t.add_column("key", style="bold cyan", no_wrap=True)
    t.add_column("action")
    t.add_column("id", style="dim")
    for b in bindings:
        t.add_row(b.key_display or b.key, b.tooltip or b.description or b.action, b.id or "")
    for key, what in EXTRA:
        t.add_row(key, what, "")
    return t


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close")]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("[b]mmkg-tui keys[/b]   (esc closes)", id="help-title")
            yield Static(bindings_table(self.bindings), id="help-table")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
