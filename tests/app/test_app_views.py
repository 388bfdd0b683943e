"""Pilot tests that drive the real keyboard paths of the app on a tiny seeded world."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import (  # noqa: F401
    SIZE,
    isolated_home,
    make_app,
    needs_learning,
    plain,
    ready,
    settle,
    tiny_run,
    tiny_world,
    until,
)

from engine import api
from mmkg_tui.screens.error import ErrorScreen
from mmkg_tui.screens.help import HelpScreen
from mmkg_tui.screens.main import MainScreen


async def test_launch_opens_overview_with_counts_and_synthetic_label():
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.screen.current_view == "overview"
        text = plain(app.screen.query_one("#overview-info"))
        assert "SYNTHETIC demo" in text
        assert f"{app.session.dataset.n_images:,}" in text
        assert "has_keyword" in text and "in_scene" in text
        prevalence = plain(app.screen.query_one("#overview-prevalence"))
        top = max(app.session.summary["keyword_prevalence"].items(), key=lambda kv: kv[1])
        assert top[0] in prevalence.splitlines()[3]  # most frequent keyword is the first bar
        assert app.view_errors == []


async def test_number_keys_switch_views_and_help_lists_bindings():
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for key, view in (("2", "images"), ("3", "keywords"), ("4", "train"), ("5", "evaluate"), ("1", "overview")):
            await pilot.press(key)
            assert app.screen.current_view == view
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = plain(app.screen.query_one("#help-table"))
        # the same bindings as before, now listed by what the user types (issue 12: no binding ids)
        for line in ("2  ", "Threshold +0.01", "Threshold +0.05", "Next method", "Train with the settings", "Quit"):
            assert line in text
        assert "view.images" not in text and "app.quit" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_without_a_run_views_say_how_to_get_one():
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("5")
        assert "Press r to train" in plain(app.screen.query_one("#evaluate-head"))
        await pilot.press("2")
        await pilot.pause()
        text = plain(app.screen.query_one("#image-keywords"))
        assert "true keywords:" in text and "Press r to train" in text
        await pilot.press("m")  # no methods yet: a warning, not a crash
        assert app.method == ""


async def test_bad_path_opens_error_screen(tmp_path):
    from mmkg_tui.app.app import create_app

    missing = tmp_path / "nope.csv"
    app = create_app(missing, reopen_last=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, ErrorScreen)
        text = plain(app.screen.query_one("#error-text"))
        assert "nope.csv" in text
        assert "Traceback" not in text
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 2


async def _goto_first_test_image(pilot, app) -> int:
    """Images view, split filter 'test' through the keyboard, first image selected."""
    await pilot.press("2")
    table = app.screen.query_one("#image-table")
    # the list shows every image; walk down with j to the first test image that has keywords
    run = app.session.run
    target = next(r for r in range(app.session.dataset.n_images)
                  if run.split[r] == 2 and len(app.session.dataset.image_keywords(r)))
    for _ in range(target):
        await pilot.press("j")
    await pilot.pause()
    assert table.selected_key() == str(target)
    return target


@needs_learning
async def test_selecting_an_image_shows_true_and_predicted_keywords():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        row = await _goto_first_test_image(pilot, app)
        s = app.session
        text = plain(app.screen.query_one("#image-keywords"))
        for kw in s.true_keywords(row):
            assert kw in text
        preds = s.predictions(row)
        assert preds[0].keyword in text and f"{preds[0].score:.3f}" in text
        assert f"method {s.method}" in text
        assert s.dataset.ids[row] in plain(app.screen.query_one("#image-facts"))


@needs_learning
async def test_threshold_keys_change_marks_and_numbers():
    app = make_app(threshold=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        row = await _goto_first_test_image(pilot, app)
        await pilot.press("right_square_bracket")
        assert app.threshold == pytest.approx(0.51)
        await pilot.press("left_curly_bracket", "left_curly_bracket")
        assert app.threshold == pytest.approx(0.41)
        assert app.session.threshold == pytest.approx(0.41)
        # type a threshold: far below every score -> every keyword predicted
        await pilot.press("t")
        await pilot.press(*"-1", "enter")
        await pilot.pause()
        assert app.threshold == -1.0
        text = plain(app.screen.query_one("#image-keywords"))
        assert "○ missed" not in text and "✓ TP" in text
        s = app.session
        test = s.run.test_mask()
        expect = api.threshold_metrics(s.run.scores[s.method][test], s.run.labels[test], -1.0)
        summary = plain(app.screen.query_one("#threshold-summary"))
        assert f"P {expect['precision']:.3f}" in summary and f"R {expect['recall']:.3f}" in summary
        assert expect["recall"] == 1.0
        # typed values are clamped to [-1, 1]; at 1 nothing is predicted, so the truth is missed
        await pilot.press("t", *"5", "enter")
        await pilot.pause()
        assert app.threshold == 1.0
        text = plain(app.screen.query_one("#image-keywords"))
        assert "✓ TP" not in text and "○ missed" in text
        assert "R 0.000" in plain(app.screen.query_one("#threshold-summary"))
        # the Evaluate view's operating point follows
        await pilot.press("5")
        table = app.screen.query_one("#results-table")
        assert str(table.get_cell(s.method, "r")) == "0.000"
        await pilot.press("b")  # best-F1 threshold of the method
        assert app.threshold == pytest.approx(round(s.run.best_threshold[s.method], 4))
        assert app.view_errors == []


@needs_learning
async def test_method_key_changes_predictions_everywhere():
    app = make_app(threshold=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        row = await _goto_first_test_image(pilot, app)
        methods = app.session.methods
        first = app.method
        assert first in methods and first.startswith("sage_")
        before = plain(app.screen.query_one("#image-keywords"))
        await pilot.press("m")
        await pilot.pause()
        second = app.method
        assert second == methods[(methods.index(first) + 1) % len(methods)]
        after = plain(app.screen.query_one("#image-keywords"))
        assert f"method {second}" in after and before != after
        top = app.session.predictions(row)[0]
        assert f"{top.score:.3f}" in after
        await pilot.press("5")
        head = plain(app.screen.query_one("#evaluate-head"))
        assert f"selected {second}" in head


@needs_learning
async def test_keyword_selection_ranks_images_with_holders_marked():
    app = make_app(threshold=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("3", "j", "j")
        await settle(pilot)
        view = app.screen.query_one("#keywords-view")
        s = app.session
        counts = s.dataset.keyword_counts()
        by_prevalence = sorted(range(s.dataset.n_keywords), key=lambda i: (-counts[i], s.dataset.keywords[i]))
        k = view.selected_keyword()
        assert k == by_prevalence[2]  # the list is sorted by prevalence; j moved down twice
        ranking = app.screen.query_one("#ranking-table")
        scores = s.scores()[:, k]
        best = int(np.argmax(scores))
        assert ranking.row_count == min(200, len(scores))
        first = ranking.get_row_at(0)
        assert first[1] == s.dataset.ids[int(s.run.eval_rows[best])]
        holds = [str(ranking.get_row_at(i)[4]) == "✓" for i in range(ranking.row_count)]
        order = np.argsort(-scores, kind="stable")[: ranking.row_count]
        assert holds == [bool(s.run.labels[i, k]) for i in order]
        # P@t column equals per_keyword_metrics on test rows
        table = app.screen.query_one("#keyword-table")
        pk = s.per_keyword()
        assert table.get_cell(str(k), "p") == f"{pk['precision'][k]:.2f}"
        # tab to the ranking, enter opens the top image in the Images view
        await pilot.press("tab")
        assert app.focused is ranking
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.current_view == "images"
        top_row = int(s.run.eval_rows[best])
        assert app.screen.query_one("#images-view").selected_row() == top_row


@needs_learning
def _highlighted_command(app) -> str:
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    if not isinstance(app.screen, CommandPalette):
        return ""
    options = app.screen.query_one(OptionList)
    if options.highlighted is None:
        return ""
    return str(options.get_option_at_index(options.highlighted).prompt)


async def test_palette_runs_an_action():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Evaluate")
        await until(pilot, lambda: _highlighted_command(app).startswith("Evaluate"))  # the search is async
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.current_view == "evaluate"


@needs_learning
async def test_images_search_and_errors_filter():
    app = make_app(threshold=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"kitchen")
        await pilot.pause()
        table = app.screen.query_one("#image-table")
        s = app.session
        expect = s.filter_rows(text="kitchen")
        assert table.row_count == len(expect) < s.dataset.n_images
        # errors only, at threshold 1 (nothing predicted): images with a missed keyword
        app.screen.query_one("#filter-errors").toggle()
        await pilot.pause()
        assert table.row_count == len(s.filter_rows(text="kitchen", errors_only=True)) > 0
        n_before = table.row_count
        app.threshold = -1.0  # everything predicted: every held-out image now has a false positive
        await pilot.pause()
        assert table.row_count >= n_before



@needs_learning
async def test_saved_runs_reopen_explicitly_and_automatically(isolated_home):
    world = tiny_world()
    saved = api.save_run(tiny_run(), api.default_run_dir(world))
    from mmkg_tui.app.app import create_app

    app = create_app(dataset=world, run_dir=saved, reopen_last=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.session.run_dir == str(saved)
        assert app.session.methods == tiny_run().methods
    app = create_app(dataset=world)  # no --run: the last run of this dataset comes back
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.session.has_run and app.session.run_dir == str(saved)
        assert any("reopened the last run" in n for n in app.session.notes)


async def test_bad_run_folder_opens_error_screen(tmp_path):
    from mmkg_tui.app.app import create_app

    app = create_app(run_dir=tmp_path / "not-a-run", reopen_last=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "not-a-run" in plain(app.screen.query_one("#error-text"))


def test_create_app_passes_cli_data_options():
    from mmkg_tui.app.app import create_app

    app = create_app("data.csv", embeddings="vecs.npz", strict=True, clip_model="ViT-B-16")
    r = app.request
    assert (r.data, r.embeddings, r.strict, r.clip_model) == ("data.csv", "vecs.npz", True, "ViT-B-16")


async def test_long_lists_are_capped(monkeypatch):
    from mmkg_tui.views import images

    monkeypatch.setattr(images, "MAX_LIST_ROWS", 25)
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        assert app.screen.query_one("#image-table").row_count == 25
        assert "first 25 shown" in plain(app.screen.query_one("#image-count"))
