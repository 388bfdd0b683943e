"""The run browser (R): every run of this dataset -- its runs folder and the run
folders the app has opened -- newest first, with headline metrics. enter opens the
run under the cursor; c compares it with the open run (both tables and both ROC
sets in Evaluate); x stops comparing; esc closes."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from mmkg_tui.present.tables import metric_mean
from mmkg_tui.widgets.lists import VimTable


@dataclass
class BrowserChoice:
    """What the user chose: open ("open") or compare ("compare") the run at path,
    or stop comparing ("uncompare")."""

    action: str
    path: str | None = None


def headline(info) -> tuple[str, str, str]:
    """The best GraphSAGE method by micro AUC, its micro AUC, and clip's (for scale)."""
    sage = [m for m in info.methods if m.startswith("sage_")]
    best = max(sage, key=lambda m: metric_mean(info.metrics.get(m), "micro_auc") or -1.0) if sage else None
    best_auc = metric_mean(info.metrics.get(best), "micro_auc") if best else None
    clip_auc = metric_mean(info.metrics.get("clip"), "micro_auc")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return best or "-", fmt(best_auc), fmt(clip_auc)


def settings_text(config: dict) -> str:
    strategies = ",".join(config.get("strategies", []))
    return (f"{config.get('epochs', '?')} ep, hidden {config.get('hidden', '?')}, "
            f"seeds {config.get('seeds', 1)}, {strategies}")


def short_path(path: str, parts: int = 1) -> str:
    """The last folders of a run path (the full one is in the Train view)."""
    pieces = path.rstrip("/").split("/")
    return ("…/" if len(pieces) > parts else "") + "/".join(pieces[-parts:])


class RunBrowser(ModalScreen[BrowserChoice | None]):
    BINDINGS = [
        Binding("enter", "choose('open')", "open", id="runs.open"),
        Binding("c", "choose('compare')", "compare", id="runs.compare"),
        Binding("x", "uncompare", "stop comparing", id="runs.uncompare"),
        Binding("escape,R", "close", "close", id="runs.close"),
    ]

    def __init__(self, runs: list, current: str | None, compared: str | None) -> None:
        super().__init__()
        self.runs, self.current, self.compared = runs, current, compared

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-box"):
            yield Static(f"[b]Runs of this dataset[/b] ({len(self.runs)}, newest first)   "
                         "enter opens   c compares with the open run   x stops comparing   esc closes",
                         id="runs-title")
            yield VimTable(id="runs-table")
            if not self.runs:
                yield Static("No saved run yet: press r in the main screen to train one.", id="runs-empty")

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", VimTable)
        for label in ("", "created", "settings", "best sage", "µAUC", "clip µAUC", "folder"):
            table.add_column(label)
        for info in self.runs:
            mark = "● open" if info.path == self.current else "◐ compared" if info.path == self.compared else ""
            best, auc, clip = headline(info)
            table.add_row(Text(mark, style="bold green"), info.created[:19].replace("T", " "),
                          settings_text(info.config), best, auc, clip, short_path(info.path), key=info.path)
        table.focus()

    def _cursor_path(self) -> str | None:
        return self.query_one("#runs-table", VimTable).selected_key()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_choose("open")

    def action_choose(self, action: str) -> None:
        path = self._cursor_path()
        if path is not None:
            self.dismiss(BrowserChoice(action, path))

    def action_uncompare(self) -> None:
        self.dismiss(BrowserChoice("uncompare"))

    def action_close(self) -> None:
        self.dismiss(None)
