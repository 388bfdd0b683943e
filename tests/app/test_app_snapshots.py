"""Snapshots of the main views at 120x40 (pytest-textual-snapshot). Seeded data, no
timings or timestamps on screen. Regenerate with --snapshot-update after a deliberate
change of the views, and look at the SVGs before committing them."""

from __future__ import annotations

from app_helpers import SIZE, isolated_home, make_app, needs_learning, ready  # noqa: F401

pytestmark = needs_learning


def stable_app(*, run: bool = True, **kwargs):
    """make_app with the run's creation time fixed (the top bar and Train show it)."""
    import dataclasses

    from app_helpers import tiny_run, tiny_world

    from mmkg_tui.app.app import create_app

    kwargs.setdefault("reopen_last", False)
    fixed = dataclasses.replace(tiny_run(), created="2026-01-01T00:00:00+00:00") if run else None
    return create_app(dataset=tiny_world(), run=fixed, **kwargs)


def _press_after_ready(*keys):
    async def run_before(pilot):
        await ready(pilot)
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return run_before


def test_snapshot_overview(snap_compare):
    assert snap_compare(stable_app(threshold=0.3), terminal_size=SIZE, run_before=_press_after_ready("1"))


def test_snapshot_images(snap_compare):
    # the sixth image of the tiny world is a held-out one with predictions
    assert snap_compare(stable_app(threshold=0.3), terminal_size=SIZE,
                        run_before=_press_after_ready("2", "slash", *"img000002", "enter", "escape", "2"))


def test_snapshot_keywords(snap_compare):
    assert snap_compare(stable_app(threshold=0.3), terminal_size=SIZE, run_before=_press_after_ready("3", "j"))


def test_snapshot_train_idle(snap_compare):
    assert snap_compare(stable_app(run=False), terminal_size=SIZE, run_before=_press_after_ready("4"))


def test_snapshot_evaluate(snap_compare):
    assert snap_compare(stable_app(threshold=0.3), terminal_size=SIZE, run_before=_press_after_ready("5", "b"))


def test_snapshot_help(snap_compare):
    assert snap_compare(stable_app(run=False), terminal_size=SIZE, run_before=_press_after_ready("question_mark"))
