"""Snapshots of the main views at 120x40 (pytest-textual-snapshot). Seeded data, no
timings or timestamps on screen. Regenerate with --snapshot-update after a deliberate
change of the views, and look at the SVGs before committing them."""

from __future__ import annotations

from app_helpers import (  # noqa: F401
    SIZE,
    isolated_home,
    make_app,
    needs_learning,
    press_after_ready,
    ready,
    stable_app,
)

pytestmark = needs_learning


def test_snapshot_overview(snap_compare):
    assert snap_compare(stable_app(threshold=0.3), terminal_size=SIZE, run_before=press_after_ready("1"))


def test_snapshot_images(snap_compare):
    # the sixth image of the tiny world is a held-out one with predictions
    assert snap_compare(stable_app(threshold=0.3), terminal_size=SIZE,
                        run_before=press_after_ready("2", "slash", *"img000002", "enter", "escape", "2"))


def test_snapshot_keywords(snap_compare):
    assert snap_compare(stable_app(threshold=0.3), terminal_size=SIZE, run_before=press_after_ready("3", "j"))


def test_snapshot_train_idle(snap_compare):
    assert snap_compare(stable_app(run=False), terminal_size=SIZE, run_before=press_after_ready("4"))


def test_snapshot_evaluate(snap_compare):
    assert snap_compare(stable_app(threshold=0.3), terminal_size=SIZE, run_before=press_after_ready("5", "b"))


def test_snapshot_help(snap_compare):
    assert snap_compare(stable_app(run=False), terminal_size=SIZE, run_before=press_after_ready("question_mark"))
