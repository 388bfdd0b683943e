"""Shared behaviour of the views: follow the session's state (threshold, method, run,
and the graph once built), published by the app on ``app.state_changed``."""

from __future__ import annotations

from typing import Any

from textual.visual import visualize
from textual.widget import Widget


class StateView(Widget):
    """A view that redraws when the app's threshold, method or run changes.

    Subclasses implement ``update_view(reason)`` with reason one of "data", "run",
    "method", "threshold"; it runs on the event loop and must stay cheap.
    """

    @property
    def session(self) -> Any:  # mmkg_tui.app.state.Session (a layer above)
        return self.app.session  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        # the session tells the app, the app publishes the reason on this signal
        self.app.state_changed.subscribe(self, self.safe_update, immediate=True)  # type: ignore[attr-defined]
        self.safe_update("data")

    _pending: str | None = None
    ORDER = ("threshold", "method", "run", "data")  # a later reason includes the earlier ones

    def is_shown(self) -> bool:
        """False while the view sits in an inactive tab (its pane is not displayed)."""
        node = self
        while node is not None and node is not self.screen:
            if not node.display:
                return False
            node = node.parent
        return True

    def flush(self) -> None:
        """Apply the update deferred while the view was hidden (called when it is shown)."""
        if self._pending is not None:
            reason, self._pending = self._pending, None
            self.safe_update(reason)

    def safe_update(self, reason: str) -> None:
        """update_view now if the view is visible, else once when it is shown; a bug in
        one view is reported (notification + app.view_errors), not fatal to the app."""
        if reason != "data" and not self.is_shown():
            if self._pending is None or self.ORDER.index(reason) > self.ORDER.index(self._pending):
                self._pending = reason
            return
        self._pending = None
        try:
            self.update_view(reason)
        except Exception as exc:  # noqa: BLE001 - shown to the user and recorded
            text = f"{type(self).__name__} could not update ({reason}): {type(exc).__name__}: {exc}"
            self.log.error(text)
            self.app.view_errors.append(text)  # type: ignore[attr-defined]
            self.app.notify(text, severity="error", timeout=8)

    def update_view(self, reason: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def no_run_hint(what: str, loading: bool = False) -> str:
    if loading:
        return f"Loading the graph and the last run of this dataset: {what} follows in a moment..."
    return (f"No run yet: {what} needs a trained run.\n\n"
            "Press [b]r[/b] to train with the settings of the Train view (key [b]4[/b]), "
            "or start the app with --run RUN_DIR.")


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def fmt_t(threshold: float) -> str:
    """A threshold as the user typed or stepped it: 0.70, 0.355, 0.1763."""
    for digits in (2, 3):
        if round(threshold, digits) == threshold:
            return f"{threshold:.{digits}f}"
    return f"{threshold:.4f}"


def set_text(widget: Any, content: Any) -> None:
    """``Static.update`` without a layout pass when the widget keeps its size: a string
    of the same length (a threshold or a metric changing digits), or new text that
    wraps to as many lines in a widget whose width comes from its container (a
    heading naming the next keyword). Only the widget is redrawn then."""
    old = widget.content
    if isinstance(content, str) and isinstance(old, str) and old == content:
        return
    widget.update(content, layout=not _same_size(widget, old, content))


def _same_size(widget: Any, old: Any, new: Any) -> bool:
    if isinstance(new, str) and isinstance(old, str) and len(old) == len(new):
        return True
    width, rule = widget.content_size.width, widget.styles.width
    if width <= 0 or (rule is not None and rule.is_auto):  # never laid out, or sized by its content
        return False
    return widget.visual.get_height(widget.styles, width) == visualize(widget, new).get_height(widget.styles, width)
