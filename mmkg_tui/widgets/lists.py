"""Tables with vim keys (j/k) for every list in the app, and in-place cell updates
that re-render only the cells that changed."""

from __future__ import annotations

from typing import Any, Iterable

from textual.binding import Binding
from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


def same_cell(old: Any, new: Any) -> bool:
    """Equal text and style (rich Text equality ignores the base style)."""
    return str(old) == str(new) and getattr(old, "style", None) == getattr(new, "style", None)


class CellTable(DataTable):
    """A DataTable whose ``update_cells`` re-renders only the cells that changed."""

    def __init__(self, **kwargs) -> None:
        # DataTable keys every render cache on one update counter, so a single
        # update_cell re-renders every visible cell (~0.15 ms each). Cells here are
        # cached on the counter minus the bumps of update_cells plus the counter value
        # at which that very cell last changed: an update re-renders only its cells.
        self._cell_bumps = 0
        self._cell_versions: dict[tuple[RowKey, ColumnKey], int] = {}
        self._own_cell_cache: LRUCache[tuple, Any] = LRUCache(10000)
        self.cells_rendered = 0  # cells rendered so far (tests check updates stay local)
        super().__init__(**kwargs)

    def update_cells(self, updates: Iterable[tuple[str, str, Any]]) -> int:
        """Write (row key, column key, value) cells whose value changed; returns how
        many changed. Only those cells are rendered again."""
        changed = 0
        for row_key, column_key, value in updates:
            rk, ck = RowKey(row_key), ColumnKey(column_key)
            if same_cell(self.get_cell(rk, ck), value):
                continue
            wider = len(str(value)) > self.columns[ck].content_width
            self.update_cell(rk, ck, value, update_width=wider)
            self._cell_bumps += 1
            self._cell_versions[(rk, ck)] = self._update_count
            changed += 1
        return changed

    def _render_cell(self, row_index: int, column_index: int, base_style, width: int,
                     cursor: bool = False, hover: bool = False):
        if row_index < 0 or column_index < 0:  # header and row labels: DataTable's cache
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        key = (row_key, column_key, row_index, column_index, base_style, width, cursor, hover,
               self._show_hover_cursor, self.show_cursor, self._pseudo_class_state,
               self._update_count - self._cell_bumps, self._cell_versions.get((row_key, column_key), 0))
        lines = self._own_cell_cache.get(key)
        if lines is None:
            self.cells_rendered += 1
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._own_cell_cache[key] = lines
        return lines

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._own_cell_cache.clear()

    def notify_style_update(self) -> None:
        self._own_cell_cache.clear()
        super().notify_style_update()


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
