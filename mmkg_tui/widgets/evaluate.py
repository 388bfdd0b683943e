"""Evaluate: the results table (clip and each GraphSAGE method), ROC curves of all
methods with the current operating point, and per-keyword precision and recall
against prevalence -- all for test images."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from mmkg_tui.session import metric_mean
from mmkg_tui.widgets.base import StateView, fmt, fmt_t, no_run_hint

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
        yield DataTable(id="results-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="evaluate-plots"):
            yield PlotextPlot(id="roc-plot")
            yield PlotextPlot(id="keyword-plot")

    def on_mount(self) -> None:
        t = self.query_one("#results-table", DataTable)
        for label, key in COLUMNS:
            t.add_column(label, key=key)

    def update_view(self, reason: str) -> None:
        s = self.session
        head = self.query_one("#evaluate-head", Static)
        table = self.query_one("#results-table", DataTable)
        plots = self.query_one("#evaluate-plots")
        if not s.has_run:
            head.update(no_run_hint("evaluation"))
            table.display = plots.display = False
            return
        table.display = plots.display = True
        cfg = s.run.config
        n_test = int(s._test.sum())
        head.update(f"test images: {n_test:,}   threshold {fmt_t(s.threshold)}   selected {s.method}   "
                    f"({getattr(cfg, 'epochs', '?')} epochs, hidden {getattr(cfg, 'hidden', '?')}, "
                    f"seeds {getattr(cfg, 'seeds', 1)}; best t chosen on validation, b applies it)")
        self.fill_table()
        self.draw_roc()
        self.draw_keywords()

    def fill_table(self) -> None:
        s = self.session
        table = self.query_one("#results-table", DataTable)
        table.clear()
        for row in result_rows(s):
            m = row[0]
            style = "bold reverse" if m == s.method else ""
            cells = [Text(m, style=style)]
            cells += [fmt(v) if i != 3 else fmt(v, 2) for i, v in enumerate(row[1:])]
            table.add_row(*cells, key=m)

    def draw_roc(self) -> None:
        s = self.session
        plot = self.query_one("#roc-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"ROC (micro, test) - dot: {s.method} at t={fmt_t(s.threshold)}")
        plt.xlabel("false positive rate")
        plt.xlim(0, 1)
        plt.ylim(0, 1)
        for m in s.methods:
            fpr, tpr = s.run.roc[m]
            plt.plot(np.asarray(fpr, float).tolist(), np.asarray(tpr, float).tolist(),
                     marker="braille", color=METHOD_COLORS.get(m, "white"), label=m)
        now = s.threshold_metrics()
        plt.scatter([float(now["fpr"])], [float(now["tpr"])], marker="●", color="red")
        plot.refresh()

    def draw_keywords(self) -> None:
        s = self.session
        plot = self.query_one("#keyword-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        pk = s.per_keyword()
        prevalence = s.dataset.prevalence()
        plt.title(f"per keyword at t={fmt_t(s.threshold)}: P (+) and R (x) vs prevalence")
        plt.xlabel("prevalence")
        plt.ylim(0, 1)
        x = np.asarray(prevalence, float)
        for name, marker, color in (("precision", "+", "cyan"), ("recall", "x", "yellow")):
            y = np.asarray(pk[name], float)
            ok = np.isfinite(y)
            plt.scatter(x[ok].tolist(), y[ok].tolist(), marker=marker, color=color, label=name)
        plot.refresh()
