"""The run browser's controller: lists the runs of the dataset (the runs folder plus
the folders the app has opened), shows the browser, and opens or compares the chosen
run, loading it in a thread worker so the event loop never waits on a file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import api
from mmkg_tui.app.store import AppState, remember_run_dir

if TYPE_CHECKING:
    from mmkg_tui.app.app import MMKGApp


class RunsController:
    def __init__(self, app: MMKGApp) -> None:
        self.app = app

    def browse(self) -> None:
        from mmkg_tui.screens.runs import RunBrowser

        s = self.app.session
        runs = api.list_runs(s.dataset, AppState.load().run_dirs)
        self.app.push_screen(RunBrowser(runs, s.run_dir, s.compare_dir), self.chosen)

    def chosen(self, choice) -> None:
        if choice is None:
            return
        if choice.action == "uncompare":
            self.app.session.set_compare(None, None)
            return
        self.open(choice.path, compare=choice.action == "compare")

    def open(self, path: str, compare: bool = False) -> None:
        self.app.run_worker(lambda: self._load(path, compare), thread=True, exclusive=True, group="open-run",
                            exit_on_error=False, name="open-run")

    def _load(self, path: str, compare: bool) -> None:
        """Thread worker: read the run folder; the session adopts it on the event loop."""
        try:
            run = api.load_run(path)
        except api.MMKGError as exc:
            self.app.call_from_thread(self.app.notify, exc.format(), title="Cannot open the run", severity="error")
            return
        remember_run_dir(path)
        self.app.call_from_thread(self.adopt, run, path, compare)

    def adopt(self, run: api.RunResult, path: str, compare: bool) -> None:
        app = self.app
        try:
            if compare:
                app.session.set_compare(run, path)
                app.notify(f"comparing with {path} (Evaluate, key 5)")
            else:
                app.session.set_run(run, path)
                app.notify(f"opened {path}")
        except api.MMKGError as exc:
            app.notify(exc.format(), title="Cannot open the run", severity="error")
