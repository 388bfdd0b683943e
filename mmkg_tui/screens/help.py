"""`?`: what a user can type, grouped: everywhere (the main screen and the app), then
view by view (each view's ``KEYS_HELP``), the reconnection strategies, and where the
config file lives. Keys as typed; no internal binding ids."""

from __future__ import annotations

import importlib

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mmkg_tui.screens.main import VIEWS, MainScreen

EVERYWHERE_EXTRA = (
    ("tab / shift+tab", "move between controls"),
    ("ctrl+p", "command palette: every action by name (also themes)"),
)
KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc"}


def key_text(binding: Binding) -> str:
    return binding.key_display or ", ".join(KEY_NAMES.get(k, k) for k in binding.key.split(","))


def group_table(title: str, rows: list[tuple[str, str]]) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", show_header=False,
              show_edge=False, pad_edge=False, expand=True, box=None)
    t.add_column("key", style="bold cyan", no_wrap=True, min_width=16)
    t.add_column("what")
    for key, what in rows:
        t.add_row(key, what)
    return t


def everywhere_rows(bindings: list[Binding]) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if b.id and b.id.startswith("view."):
            continue  # the views have their own group
        rows.append((key_text(b), b.tooltip or b.description))
    return rows + list(EVERYWHERE_EXTRA)


def view_help(target: str) -> tuple[tuple[str, str], ...]:
    """A view's own keys: its ``KEYS_HELP`` lines, then its bindings (by their tooltips)."""
    module, name = target.split(":")
    cls = getattr(importlib.import_module(module), name)
    rows = list(getattr(cls, "KEYS_HELP", ()))
    rows += [(key_text(b), b.tooltip or b.description) for b in getattr(cls, "BINDINGS", ())
             if isinstance(b, Binding) and b.show is not False and (b.tooltip or b.description)]
    return tuple(rows)


def help_renderable(app) -> Group:
    parts = [group_table("Everywhere", everywhere_rows(list(MainScreen.BINDINGS) + list(app.BINDINGS)))]
    for spec in VIEWS:
        rows = [(spec.key, f"show this view: {spec.summary}")] + list(view_help(spec.target))
        parts += [Text(""), group_table(f"{spec.key} {spec.title}", rows)]
    strategies = getattr(app.session, "strategies", None) or {}
    if strategies:
        parts += [Text(""), group_table("Reconnection strategies (how an unseen image joins the graph; "
                                        "sage_<strategy> in the method list)", list(strategies.items()))]
    path, exists = app.config_file()
    parts += [Text(""), Text.assemble(("Config file: ", "bold"), path,
                                      ("" if exists else "  (not created yet: theme, data, [keymap], [training])", "dim"))]
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close")]

    def __init__(self, app) -> None:
        super().__init__()
        self._source = app

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("[b]mmkg-tui keys[/b]   (esc closes)", id="help-title")
            yield Static(help_renderable(self._source), id="help-table")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
