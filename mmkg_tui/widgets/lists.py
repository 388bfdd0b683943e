"""Tables with vim keys (j/k) for every list in the app, and in-place cell updates
that write only the cells that changed."""

from __future__ import annotations

from typing import Any, Iterable

from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


def same_cell(old: Any, new: Any) -> bool:
    """Equal text and style (rich Text equality ignores the base style)."""
    return str(old) == str(new) and getattr(old, "style", None) == getattr(new, "style", None)


class CellTable(DataTable):
    """A DataTable with ``update_cells``: writes only the cells whose value changed,
    through the public ``update_cell`` (public API only, so it survives Textual
    upgrades; DataTable then re-renders the visible cells once per refresh)."""

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
