"""Keywords: the vocabulary with prevalence and per-keyword precision / recall (test
rows, at the threshold) and AUC; the selected keyword ranks held-out images by score
(hero images), true holders marked. Moving in the keyword list moves at once; the
ranking (200 rows rewritten) follows once the selection settles (50 ms), or at once on
enter or when the ranking gets the focus."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from mmkg_tui.present.query import Debouncer
from mmkg_tui.widgets.base import StateView, fmt, fmt_t, no_run_hint, set_text
from mmkg_tui.widgets.lists import VimTable


RANKING_COLUMNS = ("rank", "image", "scene", "score", "true", "pred")
SETTLE_S = 0.05  # the ranking follows the keyword list once the selection rests this long


class KeywordsView(StateView):
    KEYS_HELP = (
        ("j / k", "move in the keyword list (the ranking follows)"),
        ("enter", "on a keyword: go to its ranked images; on a ranked image: open it in Images"),
        ("tab", "between the keyword list and the ranking"),
    )

    def compose(self) -> ComposeResult:
        with Vertical(id="keywords-left"):
            yield Static("", id="keywords-head", classes="view-head")
            yield VimTable(id="keyword-table")
        with Vertical(id="keywords-right"):
            yield Static("", id="ranking-head", classes="view-head")
            yield VimTable(id="ranking-table")

    def on_mount(self) -> None:
        self.settle = Debouncer(self.set_timer, self.show_ranking, SETTLE_S)
        t = self.query_one("#keyword-table", VimTable)
        for label, key in (("keyword", "kw"), ("images", "n"), ("prev %", "prev"),
                           ("P@t", "p"), ("R@t", "r"), ("AUC", "auc")):
            t.add_column(label, key=key)
        r = self.query_one("#ranking-table", VimTable)
        for label, key in zip(("#", "image", "scene", "score", "true", "@t"), RANKING_COLUMNS):
            r.add_column(label, key=key)

    def update_view(self, reason: str) -> None:
        if reason == "threshold" and self.session.has_run:
            self.update_threshold_cells()  # cheap path: only the threshold-dependent cells
            return
        self.refill_keywords()
        self.show_ranking()

    def _head_text(self) -> str:
        s = self.session
        return (f"{s.dataset.n_keywords} keywords by prevalence; P/R on test images at t={fmt_t(s.threshold)}"
                + (f", method {s.method}" if s.has_run else " (no run yet: press r to train)"))

    def update_threshold_cells(self) -> None:
        """Only the cells whose value changed are written (and rendered again)."""
        s = self.session
        set_text(self.query_one("#keywords-head", Static), self._head_text())
        pk = s.per_keyword()
        p, r = pk["precision"], pk["recall"]
        table = self.query_one("#keyword-table", VimTable)
        table.update_cells(cell for k in range(s.dataset.n_keywords)
                           for cell in ((str(k), "p", _num(p, k)), (str(k), "r", _num(r, k))))
        ranking = self.query_one("#ranking-table", VimTable)
        if self.selected_keyword() is None:
            return
        marks = []
        for i in range(ranking.row_count):
            row = ranking.get_row_at(i)
            key = ranking.coordinate_to_cell_key((i, 0)).row_key.value
            marks.append((key, "pred", _mark(str(row[4]) == "✓", float(row[3]) >= s.threshold)))
        ranking.update_cells(marks)

    def refill_keywords(self) -> None:
        s = self.session
        table = self.query_one("#keyword-table", VimTable)
        keep = table.cursor_row
        counts = s.dataset.keyword_counts()
        n = max(s.dataset.n_images, 1)
        p = r = auc = None
        if s.has_run:
            pk = s.per_keyword()
            p, r = pk["precision"], pk["recall"]
            auc = s.keyword_auc()
        self.query_one("#keywords-head", Static).update(self._head_text())
        table.clear()
        order = sorted(range(s.dataset.n_keywords), key=lambda k: (-int(counts[k]), s.dataset.keywords[k]))
        for k in order:
            name = s.dataset.keywords[k]
            cells = [name, f"{int(counts[k]):,}", f"{100 * counts[k] / n:.1f}"]
            cells += [_num(p, k), _num(r, k), _num(auc, k)]
            table.add_row(*cells, key=str(k))
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))

    def selected_keyword(self) -> int | None:
        key = self.query_one("#keyword-table", VimTable).selected_key()
        return None if key is None else int(key)

    def show_ranking(self) -> None:
        s = self.session
        head = self.query_one("#ranking-head", Static)
        table = self.query_one("#ranking-table", VimTable)
        k = self.selected_keyword()
        if k is None or not s.has_run:
            table.clear()
        if k is None:
            head.update("")
            return
        if not s.has_run:
            head.update(no_run_hint(f"ranking images by '{s.dataset.keywords[k]}'", loading=not s.engine_ready))
            return
        ranking = s.ranking(k)
        holders = sum(1 for _, _, h in ranking if h)
        set_text(head, f"hero images for '{s.dataset.keywords[k]}' by {s.method} score "
                       f"(held-out images; {holders} holders in the top {len(ranking)}; enter opens one)")
        self.fill_ranking(table, ranking)

    ranked_rows: list[int] = []  # dataset row of each ranking line (row keys are the ranks)

    def fill_ranking(self, table: VimTable, ranking: list) -> None:
        """Rows keyed by rank: a ranking of the same length (the next keyword's, usually)
        rewrites only the cells that differ, instead of clearing and measuring every row."""
        s = self.session
        rows = {str(i): [str(i + 1), s.dataset.ids[row], s.scene_of(row), f"{score:.3f}",
                         Text("✓", style="bold green") if holds else Text(""), _mark(holds, score >= s.threshold)]
                for i, (row, score, holds) in enumerate(ranking)}
        self.ranked_rows = [row for row, _, _ in ranking]
        if table.row_count != len(rows):
            table.clear()
            for key, cells in rows.items():
                table.add_row(*cells, key=key)
            return
        table.update_cells((key, column, cell) for key, cells in rows.items()
                           for column, cell in zip(RANKING_COLUMNS, cells))
        table.move_cursor(row=0)
        table.scroll_home(animate=False)

    class ImageChosen(Message):
        """Enter on a ranked image: show it in the Images view."""

        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

    @on(DataTable.RowSelected, "#ranking-table")
    def _image_chosen(self, event: DataTable.RowSelected) -> None:
        self.post_message(self.ImageChosen(self.ranked_rows[int(event.row_key.value)]))

    @on(DataTable.RowSelected, "#keyword-table")
    def _keyword_chosen(self, _event: DataTable.RowSelected) -> None:
        self.settle.flush()
        ranking = self.query_one("#ranking-table", VimTable)
        if ranking.row_count:
            ranking.focus()

    @on(DataTable.RowHighlighted, "#keyword-table")
    def _keyword(self, _event) -> None:
        self.settle()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget.id == "ranking-table":
            self.settle.flush()  # never a stale ranking under the cursor


def _mark(holds: bool, above: bool) -> Text:
    """TP / FP / missed for one ranked image at the threshold."""
    if above:
        return Text("TP", style="green") if holds else Text("FP", style="red")
    return Text("miss", style="yellow") if holds else Text("")


def _num(values: np.ndarray | None, k: int) -> str:
    if values is None:
        return "-"
    v = float(values[k])
    return "-" if not np.isfinite(v) else fmt(v, 2)
