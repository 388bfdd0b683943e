"""App-side state: the dataset, its features and graph, the current run, the selected
method and the threshold, plus the cheap derived numbers every view shows.

Plain Python (no Textual): the heavy part, :func:`open_session`, runs in a thread
worker; everything else is numpy on cached arrays and is fast enough for the event
loop (a threshold step recomputes counts on the cached score matrices only).
It reaches the engine only through ``engine.api``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine import api

SPLIT_NAMES = {0: "train", 1: "val", 2: "test"}


def clamp_threshold(value: float) -> float:
    """Thresholds are cosine similarities: keep them in [-1, 1], rounded to 1e-4."""
    return round(min(1.0, max(-1.0, float(value))), 4)


@dataclass
class LoadRequest:
    """What to open: a data path (None = bundled demo), a run folder, or objects
    already in memory (tests, benchmarks)."""

    data: str | None = None
    run_dir: str | None = None
    dataset: Any = None
    run: Any = None
    reopen_last: bool = True
    embeddings: str | None = None  # precomputed image embeddings file (--embeddings)
    strict: bool = False  # fail on corrupt images instead of skipping them (--strict)
    clip_model: str | None = None
    clip_pretrained: str | None = None

    def clip_config(self) -> Any:
        """An engine ClipConfig when the user chose a model or weights, else None (defaults)."""
        if self.clip_model is None and self.clip_pretrained is None:
            return None
        kwargs = {k: v for k, v in (("model", self.clip_model), ("pretrained", self.clip_pretrained)) if v}
        return api.ClipConfig(**kwargs)


@dataclass
class Prediction:
    keyword: str
    score: float
    mark: str  # "TP" | "FP" | "FN" | "TN"


@dataclass
class Session:
    dataset: Any
    features: Any
    kg: Any
    summary: dict[str, Any]
    threshold: float = 0.7
    method: str | None = None
    run: Any = None
    run_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    # caches derived from the run (set_run)
    eval_pos: np.ndarray | None = None  # (N,) position of each dataset row in run.eval_rows, -1 if none
    _test: np.ndarray | None = None  # (M,) bool

    def __post_init__(self) -> None:
        self.threshold = clamp_threshold(self.threshold)
        self._kw_sets = None
        if self.run is not None:
            self.set_run(self.run, self.run_dir)

    # ------------------------------------------------------------------ run
    @property
    def has_run(self) -> bool:
        return self.run is not None

    @property
    def methods(self) -> list[str]:
        return list(self.run.methods) if self.run is not None else []

    def set_run(self, run: Any, run_dir: str | Path | None = None) -> None:
        """Make ``run`` the current run; it must belong to this dataset."""
        check_run_matches(run, self.dataset)
        self.run = run
        self.run_dir = str(run_dir) if run_dir is not None else None
        pos = np.full(self.dataset.n_images, -1, dtype=np.int64)
        pos[np.asarray(run.eval_rows, dtype=np.int64)] = np.arange(len(run.eval_rows))
        self.eval_pos = pos
        self._test = np.asarray(run.test_mask(), dtype=bool)
        if self.method not in run.methods:
            self.method = preferred_method(run.methods)

    def set_method(self, method: str) -> None:
        if method not in self.methods:
            raise ValueError(f"unknown method {method!r}; the run has {self.methods}")
        self.method = method

    def best_threshold(self, method: str | None = None) -> float | None:
        """The method's best-F1 threshold (chosen on validation rows by the engine)."""
        if self.run is None:
            return None
        value = self.run.best_threshold.get(method or self.method)
        return None if value is None else clamp_threshold(value)

    def set_threshold(self, value: float) -> float:
        self.threshold = clamp_threshold(value)
        return self.threshold

    # -------------------------------------------------------------- scores
    def scores(self, method: str | None = None) -> np.ndarray:
        return self.run.scores[method or self.method]

    def test_scores_labels(self, method: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        m = method or self.method
        return self.run.scores[m][self._test], self.run.labels[self._test]

    def threshold_metrics(self, method: str | None = None, threshold: float | None = None) -> dict:
        """Micro P/R/F1, fpr/tpr and counts on the test rows at ``threshold``."""
        s, y = self.test_scores_labels(method)
        return api.threshold_metrics(s, y, self.threshold if threshold is None else threshold)

    def per_keyword(self, method: str | None = None, threshold: float | None = None) -> dict[str, np.ndarray]:
        s, y = self.test_scores_labels(method)
        return api.per_keyword_metrics(s, y, self.threshold if threshold is None else threshold)

    def keyword_auc(self, method: str | None = None) -> np.ndarray | None:
        pk = self.run.per_keyword.get(method or self.method, {}) if self.run is not None else {}
        auc = pk.get("auc")
        return None if auc is None else np.asarray(auc, dtype=float)

    def error_rows(self) -> np.ndarray:
        """Dataset rows (val+test) with at least one FP or missed keyword at the threshold."""
        if self.run is None:
            return np.zeros(0, dtype=np.int64)
        pred = self.scores() >= self.threshold
        bad = (pred != self.run.labels).any(axis=1)
        return np.asarray(self.run.eval_rows, dtype=np.int64)[bad]

    def predictions(self, row: int, top: int = 12) -> list[Prediction] | None:
        """Keywords of dataset row ``row`` by score for the current method, marked at the
        threshold: every predicted or true keyword, plus the best others up to ``top``.
        None when the image has no held-out scores (training image or no run)."""
        if self.run is None or self.eval_pos is None or self.eval_pos[row] < 0:
            return None
        i = int(self.eval_pos[row])
        s = self.scores()[i]
        y = self.run.labels[i]
        order = np.argsort(-s, kind="stable")
        out = []
        for k in order:
            pred, true = bool(s[k] >= self.threshold), bool(y[k])
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


ProgressFn = Callable[[str], None]


def describe_progress(event: Any) -> str:
    """An engine.progress.Progress as one status line: 'decode+embed images 120/3000'."""
    total = f"/{event.total:,}" if getattr(event, "total", None) else ""
    message = f"  {event.message}" if getattr(event, "message", "") else ""
    return f"{event.stage} {event.done:,}{total}{message}"


def open_session(request: LoadRequest, *, say: ProgressFn | None = None,
                 cancel: threading.Event | None = None, threshold: float | None = None) -> Session:
    """Load the dataset, compute features, build the graph and reopen a run.

    Slow (seconds to minutes on real data): call it from a thread worker.
    Raises engine.errors.MMKGError subclasses for user problems.
    """
    say = say or (lambda _m: None)
    notes: list[str] = []
    run, run_dir = request.run, None
    if request.run_dir is not None:
        say(f"opening run {request.run_dir}")
        run, run_dir = api.load_run(request.run_dir), request.run_dir
    dataset = request.dataset
    if dataset is None:
        path = request.data
        if path is None and run is not None:
            path = (getattr(run, "dataset", None) or {}).get("source")
        say(f"loading dataset {path or '(bundled demo)'}")
        dataset = api.load_dataset(path, strict=request.strict, embeddings=request.embeddings)
    say("computing features")
    dataset, features = api.compute_features(dataset, request.clip_config(), cancel=cancel, strict=request.strict,
                                             progress=lambda ev: say(describe_progress(ev)))
    say("building the graph")
    kg = api.build_graph(dataset, features)
    summary = api.summary(dataset, kg, features)
    if run is None and request.reopen_last:
        run, run_dir = _reopen_last(dataset, notes, say)
    if run is not None:
        check_run_matches(run, dataset)
    t = threshold
    if t is None:
        t = getattr(getattr(run, "config", None), "threshold", 0.7) if run is not None else 0.7
    return Session(dataset, features, kg, summary, threshold=t, run=run, run_dir=run_dir, notes=notes)


def _reopen_last(dataset: Any, notes: list[str], say: ProgressFn) -> tuple[Any, str | None]:
    try:
        last = api.last_run_for(dataset)
    except (ImportError, AttributeError):  # learning engine not installed
        return None, None
    if last is None:
        return None, None
    say(f"reopening the last run {last}")
    try:
        run = api.load_run(last)
        check_run_matches(run, dataset)
    except api.MMKGError as exc:
        notes.append(f"could not reopen the last run: {exc.format()}")
        return None, None
    notes.append(f"reopened the last run {last}")
    return run, str(last)


def default_config() -> Any | None:
    """A fresh ExperimentConfig, or None when the learning engine is missing."""
    try:
        return api.ExperimentConfig()
    except (ImportError, AttributeError):
        return None
