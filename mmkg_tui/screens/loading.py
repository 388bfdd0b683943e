"""Shown while the load worker reads the dataset and computes features (the graph is
built later, behind the main screen). q quits at once."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, Static


class LoadingScreen(Screen):
    def compose(self) -> ComposeResult:
        with Middle():
            with Center():
                yield Static("mmkg-tui", id="loading-title")
            yield LoadingIndicator()
            with Center():
                yield Static("starting", id="loading-status")
        yield Footer()

    def set_status(self, text: str) -> None:
        self.query_one("#loading-status", Static).update(text)
