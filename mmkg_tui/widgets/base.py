"""Shared behaviour of the views: follow the app's state (threshold, method, run)."""

from __future__ import annotations

from typing import Any

from textual.widget import Widget


class StateView(Widget):
    """A view that redraws when the app's threshold, method or run changes.

    Subclasses implement ``update_view(reason)`` with reason one of "data", "run",
    "method", "threshold"; it runs on the event loop and must stay cheap.
    """

    @property
    def session(self) -> Any:
        return self.app.session  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        self.watch(self.app, "run_serial", lambda: self.update_view("run"), init=False)
        self.watch(self.app, "method", lambda: self.update_view("method"), init=False)
        self.watch(self.app, "threshold", lambda: self.update_view("threshold"), init=False)
        self.update_view("data")

    def update_view(self, reason: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def no_run_hint(what: str) -> str:
    return (f"No run yet: {what} needs a trained run.\n\n"
            "Press [b]r[/b] to train with the settings of the Train view (key [b]4[/b]), "
            "or start the app with --run RUN_DIR.")


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
