"""Threshold changes redraw only what changed: the ROC curves and the per-keyword frame
are built once per run, markers move over them at the plotext positions, tables
update changed cells only, and the loss curve is throttled while training."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import SIZE, isolated_home, make_app, needs_learning, ready  # noqa: F401
from textual.app import App, ComposeResult

from mmkg_tui.present.progress import TrainingSnapshot
from mmkg_tui.widgets.base import fmt
from mmkg_tui.widgets.lists import CellTable, VimTable
from mmkg_tui.widgets.markerplot import MarkerPlot, StripPlot


def strips_text(visual) -> list[str]:
    return ["".join(seg.text for seg in strip) for strip in visual.strips]


def find(lines: list[str], char: str) -> list[tuple[int, int]]:
    return [(r, c) for r, line in enumerate(lines) for c, ch in enumerate(line) if ch == char]


class PlotApp(App):
    CSS = "MarkerPlot { width: 50; height: 20; }"

    def compose(self) -> ComposeResult:
        yield MarkerPlot(id="plot")


def _roc_like(plt) -> None:
    plt.title("test")
    plt.xlim(0, 1)
    plt.ylim(0, 1)
    plt.plot([0.0, 0.2, 1.0], [0.0, 0.7, 1.0], marker="braille", label="m")


async def test_marker_lands_where_plotext_draws_it():
    rng = np.random.default_rng(0)
    app = PlotApp()
    async with app.run_test(size=(60, 24)) as pilot:
        plot = app.query_one(MarkerPlot)
        plot.set_static(_roc_like)
        await pilot.pause()
        points = [(0.0, 0.0), (1.0, 1.0), (0.5, 0.5)] + [tuple(p) for p in rng.random((12, 2)).round(3)]
        for x, y in points:
            plot.set_marker(x, y)
            ours = find(strips_text(plot.render()), "●")
            plt = plot.plt  # the same figure with the point drawn by plotext itself
            plt.clear_data()
            plt.clear_figure()
            _roc_like(plt)
            plt.scatter([x], [y], marker="●")
            theirs = find([line.plain for line in plot.build_lines()], "●")
            assert ours == theirs, (x, y)
        builds = plot.builds
        plot.set_marker(0.3, 0.9)
        plot.render()
        assert plot.builds == builds  # moving the marker builds nothing


async def test_cell_table_writes_only_changed_cells():
    class TableApp(App):
        def compose(self) -> ComposeResult:
            yield CellTable(id="t")

    app = TableApp()
    async with app.run_test(size=(60, 24)) as pilot:
        table = app.query_one(CellTable)
        table.add_column("a", key="a")
        table.add_column("b", key="b")
        for i in range(10):
            table.add_row(f"r{i}", "0.00", key=str(i))
        await pilot.pause()
        writes = []
        original = table.update_cell
        table.update_cell = lambda *a, **k: (writes.append(a[:2]), original(*a, **k))[1]
        assert table.update_cells([(str(i), "b", "0.00") for i in range(1, 10)]) == 0
        changed = table.update_cells([("3", "b", "0.55")])
        await pilot.pause()
        assert changed == 1
        assert table.get_cell("3", "b") == "0.55"
        assert writes == [("3", "b")]  # unchanged cells are not written at all
        line = "".join(seg.text for seg in table.render_line(4))  # header + rows 0..2, then r3
        assert "r3" in line and "0.55" in line


@needs_learning
async def test_threshold_step_in_evaluate_moves_markers_without_plotext_builds():
    app = make_app(threshold=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("5")
        await pilot.pause()
        roc, kw = app.screen.query_one("#roc-plot", MarkerPlot), app.screen.query_one("#keyword-plot", MarkerPlot)
        builds = (roc.builds, kw.builds)
        for key in ("]", "]", "}", "["):
            await pilot.press(key)
            await pilot.pause()
            s = app.session
            now = s.threshold_metrics()
            assert roc.markers == [(pytest.approx(now["fpr"]), pytest.approx(now["tpr"]), "●", "red")]
            pk = s.per_keyword()
            finite = int(np.isfinite(pk["precision"]).sum() + np.isfinite(pk["recall"]).sum())
            assert len(kw.markers) == finite
            table = app.screen.query_one("#results-table", CellTable)
            assert table.get_cell(s.method, "p") == fmt(now["precision"])
        assert app.threshold == pytest.approx(0.26)
        assert (roc.builds, kw.builds) == builds  # no plotext build on a threshold change
        await pilot.press("m")  # a method change rebuilds the curves once (title names the method)
        await pilot.pause()
        assert roc.builds == builds[0] + 2  # the figure and its calibration
        assert app.view_errors == []


@needs_learning
async def test_threshold_step_in_keywords_updates_cells_in_place():
    app = make_app(threshold=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("3")
        await pilot.pause()
        table = app.screen.query_one("#keyword-table", VimTable)
        rows_before = table.row_count
        await pilot.press("}")
        await pilot.pause()
        pk = app.session.per_keyword()
        for k in range(app.session.dataset.n_keywords):
            p, r = pk["precision"][k], pk["recall"][k]
            assert table.get_cell(str(k), "p") == ("-" if not np.isfinite(p) else fmt(p, 2))
            assert table.get_cell(str(k), "r") == ("-" if not np.isfinite(r) else fmt(r, 2))
        assert table.row_count == rows_before  # updated in place, not rebuilt
        assert app.view_errors == []


@needs_learning
async def test_a_burst_of_threshold_changes_is_drawn_once():
    app = make_app(threshold=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("5")
        await pilot.pause()
        roc = app.screen.query_one("#roc-plot", MarkerPlot)
        renders = []
        original = roc.render
        roc.render = lambda: (renders.append(1), original())[1]
        for _ in range(10):  # ten key repeats inside one frame
            app.screen.action_step_threshold(0.01)
        await pilot.pause()
        await pilot.pause()
        assert app.threshold == pytest.approx(0.3)
        assert len(renders) == 1
        now = app.session.threshold_metrics()
        assert roc.markers[0][:2] == (pytest.approx(now["fpr"]), pytest.approx(now["tpr"]))


async def test_loss_curve_is_throttled_while_training_and_complete_at_the_end():
    """The throttle runs on an injected clock, so the verdict does not depend on how
    fast this machine delivers 30 messages (it measured the machine, not the code)."""
    from mmkg_tui.views.train import LOSS_REDRAW_S

    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("4")
        view = app.screen.query_one("#train-view")
        plot = app.screen.query_one("#loss-plot", StripPlot)
        now = [1000.0]
        view.loss_gate.clock = lambda: now[0]
        view.set_running(True)
        await pilot.pause()
        builds = plot.builds
        losses = []
        drawn_after = []
        for step in range(30):  # 30 progress messages, 0.125 s apart on the fake clock
            losses.append((step / 30, 1.0 / (step + 1)))
            view.show_progress(TrainingSnapshot(stage="train", epoch=1, epochs=1, step=step + 1,
                                                steps_per_epoch=30, loss=losses[-1][1], losses=list(losses)))
            await pilot.pause()
            if plot.builds > builds + len(drawn_after):
                drawn_after.append(step)
            now[0] += 0.125
        # set_running drew the empty curve at t=0; a draw is due once LOSS_REDRAW_S (0.4 s)
        # has passed since the last one: at 0.5 s, 1.0 s, ... i.e. every 4th message
        assert LOSS_REDRAW_S == pytest.approx(0.4)
        assert drawn_after == [4, 8, 12, 16, 20, 24, 28]
        assert plot.builds - builds == 7
        assert view._losses_drawn == losses[:29]  # the last throttled draw
        view.finish("done", done=True)
        await pilot.pause()
        assert view._losses_drawn == losses  # the whole curve once training ends


async def test_warm_up_imports_training_modules_and_freezes_the_heap():
    import gc
    import sys

    from engine.api import TRAINING_MODULES

    gc.unfreeze()
    app = make_app(run=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)  # waits for the warm-up worker too
            assert gc.get_freeze_count() > 1000  # the long-lived heap left the full collections
            assert [m for m in TRAINING_MODULES if m not in sys.modules] == []
    finally:
        gc.unfreeze()
