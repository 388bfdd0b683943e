"""Training through the app's thread worker: start, progress, cancel, finish, errors."""

from __future__ import annotations

import threading

from app_helpers import SIZE, isolated_home, make_app, needs_learning, plain, ready  # noqa: F401

from engine import api
from mmkg_tui.app.messages import TrainingProgress
from mmkg_tui.screens.confirm import ConfirmScreen

pytestmark = needs_learning


def _log_text(app) -> str:
    return "\n".join(str(line.text) for line in app.screen.query_one("#train-log").lines)


def _train_until_cancelled(monkeypatch) -> None:
    """Training that lasts until it is cancelled (bounded at 60 s): these tests need it
    running when the next key comes, whatever the machine's speed (500 real epochs
    ended early once validation-based stopping got fast)."""

    def running(dataset, features, config, *, cancel=None):
        for _ in range(1200):
            if cancel.wait(0.05):
                raise api.Cancelled()
        raise AssertionError("the training was never cancelled")
        yield  # pragma: no cover  (a generator, like the real one)

    monkeypatch.setattr(api, "iter_experiment", running)


async def test_start_then_escape_cancels_and_keeps_no_run(monkeypatch):
    _train_until_cancelled(monkeypatch)
    app = make_app(run=False, train_defaults={"hidden": 32, "out_dim": 32, "epochs": 500})
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("r")
        assert app.training
        assert app.screen.current_view == "train"
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.training
        assert app.session.run is None
        assert "training cancelled" in _log_text(app)
        assert "cancelled" in plain(app.screen.query_one("#train-status"))
        assert api.last_run_for(app.session.dataset) is None  # nothing half-written


async def test_training_finishes_saves_and_becomes_current_run(isolated_home):
    seen: list[TrainingProgress] = []
    app = make_app(run=False, train_defaults={"hidden": 32, "out_dim": 32, "epochs": 2,
                                              "strategies": ("self", "scene")})
    async with app.run_test(size=SIZE, message_hook=lambda m: seen.append(m) if isinstance(m, TrainingProgress) else None) as pilot:
        await ready(pilot)
        # the form drives the config: keep only two strategies
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.training
        assert app.session.has_run
        assert app.session.methods == ["clip", "prior", "scene_prior", "clip_probe", "knn", "scene_probe", "sage_self", "sage_scene"]
        assert app.method == "sage_self"
        saved = api.last_run_for(app.session.dataset)
        assert saved is not None and str(saved).startswith(str(isolated_home))
        assert app.session.run_dir == str(saved)
        assert seen, "progress reached the UI"
        last = seen[-1].snapshot
        assert last.epochs == 2 and last.fraction == 1.0
        assert len(last.losses) >= 2  # the loss curve has points
        await pilot.press("5")
        table = app.screen.query_one("#results-table")
        assert table.row_count == 8  # clip, 5 baselines (knn and scene_probe added), sage_self, sage_scene


async def test_progress_is_coalesced(monkeypatch):
    """A fast engine (2000 events) cannot flood the UI: at most ~10 messages a second."""
    from mmkg_tui.app import training as app_module

    def Ev(i):  # the engine's typed event
        return api.TrainProgress(seed=0, seed_index=0, n_seeds=1, epoch=1, epochs=1, step=i, steps_per_epoch=2000,
                                 loss=1.0 / i, examples_per_s=1.0, elapsed_s=0.0, eta_s=0.0)

    gate = threading.Event()

    def fake_iter(dataset, features, config, *, cancel=None):
        for i in range(1, 2000):
            yield Ev(i)
        gate.wait(5)
        raise api.Cancelled()

    monkeypatch.setattr(api, "iter_experiment", fake_iter)
    monkeypatch.setattr(app_module, "PROGRESS_INTERVAL_S", 10.0)  # only forced messages pass
    seen = []
    app = make_app(run=False)
    async with app.run_test(size=SIZE, message_hook=lambda m: seen.append(m) if isinstance(m, TrainingProgress) else None) as pilot:
        await ready(pilot)
        await pilot.press("r")
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert 1 <= len(seen) <= 2  # the first event, nothing else within 10 s
        assert not app.training


async def test_unexpected_worker_error_is_notified_and_app_keeps_running(monkeypatch):
    def broken(dataset, features, config, *, cancel=None):
        raise RuntimeError("boom in the engine")
        yield  # pragma: no cover

    monkeypatch.setattr(api, "iter_experiment", broken)
    app = make_app(run=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.training
        assert any("boom in the engine" in n.message for n in app._notifications)
        assert "boom in the engine" in _log_text(app)
        await pilot.press("2")  # still alive and responsive
        assert app.screen.current_view == "images"
        assert app.is_running


async def test_invalid_settings_are_reported_before_any_work():
    app = make_app(run=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("4")  # focuses Start; shift+tab walks back through the form
        assert app.focused.id == "train-start"
        for _ in range(10):
            await pilot.press("shift+tab")
        assert app.focused.id == "cfg-layers"
        await pilot.press("backspace", "3", "enter", "escape")  # 3 layers but fan-out 3,3
        await pilot.press("r")
        await pilot.pause()
        assert not app.training
        assert "invalid settings" in _log_text(app)
        assert "fanout" in _log_text(app) or "fan-out" in _log_text(app)


async def test_quit_while_training_asks_first(monkeypatch):
    _train_until_cancelled(monkeypatch)
    app = make_app(run=False, train_defaults={"hidden": 32, "out_dim": 32, "epochs": 500})
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.training and app.is_running
        await pilot.press("q", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code == 0


@needs_learning
async def test_train_view_shows_the_opened_runs_loss_curve():
    from app_helpers import tiny_run

    from mmkg_tui.views.train import TrainView

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("4")
        await pilot.pause()
        view = app.screen.query_one(TrainView)
        expected = [(float(i), float(x)) for i, x in enumerate(tiny_run().loss_history, start=1)]
        assert expected and view.saved_losses() == expected
        assert view._losses_drawn == expected  # drawn, not just computed
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("4")  # views are built when first shown
        assert app.screen.query_one(TrainView).saved_losses() == []
