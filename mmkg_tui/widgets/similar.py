"""The "similar images" panel of the Images view: the images nearest to the selected
one in the CLIP space and in the learned space of the current method (one at a time,
`v` switches; both side by side on a wide screen), with cosine scores, each marked
by whether it shares at least one true keyword with the selected image. Enter on an
entry asks the view to select that image.

The search runs in a thread worker once the selection settles (``SETTLE_S`` after the
last move), so moving in the list costs one timer restart per key."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from engine import api
from mmkg_tui.present.query import Debouncer
from mmkg_tui.widgets.lists import VimTable

SETTLE_S = 0.3  # the selection must rest this long before the neighbours are searched
K = 10
SPACES = ("clip", "learned")


@dataclass
class SimilarList:
    """The neighbours of one image in one space (or why there are none)."""

    space: str  # "clip" or the learned method
    hits: list = field(default_factory=list)  # api.SearchHit, best first
    shares: list[bool] = field(default_factory=list)  # per hit: shares a true keyword
    error: str = ""


def space_of(ctx, which: str, method: str | None):
    """The CLIP space, or the learned space of ``method`` when it has one (a GraphSAGE
    method), else of the run's default learned method (chosen on validation)."""
    if which == "clip":
        return ctx.space("clip")
    try:
        return ctx.space("learned", method)
    except api.ConfigError:  # a baseline or clip: no learned embeddings of its own
        return ctx.space("learned")


def neighbours(ctx, lock: threading.Lock, row: int, which: str, method: str | None) -> SimilarList:
    """The K nearest images of dataset ``row`` in the space ``which`` ("clip" / "learned")."""
    if which == "learned" and not ctx.has_learned:
        return SimilarList("learned", error="no learned space: train a run (r) or open one (R)")
    with lock:  # spaces are built on first use; one build at a time
        space = space_of(ctx, which, method)
    if space.position(row) < 0:
        return SimilarList(space.name, error="a training image: the learned space holds the run's "
                                             "validation and test images")
    try:
        hits = api.similar_images(space, ctx.dataset, row, K)
    except api.MMKGError as exc:
        return SimilarList(space.name, error=exc.format())
    own = {ctx.dataset.keywords[k] for k in ctx.dataset.image_keywords(row)}
    return SimilarList(space.name, hits, [bool(own & set(h.keywords)) for h in hits])


class SimilarPanel(Vertical):
    DEFAULT_CSS = """
    SimilarPanel { height: auto; padding: 1 0 0 0; }
    #similar-head { height: 5; }
    #similar-tables { height: 11; }
    #similar-tables VimTable { height: 11; width: 1fr; }
    """
    # fixed heights: new neighbours repaint the panel without a layout pass of the view

    class Chosen(Message):
        """Enter on an entry: select that image."""

        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

    class Found(Message):
        """The worker's neighbours of ``row`` (a message: dropped if the panel is gone by then)."""

        def __init__(self, row: int, method: str | None, results: dict) -> None:
            super().__init__()
            self.row, self.method, self.results = row, method, results

    mode = "clip"  # the space shown on a narrow screen
    ctx = None  # api.Retrieval of the session
    row: int | None = None  # the image whose neighbours are (being) shown
    method: str | None = None
    results: dict[str, SimilarList]

    def compose(self) -> ComposeResult:
        yield Static("", id="similar-head")
        with Horizontal(id="similar-tables"):
            for name in SPACES:
                yield VimTable(id=f"similar-{name}", zebra_stripes=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.results = {}
        self.lock = threading.Lock()
        self.settle = Debouncer(self.set_timer, self._settled, SETTLE_S)

    def on_mount(self) -> None:
        for name in SPACES:
            table = self.query_one(f"#similar-{name}", VimTable)
            for label, key in (("image", "image"), ("score", "score"), ("kw", "shares")):
                table.add_column(label, key=key)
        self.show_mode()

    def set_context(self, session) -> None:
        """A new dataset or run: new spaces (built on first use, in the worker)."""
        self.ctx = api.Retrieval(session.dataset, session.features, session.run, session.run_dir)
        self.lock = threading.Lock()
        self.results = {}

    def request(self, row: int | None, method: str | None) -> None:
        """Search the neighbours of ``row`` once the selection settles."""
        self.row, self.method = row, method
        self.settle()

    def _settled(self) -> None:
        if self.row is None or self.ctx is None:
            self.query_one("#similar-head", Static).update("")
            return
        self.compute(self.ctx, self.lock, self.row, self.method)

    # description given: without it Textual builds one from repr() of the arguments, and the
    # context's numpy arrays cost seconds to print on every settled selection
    @work(thread=True, exclusive=True, group="similar", name="similar images", description="similar images")
    def compute(self, ctx, lock, row: int, method: str | None) -> None:
        results = {name: neighbours(ctx, lock, row, name, method) for name in SPACES}
        self.post_message(self.Found(row, method, results))

    def on_similar_panel_found(self, message: Found) -> None:
        message.stop()
        self.show_results(message.row, message.method, message.results)

    def show_results(self, row: int, method: str | None, results: dict[str, SimilarList]) -> None:
        if (row, method) != (self.row, self.method) or not self.is_attached:
            return  # the selection moved on meanwhile, or the panel is gone
        self.results = results
        for name, res in results.items():
            table = self.query_one(f"#similar-{name}", VimTable)
            table.clear()
            for hit, shares in zip(res.hits, res.shares):
                table.add_row(hit.id, f"{hit.score:.3f}",
                              Text("✓", style="bold green") if shares else Text("·", style="dim"), key=str(hit.row))
        self.show_mode()

    @property
    def side_by_side(self) -> bool:
        return self.screen.has_class("-wide")

    def on_resize(self) -> None:
        self.show_mode()  # wide <-> narrow: one table or both

    def toggle(self) -> str:
        """Switch the space shown (on a wide screen both show; this moves the focus)."""
        self.mode = SPACES[(SPACES.index(self.mode) + 1) % len(SPACES)]
        self.show_mode()
        return self.mode

    def show_mode(self) -> None:
        both = self.side_by_side
        for name in SPACES:
            table = self.query_one(f"#similar-{name}", VimTable)
            if table.display != (both or name == self.mode):
                table.display = both or name == self.mode
        head, text = self.query_one("#similar-head", Static), self.head_text(both)
        if text != head.content:
            head.update(text)

    def head_text(self, both: bool) -> Text:
        text = Text("similar images", style="bold")
        if self.row is not None and self.ctx is not None:
            text.append(f" to {self.ctx.dataset.ids[self.row]}")
        shown = SPACES if both else (self.mode,)
        for name in shown:
            res = self.results.get(name)
            label = (res.space if res else name) + (" (learned)" if name == "learned" and res else "")
            text.append(f"\n{label} space" if name == "clip" else f"\n{label}", style="cyan")
            if res is not None and res.error:
                text.append(f": {res.error}", style="yellow")
        other = "learned" if self.mode == "clip" else "CLIP"
        text.append(f"\n✓ shares a true keyword · v: {other} space · enter: select", style="dim")
        return text

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(int(event.row_key.value)))
