"""Updates that keep a widget's size redraw it without a layout pass of the screen
(widgets/rendered.show_rich, widgets/base.set_text), and the similar-images worker is
started without printing its arguments (Textual describes a worker by repr() of its
arguments unless given a description; the context's arrays took seconds to print)."""

from __future__ import annotations

from app_helpers import make_app, needs_learning, ready, settle
from rich.table import Table
from textual.app import App
from textual.widgets import Static

from mmkg_tui.widgets.base import set_text
from mmkg_tui.widgets.rendered import show_rich


class Recording(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.layouts: list[bool] = []

    def update(self, content="", *, layout: bool = True) -> None:
        self.layouts.append(layout)
        super().update(content, layout=layout)


class Two(App):
    CSS = "#fill { width: 1fr; height: auto; } #auto { width: auto; height: auto; }"

    def compose(self):
        yield Recording(id="fill")
        yield Recording(id="auto")


def _table(*rows: str) -> Table:
    t = Table.grid()
    t.add_column()
    for r in rows:
        t.add_row(r)
    return t


async def test_show_rich_lays_out_only_when_the_height_changes():
    app = Two()
    async with app.run_test(size=(60, 20)) as pilot:
        w = app.query_one("#fill", Recording)
        show_rich(w, _table("a", "b"))
        await pilot.pause()
        show_rich(w, _table("c", "d"))  # same height: redraw only
        show_rich(w, _table("e", "f", "g"))  # one line more: layout
        await pilot.pause()
        assert w.layouts == [True, False, True]
        assert "g" in "".join(s.text for s in w.visual.render_strips(58, None, w.visual_style, None))


async def test_set_text_skips_the_layout_for_text_that_wraps_the_same():
    app = Two()
    async with app.run_test(size=(60, 20)) as pilot:
        fill, auto = app.query_one("#fill", Recording), app.query_one("#auto", Recording)
        for w in (fill, auto):
            set_text(w, "hero images for 'pool'")
        await pilot.pause()
        assert fill.layouts == [False]  # "" and the text are both one line high at this width
        assert auto.layouts == [True] and fill.region.height == 1
        set_text(fill, "hero images for 'fireplace'")  # longer, still one line, width from the screen
        set_text(auto, "hero images for 'fireplace'")  # sized by its content: must lay out
        set_text(fill, "x " * 40)  # wraps to two lines
        set_text(fill, "x " * 40)  # unchanged: no update at all
        await pilot.pause()
        assert fill.layouts == [False, False, True]
        assert auto.layouts == [True, True]
        assert fill.region.height == 2 and auto.region.width == len("hero images for 'fireplace'")


@needs_learning
async def test_similar_images_worker_does_not_print_its_arguments(monkeypatch):
    from mmkg_tui.widgets.similar import SimilarPanel

    started: list[str] = []
    run_worker = SimilarPanel.run_worker

    def recording(self, work, *args, **kwargs):
        started.append(kwargs.get("description", ""))
        return run_worker(self, work, *args, **kwargs)

    monkeypatch.setattr(SimilarPanel, "run_worker", recording)
    app = make_app(run=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await pilot.press("j")
        await settle(pilot)
        assert started, "the similar-images search did not start"
        assert all(len(d) < 40 for d in started), [d[:80] for d in started]
