"""Shared pieces of the app tests: a tiny seeded world, one tiny real run per test
session (hidden=32, 1 epoch), plain-text rendering of widgets, and fixtures."""

from __future__ import annotations

import functools
import importlib.util
import io

import pytest
from rich.console import Console

SIZE = (120, 40)
HAS_LEARNING = all(importlib.util.find_spec(m) is not None
                   for m in ("engine.experiment.pipeline", "engine.evaluation.metrics", "engine.experiment.store"))
needs_learning = pytest.mark.skipif(not HAS_LEARNING, reason="learning API (engine.experiment/evaluate/runs) not available")


@functools.lru_cache(maxsize=None)
def tiny_world():
    """SYNTHETIC: 300 listing photos, seed 1 (no image files)."""
    from engine.data.synthetic.world import make_world

    return make_world(300, seed=1)


@functools.lru_cache(maxsize=None)
def tiny_run():
    """A real RunResult on tiny_world: every method, 1 epoch, hidden 32 (seeded)."""
    from engine import api

    ds, feats = api.compute_features(tiny_world())
    # the poster's learning settings, so the snapshots show the same figures as before the
    # learner's defaults changed (the UI under test does not depend on them)
    cfg = api.ExperimentConfig(hidden=32, out_dim=32, epochs=1, seed=0, objective="sage", train_as_test=False,
                               select_metric="none", patience=0, blend=False)
    return api.run_experiment(ds, feats, cfg)


def make_app(*, run: bool = True, **kwargs):
    from mmkg_tui.app.app import create_app

    kwargs.setdefault("reopen_last", False)
    kwargs.setdefault("prebuild", False)  # hidden views built only when shown: see test_app_prebuild.py
    return create_app(dataset=tiny_world(), run=tiny_run() if run else None, **kwargs)


async def ready(pilot) -> None:
    """Wait for the load worker and the main screen."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def stable_app(*, run: bool = True, **kwargs):
    """make_app with the run's creation time fixed (the top bar and Train show it)."""
    import dataclasses

    from mmkg_tui.app.app import create_app

    kwargs.setdefault("reopen_last", False)
    kwargs.setdefault("prebuild", False)  # hidden views built only when shown: see test_app_prebuild.py
    fixed = dataclasses.replace(tiny_run(), created="2026-01-01T00:00:00+00:00") if run else None
    return create_app(dataset=tiny_world(), run=fixed, **kwargs)


async def settle(pilot, rounds: int = 3) -> None:
    """Run the debounced work now (picture loads, similar-image searches and the
    keyword ranking wait for the selection to settle) and wait for its workers: a
    snapshot must not depend on how fast the machine got through the key presses."""
    for _ in range(rounds):
        for widget in pilot.app.screen.query("Picture, SimilarPanel, KeywordsView"):
            widget.settle.flush()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def press_after_ready(*keys):
    """A snapshot's run_before: wait for the app, press ``keys``, let everything settle."""
    async def run_before(pilot):
        await ready(pilot)
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        await settle(pilot)

    return run_before


async def until(pilot, pred, steps: int = 1000) -> None:
    """Let the app run (20 ms steps) until ``pred()`` holds; a bound on steps, not a verdict
    on speed: a loaded machine only takes more steps."""
    for _ in range(steps):
        if pred():
            return
        await pilot.pause(0.02)
    raise AssertionError("the app did not get there")


def plain(renderable, width: int = 110) -> str:
    """A widget's content (or any rich renderable) as plain text."""
    content = getattr(renderable, "content", renderable)
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(content)
    return console.export_text()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Runs are saved under a temporary MMKG_TUI_HOME, never the user's."""
    monkeypatch.setenv("MMKG_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
