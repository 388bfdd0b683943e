"""Issue 9 (app part): the Session is the one owner of threshold, method and run;
messages are dataclasses; the training worker cancels through Textual's
``worker.cancelled_event``; strategies and method colours come from the run and the
engine registry, not from lists in the UI."""

from __future__ import annotations

import ast
import dataclasses
import threading
from pathlib import Path

from app_helpers import SIZE, isolated_home, make_app, needs_learning, ready  # noqa: F401

from engine import api
from mmkg_tui.app import messages
from mmkg_tui.app.app import MMKGApp

ROOT = Path(__file__).resolve().parents[2] / "mmkg_tui"


def test_app_mirrors_no_state_the_session_owns():
    for name in ("threshold", "method"):
        assert isinstance(getattr(MMKGApp, name, None), (property, type(None))), name
    assert not hasattr(MMKGApp, "run_serial")


def test_threshold_is_clamped_in_one_place_only():
    users = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py")
             if "clamp_threshold(" in p.read_text() and p.name != "state.py"]
    assert users == []


def test_messages_are_dataclasses():
    for name in ("LoadStatus", "SessionReady", "EngineReady", "LoadFailed", "TrainingProgress", "TrainingLog",
                 "TrainingDone", "TrainingCancelled", "TrainingFailed"):
        assert dataclasses.is_dataclass(getattr(messages, name)), name


def test_no_ui_module_reads_a_private_session_attribute():
    bad = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in ("s", "session")):
                bad.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert bad == []


def test_ui_modules_and_functions_stay_small():
    """The app's own packages (the CLI's commands have their own owners)."""
    long_modules, long_functions = [], []
    paths = [p for d in ("app", "screens", "views", "widgets", "present") for p in (ROOT / d).rglob("*.py")]
    for path in paths + [ROOT / "cli" / "main.py"]:
        text = path.read_text()
        if len(text.splitlines()) > 400:
            long_modules.append(path.name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60:
                long_functions.append(f"{path.name}:{node.name}")
    assert long_modules == [] and long_functions == []


def test_method_colours_follow_the_run_not_names():
    from mmkg_tui.views.evaluate import method_color

    methods = ["clip", "a_new_baseline", "sage_self", "sage_custom"]
    colours = [method_color(methods, m) for m in methods]
    assert len(set(colours)) == len(methods)


async def test_training_cancels_through_the_workers_cancelled_event(monkeypatch):
    seen: list[threading.Event] = []
    started = threading.Event()

    def fake_iter(dataset, features, config, *, cancel=None):
        seen.append(cancel)
        started.set()
        cancel.wait(10)
        raise api.Cancelled()
        yield  # pragma: no cover

    monkeypatch.setattr(api, "iter_experiment", fake_iter)
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await pilot.pause()
        assert started.wait(10) and app.training
        worker = app.controller.worker
        assert seen[0] is worker.cancelled_event  # Textual's event, not one of the app's own
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert worker.cancelled_event.is_set() and not app.training
        # no cancel events of the app's own (main_shown is the start-up gate, not a cancel)
        assert not [a for a in vars(app) if "cancel" in a and isinstance(getattr(app, a), threading.Event)]


@needs_learning
async def test_strategies_come_from_the_engine_registry(monkeypatch):
    from engine.graph import reconnect

    def nearest_scene(info, unseen_rows, features, dataset, config):
        """A test strategy: one line shown next to its checkbox."""
        return reconnect.STRATEGIES["scene"](info, unseen_rows, features, dataset, config)

    monkeypatch.setitem(reconnect.STRATEGIES, "nearest_scene", nearest_scene)
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("4")
        await pilot.pause()
        names = [str(c.label) for c in app.screen.query("#train-strategies Checkbox")]
        assert names == list(reconnect.STRATEGIES)
        text = " ".join(str(w.content) for w in app.screen.query("#train-strategies .strategy-help"))
        assert "A test strategy: one line shown next to its checkbox." in text
        assert "self-loop only" in text
