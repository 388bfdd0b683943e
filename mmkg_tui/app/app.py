"""The Textual app, thin: it opens the session (two workers' phases, app/loading.py),
shows the main screen as soon as the dataset is loaded, routes training messages to
the controller (app/training.py) and forwards the session's changes to the views.

The :class:`~mmkg_tui.app.state.Session` owns the threshold, the method and the
current run; ``app.threshold`` / ``app.method`` read and write it (nothing is
mirrored). Every change is published on ``app.state_changed`` (a Textual Signal the
views subscribe to) with its reason. One handler (``on_worker_state_changed``)
routes any unexpected worker failure to a notification and the log.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.signal import Signal
from textual.worker import Worker, WorkerState, get_current_worker

from engine import api
from mmkg_tui.app import messages as msg
from mmkg_tui.app.idle import freeze_heap
from mmkg_tui.app.loading import LoadRequest, attach_engine, open_dataset
from mmkg_tui.app.settings import UserSettings, config_path
from mmkg_tui.app.state import Session
from mmkg_tui.app.store import AppState, Place, remember_place, remember_theme
from mmkg_tui.app.runs import RunsController
from mmkg_tui.app.training import TrainingController
from mmkg_tui.present.progress import Coalescer
from mmkg_tui.screens.confirm import ConfirmScreen
from mmkg_tui.screens.error import ErrorScreen
from mmkg_tui.screens.help import HelpScreen
from mmkg_tui.screens.loading import LoadingScreen
from mmkg_tui.screens.main import MainScreen
from mmkg_tui.widgets.palette import MMKGCommands
from mmkg_tui.widgets.topbar import TopBar

# Textual's animations (the tab underline slides for 0.3 s on every view switch: ~18 extra
# frames, 80 ms of CPU per switch here) are off unless TEXTUAL_ANIMATIONS asks for them
DEFAULT_ANIMATION_LEVEL = "none"
PROGRESS_INTERVAL_S = 0.1  # loading status: at most ~10 messages a second
MAIN_SHOWN_WAIT_S = 5.0  # the graph build waits at most this long for the main screen's first frame


class MMKGApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "mmkg-tui"
    COMMANDS = App.COMMANDS | {MMKGCommands}
    BINDINGS = [
        Binding("question_mark", "help", "help", key_display="?", id="app.help", tooltip="This help"),
        Binding("q", "quit", "quit", id="app.quit", tooltip="Quit (asks first while training runs)"),
    ]

    # responsive classes on the screen: -narrow (80 columns), -normal, -wide (200); -short / -tall
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (170, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (50, "-tall")]

    training: reactive[bool] = reactive(False, bindings=True)

    def __init__(self, request: LoadRequest, *, threshold: float | None = None,
                 train_defaults: dict[str, Any] | None = None, settings: UserSettings | None = None,
                 prebuild: bool = True) -> None:
        super().__init__()
        self.prebuild = prebuild  # build the hidden views in quiet moments once the engine is ready
        self.request = request
        self.settings = settings or UserSettings()
        self.initial_threshold = threshold
        self.train_overrides = {**self.settings.training, **(train_defaults or {})}
        self.session: Session | None = None
        self.main_screen: MainScreen | None = None
        self.controller = TrainingController(self)
        self.runs = RunsController(self)
        self.state_changed: Signal[str] = Signal(self, "state-changed")
        self.view_errors: list[str] = []  # view update failures (shown as notifications)
        self._busy_threads: set[str] = set()  # "load" / "warm-up" while their thread works
        self.main_shown = threading.Event()  # set after the main screen's first frame
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = DEFAULT_ANIMATION_LEVEL

    last_input_at: float = 0.0  # time.monotonic() of the last key or mouse event from the terminal

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            self.last_input_at = time.monotonic()
        await super().on_event(event)

    # -------------------------------------------------------------- state
    @property
    def threshold(self) -> float:
        return self.session.threshold if self.session is not None else 0.7

    @threshold.setter
    def threshold(self, value: float) -> None:
        if self.session is not None:
            self.session.set_threshold(value)

    @property
    def method(self) -> str:
        return (self.session.method or "") if self.session is not None else ""

    def set_method(self, method: str) -> None:
        if self.session is not None and method in self.session.methods:
            self.session.set_method(method)

    def cycle_method(self, step: int = 1) -> None:
        if self.session is None or self.session.cycle_method(step) is None:
            self.notify("No run yet: press r to train.", severity="warning")

    def _session_changed(self, reason: str) -> None:
        self.state_changed.publish(reason)
        self.refresh_bindings()

    # ------------------------------------------------------------ loading
    def on_mount(self) -> None:
        theme = AppState.load().theme or self.settings.theme
        if theme and theme in self.available_themes:
            self.theme = theme
        self.push_screen(LoadingScreen())
        self.load_session()

    def watch_theme(self, theme: str) -> None:
        if self.session is not None:  # picked by the user (the palette), not at start-up
            remember_theme(theme)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, name="load")
    def load_session(self) -> None:
        """Phase 1 (dataset, features), then phase 2 (graph, last run) in the same worker."""
        self._busy_threads.add("load")
        try:
            self._load(get_current_worker().cancelled_event)
        finally:
            self._busy_threads.discard("load")

    def _load(self, cancel) -> None:
        gate, last = Coalescer(PROGRESS_INTERVAL_S), [""]

        def say(text: str) -> None:  # stage changes always pass, counters at most ~10/s
            stage = text.split(" ")[0]
            if gate.ready(force=stage != last[0]):
                self.post_message(msg.LoadStatus(text))
            last[0] = stage

        try:
            session = open_dataset(self.request, say=say, cancel=cancel, threshold=self.initial_threshold)
            self.post_message(msg.SessionReady(session))
            # torch's import holds the GIL for seconds: let the main screen's first frame out first
            self.main_shown.wait(MAIN_SHOWN_WAIT_S)
            staged = Session(session.dataset, session.features, threshold=session.threshold)
            attach_engine(staged, reopen_last=self.request.reopen_last and session.run is None, say=say)
        except api.Cancelled:
            return
        except api.MMKGError as exc:
            self.post_message(msg.LoadFailed(exc.format()))
            return
        if not cancel.is_set():
            self.post_message(msg.EngineReady(staged))

    def on_load_status(self, message: msg.LoadStatus) -> None:
        if self.closing():
            return
        if isinstance(self.screen, LoadingScreen):
            self.screen.set_status(message.text)
        else:
            self.set_background_status(message.text)

    def set_background_status(self, text: str) -> None:
        self.background_status = text
        for bar in self.main_screen.query(TopBar) if self.main_screen is not None else ():
            bar.set_status(text)

    background_status: str = ""

    def on_load_failed(self, message: msg.LoadFailed) -> None:
        self.switch_screen(ErrorScreen("Cannot open the data", message.text))

    def closing(self) -> bool:
        """True once the app has taken its screens down: messages from the load thread
        that land then (q pressed as a phase ended) are dropped."""
        return not self.screen_stack

    def on_session_ready(self, message: msg.SessionReady) -> None:
        if self.closing():
            return
        session = self.session = message.session
        self.restore_place(session)
        session.listeners.append(self._session_changed)
        self.main_screen = MainScreen(self.train_form_defaults(), initial=self.initial_view)
        self.switch_screen(self.main_screen)

    def on_engine_ready(self, message: msg.EngineReady) -> None:
        """The graph (built in the worker on a scratch session) joins the live one."""
        if self.closing():
            return
        staged, session = message.session, self.session
        session.notes.extend(staged.notes)
        if staged.run is not None and session.run is None:
            session.set_run(staged.run, staged.run_dir)
            self.restore_place(session, threshold_too=self.initial_threshold is None)
        session.set_graph(staged.kg, staged.summary, staged.strategies)
        self.set_background_status("")
        for note in session.notes:
            self.notify(note, timeout=4)
        self.warm_up()

    initial_view: str = "overview"

    def restore_place(self, session: Session, *, threshold_too: bool = True) -> None:
        """The threshold, method and view the user left this dataset with."""
        place = AppState.load().places.get(api.dataset_fingerprint(session.dataset))
        if place is None:
            return
        if place.view:
            self.initial_view = place.view
        if place.threshold is not None and threshold_too and self.initial_threshold is None:
            session.set_threshold(place.threshold)
        if place.method and place.method in session.methods:
            session.set_method(place.method)

    def remember_place(self) -> None:
        s = self.session
        if s is None or self.main_screen is None:
            return
        remember_place(api.dataset_fingerprint(s.dataset),
                       Place(threshold=s.threshold, method=s.method, view=self.main_screen.current_view))

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False, name="warm-up")
    def warm_up(self) -> None:
        """Import what training needs while the app is idle (api.warm_up), then freeze
        the long-lived heap (see freeze_heap)."""
        if get_current_worker().is_cancelled:
            return
        self._busy_threads.add("warm-up")
        try:
            import mmkg_tui.views.train  # noqa: F401  (plotext: not at start-up, not when r is pressed)

            api.warm_up()
            freeze_heap()
        finally:
            self._busy_threads.discard("warm-up")
        if self.prebuild and not get_current_worker().is_cancelled:
            self.call_from_thread(self._prebuild)

    def _prebuild(self) -> None:
        if self.main_screen is not None and self.main_screen.is_attached:
            self.main_screen.prebuild_views(done=freeze_heap)  # the views join the frozen heap

    def train_form_defaults(self) -> dict[str, Any]:
        return {**api.ExperimentConfig().to_dict(), **self.train_overrides}

    def config_file(self) -> tuple[str, bool]:
        """The config file's path (shown in help) and whether it exists."""
        path = Path(self.settings.path) if self.settings.path else config_path()
        return str(path), path.is_file()

    def screen_of_views(self) -> MainScreen:
        return self.main_screen

    # ---------------------------------------------------------- top bar
    @on(TopBar.MethodPicked)
    def _method_picked(self, message: TopBar.MethodPicked) -> None:
        self.set_method(message.method)

    @on(TopBar.ThresholdEntered)
    def _threshold_entered(self, message: TopBar.ThresholdEntered) -> None:
        applied = self.session.set_threshold(message.value)
        if not -1.0 <= message.value <= 1.0:
            self.notify(f"threshold {message.value} clamped to {applied}", severity="warning")

    @on(TopBar.ThresholdInvalid)
    def _threshold_invalid(self, message: TopBar.ThresholdInvalid) -> None:
        self.notify(f"'{message.text}' is not a number: type a threshold in [-1, 1]", severity="error")

    # ----------------------------------------------------------- training
    # TrainView's messages, by handler name: importing the view (plotext) waits for its first visit
    def on_train_view_start_requested(self, message) -> None:
        self.controller.start(message.fields)

    def on_train_view_form_invalid(self, message) -> None:
        self.notify(message.text, title="Invalid settings", severity="error")

    def on_train_view_cancel_requested(self, _message) -> None:
        self.cancel_training()

    def cancel_training(self) -> None:
        self.controller.cancel()

    def on_training_progress(self, message: msg.TrainingProgress) -> None:
        self.controller.progress(message)

    def on_training_log(self, message: msg.TrainingLog) -> None:
        self.controller.log(message)

    def on_training_done(self, message: msg.TrainingDone) -> None:
        self.controller.done(message)
        freeze_heap()

    def on_training_cancelled(self, _message: msg.TrainingCancelled) -> None:
        self.controller.cancelled()

    def on_training_failed(self, message: msg.TrainingFailed) -> None:
        self.controller.failed(message.text)
        self.notify(message.text, title="Training failed", severity="error")

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
        if event.worker.group == "train" and self.main_screen is not None:
            self.controller.failed(text)
        self.notify(text, title=f"{event.worker.name or 'worker'} failed", severity="error", timeout=10)

    def get_system_commands(self, screen):
        """Textual's commands less its Quit (the palette lists ours, which asks while training)."""
        for command in super().get_system_commands(screen):
            if command.title.lower() != "quit":
                yield command

    async def search_images(self, query: str) -> None:
        """Show the Images view searching ``query`` (palette filters)."""
        await self.main_screen.action_show_view("images")
        self.main_screen.query_one("#images-view").set_query(query)

    # --------------------------------------------------------------- runs
    def browse_runs(self) -> None:
        self.runs.browse()

    def open_run(self, path: str, compare: bool = False) -> None:
        self.runs.open(path, compare=compare)

    # ------------------------------------------------------------ actions
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self))

    async def action_quit(self) -> None:
        if not self.training:
            self.leave()
            return
        if isinstance(self.screen, ConfirmScreen):
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.cancel_training()
                self.leave()

        self.push_screen(ConfirmScreen("Training is running. Cancel it and quit?"), answer)

    def leave(self, return_code: int = 0) -> None:
        self.remember_place()
        self.workers.cancel_all()  # the load worker's cancel event stops it at its next check
        self.exit(return_code=return_code)

    def background_busy(self) -> bool:
        """True while the load or warm-up thread is still inside its work (after exit,
        the launcher leaves without waiting for a torch import to finish)."""
        return bool(self._busy_threads)

    def action_exit_app(self) -> None:
        """Leave from the error screen: exit status 2, like the CLI's user errors."""
        self.exit(return_code=2)


def create_app(data: str | Path | None = None, *, run_dir: str | Path | None = None, dataset: Any = None,
               run: Any = None, reopen_last: bool = True, threshold: float | None = None,
               train_defaults: dict[str, Any] | None = None, embeddings: str | Path | None = None,
               strict: bool = False, clip_model: str | None = None, clip_pretrained: str | None = None,
               settings: UserSettings | None = None, corrections: str | Path | None = None,
               prebuild: bool = True) -> MMKGApp:
    """Build the app. ``data``/``run_dir`` are paths (CLI); ``dataset``/``run`` are objects
    already in memory (tests). ``train_defaults`` overrides the Train form's defaults;
    ``prebuild`` False keeps every hidden view unbuilt until first shown (tests that
    time a step or a snapshot); the other options are the CLI's data options (see
    ``mmkg-tui --help``)."""
    request = LoadRequest(data=None if data is None else str(data),
                          run_dir=None if run_dir is None else str(run_dir),
                          dataset=dataset, run=run, reopen_last=reopen_last,
                          embeddings=None if embeddings is None else str(embeddings), strict=strict,
                          clip_model=clip_model, clip_pretrained=clip_pretrained,
                          corrections=None if corrections is None else str(corrections))
    return MMKGApp(request, threshold=threshold, train_defaults=train_defaults, settings=settings, prebuild=prebuild)
