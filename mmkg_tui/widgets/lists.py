"""Tables with vim keys (j/k) for every list in the app."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class VimTable(DataTable):
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
