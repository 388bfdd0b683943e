"""The app's tables keep the lines DataTable draws across hide/show and across updates
of other rows (widgets/lists.py ``CellTable.render_line``), and what they show is always
what DataTable itself would draw now."""

from rich.text import Text
from textual.app import App
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from mmkg_tui.widgets.lists import VimTable

SIZE = (60, 16)


class Tables(App):
    def compose(self):
        with TabbedContent(id="tabs"):
            with TabPane("a", id="a"):
                yield Static("other view")
            with TabPane("b", id="b"):
                yield VimTable(id="t")

    def on_mount(self) -> None:
        t = self.query_one("#t", VimTable)
        t.add_column("image", key="image")
        t.add_column("score", key="score")
        for i in range(40):
            t.add_row(f"img{i:03d}", Text(f"{i / 40:.3f}", style="green"), key=str(i))


def _count_draws(monkeypatch) -> list:
    """Calls of DataTable's own render_line (the lines the cache had to ask for)."""
    calls = []
    original = DataTable.render_line

    def counted(self, y):
        calls.append(y)
        return original(self, y)

    monkeypatch.setattr(DataTable, "render_line", counted)
    return calls


def _shown(table) -> list:
    return [list(table.render_line(y)) for y in range(table.size.height)]


def _truth(table) -> list:
    """What DataTable would draw now, without the cache."""
    return [list(DataTable.render_line(table, y)) for y in range(table.size.height)]


async def test_a_second_visit_draws_no_line_again(monkeypatch):
    app = Tables()
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.query_one("#tabs", TabbedContent)
        tabs.active = "b"
        await pilot.pause()
        app.query_one("#t").focus()
        await pilot.pause()
        tabs.active = "a"
        await pilot.pause()
        calls = _count_draws(monkeypatch)
        tabs.active = "b"  # shown again: DataTable got a Resize and dropped its own caches
        await pilot.pause()
        app.query_one("#t").focus()
        await pilot.pause()
        assert app.query_one("#t").size.height > 10
        assert calls == []


async def test_an_update_draws_only_its_row_and_shows_the_new_value(monkeypatch):
    app = Tables()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#tabs", TabbedContent).active = "b"
        await pilot.pause()
        table = app.query_one("#t", VimTable)
        _shown(table)
        calls = _count_draws(monkeypatch)
        assert table.update_cells([("3", "score", Text("0.999", style="red"))]) == 1
        lines = _shown(table)
        assert calls == [4]  # the header is line 0: row 3 is line 4
        assert "0.999" in "".join(seg.text for seg in lines[4])
        assert lines == _truth(table)


async def test_the_kept_lines_always_equal_what_datatable_draws():
    """After every kind of change the cached lines equal DataTable's own drawing."""
    app = Tables()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#tabs", TabbedContent).active = "b"
        await pilot.pause()
        table = app.query_one("#t", VimTable)
        table.focus()
        await pilot.pause()
        steps = [
            lambda: table.move_cursor(row=5),
            lambda: table.update_cell("5", "image", "renamed-and-much-longer", update_width=True),
            lambda: table.sort("image", reverse=True),
            lambda: table.remove_row("7"),
            lambda: table.add_row("img999", "1.000", key="999"),
            lambda: table.scroll_to(y=12, animate=False),
            lambda: table.blur(),
            lambda: table.clear(),
            lambda: [table.add_row(f"new{i}", "0", key=f"n{i}") for i in range(3)],
        ]
        for i, step in enumerate(steps):
            _shown(table)  # fill the cache with the state before the step
            step()
            await pilot.pause()
            assert _shown(table) == _truth(table), f"step {i}"
