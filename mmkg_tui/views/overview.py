"""Overview: what the dataset and graph hold, where the embeddings come from, and
keyword prevalence as a bar table."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mmkg_tui.widgets.base import StateView
from mmkg_tui.widgets.rendered import CachedRich

BAR_WIDTH = 22


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of eighth-blocks, ``fraction`` in [0, 1]."""
    eighths = int(round(max(0.0, min(1.0, fraction)) * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


def dataset_table(summary: dict) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("dataset", summary["name"])
    t.add_row("kind", summary["kind"])
    t.add_row("source", summary.get("source") or "(bundled)")
    if summary.get("synthetic"):
        t.add_row("data", Text("SYNTHETIC demo: generated listings, not real photos", style="bold yellow"))
    t.add_row("embeddings", summary.get("embedding_source") or "-")
    t.add_row("images", f"{summary['images']:,}")
    t.add_row("keywords", f"{summary['keywords']:,}")
    t.add_row("scenes", f"{summary['scenes']:,} ({summary.get('scene_source', '')})")
    nodes = summary["attribute_nodes"]
    t.add_row("attribute nodes", "(building the graph...)" if nodes is None else f"{nodes:,}")
    return t


def counts_table(title: str, counts: dict[str, int]) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, expand=False)
    t.add_column("type")
    t.add_column("count", justify="right")
    for k, v in counts.items():
        t.add_row(k, f"{v:,}")
    return t


def scenes_table(summary: dict) -> Table:
    t = Table(title="scenes", title_justify="left", show_edge=False, pad_edge=False)
    t.add_column("scene")
    t.add_column("images", justify="right")
    for k, v in sorted(summary["scene_counts"].items(), key=lambda kv: -kv[1]):
        t.add_row(k, f"{v:,}")
    return t


def attributes_text(summary: dict) -> Text:
    text = Text()
    text.append("numeric attributes: ", style="bold")
    text.append(", ".join(summary["numeric_attributes"]) or "none")
    text.append("\ntext attributes: ", style="bold")
    text.append(", ".join(summary["text_attributes"]) or "none")
    labels = summary.get("attribute_labels") or []
    if labels:
        text.append("\nattribute nodes: ", style="bold")
        text.append(", ".join(labels[:12]) + (" …" if len(labels) > 12 else ""))
    return text


def problems_text(problems: list[str]) -> Text:
    """Every dataset problem (skipped corrupt images, merged keywords, ...), one a line."""
    text = Text()
    if problems:
        text.append(f"{len(problems)} dataset problem{'s' if len(problems) != 1 else ''} "
                    "(the figures are computed without them):\n", style="bold yellow")
        for p in problems:
            text.append(f"  {p}\n", style="yellow")
    return text


def prevalence_table(summary: dict) -> Table:
    prev = summary["keyword_prevalence"]
    n = max(summary["images"], 1)
    top = max(prev.values(), default=1) or 1
    t = Table(title="keyword prevalence", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
              pad_edge=False, collapse_padding=True)
    t.add_column("keyword", no_wrap=True, max_width=22)
    t.add_column("images", justify="right", no_wrap=True, min_width=6)
    t.add_column("%", justify="right", no_wrap=True, min_width=4)
    t.add_column("", no_wrap=True, min_width=BAR_WIDTH)
    for k, c in sorted(prev.items(), key=lambda kv: (-kv[1], kv[0])):
        t.add_row(k, f"{c:,}", f"{100 * c / n:.1f}", Text(bar(c / top), style="cyan"))
    return t


class OverviewView(StateView):
    def compose(self) -> ComposeResult:
        with VerticalScroll(id="overview-scroll"):
            yield Static(id="overview-info")
            yield Static(id="overview-prevalence")

    def update_view(self, reason: str) -> None:
        if reason not in ("data", "run"):
            return
        s = self.session.summary
        if s["node_counts"]:
            graph = Table.grid(padding=(0, 4))
            graph.add_row(counts_table("nodes", s["node_counts"]), counts_table("edges", s["edge_counts"]))
        else:
            graph = Text("graph: building in the background (torch and DGL load once)...", style="dim")
        parts = [dataset_table(s)]
        if self.session.corrections is not None:
            parts += [Text(""), Text(self.session.corrections.line(), style="bold cyan")]
        if s.get("problems"):
            parts += [Text(""), problems_text(s["problems"])]
        parts += [Text(""), graph, Text(""), scenes_table(s), Text(""), attributes_text(s)]
        for note in self.session.notes:
            parts.append(Text(f"\n{note}", style="dim"))
        info, prevalence = self.query_one("#overview-info", Static), self.query_one("#overview-prevalence", Static)
        info.update(CachedRich(info, Group(*parts)))  # rendered once per width, not per layout pass
        prevalence.update(CachedRich(prevalence, prevalence_table(s)))
