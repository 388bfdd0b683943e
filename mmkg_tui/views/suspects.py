"""Suspects: the label-error queue (likely missing or wrong tags, from out-of-fold
scores), with the image, the suspect keyword and its score. Keys: a accepts
(the tag is added / removed), r rejects (the label stays), s skips. Every decision
is appended to the corrections file (shown here); the dataset is never edited
(apply the file with --corrections FILE)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Select, Static

from engine import api
from mmkg_tui.widgets.base import StateView
from mmkg_tui.widgets.lists import VimTable
from mmkg_tui.widgets.picture import Picture

QUEUE = 100
MARKS = {"accept": ("accepted", "bold green"), "reject": ("rejected", "bold red"), "skip": ("skipped", "dim")}


class SuspectsView(StateView):
    DEFAULT_CSS = """
    SuspectsView { layout: horizontal; height: 1fr; }
    #suspects-left { width: 70; }
    #suspects-kind { width: 30; }
    #suspects-head { height: auto; padding: 0 1; }
    #suspects-table { height: 1fr; }
    #suspects-counts { height: auto; padding: 0 1; }
    #suspects-right { width: 1fr; padding: 0 1; }
    #suspects-facts { height: auto; padding: 1 0 0 0; }
    """
    BINDINGS = [
        Binding("a", "decide('accept')", "Accept", id="suspects.accept",
                tooltip="Accept the suspect: the tag is missing (add) or wrong (remove); written to the corrections file"),
        Binding("r", "decide('reject')", "Reject", id="suspects.reject",
                tooltip="Reject the suspect: the label is right as it is (written as keep)"),
        Binding("s", "decide('skip')", "Skip", id="suspects.skip", tooltip="Skip: decide later (nothing written)"),
    ]

    queue = None  # api.SuspectQueue being shown
    path: Path | None = None  # the corrections file

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.decisions: dict[int, str] = {}  # queue position -> accept / reject / skip

    def compose(self) -> ComposeResult:
        with Vertical(id="suspects-left"):
            yield Select([("likely missing tags", "missing"), ("likely wrong tags", "wrong")], value="missing",
                         allow_blank=False, compact=True, id="suspects-kind")
            yield Static("", id="suspects-head")
            yield VimTable(id="suspects-table")
            yield Static("", id="suspects-counts")
        with VerticalScroll(id="suspects-right"):
            yield Picture(id="suspects-picture")
            yield Static("", id="suspects-facts")

    def on_mount(self) -> None:
        table = self.query_one("#suspects-table", VimTable)
        for label, key in (("#", "rank"), ("image", "image"), ("keyword", "keyword"), ("score", "score"),
                           ("decision", "decision")):
            table.add_column(label, key=key)

    stale = True  # the queue must be (re)computed the next time the view is shown

    def update_view(self, reason: str) -> None:
        if reason in ("data", "run"):
            self.stale = True
            if self.is_shown():  # scoring takes seconds: only when someone looks
                self.load_queue()

    def on_show(self) -> None:
        if self.stale:
            self.load_queue()

    @property
    def kind(self) -> str:
        return str(self.query_one("#suspects-kind", Select).value)

    def load_queue(self) -> None:
        s = self.session
        self.stale = False
        ctx = api.Retrieval(s.dataset, s.features, s.run, s.run_dir)
        self.path = ctx.corrections_path()
        self.query_one("#suspects-head", Static).update(f"scoring {self.kind} tags (out-of-fold)...")
        self.compute(ctx, self.kind, self.path)

    @work(thread=True, exclusive=True, group="suspects", name="suspects", description="suspects")  # no repr of ctx
    def compute(self, ctx, kind: str, path: Path) -> None:
        decided = set()
        if path.is_file():
            decided = api.decided_pairs(api.read_corrections(path), ctx.dataset)
        queue = api.suspect_queue(ctx.dataset, ctx.features, kind=kind, k=QUEUE, decided=decided)
        self.app.call_from_thread(self.show_queue, queue)

    def show_queue(self, queue) -> None:
        tables = self.query("#suspects-table")
        if not tables:  # the view was taken down while its queue was computed in the thread
            return
        self.queue, self.decisions = queue, {}
        table = tables.first(VimTable)
        table.clear()
        for i, sus in enumerate(queue.suspects):
            table.add_row(str(i + 1), sus.id, sus.keyword, f"{sus.score:.3f}", "", key=str(i))
        self.query_one("#suspects-head", Static).update(Text(
            f"{len(queue.suspects)} likely {queue.kind} tags · {queue.note}\n"
            "a accept · r reject · s skip", style="dim"))
        self.show_counts()
        self.show_selected()

    def selected(self) -> int | None:
        key = self.query_one("#suspects-table", VimTable).selected_key()
        return None if key is None else int(key)

    def action_decide(self, what: str) -> None:
        i = self.selected()
        if self.queue is None or i is None or self.path is None:
            return
        sus = self.queue.suspects[i]
        if what != "skip":
            action = api.decision_action(sus.kind, what == "accept")
            api.append_correction(self.path, api.Correction(sus.id, sus.keyword, action))
        self.decisions[i] = what
        label, style = MARKS[what]
        table = self.query_one("#suspects-table", VimTable)
        table.update_cells([(str(i), "decision", Text(label, style=style))])
        self.show_counts()
        if i + 1 < table.row_count:
            table.move_cursor(row=i + 1)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in MARKS}
        for what in self.decisions.values():
            out[what] += 1
        out["left"] = (len(self.queue.suspects) if self.queue else 0) - len(self.decisions)
        return out

    def show_counts(self) -> None:
        c = self.counts()
        self.query_one("#suspects-counts", Static).update(
            f"accepted {c['accept']} · rejected {c['reject']} · skipped {c['skip']} · left {c['left']}\n"
            f"corrections file: {self.path}")

    def show_selected(self) -> None:
        i = self.selected()
        facts = self.query_one("#suspects-facts", Static)
        picture = self.query_one("#suspects-picture", Picture)
        if self.queue is None or i is None:
            picture.show(None, "")
            facts.update("")
            return
        sus = self.queue.suspects[i]
        ds = self.session.dataset
        picture.show(ds.image_paths[sus.row], sus.id)
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold")
        t.add_column()
        t.add_row("image", sus.id)
        t.add_row("suspect", f"{sus.keyword} ({'tagged, probably wrong' if sus.tagged else 'not tagged, probably there'})")
        t.add_row("score", f"{sus.score:.3f}")
        t.add_row("scene", self.session.scene_of(sus.row))
        t.add_row("tags now", ", ".join(self.session.true_keywords(sus.row)) or "none")
        facts.update(t)

    @on(Select.Changed, "#suspects-kind")
    def _kind(self, _event) -> None:
        self.load_queue()

    @on(DataTable.RowHighlighted, "#suspects-table")
    def _row(self, _event) -> None:
        self.show_selected()
