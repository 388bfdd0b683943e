"""Issue 12, "Runs you can find again": the open run is shown (top bar, Train), the
run browser lists every run of the dataset newest first and opens or compares one,
and a relaunch restores the threshold, method and view the user left."""

from __future__ import annotations

import dataclasses

from app_helpers import SIZE, isolated_home, make_app, needs_learning, plain, ready, tiny_run, tiny_world  # noqa: F401

from engine import api

pytestmark = needs_learning


def _two_saved_runs(tmp_path):
    world = tiny_world()
    first = api.save_run(dataclasses.replace(tiny_run(), created="2026-01-01T10:00:00+00:00"),
                         api.default_run_dir(world))
    out = tmp_path / "elsewhere" / "my-run"  # an --out folder outside the runs folder
    second = api.save_run(dataclasses.replace(tiny_run(), created="2026-02-01T10:00:00+00:00"), out)
    return world, str(first), str(second)


async def test_open_run_is_shown_in_the_top_bar_and_train(tmp_path):
    world, first, _ = _two_saved_runs(tmp_path)
    from mmkg_tui.app.app import create_app

    app = create_app(dataset=world, run_dir=first, reopen_last=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "run 2026-01-01 10:00" in str(app.screen.query_one("#run-name").content)
        await pilot.press("4")
        await pilot.pause()
        text = str(app.screen.query_one("#train-run").content)
        assert "2026-01-01 10:00:00" in text and first in text and "1 epochs, hidden 32" in text


async def test_run_browser_lists_newest_first_opens_and_compares(tmp_path):
    world, first, second = _two_saved_runs(tmp_path)
    from mmkg_tui.app.app import create_app

    app = create_app(dataset=world, run_dir=second, reopen_last=False)  # remembers the --out folder
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.session.set_run(app.session.run, None)
        app.open_run(first)  # the runs folder's run becomes the open one
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session.run_dir == first
        await pilot.press("R")
        await pilot.pause()
        from mmkg_tui.screens.runs import RunBrowser

        assert isinstance(app.screen, RunBrowser)
        table = app.screen.query_one("#runs-table")
        keys = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]
        assert keys == [second, first]  # newest first, both folders
        assert "● open" in str(table.get_row_at(1)[0])
        await pilot.press("c")  # compare the newest with the open run
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session.compare_dir == second and app.session.run_dir == first
        await pilot.press("5")
        await pilot.pause()
        assert app.screen.query_one("#compare-table").row_count == len(tiny_run().methods)
        assert "compared run 2026-02-01" in plain(app.screen.query_one("#compare-head"))
        await pilot.press("R", "enter")  # open the newest
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session.run_dir == second


async def test_relaunch_restores_threshold_method_and_view():
    app = make_app(threshold=None)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("3", "m", "m", "right_square_bracket", "right_square_bracket")
        await pilot.pause()
        left = (app.threshold, app.method)
        await pilot.press("q")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert (app.threshold, app.method) == left
        assert app.screen.current_view == "keywords"


async def test_dataset_problems_and_run_cautions_are_shown():
    """Dataset problems in the Overview (and a count in the top bar); the run's
    warnings, keywords left out of macro metrics and skipped methods in Evaluate."""
    from mmkg_tui.app.app import create_app

    world = dataclasses.replace(tiny_world(), problems=[api.Problem("2 images could not be read: skipped",
                                                                    path="photos.csv", line=7)])
    run = dataclasses.replace(tiny_run(), warnings=["only 45 test images: figures are noisy"],
                              macro_excluded={"deck": "no positive test image"},
                              skipped_methods={"clip_probe": "too few training images"})
    app = create_app(dataset=world, run=run, reopen_last=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert str(app.screen.query_one("#problem-count").content) == "⚠ 1"
        info = plain(app.screen.query_one("#overview-info"), width=200)
        assert "1 dataset problem" in info and "2 images could not be read: skipped" in info and "photos.csv" in info
        await pilot.press("5")
        await pilot.pause()
        notes = plain(app.screen.query_one("#evaluate-notes"), width=200)
        assert "warning: only 45 test images: figures are noisy" in notes
        assert "deck (no positive test image)" in notes
        assert "not run: clip_probe: too few training images" in notes
