"""The one-line bar above the views: dataset, method picker, threshold input and the
micro precision / recall / F1 of the current method at the threshold."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Select

from mmkg_tui.widgets.base import StateView, fmt, fmt_t, set_text


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
            yield Label("method", classes="caption")
            yield Select([], prompt="no run", compact=True, allow_blank=True, id="method-select")
            yield Label("threshold", classes="caption")
            yield Input("", compact=True, id="threshold-input", restrict=r"[-+0-9.]*", max_length=8)
            summary = Label("", id="threshold-summary")
            summary.tooltip = "micro precision / recall / F1 of the method on test images at the threshold"
            yield summary

    def update_view(self, reason: str) -> None:
        s = self.session
        name = s.dataset.name
        set_text(self.query_one("#dataset-name", Label), name if len(name) <= 36 else name[:35] + "…")
        select = self.query_one("#method-select", Select)
        with self.prevent(Select.Changed):
            if self._methods != s.methods:
                self._methods = list(s.methods)
                select.set_options([(m, m) for m in s.methods])
            if s.method and select.value != s.method:
                select.value = s.method
        inp = self.query_one("#threshold-input", Input)
        if not inp.has_focus:
            inp.value = fmt_t(s.threshold)
        summary = self.query_one("#threshold-summary", Label)
        if s.has_run:
            m = s.threshold_metrics()
            text = f"P {fmt(m['precision'])} R {fmt(m['recall'])} F1 {fmt(m['f1'])}"
            if not m.get("predicted", 1):
                text += " (none: b)"
            set_text(summary, text)
        else:
            set_text(summary, "no run yet: r trains")

    @on(Select.Changed, "#method-select")
    def _method(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.post_message(self.MethodPicked(str(event.value)))

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
