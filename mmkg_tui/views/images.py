"""Images: a searchable, filterable list and, for the selected image, its picture,
scene, attributes, true keywords and the predictions of the current method marked
TP / FP / missed at the threshold."""

from __future__ import annotations

import numpy as np
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from mmkg_tui.widgets.base import StateView, fmt_t
from mmkg_tui.widgets.lists import VimTable
from mmkg_tui.widgets.picture import Picture

MARK_STYLE = {"TP": ("✓ TP", "bold green"), "FP": ("✗ FP", "bold red"),
              "FN": ("○ missed", "yellow"), "TN": ("", "dim")}
SPLITS = [("train", 0), ("val", 1), ("test", 2)]
MAX_LIST_ROWS = 2000  # the list shows at most this many matches (building it runs on the event loop)


def predictions_table(preds, threshold: float) -> Table:
    t = Table(title=f"predicted at threshold {fmt_t(threshold)}", title_justify="left",
              show_edge=False, pad_edge=False)
    t.add_column("keyword", no_wrap=True)
    t.add_column("score", justify="right")
    t.add_column("mark", no_wrap=True)
    for p in preds:
        label, style = MARK_STYLE[p.mark]
        t.add_row(Text(p.keyword, style=style if p.mark != "TN" else "dim"), f"{p.score:.3f}", Text(label, style=style))
    return t


class ImagesView(StateView):
    pinned: int | None = None  # a row to keep in the list and select (jump from the Keywords view)

    def show_image(self, row: int) -> None:
        """Select dataset row ``row``, clearing the filters that would hide it."""
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            self.query_one("#image-search", Input).value = ""
            for sel in self.query(Select):
                sel.clear()
            self.query_one("#filter-errors", Checkbox).value = False
        self.pinned = row
        self.refill()

    def compose(self) -> ComposeResult:
        with Vertical(id="images-left"):
            yield Input(placeholder="search id, keyword, scene  (/)", compact=True, id="image-search")
            yield Select([], prompt="any keyword", compact=True, id="filter-keyword")
            with Horizontal(classes="filter-row"):
                yield Select([], prompt="any scene", compact=True, id="filter-scene")
                yield Select(SPLITS, prompt="any split", compact=True, id="filter-split")
            yield Checkbox("only images with errors at the threshold", compact=True, id="filter-errors")
            yield VimTable(id="image-table")
            yield Static("", id="image-count")
        with VerticalScroll(id="images-right"):
            with Horizontal(id="image-head"):
                yield Picture(id="picture")
                yield Static("", id="image-facts")
            yield Static("", id="image-keywords")

    def on_mount(self) -> None:
        table = self.query_one("#image-table", VimTable)
        table.add_column("image", key="image")
        table.add_column("scene", key="scene")
        table.add_column("split", key="split")
        table.add_column("kw", key="kw")

    # ------------------------------------------------------------- updates
    def update_view(self, reason: str) -> None:
        s = self.session
        if reason == "data":
            self.query_one("#filter-keyword", Select).set_options([(k, i) for i, k in enumerate(s.dataset.keywords)])
            self.query_one("#filter-scene", Select).set_options([(k, i) for i, k in enumerate(s.dataset.scenes)])
        if reason in ("data", "run") or self.query_one("#filter-errors", Checkbox).value:
            self.refill()
        else:  # threshold or method: only the predictions of the selected image change
            row = self.selected_row()
            if row is not None:
                self.query_one("#image-keywords", Static).update(self.keywords_renderable(row))

    def filters(self) -> dict:
        def val(sel_id: str):
            v = self.query_one(sel_id, Select).value
            return None if v is Select.NULL else int(v)

        return dict(
            text=self.query_one("#image-search", Input).value,
            keyword=val("#filter-keyword"), scene=val("#filter-scene"), split=val("#filter-split"),
            errors_only=self.query_one("#filter-errors", Checkbox).value,
        )

    def refill(self) -> None:
        """Rebuild the list from the filters, keeping the selected image if it stays."""
        s = self.session
        table = self.query_one("#image-table", VimTable)
        keep = table.selected_key()
        rows = s.filter_rows(**self.filters())
        table.clear()
        ds = s.dataset
        counts = ds.kw_indptr[1:] - ds.kw_indptr[:-1]
        shown = rows[:MAX_LIST_ROWS]
        if self.pinned is not None and self.pinned in rows and self.pinned not in shown:
            shown = np.concatenate([[self.pinned], shown])
        for r in shown.tolist():
            table.add_row(ds.ids[r], s.scene_of(r), s.split_of(r), str(int(counts[r])), key=str(r))
        more = f" (first {len(shown):,} shown: refine the search)" if len(shown) < len(rows) else ""
        self.query_one("#image-count", Static).update(f"{len(rows):,} of {ds.n_images:,} images{more}")
        if self.pinned is not None:
            keep, self.pinned = str(self.pinned), None
        if keep is not None and table.is_valid_row_index(0):
            try:
                table.move_cursor(row=table.get_row_index(keep))
            except Exception:
                pass
        self.show_selected()

    def selected_row(self) -> int | None:
        key = self.query_one("#image-table", VimTable).selected_key()
        return None if key is None else int(key)

    def show_selected(self) -> None:
        row = self.selected_row()
        facts = self.query_one("#image-facts", Static)
        kw = self.query_one("#image-keywords", Static)
        if row is None:
            facts.update("no image matches the filters")
            kw.update("")
            self.query_one(Picture).show(None, "")
            return
        s = self.session
        self.query_one(Picture).show(s.dataset.image_paths[row], s.dataset.ids[row])
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold")
        t.add_column()
        t.add_row("image", s.dataset.ids[row])
        t.add_row("scene", s.scene_of(row))
        t.add_row("split", s.split_of(row))
        for k, v in s.attributes(row).items():
            t.add_row(k, v)
        facts.update(t)
        kw.update(self.keywords_renderable(row))

    def keywords_renderable(self, row: int):
        s = self.session
        text = Text()
        text.append("true keywords: ", style="bold")
        text.append(", ".join(s.true_keywords(row)) or "none")
        text.append("\n\n")
        if not s.has_run:
            text.append("No run yet: predictions need a trained run. Press r to train (settings in view 4).",
                        style="italic")
            return text
        preds = s.predictions(row)
        if preds is None:
            text.append(f"A {s.split_of(row)} image: the model trained on its keywords, so it has no "
                        "held-out predictions. Filter the split to val or test.", style="italic")
            return text
        from rich.console import Group

        head = Text(f"method {s.method}", style="bold")
        return Group(text, head, predictions_table(preds, s.threshold))

    # -------------------------------------------------------------- events
    @on(DataTable.RowHighlighted, "#image-table")
    def _row(self, _event) -> None:
        self.show_selected()

    @on(Input.Changed, "#image-search")
    @on(Select.Changed)
    @on(Checkbox.Changed, "#filter-errors")
    def _filters(self, _event) -> None:
        self.refill()
