"""Hidden views are built in quiet moments once the engine is ready (screens/main.py
``prebuild_views``), so a first visit is a switch: they are all built without a key,
the visible view and the focus stay as they were, a view shown while it is being
built is built once, and a prebuilt view looks exactly as one built when shown."""

import asyncio

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
