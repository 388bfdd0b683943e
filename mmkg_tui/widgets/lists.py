"""Tables with vim keys (j/k) for every list in the app, in-place cell updates that
write only the cells that changed, and drawn lines kept across hide/show.

Textual's DataTable drops every cached line whenever it gets a Resize, and a view
switch sends one to every widget the switch shows, even at an unchanged size: each
visit drew all visible cells again (~0.4 ms a cell here, ~55 ms for the Images list).
``CellTable.render_line`` keeps the lines DataTable draws, keyed on everything a line
depends on (its row and that row's content version, the columns and their widths, the
scroll offset, the width, whether it is the cursor row, the styles), and asks
DataTable only for lines not drawn yet; the content versions are bumped by the
mutating methods below, so an update draws only the rows it touched."""

from __future__ import annotations

from typing import Any, Iterable

from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from mmkg_tui.widgets.tablelines import Frame, draw_line

MAX_LINES = 4096  # drawn lines kept per table (cleared when full)


def same_cell(old: Any, new: Any) -> bool:
    """Equal text and style (rich Text equality ignores the base style)."""
    return str(old) == str(new) and getattr(old, "style", None) == getattr(new, "style", None)


class CellTable(DataTable):
    """A DataTable with ``update_cells``: writes only the cells whose value changed,
    through the public ``update_cell`` (public API only, so it survives Textual
    upgrades), and a line cache that survives hide/show (module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lines: dict[tuple, Strip] = {}
        self._layout_version = 0  # rows or columns added, removed, cleared or sorted
        self._row_versions: dict[Any, int] = {}  # row key -> content version (update_cell)
        self._cell_versions: dict[tuple, int] = {}  # (row key, column key) -> content version
        self._cells: dict[tuple, list] = {}  # kept cell renders (widgets/tablelines.py)
        self._tall_rows = False  # a row of more than one line: the cache is not used
        self._frame: Frame | None = None  # set while render_lines draws a frame

    def update_cells(self, updates: Iterable[tuple[str, str, Any]]) -> int:
        """Write (row key, column key, value) cells whose value changed; returns how
        many changed."""
        changed = 0
        for row_key, column_key, value in updates:
            rk, ck = RowKey(row_key), ColumnKey(column_key)
            if same_cell(self.get_cell(rk, ck), value):
                continue
            wider = len(str(value)) > self.columns[ck].content_width
            self.update_cell(rk, ck, value, update_width=wider)
            changed += 1
        return changed

    # the mutating methods: each bumps the version its lines are keyed on
    def update_cell(self, row_key, column_key, value, *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        key = row_key.value if isinstance(row_key, RowKey) else row_key
        column = column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key)
        self._row_versions[key] = self._row_versions.get(key, 0) + 1
        self._cell_versions[(key, column)] = self._cell_versions.get((key, column), 0) + 1

    def add_row(self, *cells, height: int | None = 1, key: str | None = None, label=None) -> RowKey:
        self._tall_rows |= height != 1 or label is not None
        self._layout_version += 1
        return super().add_row(*cells, height=height, key=key, label=label)

    def add_column(self, *args, **kwargs) -> ColumnKey:
        self._layout_version += 1
        return super().add_column(*args, **kwargs)

    def remove_row(self, row_key) -> None:
        self._layout_version += 1
        super().remove_row(row_key)

    def remove_column(self, column_key) -> None:
        self._layout_version += 1
        super().remove_column(column_key)

    def clear(self, columns: bool = False):
        self._layout_version += 1
        self._lines.clear()
        self._row_versions.clear()
        self._cell_versions.clear()
        self._cells.clear()
        self._tall_rows = False
        return super().clear(columns)

    def sort(self, *args, **kwargs):
        self._layout_version += 1
        return super().sort(*args, **kwargs)

    def render_lines(self, crop):
        """What every line of this frame shares is read once (``Frame``), not per line."""
        return self._in_frame(lambda: super(CellTable, self).render_lines(crop))

    def visible_lines(self) -> list[Strip]:
        """The lines of the table's current view, drawn as a frame draws them (the line
        cache included): what the tests compare with DataTable's own drawing."""
        return self._in_frame(lambda: [self.render_line(y) for y in range(self.size.height)])

    def _in_frame(self, draw):
        self._frame = None if self._tall_rows or self.fixed_rows or self.fixed_columns else Frame.of(self)
        try:
            return draw()
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        frame = self._frame
        if frame is None or not self.row_count or not self.columns:  # outside a frame, or not cached
            return super().render_line(y)
        row = y + frame.scroll_y - frame.header if y >= frame.header else -1  # -1: the header
        if row >= self.row_count:
            row_key, version = None, 0
        elif row >= 0:
            row_key = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
            version = self._row_versions.get(row_key, 0)
        else:
            row_key, version = "<header>", 0
        key = (y, row, row_key, version, row == frame.cursor_row, frame.key)
        strip = self._lines.get(key)
        if strip is None:
            if len(self._lines) >= MAX_LINES:
                self._lines.clear()
            strip = self._lines[key] = self._draw(y, frame, row, row_key)
        return strip

    def _draw(self, y: int, frame: "Frame", row: int, row_key) -> Strip:
        """The line drawn by tablelines.draw_line (cells kept until they change), or by
        DataTable where that does not apply (a cell cursor, the mouse over the table)."""
        if not frame.fast:
            return super().render_line(y)
        return draw_line(self, frame, row, row_key, self._cell_versions, self._cells)


class VimTable(CellTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("g", "scroll_top", "Top", show=False, id="list.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="list.bottom"),
    ]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)

    def selected_key(self) -> str | None:
        """The row key under the cursor, or None when the table is empty."""
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # cursor outside after a clear
            return None
