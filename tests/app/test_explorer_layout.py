"""Issue 12, layout at every size: at 80x24 nothing essential is hidden (the P/R/F1
summary stays in the top bar, Evaluate keeps every row and column, image ids and
the split column are whole); at 200x60 the picture and the plots grow. Snapshots
at 80x24 and 200x60 (120x40 in test_app_snapshots.py)."""

from __future__ import annotations

import pytest
from app_helpers import (  # noqa: F401
    isolated_home,
    make_app,
    needs_learning,
    press_after_ready,
    ready,
    stable_app,
)

pytestmark = needs_learning


async def test_80x24_keeps_the_summary_every_method_and_whole_ids():
    app = make_app(threshold=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        summary = app.screen.query_one("#threshold-summary")
        assert str(summary.content).startswith("P ") and summary.region.right <= 80 and summary.region.width > 0
        await pilot.press("5")
        await pilot.pause()
        table = app.screen.query_one("#results-table")
        assert table.row_count == len(app.session.methods)
        assert table.virtual_size.width <= table.region.width  # all eleven columns, no horizontal cut
        assert table.region.height >= table.row_count + 1  # header and every method row shown
        await pilot.press("2")
        await pilot.pause()
        images = app.screen.query_one("#image-table")
        assert images.virtual_size.width <= images.region.width  # id, scene, split and kw all whole
        ids = max(len(i) for i in app.session.dataset.ids)
        assert images.columns[next(iter(images.columns))].get_render_width(images) >= ids
        facts = app.screen.query_one("#image-facts")
        assert facts.region.width >= 30  # the scene / split / attributes panel is readable


async def test_200x60_grows_the_picture_and_the_plots():
    app = make_app(threshold=0.3)
    async with app.run_test(size=(200, 60)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await pilot.pause()
        picture = app.screen.query_one("#picture")
        assert picture.region.width > 60 and picture.region.height > 24
        await pilot.press("5")
        await pilot.pause()
        roc = app.screen.query_one("#roc-plot")
        assert roc.region.width > 80 and roc.region.height > 25


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
@pytest.mark.parametrize("keys", [("2", "j", "j"), ("5",), ("1",)], ids=["images", "evaluate", "overview"])
def test_snapshot_sizes(snap_compare, size, keys):
    assert snap_compare(stable_app(threshold=0.3), terminal_size=size, run_before=press_after_ready(*keys))
