"""The one-line bar above the views: dataset (and its problem count), method picker,
threshold input with the score scale, the micro precision / recall / F1 of the
current method at the threshold, the open run, and a background-status note while
the graph is built. Items drop from the right as the terminal narrows, except the
P/R/F1 summary, which stays."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Select

from mmkg_tui.widgets.base import StateView, fmt, fmt_t, set_text


def run_label(run, run_dir: str | None) -> str:
    """The open run in a few words: 'run 2026-12-01 19:40 (sage, 10 ep)'."""
    if run is None:
        return ""
    created = str(getattr(run, "created", "") or "")[:16].replace("T", " ")
    name = run_dir.rstrip("/").rsplit("/", 1)[-1] if run_dir else "unsaved"
    return f"run {created or name}"


class TopBar(StateView):
    class MethodPicked(Message):
        def __init__(self, method: str) -> None:
            super().__init__()
            self.method = method

    class ThresholdEntered(Message):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

    class ThresholdInvalid(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    _methods: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("", id="dataset-name")
            yield Label("", id="problem-count")
            yield Select([], prompt="no run", compact=True, allow_blank=True, id="method-select")
            yield Label("t", classes="caption")
            yield Input("", compact=True, id="threshold-input", restrict=r"[-+0-9.]*", max_length=8)
            yield Label("", id="score-scale")
            summary = Label("", id="threshold-summary")
            summary.tooltip = "micro precision / recall / F1 of the method on test images at the threshold"
            yield summary
            yield Label("", id="summary-hint")
            yield Label("", id="run-name")
            yield Label("", id="bg-status")

    def update_view(self, reason: str) -> None:
        s = self.session
        name = s.dataset.name
        set_text(self.query_one("#dataset-name", Label), name if len(name) <= 24 else name[:23] + "…")
        n_problems = len(s.dataset.problems)
        problems = self.query_one("#problem-count", Label)
        set_text(problems, f"⚠ {n_problems}" if n_problems else "")
        problems.display = bool(n_problems)
        problems.tooltip = f"{n_problems} dataset problem(s): listed in the Overview (key 1)" if n_problems else None
        self._update_methods()
        inp = self.query_one("#threshold-input", Input)
        if not inp.has_focus:
            inp.value = fmt_t(s.threshold)
        set_text(self.query_one("#score-scale", Label), s.score_scale)
        set_text(self.query_one("#threshold-summary", Label), self.summary_text())
        none = s.has_run and not s.threshold_metrics().get("predicted", 1)
        set_text(self.query_one("#summary-hint", Label), "(none predicted: b)" if none else "")
        set_text(self.query_one("#run-name", Label), run_label(s.run, s.run_dir))
        if reason == "data":
            self.set_status(getattr(self.app, "background_status", ""))

    def _update_methods(self) -> None:
        s = self.session
        select = self.query_one("#method-select", Select)
        with self.prevent(Select.Changed):
            if self._methods != s.methods:
                self._methods = list(s.methods)
                select.set_options([(m, m) for m in s.methods])
            if s.method and select.value != s.method:
                select.value = s.method

    def summary_text(self) -> str:
        s = self.session
        if not s.has_run:
            return "no run yet: r trains" if s.engine_ready else "loading..."
        m = s.threshold_metrics()
        text = f"P {fmt(m['precision'])} R {fmt(m['recall'])} F1 {fmt(m['f1'])}"
        return text

    def set_status(self, text: str) -> None:
        """Background work (the graph build) in a few words; "" hides it."""
        label = self.query_one("#bg-status", Label)
        set_text(label, text[:40])
        label.display = bool(text)

    @on(Select.Changed, "#method-select")
    def _method(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.post_message(self.MethodPicked(str(event.value)))

    @on(Input.Blurred, "#threshold-input")
    def _left(self, _event: Input.Blurred) -> None:
        """Leaving the field without applying shows the active threshold again."""
        self.query_one("#threshold-input", Input).value = fmt_t(self.session.threshold)

    @on(Input.Submitted, "#threshold-input")
    def _threshold(self, event: Input.Submitted) -> None:
        try:
            value = float(event.value)
        except ValueError:
            self.post_message(self.ThresholdInvalid(event.value))
            return
        self.post_message(self.ThresholdEntered(value))
        restore = getattr(self.screen, "restore_focus", None)
        if restore is not None:
            restore()
        else:
            self.app.set_focus(None)
