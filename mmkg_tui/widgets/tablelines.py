"""DataTable's drawing of one line, for the app's one-line-row tables, with each cell's
render kept until that cell changes.

Textual's DataTable renders every cell of a line again after any ``update_cell``
(its caches are keyed on a table-wide update counter), at ~0.25 ms a cell through
rich; a threshold step changes two or three cells of every visible row, so it drew the
whole table. ``draw_line`` builds the line the same way DataTable does (the same rich
renderables, styles and meta, checked against DataTable's own drawing in
tests/app/test_table_lines.py), from cells kept per (row, column, content version,
width, style). It handles the tables the app makes: rows of one line, no row labels,
no fixed rows or columns, a row or no cursor, no mouse hover; the caller falls back
to DataTable for anything else."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from rich.padding import Padding
from rich.protocol import is_renderable
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.renderables.styled import Styled
from textual.strip import Strip

MAX_CELLS = 20_000  # kept cell renders per table (cleared when full)


def format_cell(value: Any) -> Any:
    """DataTable's cell formatting for a one-line row (markup in strings, floats to 2
    places, renderables as they are)."""
    if value is None:
        return Text("", end="")
    if isinstance(value, str):
        content = value.split("\n", 1)[0] if "\n" in value else value
        text = Text.from_markup(content, end="")
        text.no_wrap = True
        return text
    if isinstance(value, float):
        return Text(f"{value:.2f}", no_wrap=True, end="")
    if not is_renderable(value):
        return Text(str(value), no_wrap=True, end="")
    return value


@dataclass
class Frame:
    """What every line of one frame of a table depends on, read once per frame.
    ``cells`` is what a cell's drawing depends on besides its content (styles, theme,
    focus, padding); ``key`` adds what a whole line depends on (columns and widths,
    scroll, width, cursor, hover), and keys a drawn line together with the row, its
    content version and whether it is the cursor row. ``styles`` keeps the row, cell and
    extension styles of the frame."""

    width: int
    scroll_x: int
    scroll_y: int
    header: int
    cursor_row: int
    columns: tuple  # (column key, render width, label) in order
    fast: bool  # tablelines draws the lines (a row or no cursor, no mouse hover)
    base: Style  # the table's own style (its colours over its ancestors' backgrounds)
    cells: tuple
    key: tuple
    styles: dict = field(default_factory=dict)

    @classmethod
    def of(cls, table) -> "Frame":
        scroll_x, scroll_y = table.scroll_offset
        header = table.header_height if table.show_header else 0
        cursor_row = table.cursor_coordinate.row if table.cursor_type == "row" else -2
        cell_cursor = table.cursor_coordinate if table.cursor_type in ("cell", "column") else None
        columns = tuple((c.key, c.get_render_width(table), str(c.label)) for c in table.ordered_columns)
        hover = table.is_mouse_over
        base = table.rich_style  # walks the ancestors: read once a frame, not once a line
        cells = (table._layout_version, table.show_cursor, table.cursor_type, table.zebra_stripes,
                 table.cell_padding, table.header_height, base, table.get_pseudo_class_state(),
                 table.app.theme, table.cursor_foreground_priority, table.cursor_background_priority)
        key = cells + (columns, scroll_x, table.size.width, header, cell_cursor,
                       table.hover_coordinate if hover else None)
        return cls(table.size.width, scroll_x, scroll_y, header, cursor_row, columns,
                   table.cursor_type in ("row", "none") and not hover, base, cells, key)

    def style(self, what: tuple, make) -> Any:
        if what not in self.styles:
            self.styles[what] = make()
        return self.styles[what]


def cell_styles(table, cursor: bool, header: bool) -> tuple[Style, Style]:
    """(component style, post style) of a cell, as DataTable computes them (no hover)."""
    component = Style()
    if cursor and table.show_cursor:
        component += table.get_component_rich_style("datatable--cursor")
        if header:
            component += table.get_component_rich_style("datatable--header-cursor")
    post = Style.from_color(color=component.color) if table.cursor_foreground_priority == "css" else Style.null()
    if table.cursor_background_priority == "css":
        post += Style.from_color(bgcolor=component.bgcolor)
    return component, post


def row_style(table, row: int, base: Style) -> Style:
    if row == -1:
        return table.get_component_styles("datatable--header").rich_style
    if table.zebra_stripes:
        return table.get_component_styles("datatable--odd-row" if row % 2 else "datatable--even-row").rich_style
    return base


def _cell(table, frame: Frame, cache: dict, key: tuple, value: Any, row: int, column: int, width: int,
          style: Style, cursor: bool) -> list[Segment]:
    """One cell's segments (rendered on the first call for ``key``)."""
    segments = cache.get(key)
    if segments is None:
        header = row == -1
        component, post = frame.style(("cell", cursor, header), lambda: cell_styles(table, cursor, header))
        pre = style + Style.from_meta({"row": row, "column": column}) + component
        content = value if header else format_cell(value)
        height = table.header_height if header else 1
        if height == 1 and width > 2 * table.cell_padding and _plain_line(content):
            segments = _text_cell(table.app.console, content, width, table.cell_padding, pre, post)
        else:
            options = table.app.console_options.update_dimensions(width, height)
            if height == 1:
                options = options.update(no_wrap=True)
            renderable = Styled(Padding(content, (0, table.cell_padding)), pre_style=pre, post_style=post)
            segments = table.app.console.render_lines(renderable, options)[0]
        if len(cache) >= MAX_CELLS:
            cache.clear()
        cache[key] = segments
    return segments


def _plain_line(content: Any) -> bool:
    """A left-aligned one-line Text without tabs: ``_text_cell`` draws it as rich does."""
    return (isinstance(content, Text) and content.justify in (None, "default", "left")
            and "\t" not in content.plain and "\n" not in content.plain)


def _text_cell(console, text: Text, width: int, padding: int, pre: Style, post: Style) -> list[Segment]:
    """What ``console.render_lines(Styled(Padding(text, (0, padding)), pre, post))`` gives
    for a one-line, left-aligned Text at ``width`` > 2 x ``padding`` (no wrapping; rich
    draws a cell with no inner width otherwise), about 7x faster: the
    text cut to the inner width, the padding and the rest unstyled, then pre and post
    styles around every segment."""
    inner = width - 2 * padding
    cut = text.copy()
    cut.truncate(inner, overflow=cut.overflow or "fold")
    body: Any = cut.render(console)
    if cut.style:  # the text's own style (rich applies it as a span around the line)
        body = Segment.apply_style(body, console.get_style(cut.style, default=Style.null()))  # as rich: unknown names style nothing
    segments = ([Segment(" " * padding)] if padding else []) + [s for s in body if s.text]
    rest = inner - cut.cell_len + padding
    if rest > 0:
        segments.append(Segment(" " * rest))
    return list(Segment.apply_style(segments, pre, post))


def _extension(table, row: int, style: Style, cursor_row: int) -> Style:
    """The style of the blank that extends a row to the table's width (without its meta)."""
    if table.cursor_type == "row":
        component, _ = cell_styles(table, row == cursor_row, row == -1)
        extend = style + component
    elif style.bgcolor is not None:
        faded = Color.from_rich_color(style.bgcolor).blend(table.background_colors[1], factor=0.25)
        extend = Style.from_color(color=style.color, bgcolor=faded.rich_color)
    else:
        extend = Style.from_color(style.color, style.bgcolor)
    return extend


def draw_line(table, frame: Frame, row: int, row_key: Any, versions: dict, cache: dict) -> Strip:
    """Line of ``row`` (-1: the header), cropped to the scroll offset and the width.
    ``versions`` maps (row key, column key) to a content version; cells are kept in
    ``cache`` under their content, width, styles and ``frame.cells``."""
    width, base = frame.width, frame.base
    if row >= table.row_count:
        return Strip.blank(width, base)
    parity = -1 if row == -1 else row % 2
    style = frame.style(("row", parity), lambda: row_style(table, row, base))
    cursor = row == frame.cursor_row
    columns = table.ordered_columns
    values = [c.label for c in columns] if row == -1 else table.get_row_at(row)
    cells = []
    for index, ((column_key, cell_width, _), value) in enumerate(zip(frame.columns, values)):
        key = (row, row_key, column_key, versions.get((row_key, column_key), 0), cell_width, style, cursor, frame.cells)
        cells.append(_cell(table, frame, cache, key, value, row, index, cell_width, style, cursor))
    remaining = max(0, width - sum(width for _, width, _ in frame.columns))
    extend = frame.style(("extend", parity, cursor), lambda: _extension(table, row, style, frame.cursor_row))
    extend += Style.from_meta({"row": row, "column": 0, "out_of_bounds": True})  # per row: not kept
    line = list(chain.from_iterable(cells)) + [Segment(" " * remaining, extend)]
    return Strip(line).crop(frame.scroll_x, frame.scroll_x + width).adjust_cell_length(width, base).simplify()
