"""Pilot tests of the Images view's "similar images" panel: CLIP and learned space,
marks for a shared true keyword, `v` switches, enter selects, j/k coalesced."""

from __future__ import annotations

from app_helpers import SIZE, make_app, plain, ready

from engine import api
from mmkg_tui.views.images import ImagesView
from mmkg_tui.widgets.similar import K, SETTLE_S, SimilarPanel


async def _settle(pilot) -> None:
    await pilot.pause(SETTLE_S + 0.15)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _expected(session, space_name: str, row: int, method: str | None = None):
    ctx = api.Retrieval(session.dataset, session.features, session.run, session.run_dir)
    space = ctx.space("clip") if space_name == "clip" else ctx.space("learned", method)
    hits = api.similar_images(space, session.dataset, row, K)
    own = set(session.true_keywords(row))
    return [(h.row, round(h.score, 3), bool(own & set(h.keywords))) for h in hits]


async def test_similar_panel_clip_space_marks_and_enter_selects():
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await _settle(pilot)
        view = app.screen.query_one(ImagesView)
        panel = app.screen.query_one(SimilarPanel)
        row = view.selected_row()
        want = _expected(app.session, "clip", row)
        table = app.screen.query_one("#similar-clip")
        got = [(int(k.value), float(table.get_row_at(i)[1]), str(table.get_row_at(i)[2]) == "✓")
               for i, k in enumerate(table.rows)]
        assert [(r, s, m) for r, s, m in got] == want and len(want) == K
        assert [s for _r, s, _m in got] == sorted([s for _r, s, _m in got], reverse=True)
        assert any(m for _r, _s, m in got)  # neighbours in CLIP space mostly share a keyword
        assert row not in [r for r, _s, _m in got]
        assert app.session.dataset.ids[row] in plain(app.screen.query_one("#similar-head"))
        await pilot.press("j")
        await _settle(pilot)
        assert panel.row == view.selected_row() != row
        table.focus()
        await pilot.pause()
        await pilot.press("j")
        target = int(list(table.rows)[1].value)
        await pilot.press("enter")
        await pilot.pause()
        assert view.selected_row() == target
        assert app.view_errors == []


async def test_similar_panel_learned_space_follows_the_method_and_v_switches():
    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        view = app.screen.query_one(ImagesView)
        view.set_query("split:test")
        await _settle(pilot)
        panel = app.screen.query_one(SimilarPanel)
        assert app.screen.query_one("#similar-clip").display and not app.screen.query_one("#similar-learned").display
        await pilot.press("v")
        await pilot.pause()
        assert panel.mode == "learned" and app.screen.query_one("#similar-learned").display
        row, method = view.selected_row(), app.session.method
        assert method.startswith("sage_")
        res = panel.results["learned"]
        assert res.space == method
        table = app.screen.query_one("#similar-learned")
        assert [int(k.value) for k in table.rows] == [r for r, _s, _m in _expected(app.session, "learned", row, method)]
        eval_rows = set(app.session.run.eval_rows.tolist())
        assert all(h.row in eval_rows for h in res.hits)
        other = next(m for m in app.session.methods if m.startswith("sage_") and m != method) \
            if sum(m.startswith("sage_") for m in app.session.methods) > 1 else None
        if other is not None:
            app.set_method(other)
            await _settle(pilot)
            assert panel.results["learned"].space == other
        await pilot.press("v")
        assert panel.mode == "clip"
        assert app.view_errors == []


async def test_similar_panel_training_image_has_no_learned_neighbours_and_moves_are_coalesced():
    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        view = app.screen.query_one(ImagesView)
        view.set_query("split:train")
        await _settle(pilot)
        panel = app.screen.query_one(SimilarPanel)
        assert panel.results["learned"].error and not panel.results["learned"].hits
        assert len(panel.results["clip"].hits) == K
        calls = []
        compute = panel.compute
        panel.compute = lambda *a: (calls.append(a[2]), compute(*a))
        app.screen.query_one("#image-table").focus()
        await pilot.pause()
        await pilot.press("j", "j", "j", "j", "j")
        await _settle(pilot)
        assert calls == [view.selected_row()] == [panel.row]
        assert app.view_errors == []


def test_help_lists_the_similar_switch():
    from mmkg_tui.screens.help import view_help

    rows = dict(view_help("mmkg_tui.views.images:ImagesView"))
    assert rows["v"].startswith("Similar images: switch")
