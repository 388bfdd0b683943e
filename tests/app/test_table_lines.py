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
                yield VimTable(id="plain", cursor_type="none", zebra_stripes=False, cell_padding=0)

    def on_mount(self) -> None:
        t = self.query_one("#t", VimTable)
        t.styles.height = 9  # room for the second table under it
        t.add_column("image", key="image")
        t.add_column("score", key="score")
        for i in range(40):
            t.add_row(f"img{i:03d}", Text(f"{i / 40:.3f}", style="green"), key=str(i))
        plain = self.query_one("#plain", VimTable)
        plain.add_columns("method", "auc", "note")
        for i in range(4):
            plain.add_row(Text(f"m{i}", style="bold magenta"), i / 3, None if i == 2 else "[b]x[/b]", key=f"m{i}")


def _count_draws(monkeypatch) -> list:
    """Lines the table had to draw (not found among its kept lines)."""
    calls = []
    original = VimTable._draw

    def counted(self, y, *args):
        calls.append(y)
        return original(self, y, *args)

    monkeypatch.setattr(VimTable, "_draw", counted)
    return calls


def _shown(table) -> list:
    return [list(strip) for strip in table.visible_lines()]


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
        assert app.query_one("#t").size.height == 9
        assert calls == []


async def test_an_update_draws_only_its_row_and_shows_the_new_value(monkeypatch):
    app = Tables()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#tabs", TabbedContent).active = "b"
        await pilot.pause()
        table = app.query_one("#t", VimTable)
        _shown(table)
        calls, kept = _count_draws(monkeypatch), set(table._cells)
        assert table.update_cells([("3", "score", Text("0.999", style="red"))]) == 1
        lines = _shown(table)
        assert calls == [4]  # the header is line 0: row 3 is line 4
        assert len(set(table._cells) - kept) == 1  # one cell rendered anew, its other cell kept
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
        plain = app.query_one("#plain", VimTable)
        assert plain.size.height == 5 and table.size.height == 9
        steps += [lambda: plain.update_cell("m1", plain.ordered_columns[1].key, 0.5), lambda: table.focus()]
        for i, step in enumerate(steps):
            for t in (table, plain):
                _shown(t)  # fill the cache with the state before the step
            step()
            await pilot.pause()
            for t in (table, plain):
                assert _shown(t) == _truth(t), f"step {i}, table {t.id}"
        assert table._cells and plain._cells  # drawn by tablelines, not by DataTable


def test_a_text_cell_is_drawn_as_rich_draws_it():
    """tablelines' direct drawing of a one-line Text cell equals rich's own rendering of
    DataTable's cell renderable (Styled(Padding(...))) for wide characters, spans, base
    styles, cut text and both paddings."""
    from rich.console import Console
    from rich.padding import Padding
    from rich.style import Style
    from textual.renderables.styled import Styled
    from textual.strip import Strip

    from mmkg_tui.widgets.tablelines import _plain_line, _text_cell

    console = Console(width=120, color_system="truecolor")
    pre = Style(color="white", bgcolor="#112233") + Style.from_meta({"row": 3, "column": 1})
    post = Style.from_color(color=Style.parse("magenta").color)
    texts = [Text(f"{i / 7:.3f}", style="green") for i in range(5)] + [
        Text.from_markup("kitchen [b]island[/b] long name", end=""), Text("", end=""),
        Text("x" * 30, style="red"), Text.from_markup("[red]a[/red]b"), Text("é中文字 wide"),
        Text.from_markup("[on blue]x[/] y", style="bold"), Text("cut", overflow="ellipsis"),
        Text("a colour rich does not know", style="orange")]
    for text in texts:
        assert _plain_line(text)
        for padding in (0, 1, 2):
            for width in (w for w in (1, 3, 4, 7, 12, 40) if w > 2 * padding):  # tablelines' condition
                options = console.options.update_dimensions(width, 1).update(no_wrap=True)
                rich = console.render_lines(Styled(Padding(text, (0, padding)), pre_style=pre, post_style=post),
                                            options)[0]
                ours = _text_cell(console, text, width, padding, pre, post)
                assert list(Strip(ours).simplify()) == list(Strip(rich).simplify()), (text, padding, width)
    assert not _plain_line(Text("a\tb")) and not _plain_line(Text("right", justify="right"))
