"""Stage 6: the Textual app, headless (``App.run_test``).

* launch: ``create_app()`` on the bundled demo until the main screen is up, vs a bare
  ``textual.app.App`` reaching its first screen (the framework's floor);
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


async def _launch_once() -> float:
    _, create_app, MainScreen = _imports()
    t0 = time.perf_counter()
    app = create_app(reopen_last=False)
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: isinstance(app.screen, MainScreen))
        elapsed = time.perf_counter() - t0
        await pilot.pause()  # let the screen finish mounting before the app exits
        await pilot.pause()
        return elapsed


async def _bare_once() -> float:
    from textual.app import App
    from textual.widgets import Static

    class Bare(App):
        def compose(self):
            yield Static("hello")

    t0 = time.perf_counter()
    app = Bare()
    async with app.run_test(size=SIZE):
        await _until(lambda: app.screen is not None and app.screen.is_mounted)
        return time.perf_counter() - t0


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


async def _stall_during_training(dataset, train_defaults: dict) -> tuple[float, float, int, float]:
    """(max lateness, median lateness, samples, training seconds) of a 20 ms sleeper."""
    _, create_app, MainScreen = _imports()
    app = create_app(dataset=dataset, run=None, reopen_last=False, train_defaults=train_defaults)
    late: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: isinstance(app.screen, MainScreen))
        await app.workers.wait_for_complete()
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
    launch, bare = [], []
    for _ in range(reps):
        launch.append(asyncio.run(_launch_once()))
        bare.append(asyncio.run(_bare_once()))
    a, b = statistics.median(launch), statistics.median(bare)
    rows.append(Row("app", "launch to main screen, bundled demo (headless)", ours=a, reference=b, ratio=a / b,
                    note="ref = bare textual App to its first screen; includes loading demo + features + graph",
                    extra={"ours_samples": launch, "reference_samples": bare}))
    demo = api.load_dataset(None)
    big = ctx.world(10_000)
    for label, ds, views in (("demo", demo, ("5",)), ("10,000-image run", big, ("5", "3"))):
        run_ = _small_run(api, ds)
        lat = asyncio.run(_threshold_latency(ds, run_, views, repeats=ctx.pick(5, 11)))
        for view, (ours, ref) in lat.items():
            name = {"5": "evaluate", "3": "keywords"}.get(view, view)
            rows.append(check_max(Row("app", f"threshold change, {label}, {name} view", ours=ours, reference=ref,
                                      ratio=ours / ref if ref > 0 else None,
                                      note="until views updated + screen refreshed; ref = the engine's threshold_metrics "
                                           "+ per_keyword_metrics on the same test rows"),
                                  0.050))
    mx, med, n, secs = asyncio.run(_stall_during_training(demo, dict(SMALL_RUN, hidden=128, out_dim=128)))
    rows.append(check_max(Row("app", "longest event-loop stall while training (demo)", ours=mx,
                              note=f"{n} samples over {secs:.1f} s of training; median lateness {med * 1e3:.1f} ms; "
                                   "hidden 128, 1 epoch"), 0.100))
    return rows
