"""Issue 12, "Traps and wrong labels": each test drives the keyboard path a user
takes and checks where focus, the list, the labels and the footer end up."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import SIZE, isolated_home, make_app, needs_learning, plain, ready  # noqa: F401


pytestmark = needs_learning


async def test_search_enter_goes_to_results_and_esc_back_to_the_list():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"fireplace", "enter")
        await pilot.pause()
        table = app.screen.query_one("#image-table")
        assert app.focused is table
        first = table.selected_key()
        await pilot.press("j")
        assert table.selected_key() != first  # j works again
        await pilot.press("slash", *"x", "escape")
        await pilot.pause()
        assert app.focused is table


def test_query_syntax_parses_filters_and_words():
    from mmkg_tui.present.query import parse_query

    q = parse_query('split:test scene:kitchen kw:"hardwood floors" errors fireplace')
    assert (q.split, q.scenes, q.keywords, q.errors, q.words) == (2, ["kitchen"], ["hardwood floors"], True, ["fireplace"])
    assert parse_query("split:later").problems == ["unknown split 'later': use split:train, split:val or split:test"]


async def test_query_syntax_filters_the_list():
    app = make_app(threshold=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        s = app.session
        ds = s.dataset
        await pilot.press("slash", *"split:test scene:kitchen", "enter")
        await pilot.pause()
        table = app.screen.query_one("#image-table")
        rows = [int(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]
        kitchen = ds.scenes.index("kitchen")
        expect = [r for r in range(ds.n_images) if s.run.split[r] == 2 and ds.image_scene[r] == kitchen]
        assert rows == expect and rows
        await pilot.press("slash", "ctrl+u", *"kw:fireplace errors", "enter")
        await pilot.pause()
        k = ds.keywords.index("fireplace")
        errors = set(s.error_rows().tolist())
        expect = [r for r in range(ds.n_images) if k in ds.image_keywords(r) and r in errors]
        assert table.row_count == len(expect) > 0
        await pilot.press("slash", "ctrl+u", *"split:soon", "enter")
        await pilot.pause()
        assert "unknown split 'soon'" in plain(app.screen.query_one("#image-count"))


def test_debouncer_runs_once_after_a_burst():
    from mmkg_tui.present.query import Debouncer

    timers, calls = [], []

    class Timer:
        def __init__(self, fn):
            self.fn, self.stopped = fn, False

        def stop(self):
            self.stopped = True

    def schedule(delay, fn):
        timers.append(Timer(fn))
        return timers[-1]

    d = Debouncer(schedule, lambda: calls.append(1), 0.15)
    for _ in range(6):  # six keys in a burst
        d()
    assert calls == [] and sum(not t.stopped for t in timers) == 1
    next(t for t in timers if not t.stopped).fn()  # the pause after the burst
    assert calls == [1]
    Debouncer(schedule, lambda: calls.append(2), 0.0)()  # small data: at once
    assert calls == [1, 2]


async def test_search_on_a_large_dataset_filters_once_after_typing(monkeypatch):
    from mmkg_tui.views import images

    monkeypatch.setattr(images, "DEBOUNCE_MIN_IMAGES", 0)
    monkeypatch.setattr(images, "DEBOUNCE_S", 30.0)  # no pause long enough inside the test
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        view = app.screen.query_one("#images-view")
        fills = []
        real = view.refill
        monkeypatch.setattr(view, "refill", lambda: (fills.append(1), real()))
        view.search.callback = view.refill
        await pilot.press("slash", *"kitchen")
        await pilot.pause()
        assert fills == []
        await pilot.press("enter")  # enter applies at once
        await pilot.pause()
        assert fills == [1]
        assert app.screen.query_one("#image-table").row_count == len(app.session.filter_rows(text="kitchen"))


def _footer(app) -> list[str]:
    """The keys the footer draws at the screen's width."""
    from mmkg_tui.widgets.footer import KeyFooter

    footer = app.screen.query_one(KeyFooter)
    footer.render()  # lays the keys out at its width, as the next frame does
    return [entry.label for entry in footer.drawn]


async def test_footer_shows_cancel_only_while_training_and_keeps_help_and_quit(monkeypatch):
    import threading

    from engine import api

    gate = threading.Event()

    def waiting(dataset, features, config, *, cancel=None):
        gate.wait(10)
        raise api.Cancelled()
        yield  # pragma: no cover

    monkeypatch.setattr(api, "iter_experiment", waiting)
    app = make_app(run=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("t")  # a text field has focus, nothing trains
        await pilot.pause()
        keys = _footer(app)
        assert not any("cancel" in k for k in keys), keys
        await pilot.press("escape", "r")
        await pilot.pause()
        keys = _footer(app)
        assert "esc cancel" in keys and "? help" in keys and "q quit" in keys
        footer = app.screen.query_one("KeyFooter")
        assert all(end <= 80 for _, end, _ in footer.spans)  # nothing falls off at 80 columns
        assert keys[-1] in ("^p palette", "^p")  # the palette key stays at the right edge
        gate.set()
        await app.workers.wait_for_complete()


async def test_evaluate_cursor_is_the_selected_method_and_j_k_enter_select():
    app = make_app(threshold=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("5")
        await pilot.pause()
        table = app.screen.query_one("#results-table")
        methods = app.session.methods
        assert table.cursor_row == methods.index(app.method)
        assert app.focused is table
        before = app.method
        await pilot.press("j")
        await pilot.pause()
        assert app.method == methods[(methods.index(before) + 1) % len(methods)]
        assert table.cursor_row == methods.index(app.method)
        await pilot.press("m")  # the method key moves the one highlight too
        await pilot.pause()
        assert table.cursor_row == methods.index(app.method)
        await pilot.press("k", "enter")
        await pilot.pause()
        assert table.cursor_row == methods.index(app.method)


async def test_enter_on_the_keyword_list_goes_to_its_images():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("3", "j", "enter")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#ranking-table")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.current_view == "images"


async def test_empty_threshold_field_left_with_esc_shows_the_active_threshold():
    app = make_app(threshold=0.4)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("t", "backspace", "escape")
        await pilot.pause()
        assert app.screen.query_one("#threshold-input").value == "0.40"
        assert app.threshold == pytest.approx(0.4)


async def test_help_is_grouped_by_view_with_keys_only():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = plain(app.screen.query_one("#help-table"), width=100)
        for group in ("Everywhere", "1 Overview", "2 Images", "3 Keywords", "4 Train", "5 Evaluate"):
            assert group in text
        assert "split:test" in text and "baselines" in text
        assert "view.images" not in text and "threshold.up" not in text
        assert "[ ]" not in text
        for line in ("self-loop only", "most similar TRAINING images", "scene node"):
            assert line in text  # each strategy explained
        assert "config.toml" in text


async def test_palette_lists_quit_once_and_offers_the_filters():
    from mmkg_tui.widgets.palette import MMKGCommands

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ours = [title for title, _, _ in MMKGCommands(app.screen).commands()]
        system = [c.title for c in app.get_system_commands(app.screen)]
        assert sum("quit" in t.lower() for t in ours + system) == 1
        assert "Images: only test images" in ours and "Images: only images with errors at the threshold" in ours


async def test_empty_search_says_no_image_matches():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"zzzz-nothing", "enter")
        await pilot.pause()
        placeholder = plain(app.screen.query_one("#picture-placeholder"))
        assert "no image file" not in placeholder and "no image matches" in placeholder
        assert "no image matches" in plain(app.screen.query_one("#image-facts"))


async def test_progress_bar_empties_after_a_cancel():
    from mmkg_tui.present.progress import TrainingSnapshot

    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("4")
        view = app.screen.query_one("#train-view")
        view.set_running(True)
        view.show_progress(TrainingSnapshot(stage="train", epoch=1, epochs=1, step=4, steps_per_epoch=4, loss=0.5))
        assert view.query_one("#train-progress").percentage == 1.0
        view.finish("cancelled", done=False)
        assert view.query_one("#train-progress").percentage == 0.0


@pytest.mark.parametrize("initial, focus_id", [("overview", None), ("images", "image-table")])
async def test_start_focus_is_where_a_visit_of_the_view_puts_it(initial, focus_id):
    """At start the view's own list has the focus (or nothing, on a view without one),
    as after pressing the view's key: not the first focusable widget, the method picker
    in the top bar, where down or enter opened the method list instead of moving."""
    from textual.widgets import Select

    from mmkg_tui.screens.main import VIEWS

    app = make_app()
    app.initial_view = initial
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.screen.current_view == initial
        assert getattr(app.focused, "id", None) == focus_id
        await pilot.press("down")
        assert not app.screen.query_one("#method-select", Select).expanded
        key = next(v.key for v in VIEWS if v.id == initial)
        await pilot.press("4", key)
        assert getattr(app.focused, "id", None) == focus_id
