"""Hidden views are built in quiet moments once the engine is ready (screens/main.py
``prebuild_views``), so a first visit is a switch: they are all built without a key,
the visible view and the focus stay as they were, a view shown while it is being
built is built once, and a prebuilt view looks exactly as one built when shown."""

import asyncio
import html
import re

from mmkg_tui.screens.main import VIEWS, MainScreen
from tests.app_helpers import make_app, ready, settle, stable_app, until

SIZE = (120, 40)
HIDDEN = [v.id for v in VIEWS if v.id != "overview"]


def _all_built(app) -> bool:
    return isinstance(app.screen, MainScreen) and app.screen.all_built


async def test_every_hidden_view_is_built_without_a_key_and_nothing_moves():
    app = make_app(prebuild=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        focused = app.focused
        await until(pilot, lambda: _all_built(app), steps=5000)
        assert app.screen.current_view == "overview"
        assert app.focused is focused
        for v in HIDDEN:  # built in its own pane, hidden
            pane = app.screen.query_one("#views").get_pane(v)
            assert len(pane.children) == 1 and app.screen.view(v).is_mounted and not pane.display
        assert app.view_errors == []


async def test_without_prebuild_the_hidden_views_wait_for_their_first_visit():
    app = make_app(prebuild=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for _ in range(30):  # well past PREBUILD_QUIET_S
            await pilot.pause(0.02)
        assert [app.screen.view(v) for v in HIDDEN] == [None] * len(HIDDEN)


async def test_a_view_asked_for_twice_at_once_is_built_once():
    app = make_app(prebuild=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        a, b = await asyncio.gather(app.screen.ensure_view("evaluate"), app.screen.ensure_view("evaluate"))
        assert a is b
        assert len(app.screen.query_one("#views").get_pane("evaluate").children) == 1


async def _screen_of(app, key: str, wait_built: bool) -> str:
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        if wait_built:
            await until(pilot, lambda: _all_built(app), steps=5000)
        await pilot.press(key)
        await pilot.pause()
        await settle(pilot)
        return app.export_screenshot()


async def test_a_prebuilt_view_looks_as_one_built_when_shown():
    for key in "234567":
        lazy = await _screen_of(stable_app(threshold=0.3, prebuild=False), key, wait_built=False)
        early = await _screen_of(stable_app(threshold=0.3, prebuild=True), key, wait_built=True)
        assert early == lazy, f"view {key}"


CELL_W, LINE_H = 12.2, 24.4  # the SVG export's size of one terminal cell


def _screen_cells(app) -> dict[tuple[int, int], list[str]]:
    """What the screen shows, cell by cell, from its SVG export: (line, column) ->
    [background, character + style]. Where the segments are cut may change without any
    visible change (the compositor cuts lines where the widgets under the visible ones
    end) and the export leaves some blank text out, so compare cells, not segments."""
    svg = re.sub(r"terminal-\d+", "terminal", app.export_screenshot())  # the export's hash prefix
    cells: dict[tuple[int, int], list[str]] = {}
    for fill, x, y, w in re.findall(r'<rect fill="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', svg):
        for col in range(round(float(x) / CELL_W), round((float(x) + float(w)) / CELL_W)):
            cells[(round(float(y) / LINE_H), col)] = [fill, ""]
    text = r'<text class="([^"]+)" x="([\d.]+)" y="[\d.]+" [^>]*clip-path="url\(#terminal-line-(\d+)\)">([^<]*)</text>'
    for style, x, line, content in re.findall(text, svg):
        for i, ch in enumerate(html.unescape(content)):
            if ch not in " \xa0\n":
                cells.setdefault((int(line), round(float(x) / CELL_W) + i), ["", ""])[1] = ch + style
    return cells


def _rich_renders(view) -> dict[str, int]:
    """How many times each rich content of the view was rendered (CachedRich counts)."""
    return {w.id: w.content.renders for w in view.query("Static") if hasattr(w.content, "renders")}


async def test_a_prebuilt_view_is_laid_out_before_its_first_visit():
    """The first visit of a prebuilt view is a plain switch: its rich contents were
    measured and rendered at their real width while it was hidden, so showing it renders
    none of them again (before ``lay_out_hidden`` a hidden view had never been laid out,
    so its first visit rendered every one of them)."""
    app = make_app(prebuild=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: _all_built(app), steps=5000)
        images = app.screen.view("images")
        before = _rich_renders(images)
        assert before and all(n >= 1 for n in before.values()), before
        assert images.query_one("#image-table").region.size == (0, 0)  # still hidden
        await pilot.press("2")
        await pilot.pause()
        assert app.screen.current_view == "images"
        assert _rich_renders(images) == before


async def test_laying_a_hidden_view_out_does_not_change_the_screen():
    """``lay_out_hidden`` draws the hidden view under the visible one (its own lower
    layer): the screen stays exactly as it was, and the pane is hidden again after."""
    app = stable_app(threshold=0.3, prebuild=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await until(pilot, lambda: _all_built(app), steps=5000)
        await settle(pilot)
        shown = _screen_cells(app)
        done = []
        pane = app.screen.query_one("#views").get_pane("keywords")
        app.screen.lay_out_hidden("keywords", then=lambda: done.append(True))
        assert pane.display  # displayed, under the Overview
        while not done:
            await pilot.pause(0.01)
            assert _screen_cells(app) == shown
        assert not pane.display and app.screen.current_view == "overview"
        assert app.screen.view("keywords").query_one("#keyword-table").region.size == (0, 0)
