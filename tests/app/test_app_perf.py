"""Issue 12, responsiveness (logic only; the latencies are measured in
benchmarks/stage_app.py): moving in the Images list loads one picture per settled
selection, decoded off the event loop, and a stale load never replaces a newer
selection; view switches leave the footer alone unless its keys change."""

from __future__ import annotations

import threading

from app_helpers import SIZE, isolated_home, make_app, ready, settle  # noqa: F401
from PIL import Image as PILImage
from textual.app import App

from engine import api
from mmkg_tui.app.app import create_app
from mmkg_tui.widgets.picture import Picture


def _pngs(tmp_path, n: int, size=(24, 16)) -> list[str]:
    paths = []
    for i in range(n):
        p = tmp_path / f"img{i}.png"
        PILImage.new("RGB", size, (40 * i % 256, 90, 200)).save(p)
        paths.append(str(p))
    return paths


class PictureApp(App):
    def __init__(self, loader) -> None:
        super().__init__()
        self.loader = loader

    def compose(self):
        yield Picture(id="picture", loader=self.loader, delay=60.0)  # settles only when told (show_now)


async def _settle(pilot, picture: Picture) -> None:
    picture.show_now()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_burst_of_selections_loads_only_the_last_picture(tmp_path):
    paths, loaded = _pngs(tmp_path, 5), []

    def loader(path):
        loaded.append(path)
        return PILImage.open(path)

    app = PictureApp(loader)
    async with app.run_test() as pilot:
        picture = app.query_one(Picture)
        for i, path in enumerate(paths):
            picture.show(path, f"img{i}")
        await pilot.pause()
        assert loaded == [] and picture.path is None  # nothing read while the selection moves
        await _settle(pilot, picture)
        assert loaded == [paths[-1]] and picture.loads == 1
        assert picture.path == paths[-1]
        await _settle(pilot, picture)  # settled: nothing more to read
        assert loaded == [paths[-1]]


async def test_a_load_that_lands_after_the_selection_moved_is_dropped(tmp_path):
    paths, gate, started = _pngs(tmp_path, 2), threading.Event(), threading.Event()

    def loader(path):
        if path == paths[0]:
            started.set()
            gate.wait(10)
        return PILImage.open(path)

    app = PictureApp(loader)
    async with app.run_test() as pilot:
        picture = app.query_one(Picture)
        picture.show(paths[0], "first")
        picture.show_now()
        for _ in range(500):  # the worker starts from the event loop: wait without blocking it
            if started.is_set():
                break
            await pilot.pause(0.02)
        assert started.is_set()
        picture.show(paths[1], "second")  # the first file is still being read
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert picture.path is None  # the first picture never appears for the second selection
        await _settle(pilot, picture)
        assert picture.path == paths[1] and picture.loads == 2


async def test_unreadable_and_missing_files_show_the_reason(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    app = PictureApp(lambda p: PILImage.open(p))
    async with app.run_test() as pilot:
        picture = app.query_one(Picture)
        picture.show(str(bad), "bad")
        await _settle(pilot, picture)
        placeholder = str(app.query_one("#picture-placeholder").content)
        assert picture.path is None and "cannot read the image" in placeholder
        picture.show(str(tmp_path / "gone.png"), "gone")  # no file: said at once, nothing read
        await pilot.pause()
        assert "missing file" in str(app.query_one("#picture-placeholder").content) and picture.loads == 1


async def test_five_j_presses_in_images_show_the_fifth_image_after_one_load():
    demo = api.load_dataset(None)  # the bundled demo has picture files
    app = create_app(dataset=demo, run=None, reopen_last=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await pilot.pause()
        view = app.screen.query_one("#images-view")
        picture = view.query_one(Picture)
        await _settle(pilot, picture)
        start, loads = view.selected_row(), picture.loads
        assert picture.path == demo.image_paths[start]
        picture.settle.delay = 60.0  # the selection settles only when told
        for _ in range(5):
            await pilot.press("j")
        await pilot.pause()
        assert picture.loads == loads and picture.path == demo.image_paths[start]
        await _settle(pilot, picture)
        row = view.selected_row()
        assert view.query_one("#image-table").cursor_row == 5 and row != start
        assert picture.loads == loads + 1 and picture.path == demo.image_paths[row]


async def test_view_switches_keep_the_footer_keys_and_training_changes_them():
    from mmkg_tui.widgets.footer import KeyFooter

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for key in "234":  # build the views first
            await pilot.press(key)
        await pilot.press("1")
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        before, refreshes = footer.entries, []
        real = footer.refresh
        footer.refresh = lambda *a, **k: (refreshes.append(k.get("layout", False)), real(*a, **k))[1]
        for key in "3414":  # Overview, Keywords and Train share the app's keys
            await pilot.press(key)
        await pilot.pause()
        assert footer.entries is before and refreshes == []  # nothing redrawn
        await pilot.press("5")  # Evaluate adds its own keys (c, p, l): the footer follows
        await pilot.pause()
        assert "scale" in [e.description for e in footer.entries]
        assert refreshes and not any(refreshes)  # redrawn, never a layout pass
        assert len(app.screen.query("FooterKey")) == 0  # one widget, no key widgets
        await pilot.press("1")
        await pilot.pause()
        assert "scale" not in [e.description for e in footer.entries]
        app.training = True  # bindings change: esc cancels, r is gone
        await pilot.pause()
        await pilot.pause()
        labels = [e.description for e in footer.entries]
        assert "cancel" in labels and "train" not in labels
        app.training = False
        await pilot.pause()
        await pilot.pause()
        labels = [e.description for e in footer.entries]
        assert "train" in labels and "cancel" not in labels


async def test_the_next_keywords_ranking_is_written_in_place_and_opens_the_right_image():
    app = make_app(threshold=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("3")
        await pilot.pause()
        view = app.screen.query_one("#keywords-view")
        table = app.screen.query_one("#ranking-table")
        await pilot.press("j", "j")
        await settle(pilot)
        s, k = app.session, view.selected_keyword()
        ranking = s.ranking(k)
        assert table.row_count == len(ranking) and view.ranked_rows == [row for row, _, _ in ranking]
        assert [table.get_row_at(i)[1] for i in range(len(ranking))] == [s.dataset.ids[r] for r, _, _ in ranking]
        assert [str(table.get_row_at(i)[4]) == "✓" for i in range(len(ranking))] == [h for _, _, h in ranking]
        assert table.cursor_row == 0
        await pilot.press("tab", "j", "enter")  # the second ranked image
        await pilot.pause()
        assert app.screen.current_view == "images"
        assert app.screen.query_one("#images-view").selected_row() == ranking[1][0]


async def test_footer_click_presses_the_key_and_keys_that_do_not_fit_are_left_out_whole():
    from textual.events import MouseDown

    from mmkg_tui.widgets.footer import KeyFooter

    app = make_app()
    async with app.run_test(size=(60, 24)) as pilot:
        await ready(pilot)
        footer = app.screen.query_one(KeyFooter)
        footer.render()
        drawn = footer.drawn
        assert 0 < len(drawn) < len(footer.entries)  # at 60 columns some keys are left out
        assert drawn[-1].palette and footer.spans[-1][1] <= 60  # the palette key at the right edge
        text = footer.render().plain
        assert all(text[start:end] == entry.label for start, end, entry in footer.spans)  # whole keys
        help_key = next((s, e) for s, e, entry in footer.spans if entry.description == "help")
        footer.post_message(MouseDown(footer, help_key[0] + 1, 0, 0, 0, 1, False, False, False))
        await pilot.pause()
        await pilot.pause()
        assert app.screen.__class__.__name__ != "MainScreen"  # help opened


async def test_keyword_ranking_follows_once_the_selection_settles_and_at_once_on_enter():
    app = make_app(threshold=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("3")
        await settle(pilot)
        view = app.screen.query_one("#keywords-view")
        fills = []
        real = view.show_ranking
        view.show_ranking = lambda: (fills.append(view.selected_keyword()), real())[1]
        view.settle.callback = view.show_ranking
        view.settle.delay = 60.0  # a pause that never comes during the test: only flushes fill
        await pilot.press("j", "j", "j")
        assert fills == []  # three moves, no ranking rewritten yet
        await pilot.press("enter")  # enter: the ranking of the keyword under the cursor, at once
        await pilot.pause()
        assert fills == [view.selected_keyword()]
        assert app.focused is app.screen.query_one("#ranking-table")
        assert view.ranked_rows == [row for row, _, _ in app.session.ranking(view.selected_keyword())]
        await pilot.press("shift+tab", "j")  # back to the list, move: pending again
        assert len(fills) == 1
        await pilot.press("tab")  # focusing the ranking flushes it
        await pilot.pause()
        assert fills[-1] == view.selected_keyword() and len(fills) == 2
