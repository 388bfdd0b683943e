"""Issue 12, start-up (logic only; the launch is timed in benchmarks/stage_app.py):
the terminal probe runs only for an explorer launch on a terminal, the Overview's
tables are not rendered again by each layout pass, the app module does not import
the Train view (plotext), and load-thread messages after close are dropped."""

from __future__ import annotations

import subprocess
import sys

from app_helpers import SIZE, isolated_home, make_app, plain, ready  # noqa: F401

from mmkg_tui.app import messages as msg
from mmkg_tui.app.terminal import is_explorer_launch
from mmkg_tui.cli.main import SUBCOMMANDS
from mmkg_tui.widgets.rendered import CachedRich


def test_the_probe_runs_only_when_the_explorer_opens():
    assert is_explorer_launch([], SUBCOMMANDS)
    assert is_explorer_launch(["--data", "some/folder", "--run", "r"], SUBCOMMANDS)
    assert not is_explorer_launch(["info"], SUBCOMMANDS)
    assert not is_explorer_launch(["run", "--seeds", "3"], SUBCOMMANDS)
    assert not is_explorer_launch(["--help"], SUBCOMMANDS)
    assert not is_explorer_launch(["--version"], SUBCOMMANDS)


def test_no_probe_without_a_terminal():
    # in a child whose stdout is a pipe (pytest itself may run on a terminal)
    code = ("import sys; from mmkg_tui.app.terminal import start_probe; "
            "t = start_probe(); print(t is None, 'textual_image.widget' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_the_app_module_leaves_the_train_view_and_plotext_for_later():
    code = ("import sys; import mmkg_tui.app.app; "
            "print(sorted(m for m in ('mmkg_tui.views.train', 'plotext', 'textual_plotext', 'torch', 'dgl') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


async def test_layout_passes_reuse_the_overview_render():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        info = app.screen.query_one("#overview-info")
        visual = info.visual
        assert isinstance(visual, CachedRich) and "images" in plain(info)
        renders = visual.renders
        for _ in range(3):
            app.screen.refresh(layout=True)
            await pilot.pause()
        assert info.visual is visual and visual.renders == renders  # same width: nothing rendered again
        await pilot.resize_terminal(150, 40)
        await pilot.pause()
        await pilot.pause()
        assert visual.renders > renders  # a new width is rendered


async def test_load_messages_after_the_screens_are_gone_are_dropped():
    app = make_app()
    assert app.closing()  # not running: no screens
    app.on_load_status(msg.LoadStatus("building the graph"))  # no ScreenStackError
    assert app.background_status == ""
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not app.closing()


def test_animations_are_off_unless_textual_animations_asks(monkeypatch):
    monkeypatch.delenv("TEXTUAL_ANIMATIONS", raising=False)
    assert make_app().animation_level == "none"
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "full")
    assert make_app().animation_level == "full"
