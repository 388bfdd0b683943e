"""The command palette offers every view's own actions: typing "accept" and running the
entry accepts the selected suspect (the corrections file gets the row)."""

from __future__ import annotations

from app_helpers import SIZE, isolated_home, make_app, plain, ready  # noqa: F401

from mmkg_tui.views.suspects import SuspectsView


async def _type(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def test_palette_accept_runs_the_suspects_action(isolated_home):
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("7")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = app.screen.query_one(SuspectsView)
        first = view.queue.suspects[0]
        await pilot.press("ctrl+p")
        await pilot.pause()
        await _type(pilot, "accept the")
        await pilot.pause(0.3)
        options = app.screen.query_one("CommandList")
        top = str(options.get_option_at_index(options.highlighted).prompt)
        assert top.startswith("Suspects: Accept the suspect"), top
        await pilot.press("enter")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert view.path.read_text(encoding="utf-8") == f"id,keyword,action\n{first.id},{first.keyword},add\n"
        assert "accepted 1 · rejected 0 · skipped 0 · left 99" in plain(app.screen.query_one("#suspects-counts"))
        assert app.view_errors == []


async def test_palette_lists_every_view_binding():
    from mmkg_tui.screens.main import VIEWS
    from mmkg_tui.screens.help import view_help
    from mmkg_tui.widgets.palette import MMKGCommands

    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        titles = [t for t, _cb, _h in MMKGCommands(app.screen).commands()]
        for spec in VIEWS:
            module, name = spec.target.split(":")
            cls = getattr(__import__(module, fromlist=[name]), name)
            for b in getattr(cls, "BINDINGS", ()):
                assert f"{spec.title}: {b.tooltip or b.description}" in titles
        assert "Suspects: Reject the suspect: the label is right as it is (written as keep)" in titles
        assert any(t.startswith("Suspects: Skip") for t in titles)
        assert view_help  # help and palette read the same bindings
