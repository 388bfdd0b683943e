"""The operating point the Evaluate and Images views share (UI-free): the score scale
shown (the run's own, or the other one where the run keeps both: calibrated <-> raw)
and the thresholds applied: the one global threshold of the top bar, or each
keyword's best-F1 threshold chosen on VALIDATION images (what the run stores per
method in ``per_keyword[m]["threshold"]``, on the run's scale).

Metrics at one threshold per keyword reuse the engine's metrics at 0 on the scores
minus the thresholds (``s >= t`` exactly when ``s - t >= 0``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import api

GLOBAL, PER_KEYWORD = "global", "per_keyword"


@dataclass
class OperatingPoint:
    scale: str | None = None  # None: the run's own scale
    mode: str = GLOBAL  # GLOBAL | PER_KEYWORD


def operating_point(session) -> OperatingPoint:
    """The session's operating point (Session.operating: every view and the top bar share one)."""
    return session.operating


def scale_of(run, op: OperatingPoint) -> str:
    if op.scale is None or op.scale == run.score_scale:
        return run.score_scale  # the common case: no score is recomputed
    return op.scale if op.scale in scales_of(run) else run.score_scale


_OTHER: dict[int, tuple[object, dict]] = {}  # id(run) -> (run, {(method, scale): scores}) for the other scale
_KEEP = 4  # runs whose other-scale scores stay cached


def _cache(run) -> dict:
    entry = _OTHER.get(id(run))
    if entry is None or entry[0] is not run:
        while len(_OTHER) >= _KEEP:
            _OTHER.pop(next(iter(_OTHER)))
        entry = _OTHER[id(run)] = (run, {})
    return entry[1]


def scales_of(run) -> list[str]:
    """The scales ``run`` can show: its own, plus the other when it keeps the raw
    scores and the calibrators (every method)."""
    out = [run.score_scale]
    for other in api.SCORE_SCALES:
        if other != run.score_scale and run.methods and _has_scale(run, other):
            out.append(other)
    return out


def _has_scale(run, scale: str) -> bool:
    try:
        for m in run.methods:
            scores(run, m, scale)
    except KeyError:
        return False
    return True


def scores(run, method: str, scale: str) -> np.ndarray:
    """(M, K) scores of ``method`` on ``scale`` (eval rows of the run); the other
    scale's are computed once per run and method."""
    if scale == run.score_scale:
        return run.scores[method]
    cache = _cache(run)
    if (method, scale) not in cache:
        cache[(method, scale)] = run.scores_on(method, scale)
    return cache[(method, scale)]


def roc(run, method: str, scale: str) -> tuple[np.ndarray, np.ndarray]:
    """Micro ROC (fpr, tpr) of ``method``'s test scores on ``scale``, so the operating
    point at a threshold of that scale lies on it (the run stores the raw one; per-keyword
    calibration reorders pairs across keywords, so the calibrated curve differs)."""
    if scale == "raw" and method in run.roc:
        return run.roc[method]
    cache = _cache(run)
    if (method, scale, "roc") not in cache:
        test = run.test_mask()
        cache[(method, scale, "roc")] = api.roc_points(scores(run, method, scale)[test], run.labels[test])
    return cache[(method, scale, "roc")]


def best_threshold(run, method: str, scale: str) -> float | None:
    """The method's best-F1 threshold on ``scale``, chosen on validation images."""
    value = run.best_thresholds.get(scale, {}).get(method)
    if value is None and scale == run.score_scale:
        value = run.best_threshold.get(method)
    return None if value is None else float(value)


def per_keyword_available(run, method: str, scale: str) -> bool:
    return scale == run.score_scale and "threshold" in run.per_keyword.get(method, {})


def thresholds(run, method: str, scale: str, threshold: float, mode: str) -> np.ndarray:
    """(K,) thresholds of ``method``: the global one repeated, or per keyword (chosen on
    validation; only on the run's own scale: elsewhere the global one)."""
    k = len(run.keywords)
    if mode == PER_KEYWORD and per_keyword_available(run, method, scale):
        return np.asarray(api.operating_thresholds(run, method, PER_KEYWORD, scale=scale), dtype=np.float64)
    return np.full(k, float(threshold))


def metrics_at(s: np.ndarray, y: np.ndarray, thr: np.ndarray) -> dict:
    """Micro P/R/F1, fpr/tpr and counts at one threshold per keyword column."""
    return api.threshold_metrics(np.asarray(s, np.float64) - thr[None, :], y, 0.0)


def per_keyword_at(s: np.ndarray, y: np.ndarray, thr: np.ndarray) -> dict[str, np.ndarray]:
    return api.per_keyword_metrics(np.asarray(s, np.float64) - thr[None, :], y, 0.0)


@dataclass
class Marked:
    keyword: str
    score: float
    threshold: float
    mark: str  # "TP" | "FP" | "FN" | "TN"


def marked(s: np.ndarray, y: np.ndarray, keywords: list[str], thr: np.ndarray, top: int = 12) -> list[Marked]:
    """One image's keywords by score, marked at ``thr``: every predicted or true keyword
    plus the best others up to ``top``."""
    out = []
    for k in np.argsort(-s, kind="stable"):
        pred, true = bool(s[k] >= thr[k]), bool(y[k])
        mark = "TP" if pred and true else "FP" if pred else "FN" if true else "TN"
        if mark != "TN" or len(out) < top:
            out.append(Marked(keywords[k], float(s[k]), float(thr[k]), mark))
    return out


def describe(op: OperatingPoint, run, method: str, threshold_text: str) -> str:
    """'t 0.70 (calibrated)' or 'per-keyword thresholds (validation, calibrated)'."""
    scale = scale_of(run, op)
    if op.mode == PER_KEYWORD:
        if per_keyword_available(run, method, scale):
            return f"per-keyword t (validation, {scale})"
        return f"t {threshold_text} ({scale}; per-keyword thresholds only on the {run.score_scale} scale)"
    return f"t {threshold_text} ({scale})"
