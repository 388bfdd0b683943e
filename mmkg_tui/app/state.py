"""App-side state: the dataset, its features and graph, the current run, the selected
method and the threshold, plus the cheap derived numbers every view shows.

Plain Python (no Textual): opening a session (app/loading.py) runs in thread
workers; everything here is numpy on cached arrays and is fast enough for the event
loop (a threshold step recomputes counts on the cached score matrices only).
It reaches the engine only through ``engine.api``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine import api
from mmkg_tui.present import operating as opp

SPLIT_NAMES = {0: "train", 1: "val", 2: "test"}


def clamp_threshold(value: float) -> float:
    """Thresholds are cosine similarities: keep them in [-1, 1], rounded to 1e-4."""
    return round(min(1.0, max(-1.0, float(value))), 4)


@dataclass
class Prediction:
    keyword: str
    score: float
    mark: str  # "TP" | "FP" | "FN" | "TN"


Listener = Callable[[str], None]
REASONS = ("threshold", "method", "run", "data")  # a later reason includes the earlier ones


@dataclass
class Session:
    """The one owner of what the views follow: the threshold, the method and the
    current run (plus the dataset, its features and, once built, the graph). Changing
    one of them goes through a ``set_*`` method, which tells every listener (the app
    forwards that to the views) with a reason: "threshold", "method", "run" or "data"."""

    dataset: Any
    features: Any
    kg: Any = None  # the knowledge graph, once attach_engine built it (None before)
    summary_: dict[str, Any] | None = None
    threshold: float = 0.7
    method: str | None = None
    run: Any = None
    run_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    strategies: dict[str, str] = field(default_factory=dict)  # reconnection strategy -> one line
    # caches derived from the run (set_run)
    eval_pos: np.ndarray | None = None  # (N,) position of each dataset row in run.eval_rows, -1 if none
    test_mask: np.ndarray | None = None  # (M,) bool: which eval rows are test images
    compare: Any = None  # a second run of this dataset shown beside the current one (Evaluate)
    compare_dir: str | None = None
    corrections: Any = None  # mmkg_tui.present.corrections.CorrectionsApplied (--corrections), or None
    operating: opp.OperatingPoint = field(default_factory=opp.OperatingPoint)  # scale shown, global / per keyword
    run_scales: opp.RunScales | None = field(default=None, repr=False)  # the run's scores on either scale
    compare_scales: opp.RunScales | None = field(default=None, repr=False)  # the same for the compared run
    listeners: list[Listener] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.threshold = clamp_threshold(self.threshold)
        if self.run is not None:
            self._adopt_run(self.run, self.run_dir)

    def _tell(self, reason: str) -> None:
        for listener in list(self.listeners):
            listener(reason)

    # ---------------------------------------------------------------- graph
    @property
    def engine_ready(self) -> bool:
        """True once the graph is built (torch and DGL are loaded)."""
        return self.kg is not None

    @property
    def summary(self) -> dict[str, Any]:
        """The graph summary once built, else the dataset-only part of it."""
        return self.summary_ if self.summary_ is not None else dataset_summary(self.dataset, self.features)

    def set_graph(self, kg: Any, summary: dict[str, Any], strategies: dict[str, str]) -> None:
        self.kg, self.summary_, self.strategies = kg, summary, dict(strategies)
        self._tell("data")

    # ------------------------------------------------------------------ run
    @property
    def has_run(self) -> bool:
        return self.run is not None

    @property
    def methods(self) -> list[str]:
        return list(self.run.methods) if self.run is not None else []

    @property
    def n_test(self) -> int:
        return int(self.test_mask.sum()) if self.test_mask is not None else 0

    def set_run(self, run: Any, run_dir: str | Path | None = None) -> None:
        """Make ``run`` the current run; it must belong to this dataset."""
        self._adopt_run(run, run_dir)
        self._tell("run")

    def _adopt_run(self, run: Any, run_dir: str | Path | None) -> None:
        check_run_matches(run, self.dataset)
        self.run, self.run_scales = run, opp.RunScales(run)
        self.run_dir = str(run_dir) if run_dir is not None else None
        pos = np.full(self.dataset.n_images, -1, dtype=np.int64)
        pos[np.asarray(run.eval_rows, dtype=np.int64)] = np.arange(len(run.eval_rows))
        self.eval_pos = pos
        self.test_mask = np.asarray(run.test_mask(), dtype=bool)
        if self.method not in run.methods:
            self.method = preferred_method(run.methods)

    def set_compare(self, run: Any, run_dir: str | None) -> None:
        """Compare ``run`` (same dataset) with the current run; None stops comparing."""
        if run is not None:
            check_run_matches(run, self.dataset)
        self.compare, self.compare_dir = run, run_dir
        self.compare_scales = opp.RunScales(run) if run is not None else None
        self._tell("run")

    def set_method(self, method: str) -> None:
        if method not in self.methods:
            raise ValueError(f"unknown method {method!r}; the run has {self.methods}")
        if method != self.method:
            self.method = method
            self._tell("method")

    def cycle_method(self, step: int = 1) -> str | None:
        """The next (step 1) or previous (-1) method of the run; None without a run."""
        methods = self.methods
        if not methods:
            return None
        i = methods.index(self.method) if self.method in methods else -1
        self.set_method(methods[(i + step) % len(methods)])
        return self.method

    def best_threshold(self, method: str | None = None) -> float | None:
        """The method's best-F1 threshold (chosen on validation rows by the engine)."""
        if self.run is None:
            return None
        value = opp.best_threshold(self.run, method or self.method, self.score_scale)
        return None if value is None else clamp_threshold(value)

    def set_threshold(self, value: float) -> float:
        """The one place a threshold is clamped (to [-1, 1], 1e-4)."""
        value = clamp_threshold(value)
        if value != self.threshold:
            self.threshold = value
            self._tell("threshold")
        return self.threshold

    def scaled(self, run: Any = None) -> opp.RunScales:
        """Scores and ROC curves on either scale of the current run, or of ``run`` (the
        compared run's are kept too; any other run gets a fresh, uncached one)."""
        run = self.run if run is None else run
        for kept in (self.run_scales, self.compare_scales):
            if kept is not None and kept.run is run:
                return kept
        return opp.RunScales(run)

    @property
    def score_scale(self) -> str:
        """The scale the run's scores and thresholds are on: "calibrated" (P(keyword |
        image), Platt fitted on validation) or "raw" (each method's own score)."""
        return self.scaled().scale_of(self.operating) if self.has_run else "raw"

    # -------------------------------------------------------------- scores
    def scores(self, method: str | None = None) -> np.ndarray:
        """(M, K) scores of the eval rows on the scale shown (Evaluate's c switches it)."""
        return self.scaled().scores(method or self.method, self.score_scale)

    def thresholds(self, method: str | None = None, threshold: float | None = None) -> np.ndarray:
        """(K,) the operating point: the threshold for every keyword, or each keyword's own
        (chosen on validation) when per-keyword thresholds are on and no threshold is given."""
        m = method or self.method
        mode = self.operating.mode if threshold is None else opp.GLOBAL
        return opp.thresholds(self.run, m, self.score_scale, self.threshold if threshold is None else threshold, mode)

    def test_scores_labels(self, method: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.scores(method)[self.test_mask], self.run.labels[self.test_mask]

    def threshold_metrics(self, method: str | None = None, threshold: float | None = None) -> dict:
        """Micro P/R/F1, fpr/tpr and counts on the test rows at the operating point."""
        s, y = self.test_scores_labels(method)
        return opp.metrics_at(s, y, self.thresholds(method, threshold))

    def per_keyword(self, method: str | None = None, threshold: float | None = None) -> dict[str, np.ndarray]:
        s, y = self.test_scores_labels(method)
        return opp.per_keyword_at(s, y, self.thresholds(method, threshold))

    def keyword_auc(self, method: str | None = None) -> np.ndarray | None:
        pk = self.run.per_keyword.get(method or self.method, {}) if self.run is not None else {}
        auc = pk.get("auc")
        return None if auc is None else np.asarray(auc, dtype=float)

    def error_rows(self) -> np.ndarray:
        """Dataset rows (val+test) with at least one FP or missed keyword at the threshold."""
        if self.run is None:
            return np.zeros(0, dtype=np.int64)
        pred = self.scores() >= self.thresholds()[None, :]
        bad = (pred != self.run.labels).any(axis=1)
        return np.asarray(self.run.eval_rows, dtype=np.int64)[bad]

    def predictions(self, row: int, top: int = 12) -> list[Prediction] | None:
        """Keywords of dataset row ``row`` by score for the current method, marked at the
        threshold: every predicted or true keyword, plus the best others up to ``top``.
        None when the image has no held-out scores (training image or no run)."""
        if self.run is None or self.eval_pos is None or self.eval_pos[row] < 0:
            return None
        i = int(self.eval_pos[row])
        s, thr = self.scores()[i], self.thresholds()
        y = self.run.labels[i]
        order = np.argsort(-s, kind="stable")
        out = []
        for k in order:
            pred, true = bool(s[k] >= thr[k]), bool(y[k])
            mark = "TP" if pred and true else "FP" if pred else "FN" if true else "TN"
            if mark != "TN" or len(out) < top:
                out.append(Prediction(self.run.keywords[k], float(s[k]), mark))
        return out

    def ranking(self, keyword: int, limit: int = 200) -> list[tuple[int, float, bool]]:
        """Held-out images ranked by score for ``keyword``: (dataset row, score, holds it)."""
        s = self.scores()[:, keyword]
        order = np.argsort(-s, kind="stable")[:limit]
        rows = np.asarray(self.run.eval_rows, dtype=np.int64)
        return [(int(rows[i]), float(s[i]), bool(self.run.labels[i, keyword])) for i in order]

    # ------------------------------------------------------------- dataset
    def split_of(self, row: int) -> str:
        if self.run is None:
            return "-"
        return SPLIT_NAMES.get(int(self.run.split[row]), "?")

    def scene_of(self, row: int) -> str:
        s = int(self.dataset.image_scene[row])
        return self.dataset.scenes[s] if s >= 0 else "-"

    def true_keywords(self, row: int) -> list[str]:
        return [self.dataset.keywords[k] for k in self.dataset.image_keywords(row)]

    def attributes(self, row: int) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in sorted(self.dataset.numeric):
            v = float(self.dataset.numeric[name][row])
            if np.isfinite(v):
                out[name] = (f"{v:,.0f}" if abs(v) >= 10_000 else f"{v:.0f}") if v == int(v) else f"{v:,.2f}"
        for name in sorted(self.dataset.text):
            out[name] = str(self.dataset.text[name][row])
        return out

    def filter_rows(self, text: str = "", keyword: int | None = None, scene: int | None = None,
                    split: int | None = None, errors_only: bool = False) -> np.ndarray:
        """Dataset rows matching every given filter (vectorised; text matches id,
        scene or any keyword, case-insensitive)."""
        ds = self.dataset
        keep = np.ones(ds.n_images, dtype=bool)
        if keyword is not None:
            keep &= np.asarray(ds.label_matrix()[:, keyword].toarray()).ravel() > 0
        if scene is not None:
            keep &= ds.image_scene == scene
        if split is not None:
            keep &= (np.asarray(self.run.split) == split) if self.run is not None else False
        if errors_only:
            mask = np.zeros(ds.n_images, dtype=bool)
            mask[self.error_rows()] = True
            keep &= mask
        text = text.strip().lower()
        if text:
            keep &= self._text_match(text)
        return np.nonzero(keep)[0]

    def query_rows(self, query: Any, errors_only: bool = False) -> np.ndarray:
        """Dataset rows matching a parsed search query (mmkg_tui.present.query.Query):
        every word, the split, any matching scene (per scene: term), any keyword
        containing each kw: term, and errors when asked."""
        ds = self.dataset
        keep = np.ones(ds.n_images, dtype=bool)
        for word in query.words:
            keep &= self._text_match(word)
        if query.split is not None:
            keep &= (np.asarray(self.run.split) == query.split) if self.run is not None else False
        for frag in query.scenes:
            hit = np.array([frag in sc.lower() for sc in ds.scenes] + [False])
            keep &= hit[ds.image_scene]
        rows = np.repeat(np.arange(ds.n_images), np.diff(ds.kw_indptr))
        for frag in query.keywords:
            hit = np.array([frag in k.lower() for k in ds.keywords] + [False])
            match = np.zeros(ds.n_images, dtype=bool)
            match[rows[hit[ds.kw_indices]]] = True
            keep &= match
        if query.errors or errors_only:
            mask = np.zeros(ds.n_images, dtype=bool)
            mask[self.error_rows()] = True
            keep &= mask
        return np.nonzero(keep)[0]

    def _text_match(self, text: str) -> np.ndarray:
        ds = self.dataset
        kw_hit = np.array([text in k.lower() for k in ds.keywords] + [False])
        sc_hit = np.array([text in s.lower() for s in ds.scenes] + [False])
        rows = np.repeat(np.arange(ds.n_images), np.diff(ds.kw_indptr))
        match = np.zeros(ds.n_images, dtype=bool)
        match[rows[kw_hit[ds.kw_indices]]] = True
        match |= sc_hit[ds.image_scene]  # -1 picks the trailing False
        match |= np.array([text in i.lower() for i in ds.ids])
        return match


def preferred_method(methods: list[str]) -> str:
    """The first GraphSAGE method if any (what the user trained for), else the first."""
    for m in methods:
        if m.startswith("sage_"):
            return m
    return methods[0]


def check_run_matches(run: Any, dataset: Any) -> None:
    if list(run.image_ids) != list(dataset.ids):
        raise api.DataError(
            f"the run was made on a different dataset ({len(run.image_ids)} images) "
            f"than the one loaded ({dataset.n_images} images)",
            hint="open it with the --data it was trained on, or train a new run (key r)",
        )


def dataset_summary(dataset: Any, features: Any = None) -> dict[str, Any]:
    """What the Overview shows before the graph is built (no torch): the same keys as
    ``api.summary`` with empty graph counts."""
    counts, scounts = dataset.keyword_counts(), dataset.scene_counts()
    return {
        "name": dataset.name, "kind": dataset.kind, "synthetic": bool(dataset.synthetic),
        "source": dataset.source_path,
        "embedding_source": features.source if features is not None else None,
        "images": dataset.n_images, "keywords": dataset.n_keywords, "scenes": dataset.n_scenes,
        "attribute_nodes": None, "node_counts": {}, "edge_counts": {},
        "keyword_prevalence": {k: int(c) for k, c in zip(dataset.keywords, counts)},
        "scene_counts": {s: int(c) for s, c in zip(dataset.scenes, scounts)},
        "scene_source": dataset.scene_source,
        "numeric_attributes": sorted(dataset.numeric), "text_attributes": sorted(dataset.text),
        "attribute_labels": [], "problems": [p.format() for p in dataset.problems],
    }
