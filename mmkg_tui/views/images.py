"""Images: a searchable list (words, split:test, scene:kitchen, kw:pool, errors; see
mmkg_tui/present/query.py) and, for the selected image, its picture, scene,
attributes, true keywords and the predictions of the current method marked TP / FP /
missed at the operating point (threshold or per-keyword thresholds, on the scale
shown: mmkg_tui/present/operating.py), and its most similar images in CLIP and
learned space (widgets/similar.py). On large datasets the search runs once typing
pauses."""

from __future__ import annotations

import numpy as np
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, DataTable, Input, Static

from mmkg_tui.present import operating as opp
from mmkg_tui.present.query import Debouncer, parse_query

from mmkg_tui.widgets.rendered import show_rich
from mmkg_tui.widgets.base import StateView, fmt_t
from mmkg_tui.widgets.lists import VimTable
from mmkg_tui.widgets.picture import Picture
from mmkg_tui.widgets.similar import SimilarPanel

MARK_STYLE = {"TP": ("✓ TP", "bold green"), "FP": ("✗ FP", "bold red"),
              "FN": ("○ missed", "yellow"), "TN": ("", "dim")}
MAX_LIST_ROWS = 2000  # the list shows at most this many matches (building it runs on the event loop)
DEBOUNCE_S = 0.15  # on datasets over DEBOUNCE_MIN_IMAGES the search waits for a pause in typing
DEBOUNCE_MIN_IMAGES = 2000


def predictions_table(preds, per_keyword: bool = False) -> Table:
    """The image's keywords (present.operating.Marked), with each keyword's threshold
    when the operating point uses one per keyword."""
    t = Table(show_edge=False, pad_edge=False)
    t.add_column("keyword", no_wrap=True)
    t.add_column("score", justify="right")
    if per_keyword:
        t.add_column("t", justify="right")
    t.add_column("mark", no_wrap=True)
    for p in preds:
        label, style = MARK_STYLE[p.mark]
        cells = [Text(p.keyword, style=style if p.mark != "TN" else "dim"), f"{p.score:.3f}"]
        cells += [f"{p.threshold:.3f}"] if per_keyword else []
        t.add_row(*cells, Text(label, style=style))
    return t


def image_predictions(session, row: int) -> tuple[list, str, bool] | None:
    """The image's marked keywords at the shared operating point (scale and thresholds),
    its description, and whether the thresholds are per keyword; None without held-out
    scores (a training image, or no run)."""
    if session.run is None or session.eval_pos is None or session.eval_pos[row] < 0:
        return None
    run, i = session.run, int(session.eval_pos[row])
    op = opp.operating_point(session)
    scaled = session.scaled()
    scale = scaled.scale_of(op)
    thr = opp.thresholds(run, session.method, scale, session.threshold, op.mode)
    preds = opp.marked(scaled.scores(session.method, scale)[i], run.labels[i], run.keywords, thr)
    per_kw = op.mode == opp.PER_KEYWORD and opp.per_keyword_available(run, session.method, scale)
    return preds, opp.describe(op, scaled, session.method, fmt_t(session.threshold)), per_kw


class ImagesView(StateView):
    KEYS_HELP = (
        ("/", "search: words (id, scene, keyword), split:test, scene:kitchen, kw:pool, errors"),
        ("enter", "in the search box: go to the results"),
        ("esc", "in the search box: back to the list"),
        ("j / k, g / G", "move in the list, top / bottom"),
        ("enter", "on a similar image (panel under the keywords): select it"),
    )
    BINDINGS = [
        Binding("v", "similar_space", "similar", id="images.similar_space",
                tooltip="Similar images: switch between the CLIP space and the learned space of the method"),
    ]
    pinned: int | None = None  # a row to keep in the list and select (jump from the Keywords view)

    def show_image(self, row: int) -> None:
        """Select dataset row ``row``, clearing the filters that would hide it."""
        with self.prevent(Input.Changed, Checkbox.Changed):
            self.query_one("#image-search", Input).value = ""
            self.query_one("#filter-errors", Checkbox).value = False
        self.pinned = row
        self.refill()
        self.query_one("#image-table", VimTable).focus()

    def set_query(self, text: str) -> None:
        """Search for ``text`` (the palette's filters) and show the results."""
        with self.prevent(Input.Changed):
            self.query_one("#image-search", Input).value = text
        self.refill()

    def compose(self) -> ComposeResult:
        with Vertical(id="images-left"):
            yield Input(placeholder="/ words split:test scene: kw: errors", compact=True, id="image-search")
            yield Checkbox("only errors at the threshold", compact=True, id="filter-errors")
            yield VimTable(id="image-table")
            yield Static("", id="image-count")
        with VerticalScroll(id="images-right"):
            with Horizontal(id="image-head"):
                yield Picture(id="picture")
                yield Static("", id="image-facts")
            yield Static("", id="image-keywords")
            yield SimilarPanel(id="similar-panel")

    def on_mount(self) -> None:
        delay = DEBOUNCE_S if self.session.dataset.n_images > DEBOUNCE_MIN_IMAGES else 0.0
        self.search = Debouncer(self.set_timer, self.refill, delay)
        table = self.query_one("#image-table", VimTable)
        table.add_column("image", key="image")
        table.add_column("scene", key="scene")
        table.add_column("split", key="split")
        table.add_column("kw", key="kw")

    # ------------------------------------------------------------- updates
    def update_view(self, reason: str) -> None:
        if reason in ("data", "run"):
            self.query_one(SimilarPanel).set_context(self.session)
        if reason in ("data", "run") or self.errors_filtered():
            self.refill()
        else:  # threshold or method: only the predictions of the selected image change
            row = self.selected_row()
            if row is not None:
                show_rich(self.query_one("#image-keywords", Static), self.keywords_renderable(row))
            if reason == "method":  # the learned space follows the method
                self.query_one(SimilarPanel).request(row, self.session.method)

    def errors_filtered(self) -> bool:
        """True when the list depends on the threshold and method (errors filter)."""
        return self.query_one("#filter-errors", Checkbox).value or parse_query(
            self.query_one("#image-search", Input).value).errors

    def refill(self) -> None:
        """Rebuild the list from the filters, keeping the selected image if it stays."""
        s = self.session
        table = self.query_one("#image-table", VimTable)
        keep = table.selected_key()
        query = parse_query(self.query_one("#image-search", Input).value)
        rows = s.query_rows(query, errors_only=self.query_one("#filter-errors", Checkbox).value)
        table.clear()
        ds = s.dataset
        counts = ds.kw_indptr[1:] - ds.kw_indptr[:-1]
        shown = rows[:MAX_LIST_ROWS]
        if self.pinned is not None and self.pinned in rows and self.pinned not in shown:
            shown = np.concatenate([[self.pinned], shown])
        for r in shown.tolist():
            table.add_row(ds.ids[r], s.scene_of(r), s.split_of(r), str(int(counts[r])), key=str(r))
        more = f"; first {len(shown):,} shown" if len(shown) < len(rows) else ""
        note = f"  {query.problems[0]}" if query.problems else ""
        self.query_one("#image-count", Static).update(f"{len(rows):,} of {ds.n_images:,}{more}{note}")
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
        self.query_one(SimilarPanel).request(row, self.session.method)
        if row is None:
            facts.update("no image matches the search")
            kw.update("")
            self.query_one(Picture).show(None, "", empty="no image matches")
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
        show_rich(facts, t)  # rendered once per width; a layout pass only when a height changes
        show_rich(kw, self.keywords_renderable(row))

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
        shown = image_predictions(s, row)
        if shown is None:
            text.append(f"A {s.split_of(row)} image: the model trained on its keywords, so it has no "
                        "held-out predictions. Filter the split to val or test.", style="italic")
            return text
        from rich.console import Group

        preds, point, per_kw = shown
        head = Text.assemble((f"method {s.method}", "bold"), f"  predicted at {point}")
        return Group(text, head, predictions_table(preds, per_kw))

    # -------------------------------------------------------------- events
    @on(DataTable.RowHighlighted, "#image-table")
    def _row(self, _event) -> None:
        self.show_selected()

    @on(Input.Changed, "#image-search")
    def _typed(self, _event) -> None:
        self.search()

    @on(Input.Submitted, "#image-search")
    def _submitted(self, _event) -> None:
        self.search.flush()
        self.query_one("#image-table", VimTable).focus()

    @on(SimilarPanel.Chosen)
    def _similar_chosen(self, event: SimilarPanel.Chosen) -> None:
        self.show_image(event.row)

    def action_similar_space(self) -> None:
        self.query_one(SimilarPanel).toggle()

    @on(Checkbox.Changed, "#filter-errors")
    def _filters(self, _event) -> None:
        self.refill()
