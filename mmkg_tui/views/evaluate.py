"""Evaluate: the results table (clip and each GraphSAGE method), ROC curves of all
methods with the current operating point, and per-keyword precision and recall
against prevalence -- all for test images."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from mmkg_tui.present.tables import metric_mean
from mmkg_tui.widgets.base import StateView, fmt, fmt_t, no_run_hint, set_text
from mmkg_tui.widgets.lists import CellTable
from mmkg_tui.widgets.markerplot import MarkerPlot

COLUMNS = (("method", "method"), ("µAUC", "micro_auc"), ("mAUC", "macro_auc"), ("mAP", "map"),
           ("best t", "best_t"), ("P", "best_p"), ("R", "best_r"), ("F1", "best_f1"),
           ("P@t", "p"), ("R@t", "r"), ("F1@t", "f1"))
# plotext colour per method, stable across redraws
METHOD_COLORS = {"clip": "orange", "sage_self": "cyan", "sage_cosine": "green", "sage_scene": "magenta",
                 "prior": "gray", "scene_prior": "blue+", "clip_probe": "orange+"}  # reference baselines


def result_rows(session) -> list[tuple]:
    """One row per method: AUCs and mAP from the run, P/R/F1 at the method's best-F1
    threshold (chosen on validation) and at the current threshold, on test rows."""
    rows = []
    for m in session.methods:
        metrics = session.run.metrics.get(m, {})
        best_t = session.run.best_threshold.get(m)
        best = session.threshold_metrics(m, best_t) if best_t is not None else {}
        now = session.threshold_metrics(m)
        rows.append((m, metric_mean(metrics, "micro_auc"), metric_mean(metrics, "macro_auc"),
                     metric_mean(metrics, "map"), best_t, best.get("precision"), best.get("recall"),
                     best.get("f1"), now["precision"], now["recall"], now["f1"]))
    return rows


class EvaluateView(StateView):
    def compose(self) -> ComposeResult:
        yield Static("", id="evaluate-head", classes="view-head")
        yield CellTable(id="results-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="evaluate-plots"):
            yield MarkerPlot(id="roc-plot")
            yield MarkerPlot(id="keyword-plot")

    def on_mount(self) -> None:
        t = self.query_one("#results-table", CellTable)
        for label, key in COLUMNS:
            t.add_column(label, key=key)

    def update_view(self, reason: str) -> None:
        s = self.session
        head = self.query_one("#evaluate-head", Static)
        table = self.query_one("#results-table", CellTable)
        plots = self.query_one("#evaluate-plots")
        if not s.has_run:
            head.update(no_run_hint("evaluation"))
            table.display = plots.display = False
            return
        table.display = plots.display = True
        cfg = s.run.config
        n_test = int(s._test.sum())
        set_text(head, f"test images: {n_test:,}   threshold {fmt_t(s.threshold)}   selected {s.method}   "
                       f"({getattr(cfg, 'epochs', '?')} epochs, hidden {getattr(cfg, 'hidden', '?')}, "
                       f"seeds {getattr(cfg, 'seeds', 1)}; best t chosen on validation, b applies it)")
        self.fill_table()
        if reason != "threshold" or not self.query_one("#roc-plot", MarkerPlot).has_static:
            # the curves depend on the run and the method set only
            self.draw_roc()
            self.draw_keyword_axes()
        self.move_operating_point()
        self.draw_keywords()

    def fill_table(self) -> None:
        """Rows in place when the methods are the same (threshold / method change): only
        changed cells are written and the table keeps its size (no layout pass)."""
        s = self.session
        table = self.query_one("#results-table", CellTable)
        rows = [self._cells(row, s.method) for row in result_rows(s)]
        keys = [row[0].plain for row in rows]
        if [k.value for k in table.rows] != keys:
            table.clear()
            for cells in rows:
                table.add_row(*cells, key=cells[0].plain)
            return
        table.update_cells((cells[0].plain, col, value) for cells in rows for (_, col), value in zip(COLUMNS, cells))

    @staticmethod
    def _cells(row: tuple, method: str) -> list:
        m = row[0]
        cells = [Text(m, style="bold reverse" if m == method else "")]
        return cells + [fmt(v) if i != 3 else fmt(v, 2) for i, v in enumerate(row[1:])]

    def draw_roc(self) -> None:
        """The static curves (once per run / method set); the marker moves separately."""
        s = self.session
        curves = [(m, s.run.roc[m]) for m in s.methods]
        title = f"ROC (micro, test) - dot: {s.method} at the threshold"

        def draw(plt) -> None:
            plt.title(title)
            plt.xlabel("false positive rate")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            for m, (fpr, tpr) in curves:
                plt.plot(np.asarray(fpr, float).tolist(), np.asarray(tpr, float).tolist(),
                         marker="braille", color=METHOD_COLORS.get(m, "white"), label=m)

        self.query_one("#roc-plot", MarkerPlot).set_static(draw, xlim=(0, 1), ylim=(0, 1))

    def move_operating_point(self) -> None:
        now = self.session.threshold_metrics()
        self.query_one("#roc-plot", MarkerPlot).set_marker(float(now["fpr"]), float(now["tpr"]))

    def draw_keyword_axes(self) -> None:
        """The per-keyword plot's frame (once per dataset / run): prevalence axis, P/R axis."""
        x = np.asarray(self.session.dataset.prevalence(), float)
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1e-9

        def draw(plt) -> None:
            plt.title("per keyword: P (+) and R (x) vs prevalence")
            plt.xlabel("prevalence")
            plt.xlim(lo, hi)
            plt.ylim(0, 1)
            plt.scatter([lo, hi], [0, 1], marker=" ")  # an invisible series: plotext draws no axes without data

        self.query_one("#keyword-plot", MarkerPlot).set_static(draw, xlim=(lo, hi), ylim=(0, 1))

    def draw_keywords(self) -> None:
        """Per-keyword precision (+) and recall (x) at the threshold, drawn over the frame."""
        s = self.session
        pk = s.per_keyword()
        x = np.asarray(s.dataset.prevalence(), float)
        marks = []
        for name, marker, color in (("precision", "+", "cyan"), ("recall", "x", "yellow")):
            y = np.asarray(pk[name], float)
            ok = np.isfinite(y)
            marks += [(xi, yi, marker, color) for xi, yi in zip(x[ok].tolist(), y[ok].tolist())]
        self.query_one("#keyword-plot", MarkerPlot).set_markers(marks)
