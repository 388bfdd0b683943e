"""Pilot tests of the Search (6) and Suspects (7) views with real key presses."""

from __future__ import annotations

from app_helpers import SIZE, isolated_home, make_app, plain, ready  # noqa: F401

from engine import api
from mmkg_tui.views.images import ImagesView
from mmkg_tui.views.search import SearchView
from mmkg_tui.views.suspects import SuspectsView


async def _type(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else "minus" if ch == "-" else ch)


async def test_search_view_query_results_and_enter_opens_the_image():
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("6")
        assert app.screen.current_view == "search"
        app.screen.query_one("#search-query").focus()
        await _type(pilot, "granite kitchen")
        await pilot.press("enter")
        await pilot.pause()
        view = app.screen.query_one(SearchView)
        understood = plain(app.screen.query_one("#search-understood"))
        assert "granite -> granite countertops (word); kitchen" in understood
        assert "50 results in the clip space" in understood
        table = app.screen.query_one("#search-results")
        assert table.row_count == 50 and app.focused is table
        scores = [float(table.get_row_at(i)[2]) for i in range(5)]
        assert scores == sorted(scores, reverse=True)
        ds = app.session.dataset
        first, second = view.last.hits[0], view.last.hits[1]
        assert sum(h.scene == "kitchen" for h in view.last.hits[:10]) >= 8
        assert first.id in plain(app.screen.query_one("#search-facts"))
        await pilot.press("j")
        await pilot.pause()
        assert second.id in plain(app.screen.query_one("#search-facts"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.current_view == "images"
        assert app.screen.query_one(ImagesView).selected_row() == second.row == ds.ids.index(second.id)
        assert app.view_errors == []


async def test_search_view_says_what_it_did_not_understand_and_offers_learned_with_a_run():
    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("6")
        app.screen.query_one("#search-query").focus()
        await _type(pilot, "zzyzx")
        await pilot.press("enter")
        await pilot.pause()
        assert "no known label in the query 'zzyzx'" in plain(app.screen.query_one("#search-understood"))
        assert app.screen.query_one("#search-results").row_count == 0
        app.screen.query_one("#search-space").value = "learned"  # offered because the session has a run
        app.screen.query_one("#search-query").clear()
        app.screen.query_one("#search-query").focus()
        await _type(pilot, "fireplace")
        await pilot.press("enter")
        await pilot.pause()
        view = app.screen.query_one(SearchView)
        run = app.session.run
        assert view.last.space.startswith("sage_")
        eval_rows = set(run.eval_rows.tolist())
        assert view.last.hits and all(h.row in eval_rows for h in view.last.hits)
        assert f"results in the {view.last.space} space" in plain(app.screen.query_one("#search-understood"))
        assert app.view_errors == []


async def test_suspects_view_accept_reject_skip_write_the_corrections_file(isolated_home):
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("7")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = app.screen.query_one(SuspectsView)
        assert view.queue is not None and len(view.queue.suspects) == 100
        table = app.screen.query_one("#suspects-table")
        table.focus()
        first, second = view.queue.suspects[:2]
        await pilot.press("a")
        await pilot.press("r")
        await pilot.press("s")
        await pilot.pause()
        path = view.path
        assert str(path).startswith(str(isolated_home))
        assert path.read_text(encoding="utf-8") == (
            f"id,keyword,action\n{first.id},{first.keyword},add\n{second.id},{second.keyword},keep\n")
        counts = plain(app.screen.query_one("#suspects-counts"))
        assert "accepted 1 · rejected 1 · skipped 1 · left 97" in counts
        assert str(path) in " ".join(counts.split()).replace(" ", "") or path.name in counts
        assert [str(table.get_row_at(i)[4]) for i in range(3)] == ["accepted", "rejected", "skipped"]
        assert table.cursor_row == 3
        assert app.screen.current_view == "suspects"  # r rejected here, it did not start training
        assert not app.training
        # decided pairs are left out of a fresh queue
        fresh = api.suspect_queue(app.session.dataset, app.session.features, k=100,
                                  decided=api.decided_pairs(api.read_corrections(path), app.session.dataset))
        assert (first.id, first.keyword) not in [(s.id, s.keyword) for s in fresh.suspects]
        assert app.view_errors == []


def test_help_lists_the_suspects_view_keys():
    """a / r / s belong to the Suspects view: help shows them in that view's group."""
    from mmkg_tui.screens.help import view_help

    rows = dict(view_help("mmkg_tui.views.suspects:SuspectsView"))
    assert set(rows) >= {"a", "r", "s"}
    assert rows["a"].startswith("Accept the suspect") and rows["s"].startswith("Skip")
