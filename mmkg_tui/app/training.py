"""The training controller: validates the Train form's settings, runs the experiment
in a Textual thread worker and turns the engine's typed events into messages.

Cancelling is Textual's own: ``worker.cancel()`` sets ``worker.cancelled_event``,
which is the ``cancel`` event the engine polls (no private events on the app).
The handlers on the event loop (``TrainingDone`` etc.) update the session and the
Train view; the app only routes the messages here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.worker import Worker, get_current_worker

from engine import api
from mmkg_tui.app.messages import (
    TrainingCancelled,
    TrainingDone,
    TrainingFailed,
    TrainingLog,
    TrainingProgress,
)
from mmkg_tui.app.store import remember_run_dir
from mmkg_tui.present.progress import Coalescer, SnapshotBuilder

if TYPE_CHECKING:
    from mmkg_tui.app.app import MMKGApp
    from mmkg_tui.views.train import TrainView

PROGRESS_INTERVAL_S = 0.1  # at most ~10 progress messages a second


def parse_config(fields: dict[str, Any]) -> api.ExperimentConfig:
    """Form fields -> a validated ExperimentConfig (api.MMKGError / ValueError otherwise)."""
    try:
        config = api.ExperimentConfig.from_dict(fields)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    config.validate()
    return config


class TrainingController:
    """Owns the training worker of one app."""

    def __init__(self, app: MMKGApp) -> None:
        self.app = app
        self.worker: Worker | None = None

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.worker.is_finished

    def view(self) -> TrainView:
        from mmkg_tui.views.train import TrainView

        return self.app.screen_of_views().query_one(TrainView)

    def start(self, fields: dict[str, Any]) -> None:
        app = self.app
        if self.running:
            app.notify("Training is already running (esc cancels).", severity="warning")
            return
        try:
            config = parse_config(fields)
        except api.MMKGError as exc:
            self.view().write_log(f"invalid settings: {exc.format()}")
            app.notify(exc.format(), title="Invalid settings", severity="error")
            return
        except ValueError as exc:
            app.notify(str(exc), title="Invalid settings", severity="error")
            return
        view = self.view()
        view.set_running(True)
        view.write_log(f"training: {app.session.dataset.n_images:,} images, strategies "
                       f"{', '.join(config.strategies)}, {config.epochs} epochs, seed {config.seed}")
        self.worker = app.run_worker(lambda: self.work(config), thread=True, exclusive=True, group="train",
                                     exit_on_error=False, name="train")
        app.training = True

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel()
            self.view().write_log("cancelling...")

    # ------------------------------------------------------------ thread
    def work(self, config: api.ExperimentConfig) -> None:
        """Thread worker: iterate the experiment, post coalesced progress, save the run."""
        post = self.app.post_message
        cancel = get_current_worker().cancelled_event
        session = self.app.session
        builder, gate = SnapshotBuilder(), Coalescer(PROGRESS_INTERVAL_S)
        result = None
        try:
            for event in api.iter_experiment(session.dataset, session.features, config, cancel=cancel):
                if isinstance(event, api.ExperimentDone):
                    result = event.result
                    break
                force = builder.update(event)
                if isinstance(event, api.StageProgress) and force:
                    post(TrainingLog(f"{event.stage}: {event.message}" if event.message else event.stage))
                if gate.ready(force):
                    post(TrainingProgress(builder.copy()))
        except api.Cancelled:
            post(TrainingCancelled())
            return
        except api.MMKGError as exc:
            post(TrainingFailed(exc.format()))
            return
        if result is None:
            post(TrainingFailed("the experiment ended without a result"))
            return
        post(TrainingProgress(builder.copy()))
        self.save(result)

    def save(self, result: api.RunResult) -> None:
        try:
            run_dir = api.save_run(result, api.default_run_dir(self.app.session.dataset))
        except (api.MMKGError, OSError) as exc:
            text = exc.format() if isinstance(exc, api.MMKGError) else str(exc)
            self.app.post_message(TrainingDone(result, None, save_error=text))
            return
        remember_run_dir(run_dir)
        self.app.post_message(TrainingDone(result, str(run_dir)))

    # ------------------------------------------------------ event loop
    def progress(self, message: TrainingProgress) -> None:
        self.view().show_progress(message.snapshot)

    def log(self, message: TrainingLog) -> None:
        self.view().write_log(message.text)

    def done(self, message: TrainingDone) -> None:
        app = self.app
        app.training = False
        view = self.view()
        app.session.set_run(message.result, message.run_dir)
        if message.run_dir:
            view.write_log(f"saved the run to {message.run_dir}")
        else:
            view.write_log(f"the run could not be saved: {message.save_error}")
            app.notify(f"run not saved: {message.save_error}", severity="warning")
        view.finish("done: the new run is the current run (views 2, 3 and 5 follow it)", done=True)
        app.notify("Training done: the new run is now the current run.")

    def cancelled(self) -> None:
        self.app.training = False
        view = self.view()
        view.finish("cancelled: the previous run (if any) stays current", done=False)
        view.write_log("training cancelled")
        self.app.notify("Training cancelled.")

    def failed(self, text: str) -> None:
        self.app.training = False
        view = self.view()
        view.finish("failed (see the log)", done=False)
        view.write_log(f"error: {text}")
