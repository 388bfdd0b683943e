"""Evaluate: the results table (clip and each GraphSAGE method), ROC curves of all
methods with the current operating point, and per-keyword precision and recall
against prevalence or (l) the reliability curve of the selected method, with its
Brier score and ECE -- all for test images. c switches the score scale shown
(calibrated <-> raw, where the run keeps both); p uses each keyword's threshold
chosen on validation instead of the global threshold (mmkg_tui/present/operating.py)."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual import on
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from engine import api
from mmkg_tui.present import operating as opp
from mmkg_tui.present.reliability import reliability
from mmkg_tui.present.tables import metric_mean
from mmkg_tui.widgets.base import StateView, fmt, fmt_t, no_run_hint, set_text
from mmkg_tui.widgets.lists import VimTable
from mmkg_tui.widgets.markerplot import MarkerPlot

COLUMNS = (("method", "method"), ("µAUC", "micro_auc"), ("mAUC", "macro_auc"), ("mAP", "map"),
           ("best t", "best_t"), ("P", "best_p"), ("R", "best_r"), ("F1", "best_f1"),
           ("P@t", "p"), ("R@t", "r"), ("F1@t", "f1"))
# plotext colours given to the run's methods in their order (stable for one run)
PALETTE = ("orange", "cyan", "green", "magenta", "blue+", "red", "yellow", "gray", "orange+", "cyan+")


def method_color(methods: list[str], method: str) -> str:
    return PALETTE[methods.index(method) % len(PALETTE)] if method in methods else "white"


def result_rows(session, run=None) -> list[tuple]:
    """One row per method of ``run`` (default: the current run): AUCs and mAP from the
    run, P/R/F1 at the method's best-F1 threshold (chosen on validation) and at the
    operating point (the current threshold, or each keyword's validation threshold),
    on the scale shown, on the run's test rows."""
    run = run if run is not None else session.run
    op = opp.operating_point(session)
    scaled = session.scaled(run)
    scale = scaled.scale_of(op)
    test = np.asarray(run.test_mask(), dtype=bool)
    rows = []
    for m in run.methods:
        metrics = run.metrics.get(m, {})
        best_t = opp.best_threshold(run, m, scale)
        s, y = scaled.scores(m, scale)[test], run.labels[test]
        best = api.threshold_metrics(s, y, best_t) if best_t is not None else {}
        now = opp.metrics_at(s, y, opp.thresholds(run, m, scale, session.threshold, op.mode))
        rows.append((m, metric_mean(metrics, "micro_auc"), metric_mean(metrics, "macro_auc"),
                     metric_mean(metrics, "map"), best_t, best.get("precision"), best.get("recall"),
                     best.get("f1"), now["precision"], now["recall"], now["f1"]))
    return rows


def run_notes(run) -> Text:
    """The run's cautions: warnings, keywords left out of macro metrics, methods not run."""
    text = Text()
    for w in run.warnings:
        text.append(f"warning: {w}\n", style="yellow")
    if run.macro_excluded:
        items = ", ".join(f"{k} ({why})" for k, why in list(run.macro_excluded.items())[:6])
        more = f" and {len(run.macro_excluded) - 6} more" if len(run.macro_excluded) > 6 else ""
        text.append(f"left out of macro metrics: {items}{more}\n", style="dim")
    for m, why in run.skipped_methods.items():
        text.append(f"not run: {m}: {why}\n", style="dim")
    text.rstrip()
    return text


class EvaluateView(StateView):
    KEYS_HELP = (
        ("j / k", "select the next / previous method (the highlighted row is the selected method)"),
        ("enter", "select the method under the cursor"),
        ("b", "threshold at the selected method's best F1 (chosen on validation images)"),
        ("R", "run browser: open another run, or compare two side by side"),
    )
    BINDINGS = [
        Binding("c", "switch_scale", "scale", id="evaluate.scale",
                tooltip="Score scale shown: calibrated <-> raw (where the run keeps both)"),
        Binding("p", "switch_thresholds", "kw t", id="evaluate.per_keyword",
                tooltip="Operating point: the global threshold <-> each keyword's threshold chosen on validation"),
        Binding("l", "switch_plot", "reliability", id="evaluate.reliability",
                tooltip="Right plot: per-keyword P/R <-> reliability curve (Brier, ECE) of the method"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("", id="evaluate-head", classes="view-head")
        # no cell padding: each label is padded to the widest value + 1, so the eleven
        # columns fit 80 terminal columns (73 cells) and none is dropped
        yield VimTable(id="results-table", cursor_type="row", zebra_stripes=False, cell_padding=0)
        yield Static("", id="evaluate-notes", classes="view-head")
        yield Static("", id="compare-head", classes="view-head")
        yield VimTable(id="compare-table", cursor_type="none", zebra_stripes=False, cell_padding=0)
        with Horizontal(id="evaluate-plots"):
            yield MarkerPlot(id="roc-plot")
            yield MarkerPlot(id="keyword-plot")
            yield MarkerPlot(id="reliability-plot")

    def on_mount(self) -> None:
        for t in self.query(VimTable):
            for label, key in COLUMNS:
                t.add_column(label.ljust(13 if key == "method" else max(6, len(label) + 1)), key=key)

    def update_view(self, reason: str) -> None:
        s = self.session
        head = self.query_one("#evaluate-head", Static)
        table = self.query_one("#results-table", VimTable)
        plots = self.query_one("#evaluate-plots")
        notes = self.query_one("#evaluate-notes", Static)
        if not s.has_run:
            head.update(no_run_hint("evaluation", loading=not s.engine_ready))
            table.display = plots.display = notes.display = False
            return
        table.display = plots.display = True
        cfg = s.run.config
        point = opp.describe(opp.operating_point(s), s.scaled(), s.method, fmt_t(s.threshold))
        set_text(head, f"test images: {s.n_test:,}   {point}   selected {s.method}   "
                       f"({cfg.epochs} epochs, hidden {cfg.hidden}, seeds {cfg.seeds}; "
                       "best t chosen on validation, b applies it)")
        note_text = run_notes(s.run)
        set_text(notes, note_text)
        notes.display = bool(note_text)
        self.fill_table()
        self.fill_compare()
        if reason != "threshold" or not self.query_one("#roc-plot", MarkerPlot).has_static:
            # the curves depend on the run and the method set only
            self.draw_roc()
            self.draw_keyword_axes()
            self.draw_reliability()
        self.show_plot()
        self.move_operating_point()
        self.draw_keywords()

    def fill_table(self) -> None:
        """Rows in place when the methods are the same (threshold / method change): only
        changed cells are written and the table keeps its size (no layout pass)."""
        s = self.session
        table = self.query_one("#results-table", VimTable)
        keys = self._fill(table, result_rows(s))
        if s.method in keys and table.cursor_row != keys.index(s.method):
            with self.prevent(DataTable.RowHighlighted):
                table.move_cursor(row=keys.index(s.method))

    def fill_compare(self) -> None:
        """The compared run's table under the current one (R, then c, in the run browser)."""
        s = self.session
        head, table = self.query_one("#compare-head", Static), self.query_one("#compare-table", VimTable)
        head.display = table.display = s.compare is not None
        if s.compare is None:
            return
        cfg = s.compare.config
        set_text(head, f"compared run {str(s.compare.created)[:19].replace('T', ' ')}: {cfg.epochs} epochs, "
                       f"hidden {cfg.hidden}, strategies {', '.join(cfg.strategies)}   (x in the run browser stops)")
        self._fill(table, result_rows(s, s.compare))

    def _fill(self, table: VimTable, results: list) -> list[str]:
        """The rows of ``results`` (keyed by method), cell by cell when the methods are
        those shown; returns the keys."""
        rows = [self._cells(row) for row in results]
        keys = [row[0].plain for row in rows]
        if [k.value for k in table.rows] != keys:
            table.clear()
            for cells in rows:
                table.add_row(*cells, key=cells[0].plain)
        else:
            table.update_cells((cells[0].plain, col, value)
                               for cells in rows for (_, col), value in zip(COLUMNS, cells))
        return keys

    def _cells(self, row: tuple) -> list:
        color = method_color(self.session.methods, row[0]).rstrip("+")
        cells = [Text(row[0], style=color if color != "gray" else "dim")]
        return cells + [fmt(v) if i != 3 else fmt(v, 2) for i, v in enumerate(row[1:])]

    @on(DataTable.RowHighlighted, "#results-table")
    @on(DataTable.RowSelected, "#results-table")
    def _method_under_cursor(self, event) -> None:
        """The cursor is the selection: moving it (j/k) or enter selects the method."""
        if not event.data_table.has_focus:
            return  # rows filled or the cursor placed by the view itself
        key = event.row_key.value if event.row_key is not None else None
        if key and key != self.session.method and key in self.session.methods:
            self.app.set_method(key)  # type: ignore[attr-defined]

    def draw_roc(self) -> None:
        """The static curves (once per run / method set); the marker moves separately."""
        s = self.session
        scale = s.scaled().scale_of(opp.operating_point(s))
        curves = [(m, s.scaled().roc(m, scale), "braille", method_color(s.methods, m)) for m in s.methods]
        title = f"ROC ({scale}, micro, test) - dot: {s.method} at t"
        if s.compare is not None:  # the compared run's curves: same colours, dotted, "B:" labels
            compared = s.scaled(s.compare)
            other = scale if scale in compared.scales() else s.compare.score_scale
            curves += [(f"B:{m}", compared.roc(m, other), "dot", method_color(s.methods, m) if m in s.methods
                        else method_color(s.compare.methods, m)) for m in s.compare.methods]

        def draw(plt) -> None:
            plt.title(title)
            plt.xlabel("false positive rate")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            for label, (fpr, tpr), marker, color in curves:
                plt.plot(np.asarray(fpr, float).tolist(), np.asarray(tpr, float).tolist(),
                         marker=marker, color=color, label=label)

        self.query_one("#roc-plot", MarkerPlot).set_static(draw, xlim=(0, 1), ylim=(0, 1))

    def test_operating(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The selected method's test scores on the scale shown, labels and thresholds."""
        s = self.session
        op = opp.operating_point(s)
        scale = s.scaled().scale_of(op)
        test = np.asarray(s.test_mask, dtype=bool)
        thr = opp.thresholds(s.run, s.method, scale, s.threshold, op.mode)
        return s.scaled().scores(s.method, scale)[test], s.run.labels[test], thr

    def move_operating_point(self) -> None:
        now = opp.metrics_at(*self.test_operating())
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
        pk = opp.per_keyword_at(*self.test_operating())
        x = np.asarray(s.dataset.prevalence(), float)
        marks = []
        for name, marker, color in (("precision", "+", "cyan"), ("recall", "x", "yellow")):
            y = np.asarray(pk[name], float)
            ok = np.isfinite(y)
            marks += [(xi, yi, marker, color) for xi, yi in zip(x[ok].tolist(), y[ok].tolist())]
        self.query_one("#keyword-plot", MarkerPlot).set_markers(marks)

    show_reliability = False  # l: the right plot shows the reliability curve
    curve = None  # present.reliability.Reliability of the selected method

    def show_plot(self) -> None:
        self.query_one("#keyword-plot", MarkerPlot).display = not self.show_reliability
        self.query_one("#reliability-plot", MarkerPlot).display = self.show_reliability

    def draw_reliability(self) -> None:
        """Calibrated probability against the fraction positive per bin, and the diagonal."""
        rel = self.curve = reliability(self.session.scaled(), self.session.method)

        def draw(plt) -> None:
            plt.title(rel.title())
            plt.xlabel("calibrated probability")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            plt.plot([0, 1], [0, 1], marker="dot", color="gray")
            if rel.mean_p.size:
                plt.plot(rel.mean_p.tolist(), rel.frac.tolist(), marker="braille",
                         color=method_color(self.session.methods, rel.method))

        self.query_one("#reliability-plot", MarkerPlot).set_static(draw, xlim=(0, 1), ylim=(0, 1))

    def action_switch_plot(self) -> None:
        self.show_reliability = not self.show_reliability
        self.show_plot()

    def action_switch_scale(self) -> None:
        s = self.session
        if not s.has_run:
            return
        op = opp.operating_point(s)
        scales = s.scaled().scales()
        if len(scales) < 2:
            self.app.notify(f"this run keeps only {s.run.score_scale} scores", severity="warning")
            return
        op.scale = scales[(scales.index(s.scaled().scale_of(op)) + 1) % len(scales)]
        self.draw_roc()  # the curves of the new scale (the marker moves with the threshold refresh)
        self.app.state_changed.publish("threshold")  # type: ignore[attr-defined]

    def action_switch_thresholds(self) -> None:
        if not self.session.has_run:
            return
        op = opp.operating_point(self.session)
        op.mode = opp.GLOBAL if op.mode == opp.PER_KEYWORD else opp.PER_KEYWORD
        self.app.state_changed.publish("threshold")  # type: ignore[attr-defined]
