"""Train: the settings form, Start / Cancel, a progress bar with ETA, the live loss
curve and a log. The training itself runs in the app's thread worker; this view only
shows the coalesced progress messages it receives."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, ProgressBar, RichLog, Static

from mmkg_tui.present.progress import Coalescer, TrainingSnapshot
from mmkg_tui.widgets.markerplot import StripPlot

LOSS_REDRAW_S = 0.4  # the loss curve is redrawn at most ~2.5 times a second while training

# (form field, config attribute, label)
FIELDS = (
    ("layers", "layers", "layers"),
    ("fanout", "fanout", "fan-out (per layer)"),
    ("hidden", "hidden", "hidden size"),
    ("epochs", "epochs", "epochs"),
    ("lr", "lr", "learning rate"),
    ("negatives", "negatives", "negatives Q"),
    ("seed", "seed", "seed"),
)


def format_value(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_form(values: dict[str, str], strategies: list[str], base: dict[str, Any]) -> dict[str, Any]:
    """Form strings -> ExperimentConfig fields; ValueError names the bad field."""
    out = dict(base)
    for name, attr, label in FIELDS:
        raw = values[name].strip()
        try:
            if attr == "fanout":
                out[attr] = tuple(int(x) for x in raw.replace(" ", "").split(",") if x)
            elif attr == "lr":
                out[attr] = float(raw)
            else:
                out[attr] = int(raw)
        except ValueError:
            raise ValueError(f"{label}: '{raw}' is not a valid number") from None
    out["strategies"] = tuple(strategies)
    return out


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = max(0, int(round(seconds)))
    m, s = divmod(seconds, 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m:02d}:{s:02d}"


class TrainView(Vertical):
    class StartRequested(Message):
        """The user asked to train with these ExperimentConfig fields."""

        def __init__(self, fields: dict[str, Any]) -> None:
            super().__init__()
            self.fields = fields

    class CancelRequested(Message):
        pass

    class FormInvalid(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    KEYS_HELP = (
        ("r", "start training with these settings (the result becomes the current run)"),
        ("esc", "cancel the running training"),
        ("tab / shift+tab", "between the settings; shift+tab from Start walks back through them"),
    )

    def __init__(self, defaults: dict[str, Any], **kwargs) -> None:
        super().__init__(**kwargs)
        self.defaults = defaults  # ExperimentConfig.to_dict() with the user's overrides
        self._losses: list[tuple[float, float]] = []  # the latest loss points received
        self.loss_gate = Coalescer(LOSS_REDRAW_S)  # the loss-curve redraw throttle (its clock is injectable)
        self._losses_drawn: list[tuple[float, float]] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with VerticalScroll(id="train-form"):
                for name, attr, label in FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(format_value(self.defaults.get(attr, "")), compact=True,
                                    id=f"cfg-{name}", classes="form-input")
                yield Label("reconnection strategies (how an unseen image joins the graph)", id="strategies-label")
                yield Vertical(id="train-strategies")
                with Horizontal(id="train-buttons"):
                    yield Button("Start (r)", id="train-start", variant="success", compact=True)
                    yield Button("Cancel (esc)", id="train-cancel", variant="error", compact=True, disabled=True)
            with Vertical(id="train-right"):
                yield Static("", id="train-run")
                yield Static("idle: set the options and press r (or Start)", id="train-status")
                yield ProgressBar(total=1.0, show_eta=False, id="train-progress")
                yield StripPlot(id="loss-plot")
                yield RichLog(id="train-log", max_lines=500, wrap=True, markup=False)

    def on_mount(self) -> None:
        self.query_one("#train-progress", ProgressBar).update(progress=0)
        self.app.state_changed.subscribe(self, self._state_changed, immediate=True)  # type: ignore[attr-defined]
        self._state_changed("data")

    def _state_changed(self, reason: str) -> None:
        if reason in ("run", "data"):
            self.show_run()
            if not self.query("#train-strategies Checkbox"):
                self.fill_strategies()
            if not self.query_one("#train-cancel", Button).disabled:
                return  # training: the live curve stays
            self._draw_losses(self.saved_losses())

    def fill_strategies(self) -> None:
        """One checkbox per strategy of the engine's registry, with its one-line
        explanation (they arrive with the graph, a second after start-up)."""
        box = self.query_one("#train-strategies", Vertical)
        strategies = getattr(self.app.session, "strategies", {}) or {}
        if not strategies:
            if not box.children:
                box.mount(Static("(loading the engine...)", classes="strategy-help"))
            return
        box.remove_children()
        chosen = set(self.defaults.get("strategies") or strategies)
        widgets = []
        for name, line in strategies.items():
            widgets += [Checkbox(name, name in chosen, compact=True, id=f"cfg-strategy-{name}"),
                        Static(line, classes="strategy-help")]
        box.mount_all(widgets)

    def show_run(self) -> None:
        """Which run is open: its folder, date and settings."""
        s = self.app.session
        static = self.query_one("#train-run", Static)
        if s is None or s.run is None:
            static.update("open run: none yet (train one with r)")
            return
        cfg = s.run.config
        where = s.run_dir or "not saved"
        static.update(f"open run: {str(s.run.created)[:19].replace('T', ' ')}  {where}\n"
                      f"  {cfg.epochs} epochs, hidden {cfg.hidden}, layers {cfg.layers}, lr {cfg.lr}, "
                      f"seeds {cfg.seeds}, strategies {', '.join(cfg.strategies)}")

    def saved_losses(self) -> list[tuple[float, float]]:
        """The mean loss per epoch of the run the app opened (a reopened run shows how it
        trained), as (epoch, loss) points; empty when there is no run."""
        session = getattr(self.app, "session", None)
        run = getattr(session, "run", None)
        history = getattr(run, "loss_history", None) or []
        return [(float(epoch), float(loss)) for epoch, loss in enumerate(history, start=1)]

    # -------------------------------------------------------------- form
    def form_fields(self) -> dict[str, Any]:
        values = {name: self.query_one(f"#cfg-{name}", Input).value for name, _, _ in FIELDS}
        strategies = [box.label.plain for box in self.query("#train-strategies Checkbox") if box.value]
        return parse_form(values, strategies, {})

    def request_start(self) -> None:
        if not self.query("#train-strategies Checkbox"):
            self.post_message(self.FormInvalid("the engine is still loading: try again in a second"))
            return
        try:
            fields = self.form_fields()
        except ValueError as exc:
            self.post_message(self.FormInvalid(str(exc)))
            return
        self.post_message(self.StartRequested(fields))

    @on(Button.Pressed, "#train-start")
    def _start(self) -> None:
        self.request_start()

    @on(Button.Pressed, "#train-cancel")
    def _cancel(self) -> None:
        self.post_message(self.CancelRequested())

    # ---------------------------------------------------------- progress
    def set_running(self, running: bool) -> None:
        self.query_one("#train-start", Button).disabled = running
        self.query_one("#train-cancel", Button).disabled = not running
        for inp in self.query(".form-input"):
            inp.disabled = running
        if running:
            self.query_one("#train-progress", ProgressBar).update(total=1.0, progress=0)
            self._draw_losses([])

    def show_progress(self, snap: TrainingSnapshot) -> None:
        self.query_one("#train-progress", ProgressBar).update(progress=snap.fraction)
        if snap.stage == "train":
            seed = f"seed {snap.seed_index + 1}/{snap.n_seeds}  " if snap.n_seeds > 1 else ""
            text = (f"{seed}epoch {snap.epoch}/{snap.epochs}  "
                    f"step {snap.step}/{snap.steps_per_epoch}  loss {snap.loss:.4f}  "
                    f"ETA {format_eta(snap.eta_s)}")
        else:
            text = f"{snap.stage}: {snap.message}" if snap.message else snap.stage
        self.query_one("#train-status", Static).update(text, layout=False)  # one line, fixed height
        self._losses = list(snap.losses)
        if self.loss_gate.ready():
            self._draw_losses(self._losses)

    def finish(self, text: str, done: bool) -> None:
        losses = self._losses
        self.set_running(False)
        self._draw_losses(losses)  # the whole curve, whatever the throttle skipped
        # done: full; cancelled or failed: empty (a full bar would read as finished)
        self.query_one("#train-progress", ProgressBar).update(progress=1.0 if done else 0.0)
        self.query_one("#train-status", Static).update(text)

    def write_log(self, text: str) -> None:
        self.query_one("#train-log", RichLog).write(text)

    def _draw_losses(self, points: list[tuple[float, float]]) -> None:
        """Redraw the loss curve (a plotext build, ~10-30 ms: throttled while training)."""
        self._losses = list(points)
        self.loss_gate.ready(force=True)  # a full draw restarts the throttle interval
        if self._losses_drawn == self._losses:
            return
        self._losses_drawn = list(self._losses)
        plot = self.query_one("#loss-plot", StripPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("training loss (first seed)")
        plt.xlabel("epoch")
        if points:
            xs, ys = zip(*points)
            plt.plot(list(xs), list(ys), marker="braille")
        plot.refresh()
