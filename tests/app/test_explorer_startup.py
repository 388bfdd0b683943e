"""Issue 12, start-up: the main screen comes up from the dataset alone (no graph, no
torch on the event loop's critical path), the graph is built behind it with a
visible status, hidden views are built when first shown, and q on the loading
screen quits at once. (The time it takes is measured in benchmarks/stage_app.py.)"""

from __future__ import annotations

import threading

from app_helpers import SIZE, isolated_home, make_app, plain  # noqa: F401

from engine import api
from mmkg_tui.screens.loading import LoadingScreen
from mmkg_tui.screens.main import MainScreen


async def _until(pilot, pred, steps: int = 400) -> None:
    for _ in range(steps):
        if pred():
            return
        await pilot.pause(0.02)
    raise AssertionError("the app did not get there")


async def test_main_screen_is_usable_before_the_graph_is_built(monkeypatch):
    gate = threading.Event()
    real = api.build_graph

    def slow_build(dataset, features, **kwargs):
        gate.wait(30)
        return real(dataset, features, **kwargs)

    monkeypatch.setattr(api, "build_graph", slow_build)
    app = make_app(run=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, MainScreen))
            await pilot.pause()
            info = plain(app.screen.query_one("#overview-info"))
            assert f"{app.session.dataset.n_images:,}" in info and "building" in info
            assert not app.session.engine_ready
            assert "building the graph" in str(app.screen.query_one("#bg-status").content)
            await pilot.press("2")  # the image list needs only the dataset
            await pilot.pause()
            assert app.screen.query_one("#image-table").row_count == app.session.dataset.n_images
            gate.set()
            await _until(pilot, lambda: app.session.engine_ready)
            await pilot.press("1")
            await pilot.pause()
            assert "has_keyword" in plain(app.screen.query_one("#overview-info"))
            assert not app.screen.query_one("#bg-status").display
    finally:
        gate.set()


async def test_hidden_views_are_built_when_first_shown():
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.pause()
        assert app.screen.view("overview") is not None
        assert [app.screen.view(v) for v in ("images", "keywords", "train", "evaluate")] == [None] * 4
        await pilot.press("5")
        await pilot.pause()
        assert app.screen.view("evaluate") is not None and app.screen.current_view == "evaluate"


async def test_q_on_the_loading_screen_quits_at_once(monkeypatch):
    gate = threading.Event()
    real = api.compute_features

    def slow_features(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "compute_features", slow_features)
    app = make_app(run=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, LoadingScreen))
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code == 0
            assert app.background_busy()  # the launcher leaves without waiting for this thread
    finally:
        gate.set()


def test_launcher_does_not_wait_for_a_busy_loader(monkeypatch):
    """After q, a loader thread stuck in torch's import must not hold the process."""
    import argparse

    from mmkg_tui.app import app as app_module
    from mmkg_tui.cli.commands import launch

    exits = []

    class FakeApp:
        return_code = 0

        def run(self):
            pass

        def background_busy(self):
            return True

    monkeypatch.setattr(app_module, "create_app", lambda *a, **k: FakeApp())
    monkeypatch.setattr(launch.os, "_exit", exits.append)
    launch.run(argparse.Namespace(data=None, run=None))
    assert exits == [0]
