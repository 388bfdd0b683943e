"""--corrections FILE in the explorer: the file's adds and removes are applied when the
dataset loads, and the app says how many (present/corrections.py)."""

from __future__ import annotations


import pytest
from app_helpers import SIZE, make_app, plain, ready, tiny_world

from mmkg_tui.present.corrections import apply_file


def _write(tmp_path, world):
    """Two adds (one of them repeated), one remove, one keep, one add undone later."""
    k0 = world.keywords[int(world.image_keywords(0)[0])]
    missing = next(k for i, k in enumerate(world.keywords) if i not in set(world.image_keywords(1).tolist()))
    other = next(k for i, k in enumerate(world.keywords) if i not in set(world.image_keywords(2).tolist()))
    also = next(k for i, k in enumerate(world.keywords) if i not in set(world.image_keywords(3).tolist()))
    path = tmp_path / "corrections.csv"
    path.write_text("id,keyword,action\n"
                    f"{world.ids[0]},{k0},remove\n"
                    f"{world.ids[1]},{missing},add\n"
                    f"{world.ids[1]},{missing},add\n"
                    f"{world.ids[2]},{other},add\n"
                    f"{world.ids[4]},{world.keywords[int(world.image_keywords(4)[0])]},keep\n"
                    f"{world.ids[3]},{also},add\n"
                    f"{world.ids[3]},{also},remove\n", encoding="utf-8")
    return path, k0, missing


def test_apply_file_counts_the_tags_that_changed(tmp_path):
    world = tiny_world()
    path, k0, missing = _write(tmp_path, world)
    corrected, info = apply_file(world, path)
    assert (info.added, info.removed, info.total) == (2, 1, 3)
    assert info.line() == f"3 corrections applied (2 added, 1 removed) from {path}"
    names = lambda ds, r: {ds.keywords[k] for k in ds.image_keywords(r)}  # noqa: E731
    assert k0 in names(world, 0) and k0 not in names(corrected, 0)
    assert missing in names(corrected, 1) and missing not in names(world, 1)
    assert names(corrected, 5) == names(world, 5)


def test_apply_file_names_the_bad_line(tmp_path):
    from engine import api

    path = tmp_path / "bad.csv"
    path.write_text("id,keyword,action\nnot-an-image,pool,add\n", encoding="utf-8")
    with pytest.raises(api.DataError) as exc:
        apply_file(tiny_world(), path)
    assert "not-an-image" in exc.value.format() and "bad.csv" in exc.value.format()


async def test_explorer_applies_the_file_and_says_so(tmp_path):
    world = tiny_world()
    path, k0, missing = _write(tmp_path, world)
    app = make_app(run=False, corrections=str(path))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.session.corrections.added == 2 and app.session.corrections.removed == 1
        overview = " ".join(plain(app.screen.query_one("#overview-view").query_one("Static"), width=200).split())
        assert "3 corrections applied (2 added, 1 removed)" in overview
        await pilot.press("2")
        await pilot.pause()
        app.screen.query_one("#images-view").show_image(1)
        await pilot.pause()
        assert missing in plain(app.screen.query_one("#image-keywords"), width=200)
        assert k0 not in app.session.true_keywords(0)
        assert app.view_errors == []
