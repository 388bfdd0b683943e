"""Stage 6: the Textual app.

* launch: a real process (``python -m mmkg_tui`` on the bundled demo) in a tmux
  pseudo-terminal, timed to its first byte on screen and to the first full main
  screen (the Overview counts), next to a bare Textual app launched the same way;
* view switch and list movement: a key event (posted as the terminal driver posts it)
  until the view shows the change and the next frame is drawn (headless
  ``App.run_test``), first visit of each view (it is built then) and later, next to a
  bare Textual app (two tabs of a 2,000-row DataTable) through the same harness;
* threshold change: ``app.threshold`` stepped as the ']' key does, until the views
  have updated and the screen has been refreshed (``call_after_refresh``), on the demo
  and on a 10,000-image run; reference = the engine's counting metrics the views need
  (threshold_metrics + per_keyword_metrics on the run's test rows), timed alternately;
* event-loop stall: while training runs in the app's thread worker, a coroutine in
  the app's event loop sleeps 20 ms at a time and records how late it wakes up.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from benchmarks.context import Context
from benchmarks.harness import Row, check_max, unavailable

SIZE = (120, 40)
SMALL_RUN = {"hidden": 32, "out_dim": 32, "epochs": 1, "strategies": ("self",)}


def _imports():
    from engine import api
    from mmkg_tui.app.app import create_app
    from mmkg_tui.screens.main import MainScreen

    return api, create_app, MainScreen


async def _until(pred, timeout: float = 120.0, step: float = 0.002) -> None:
    t0 = time.perf_counter()
    while not pred():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the app did not reach the expected state")
        await asyncio.sleep(step)


TMUX_SOCKET = "mmkg-bench"  # a private tmux server, never the user's
BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare textual app ready")
Bare().run()
"""


def _pty_launch(command: str, ready_text: str, env: dict[str, str], timeout: float = 120.0) -> tuple[float, float]:
    """(first byte, first full screen) seconds of ``command`` in a 120x40 tmux pane,
    polling the pane every ~5 ms; the pane is killed afterwards."""
    import shutil
    import subprocess

    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed (apt-get install -y tmux)")
    tmux = ["tmux", "-L", TMUX_SOCKET]
    name = f"launch-{time.monotonic_ns()}"
    env_args = " ".join(f"{k}={v}" for k, v in env.items())
    t0 = time.perf_counter()
    subprocess.run(tmux + ["new-session", "-d", "-s", name, "-x", "120", "-y", "40",
                           f"env {env_args} {command}; sleep 60"], check=True)
    first = None
    try:
        while time.perf_counter() - t0 < timeout:
            text = subprocess.run(tmux + ["capture-pane", "-p", "-t", name], capture_output=True,
                                  text=True).stdout
            now = time.perf_counter() - t0
            if first is None and text.strip():
                first = now
            if ready_text in text:
                return first or now, now
            time.sleep(0.005)
        raise TimeoutError(f"{command!r} did not show {ready_text!r}")
    finally:
        subprocess.run(tmux + ["kill-session", "-t", name], capture_output=True)


def _process_launch_rows(ctx: Context, reps: int) -> list[Row]:
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = ctx.subdir("app-bare") / "bare.py"
    script.write_text(BARE_APP)
    env = {"PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "MMKG_TUI_HOME": str(ctx.subdir("app-home-pty"))}
    import subprocess

    ours, bare = [], []
    keeper = ["tmux", "-L", TMUX_SOCKET]  # one idle session keeps the tmux server up between launches
    subprocess.run(keeper + ["new-session", "-d", "-s", "keeper", "sleep 3600"], check=True)
    try:
        for _ in range(reps):
            ours.append(_pty_launch(f"{sys.executable} -m mmkg_tui", "3,000", env))  # Overview: image count
            bare.append(_pty_launch(f"{sys.executable} {script}", "bare textual app ready", env))
    finally:
        subprocess.run(keeper + ["kill-server"], capture_output=True)
    rows = []
    for i, what in ((0, "first byte on screen"), (1, "first full screen")):
        a, b = statistics.median(x[i] for x in ours), statistics.median(x[i] for x in bare)
        row = Row("app", f"launch, {what}: real process in a tmux pty, bundled demo", ours=a, reference=b,
                  ratio=a / b, note="ref = a bare Textual app launched the same way; full screen = the Overview "
                                    "counts (graph still building behind it)",
                  extra={"ours_samples": [x[i] for x in ours], "reference_samples": [x[i] for x in bare]})
        rows.append(check_max(row, 1.5))  # the main screen usable in under 1.5 s (issue 12)
    return rows


async def _key_latency(app, key: str, changed) -> float:
    """One key event, posted to the app as the terminal driver posts it, until
    ``changed()`` holds and the screen has been refreshed after that (the next frame,
    ``call_after_refresh``). Not ``Pilot.press``: it waits for the process to look idle
    (two ``wait_for_idle`` rounds of at least 20 ms each), so it timed its own sleeps:
    a bare DataTable's j read 66 ms through it."""
    from textual import events

    t0 = time.perf_counter()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    await _until(changed, timeout=30, step=0.0005)
    done = asyncio.Event()
    app.call_after_refresh(done.set)
    await asyncio.wait_for(done.wait(), 30)
    return time.perf_counter() - t0


def _content_of(widget):
    return widget.content


def _state_of(widget):
    """A Static's content object, or a table's cursor row."""
    return widget.cursor_row if hasattr(widget, "cursor_row") else id(widget.content)


async def _first_visits(dataset, run) -> list[float]:
    """First visits of views 2-5 right after start-up, with the views not prebuilt
    (``prebuild=False``: a key pressed before the app had a quiet moment to build them)."""
    _, create_app, MainScreen = _imports()
    app = create_app(dataset=dataset, run=run, reopen_last=False, prebuild=False)
    views = {"2": "images", "3": "keywords", "4": "train", "5": "evaluate"}
    out = []
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: isinstance(app.screen, MainScreen))
        await app.workers.wait_for_complete()
        await pilot.pause()
        tabs = app.screen.query_one("#views")
        for key, view_id in views.items():
            out.append(await _key_latency(app, key, lambda v=view_id: tabs.active == v))
            await pilot.pause()
    return out


async def _responsiveness(dataset, run) -> dict[str, float]:
    """Median view-switch (first visit of a prebuilt view, later visits) and
    list-movement latencies, as the app runs (hidden views built in quiet moments)."""
    _, create_app, MainScreen = _imports()
    app = create_app(dataset=dataset, run=run, reopen_last=False)
    views = {"1": "overview", "2": "images", "3": "keywords", "4": "train", "5": "evaluate"}
    out: dict[str, list[float]] = {"first visit": [], "switch": [], "j in Images": [], "j in Keywords": []}

    def shown(view_id: str):  # the view is built and active (action_show_view sets it last)
        tabs = app.screen.query_one("#views")
        return lambda: tabs.active == view_id

    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: isinstance(app.screen, MainScreen))
        await app.workers.wait_for_complete()
        await _until(lambda: app.screen.all_built)  # the quiet second after start-up built them
        await pilot.pause()
        for key in "2345":
            out["first visit"].append(await _key_latency(app, key, shown(views[key])))
            await pilot.pause()
        for _ in range(3):
            for key in "12345":
                out["switch"].append(await _key_latency(app, key, shown(views[key])))
                await pilot.pause()
        # Images: the facts of the next image (drawn on the key); Keywords: the keyword list's
        # cursor (its ranking follows once the selection settles: the row after it)
        for view, name, head in (("2", "j in Images", "#image-facts"), ("3", "j in Keywords", "#keyword-table")):
            await _key_latency(app, view, shown(views[view]))
            await pilot.pause()
            for _ in range(10):
                widget = app.screen.query_one(head)
                before = _state_of(widget)
                out[name].append(await _key_latency(app, "j", lambda w=widget, b=before: _state_of(w) != b))
                await pilot.pause()
        await _key_latency(app, "3", shown("keywords"))
        out["j in Keywords until its ranking is shown"] = []
        for _ in range(5):
            head = app.screen.query_one("#ranking-head")
            before = _content_of(head)
            out["j in Keywords until its ranking is shown"].append(
                await _key_latency(app, "j", lambda h=head, b=before: _content_of(h) is not b))
            await pilot.pause()
        await pilot.press("2")
        out["j in Images until its picture is shown"] = [await _picture_latency(pilot, app) for _ in range(5)]
    out["first visit, before the views are prebuilt"] = await _first_visits(dataset, run)
    return {k: statistics.median(v) for k, v in out.items()}


BARE_ROWS = 2000


async def _bare_responsiveness() -> dict[str, float]:
    """The same harness on a bare Textual app: two tabs, each a DataTable of 2,000 rows
    with j bound to cursor_down, and a Static under them that follows the cursor."""
    from textual.app import App
    from textual.binding import Binding
    from textual.widgets import DataTable, Static, TabbedContent, TabPane

    class Table(DataTable):
        BINDINGS = [Binding("j", "cursor_down", "down")]

    class Bare(App):
        BINDINGS = [Binding("1", "show('a')", "a"), Binding("2", "show('b')", "b")]

        def compose(self):
            with TabbedContent(id="views"):
                for pane in "ab":
                    with TabPane(pane, id=pane):
                        yield Table(id=f"t{pane}", cursor_type="row")
            yield Static("", id="status")

        def on_mount(self):
            for table in self.query(Table):
                table.add_columns("image", "scene", "split", "kw")
                for i in range(BARE_ROWS):
                    table.add_row(f"img{i:07d}", "kitchen", "train", "3")
            self.query_one("#ta").focus()

        def on_data_table_row_highlighted(self, event) -> None:
            self.query_one("#status", Static).update(f"row {event.cursor_row}")

        def action_show(self, pane: str) -> None:
            self.query_one("#views").active = pane
            self.query_one(f"#t{pane}").focus()

    app = Bare()
    out: dict[str, list[float]] = {"switch": [], "j": []}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = app.query_one("#status", Static)
        for i in range(10):
            before = _content_of(status)
            out["j"].append(await _key_latency(app, "j", lambda b=before: _content_of(status) is not b))
            await pilot.pause()
        for i in range(10):
            pane = "b" if i % 2 == 0 else "a"
            out["switch"].append(await _key_latency(app, "12"[i % 2 == 0],
                                                    lambda p=pane: app.focused is app.query_one(f"#t{p}")))
            await pilot.pause()
    return {k: statistics.median(v) for k, v in out.items()}


async def _picture_latency(pilot, app) -> float:
    """``j`` in Images until the new image's picture is on screen (it is read once the
    selection settles, in a thread worker: widgets/picture.py)."""
    from mmkg_tui.widgets.picture import Picture

    view = app.screen.query_one("#images-view")
    picture = view.query_one(Picture)
    start, paths = view.selected_row(), app.session.dataset.image_paths
    took = await _key_latency(app, "j", lambda: view.selected_row() != start
                              and picture.path == paths[view.selected_row()])
    await pilot.pause()
    return took


async def _refresh_round_trip(app, change) -> float:
    done = asyncio.Event()
    stamp: list[float] = []
    t0 = time.perf_counter()
    change()
    app.call_after_refresh(lambda: (stamp.append(time.perf_counter()), done.set()))
    await asyncio.wait_for(done.wait(), 30)
    return stamp[0] - t0


async def _threshold_latency(dataset, run, views: tuple[str, ...], repeats: int) -> dict[str, tuple[float, float]]:
    api, create_app, MainScreen = _imports()
    app = create_app(dataset=dataset, run=run, reopen_last=False)
    out = {}
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: isinstance(app.screen, MainScreen))
        await app.workers.wait_for_complete()
        await _until(lambda: app.screen.all_built)  # no view is built in the middle of a step
        for view in views:
            await pilot.press(view)
            await pilot.pause()
            ours, ref = [], []
            s, y = app.session.test_scores_labels()
            for i in range(repeats + 1):
                delta = 0.01 if i % 2 == 0 else -0.01
                a = await _refresh_round_trip(app, lambda: setattr(app, "threshold", app.threshold + delta))
                t0 = time.perf_counter()
                api.threshold_metrics(s, y, app.threshold)
                api.per_keyword_metrics(s, y, app.threshold)
                b = time.perf_counter() - t0
                if i:  # first round is the warm-up
                    ours.append(a)
                    ref.append(b)
            out[view] = (statistics.median(ours), statistics.median(ref))
    return out


async def _stall_during_training(dataset, train_defaults: dict, visit_first: bool = True) -> tuple[float, float, int, float]:
    """(max lateness, median lateness, samples, training seconds) of a 20 ms sleeper.
    ``visit_first``: the views were prebuilt (the app had its quiet moment) and the Train
    view is shown once before; False: prebuild off and r pressed before the Train view
    was ever built (its build, ~100 ms on the event loop, lands in the measurement)."""
    _, create_app, MainScreen = _imports()
    app = create_app(dataset=dataset, run=None, reopen_last=False, train_defaults=train_defaults,
                     prebuild=visit_first)
    late: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: isinstance(app.screen, MainScreen))
        await app.workers.wait_for_complete()
        await pilot.pause()
        if visit_first:
            await _until(lambda: app.screen.all_built)
            for key in "41":
                await pilot.press(key)
                await pilot.pause()
        stop = asyncio.Event()

        async def sleeper():
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.02)
                late.append(time.perf_counter() - t - 0.02)

        task = asyncio.create_task(sleeper())
        t0 = time.perf_counter()
        await pilot.press("r")  # returns once the CPU looks idle: training may already be over
        await _until(lambda: app.training or app.session.run is not None, timeout=10)
        await _until(lambda: not app.training, timeout=600, step=0.05)
        secs = time.perf_counter() - t0
        stop.set()
        await task
        if app.session.run is None:
            raise RuntimeError("training in the app did not produce a run")
    return max(late), statistics.median(late), len(late), secs


RESPONSIVENESS_NOTES = {
    "first visit": "headless; the view was built while hidden (the app's quiet moments after start-up)",
    "first visit, before the views are prebuilt": "headless; prebuild off: the view is built on its first visit",
    "j in Images": "headless; the picture follows once the selection settles (next row)",
    "j in Images until its picture is shown": "headless; read once the selection settles (50 ms), in a thread worker",
    "j in Keywords": "headless; the list's cursor (the ranking follows: next row)",
    "j in Keywords until its ranking is shown": "headless; the 200-row ranking is rewritten once the selection settles (50 ms)",
}


def _responsiveness_rows(demo, demo_run) -> list[Row]:
    """Targets (issue 12): view switch < 100 ms, list movement (j) < 50 ms; next to a
    bare Textual app through the same harness (two tabs, a 2,000-row DataTable each);
    the picture's arrival is shown without a target of its own."""
    ours = asyncio.run(_responsiveness(demo, demo_run))
    bare = asyncio.run(_bare_responsiveness())
    rows = []
    for name, value in ours.items():
        ref = bare["j"] if name in ("j in Images", "j in Keywords") else (
            bare["switch"] if name.startswith(("switch", "first visit")) else None)
        row = Row("app", f"{name} (demo, key event until the next frame)", ours=value, reference=ref,
                  ratio=value / ref if ref else None,
                  note=RESPONSIVENESS_NOTES.get(name, "headless") + ("; ref = a bare Textual app, same harness"
                                                                     if ref else ""))
        if "picture" in name or "ranking" in name:
            rows.append(row)
        else:
            rows.append(check_max(row, 0.050 if name.startswith("j ") else 0.100))
    return rows


def _small_run(api, dataset):
    ds, feats = api.compute_features(dataset)
    return api.run_experiment(ds, feats, api.ExperimentConfig(seed=0, **SMALL_RUN))


def run(ctx: Context) -> list[Row]:
    try:
        api, _, _ = _imports()
        api.ExperimentConfig  # noqa: B018  (learning API present?)
    except (ImportError, AttributeError) as exc:
        return [unavailable("app", "headless app", f"{type(exc).__name__}: {exc}")]
    os.environ["MMKG_TUI_HOME"] = str(ctx.subdir("app-home"))  # never the user's runs
    rows: list[Row] = []
    reps = ctx.pick(2, 5)
    try:
        rows += _process_launch_rows(ctx, reps)
    except (RuntimeError, OSError, TimeoutError) as exc:
        rows.append(unavailable("app", "launch in a pty", f"{type(exc).__name__}: {exc}", target="< 1.5 s"))
    demo = api.load_dataset(None)
    demo_run = _small_run(api, demo)
    rows += _responsiveness_rows(demo, demo_run)
    big = ctx.world(10_000)
    for label, ds, views in (("demo", demo, ("5",)), ("10,000-image run", big, ("5", "3"))):
        run_ = demo_run if ds is demo else _small_run(api, ds)
        lat = asyncio.run(_threshold_latency(ds, run_, views, repeats=ctx.pick(5, 11)))
        for view, (ours, ref) in lat.items():
            name = {"5": "evaluate", "3": "keywords"}.get(view, view)
            rows.append(check_max(Row("app", f"threshold change, {label}, {name} view", ours=ours, reference=ref,
                                      ratio=ours / ref if ref > 0 else None,
                                      note="until views updated + screen refreshed; ref = the engine's threshold_metrics "
                                           "+ per_keyword_metrics on the same test rows"),
                                  0.050))
    for visit_first, what in ((True, "Train view built before"), (False, "r pressed before the Train view was ever shown")):
        mx, med, n, secs = asyncio.run(_stall_during_training(demo, dict(SMALL_RUN, hidden=128, out_dim=128),
                                                              visit_first=visit_first))
        rows.append(check_max(Row("app", f"longest event-loop stall while training (demo, {what})", ours=mx,
                                  note=f"{n} samples over {secs:.1f} s of training; median lateness {med * 1e3:.1f} "
                                       "ms; hidden 128, 1 epoch"), 0.100))
    return rows
