"""The Textual app. `create_app(...)` builds it for the CLI and for tests.

State lives in a :class:`~mmkg_tui.session.Session`; the app mirrors the parts the
views follow as reactives (``threshold``, ``method``, ``run_serial``). Slow work runs in
thread workers (loading, training) that post messages back; one handler
(``on_worker_state_changed``) routes any unexpected worker failure to a notification
and the log, and the app keeps running.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.worker import Worker, WorkerState

from engine import api
from mmkg_tui.app.messages import (
    LoadFailed,
    LoadStatus,
    SessionReady,
    TrainingCancelled,
    TrainingDone,
    TrainingFailed,
    TrainingLog,
    TrainingProgress,
)
from mmkg_tui.app.state import (
    LoadRequest,
    Session,
    clamp_threshold,
    default_config,
    open_session,
)
from mmkg_tui.present.progress import Coalescer, SnapshotBuilder
from mmkg_tui.screens.confirm import ConfirmScreen
from mmkg_tui.screens.error import ErrorScreen
from mmkg_tui.screens.help import HelpScreen
from mmkg_tui.screens.loading import LoadingScreen
from mmkg_tui.screens.main import MainScreen
from mmkg_tui.views.train import TrainView
from mmkg_tui.widgets.palette import MMKGCommands
from mmkg_tui.widgets.topbar import TopBar

PROGRESS_INTERVAL_S = 0.1  # at most ~10 progress messages a second


def freeze_heap() -> None:
    """Move every object alive now to the collector's permanent generation.

    The app's heap is large and long-lived (libraries, the dataset, the run: 300k-500k
    objects) and a full (generation 2) collection walks all of it: 150-250 ms with the
    GIL held, on whichever thread triggers it -- while training that froze the event
    loop. Frozen objects are still freed by reference counting; only reference cycles
    among them that become garbage later are kept (a few widgets per recompose)."""
    gc.freeze()


class MMKGApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "mmkg-tui"
    COMMANDS = App.COMMANDS | {MMKGCommands}
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?", id="app.help", tooltip="This help"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit (asks first while training runs)"),
    ]

    threshold: reactive[float] = reactive(0.7, always_update=True)
    method: reactive[str] = reactive("")
    run_serial: reactive[int] = reactive(0)
    training: reactive[bool] = reactive(False, bindings=True)

    def __init__(self, request: LoadRequest, *, threshold: float | None = None,
                 train_defaults: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.request = request
        self.initial_threshold = threshold
        self.train_overrides = train_defaults or {}
        self.session: Session | None = None
        self.main_screen: MainScreen | None = None
        self._cancel_training: threading.Event | None = None
        self._cancel_load = threading.Event()
        self.view_errors: list[str] = []  # view update failures (shown as notifications)

    # ------------------------------------------------------------ loading
    def on_mount(self) -> None:
        self.push_screen(LoadingScreen())
        self.load_session()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, name="load")
    def load_session(self) -> None:
        gate = Coalescer(PROGRESS_INTERVAL_S)
        last = [""]

        def say(text: str) -> None:  # stage changes always pass, counters at most ~10/s
            stage = text.split(" ")[0]
            if gate.ready(force=stage != last[0]):
                self.post_message(LoadStatus(text))
            last[0] = stage

        try:
            session = open_session(self.request, say=say, cancel=self._cancel_load,
                                   threshold=self.initial_threshold)
        except api.Cancelled:
            return
        except api.MMKGError as exc:
            self.post_message(LoadFailed(exc.format()))
            return
        self.post_message(SessionReady(session))

    def on_load_status(self, message: LoadStatus) -> None:
        if isinstance(self.screen, LoadingScreen):
            self.screen.set_status(message.text)

    def on_load_failed(self, message: LoadFailed) -> None:
        self.switch_screen(ErrorScreen("Cannot open the data", message.text))

    def on_session_ready(self, message: SessionReady) -> None:
        self.session = message.session
        self.set_reactive(MMKGApp.threshold, message.session.threshold)
        self.set_reactive(MMKGApp.method, message.session.method or "")
        self.main_screen = MainScreen(self.train_form_defaults())
        self.switch_screen(self.main_screen)
        for note in message.session.notes:
            self.notify(note, timeout=4)
        # warm_up starts after the main screen's first frame (MainScreen.on_mount): its
        # imports hold the GIL and would otherwise delay that frame by ~1 s on a cold start

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False, name="warm-up")
    def warm_up(self) -> None:
        """Import what training needs while the app is idle (engine.api.warm_up: torch,
        DGL, scikit-learn's metrics and torch._dynamo froze the event loop for 200-300 ms
        each when first imported by the training worker), then freeze the long-lived
        heap (see freeze_heap)."""
        if self._cancel_load.is_set():
            return
        api.warm_up()
        freeze_heap()

    def train_form_defaults(self) -> dict[str, Any] | None:
        cfg = default_config()
        if cfg is None:
            return None
        return {**cfg.to_dict(), **self.train_overrides}

    # -------------------------------------------------------------- state
    def validate_threshold(self, value: float) -> float:
        return clamp_threshold(value)

    def watch_threshold(self, value: float) -> None:
        if self.session is not None:
            self.session.set_threshold(value)

    def watch_method(self, value: str) -> None:
        if self.session is not None and value and value != self.session.method:
            self.session.set_method(value)

    def set_method(self, method: str) -> None:
        if self.session is not None and method in self.session.methods:
            self.session.set_method(method)
            self.method = method

    def cycle_method(self, step: int = 1) -> None:
        methods = self.session.methods if self.session else []
        if not methods:
            self.notify("No run yet: press r to train.", severity="warning")
            return
        i = methods.index(self.method) if self.method in methods else -1
        self.set_method(methods[(i + step) % len(methods)])

    def set_run(self, run: Any, run_dir: str | None) -> None:
        self.session.set_run(run, run_dir)
        self.run_serial += 1
        self.method = self.session.method

    @on(TopBar.MethodPicked)
    def _method_picked(self, message: TopBar.MethodPicked) -> None:
        self.set_method(message.method)

    @on(TopBar.ThresholdEntered)
    def _threshold_entered(self, message: TopBar.ThresholdEntered) -> None:
        if not -1.0 <= message.value <= 1.0:
            self.notify(f"threshold {message.value} clamped to [-1, 1]", severity="warning")
        self.threshold = message.value

    @on(TopBar.ThresholdInvalid)
    def _threshold_invalid(self, message: TopBar.ThresholdInvalid) -> None:
        self.notify(f"'{message.text}' is not a number: type a threshold in [-1, 1]", severity="error")

    # ----------------------------------------------------------- training
    @on(TrainView.StartRequested)
    def _start_requested(self, message: TrainView.StartRequested) -> None:
        if self.training:
            self.notify("Training is already running (esc cancels).", severity="warning")
            return
        try:
            config = api.ExperimentConfig.from_dict(message.fields)
            config.validate()
        except api.MMKGError as exc:
            self._train_view().write_log(f"invalid settings: {exc.format()}")
            self.notify(exc.format(), title="Invalid settings", severity="error")
            return
        except (TypeError, ValueError) as exc:
            self.notify(str(exc), title="Invalid settings", severity="error")
            return
        self.start_training(config)

    @on(TrainView.FormInvalid)
    def _form_invalid(self, message: TrainView.FormInvalid) -> None:
        self.notify(message.text, title="Invalid settings", severity="error")

    @on(TrainView.CancelRequested)
    def _cancel_requested(self) -> None:
        self.cancel_training()

    def start_training(self, config: Any) -> None:
        self._cancel_training = threading.Event()
        self.training = True
        view = self._train_view()
        view.set_running(True)
        view.write_log(f"training: {self.session.dataset.n_images:,} images, strategies "
                       f"{', '.join(config.strategies)}, {config.epochs} epochs, seed {config.seed}")
        self.run_training(config, self._cancel_training)

    def cancel_training(self) -> None:
        if self._cancel_training is not None and self.training:
            self._cancel_training.set()
            self._train_view().write_log("cancelling...")

    @work(thread=True, exclusive=True, group="train", exit_on_error=False, name="train")
    def run_training(self, config: Any, cancel: threading.Event) -> None:
        """Thread worker: iterate the experiment, post coalesced progress, save the run."""
        session = self.session
        builder, gate = SnapshotBuilder(), Coalescer(PROGRESS_INTERVAL_S)
        result = None
        try:
            for event in api.iter_experiment(session.dataset, session.features, config, cancel=cancel):
                if hasattr(event, "result"):
                    result = event.result
                    break
                force = builder.update(event)
                if hasattr(event, "stage") and force:
                    message = getattr(event, "message", "")
                    self.post_message(TrainingLog(f"{event.stage}: {message}" if message else event.stage))
                if gate.ready(force):
                    self.post_message(TrainingProgress(builder.copy()))
        except api.Cancelled:
            self.post_message(TrainingCancelled())
            return
        except api.MMKGError as exc:
            self.post_message(TrainingFailed(exc.format()))
            return
        if result is None:
            self.post_message(TrainingFailed("the experiment ended without a result"))
            return
        self.post_message(TrainingProgress(builder.copy()))
        try:
            run_dir = api.save_run(result, api.default_run_dir(session.dataset))
        except (api.MMKGError, OSError) as exc:
            text = exc.format() if isinstance(exc, api.MMKGError) else str(exc)
            self.post_message(TrainingDone(result, None, save_error=text))
            return
        self.post_message(TrainingDone(result, str(run_dir)))

    def on_training_progress(self, message: TrainingProgress) -> None:
        self._train_view().show_progress(message.snapshot)

    def on_training_log(self, message: TrainingLog) -> None:
        self._train_view().write_log(message.text)

    def on_training_done(self, message: TrainingDone) -> None:
        self.training = False
        view = self._train_view()
        self.set_run(message.result, message.run_dir)
        freeze_heap()
        if message.run_dir:
            view.write_log(f"saved the run to {message.run_dir}")
        else:
            view.write_log(f"the run could not be saved: {message.save_error}")
            self.notify(f"run not saved: {message.save_error}", severity="warning")
        view.finish("done: the new run is the current run (views 2, 3 and 5 follow it)", done=True)
        self.notify("Training done: the new run is now the current run.")

    def on_training_cancelled(self, _message: TrainingCancelled) -> None:
        self.training = False
        self._train_view().finish("cancelled: the previous run (if any) stays current", done=False)
        self._train_view().write_log("training cancelled")
        self.notify("Training cancelled.")

    def on_training_failed(self, message: TrainingFailed) -> None:
        self.training = False
        self._train_view().finish("failed (see the log)", done=False)
        self._train_view().write_log(f"error: {message.text}")
        self.notify(message.text, title="Training failed", severity="error")

    def _train_view(self) -> TrainView:
        return self.main_screen.query_one(TrainView)

    # ------------------------------------------------------ worker errors
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place unexpected worker failures land: notify, log, keep running."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        text = f"{type(error).__name__}: {error}"
        self.log.error(f"worker {event.worker.name!r} failed: {text}")
        if event.worker.group == "load":
            self.switch_screen(ErrorScreen("Loading failed unexpectedly", text))
            return
        if event.worker.group == "train":
            self.training = False
            if self.main_screen is not None:
                self._train_view().finish("failed (see the log)", done=False)
                self._train_view().write_log(f"error: {text}")
        self.notify(text, title=f"{event.worker.name or 'worker'} failed", severity="error", timeout=10)

    # ------------------------------------------------------------ actions
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        bindings = list(self.main_screen.BINDINGS if self.main_screen else []) + list(self.BINDINGS)
        self.push_screen(HelpScreen(bindings))

    async def action_quit(self) -> None:
        if not self.training:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.cancel_training()
                self.exit()

        self.push_screen(ConfirmScreen("Training is running. Cancel it and quit?"), answer)

    def action_exit_app(self) -> None:
        """Leave from the error screen: exit status 2, like the CLI's user errors."""
        self.exit(return_code=2)

    def on_unmount(self) -> None:
        self._cancel_load.set()
        if self._cancel_training is not None:
            self._cancel_training.set()


def create_app(data: str | Path | None = None, *, run_dir: str | Path | None = None, dataset: Any = None,
               run: Any = None, reopen_last: bool = True, threshold: float | None = None,
               train_defaults: dict[str, Any] | None = None, embeddings: str | Path | None = None,
               strict: bool = False, clip_model: str | None = None,
               clip_pretrained: str | None = None) -> MMKGApp:
    """Build the app. ``data``/``run_dir`` are paths (CLI); ``dataset``/``run`` are objects
    already in memory (tests). ``train_defaults`` overrides the Train form's defaults;
    the other options are the CLI's data options (see ``mmkg-tui --help``)."""
    request = LoadRequest(data=None if data is None else str(data),
                          run_dir=None if run_dir is None else str(run_dir),
                          dataset=dataset, run=run, reopen_last=reopen_last,
                          embeddings=None if embeddings is None else str(embeddings), strict=strict,
                          clip_model=clip_model, clip_pretrained=clip_pretrained)
    return MMKGApp(request, threshold=threshold, train_defaults=train_defaults)
