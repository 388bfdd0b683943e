"""Search: a query box (keywords, scenes, attribute ranges; `-term` subtracts), the
labels the query was understood as, the results with scores, and the picture of
the selected result; enter opens the image in the Images view. CLIP space covers
every image; the learned space (with a run) the run's validation + test images."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Select, Static

from engine import api
from mmkg_tui.widgets.base import StateView
from mmkg_tui.widgets.lists import VimTable
from mmkg_tui.widgets.picture import Picture

RESULTS = 50


class SearchView(StateView):
    DEFAULT_CSS = """
    SearchView { layout: horizontal; height: 1fr; }
    #search-left { width: 64; }
    #search-controls { height: 1; }
    #search-query { width: 1fr; }
    #search-space { width: 22; }
    #search-understood { height: auto; padding: 0 1; }
    #search-results { height: 1fr; }
    #search-right { width: 1fr; padding: 0 1; }
    #search-facts { height: auto; padding: 1 0 0 0; }
    """

    class ImageChosen(Message):
        """Enter on a result: show the image in the Images view."""

        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

    retrieval = None  # api.Retrieval of the current session and run
    last = None  # the last api.SearchResult

    def compose(self) -> ComposeResult:
        with Vertical(id="search-left"):
            with Horizontal(id="search-controls"):
                yield Input(placeholder="fireplace · granite kitchen · pool -exterior", compact=True, id="search-query")
                yield Select([("CLIP space", "clip")], value="clip", allow_blank=False, compact=True, id="search-space")
            yield Static("type a query and press enter", id="search-understood")
            yield VimTable(id="search-results")
        with VerticalScroll(id="search-right"):
            yield Picture(id="search-picture")
            yield Static("", id="search-facts")

    def on_mount(self) -> None:
        table = self.query_one("#search-results", VimTable)
        for label, key in (("#", "rank"), ("image", "image"), ("score", "score"), ("scene", "scene"), ("holds", "holds")):
            table.add_column(label, key=key)

    def update_view(self, reason: str) -> None:
        if reason not in ("data", "run"):
            return
        s = self.session
        self.retrieval = api.Retrieval(s.dataset, s.features, s.run, s.run_dir)
        options = [("CLIP space", "clip")]
        if self.retrieval.has_learned:
            options.append(("learned space", "learned"))
        sel = self.query_one("#search-space", Select)
        keep = sel.value if sel.value in [v for _, v in options] else "clip"
        with self.prevent(Select.Changed):
            sel.set_options(options)
            sel.value = keep
        if self.last is not None:
            self.run_query()

    def run_query(self) -> None:
        text = self.query_one("#search-query", Input).value.strip()
        head = self.query_one("#search-understood", Static)
        table = self.query_one("#search-results", VimTable)
        if not text:
            return
        space = str(self.query_one("#search-space", Select).value)
        try:
            result = api.search_text(self.retrieval.space(space), self.session.dataset, text, RESULTS)
        except api.MMKGError as exc:
            head.update(Text(exc.format(), style="yellow"))
            table.clear()
            self.last = None
            self.show_selected()
            return
        self.last = result
        wanted = {lab for lab in result.query_labels if not lab.startswith("-")}
        table.clear()
        for i, h in enumerate(result.hits, 1):
            holds = any(w in h.keywords or w == h.scene for w in wanted)
            table.add_row(str(i), h.id, f"{h.score:.3f}", h.scene or "-",
                          Text("✓", style="bold green") if holds else Text("·", style="dim"), key=str(h.row))
        head.update(self.understood_text(result))
        self.show_selected()

    @staticmethod
    def understood_text(result) -> Text:
        t = Text()
        t.append("understood as: ", style="bold")
        t.append("; ".join(result.understood))
        if result.unmatched:
            t.append(f"\nnot matched: {', '.join(result.unmatched)}", style="yellow")
        t.append(f"\n{len(result.hits)} results in the {result.space} space", style="dim")
        return t

    def selected_row(self) -> int | None:
        key = self.query_one("#search-results", VimTable).selected_key()
        return None if key is None else int(key)

    def show_selected(self) -> None:
        row = self.selected_row()
        facts = self.query_one("#search-facts", Static)
        picture = self.query_one("#search-picture", Picture)
        if row is None or self.last is None:
            picture.show(None, "")
            facts.update("")
            return
        ds = self.session.dataset
        picture.show(ds.image_paths[row], ds.ids[row])
        hit = next(h for h in self.last.hits if h.row == row)
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold")
        t.add_column()
        t.add_row("image", hit.id)
        t.add_row("score", f"{hit.score:.3f}")
        t.add_row("scene", hit.scene or "-")
        t.add_row("keywords", ", ".join(hit.keywords) or "none")
        facts.update(t)

    @on(Input.Submitted, "#search-query")
    def _submitted(self, _event) -> None:
        self.run_query()
        table = self.query_one("#search-results", VimTable)
        if table.row_count:
            table.focus()

    @on(Select.Changed, "#search-space")
    def _space(self, _event) -> None:
        self.run_query()

    @on(DataTable.RowHighlighted, "#search-results")
    def _row(self, _event) -> None:
        self.show_selected()

    @on(DataTable.RowSelected, "#search-results")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        self.post_message(self.ImageChosen(int(event.row_key.value)))
