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


class RunScales:
    """One run's scores and micro ROC curves on either score scale. The run stores its
    own scale's; the other scale's (calibrated <-> raw, where the run keeps the raw
    scores and the calibrators) are computed once here. The Session holds one per run
    it shows (Session.scaled), next to the operating point."""

    def __init__(self, run) -> None:
        self.run = run
        self._scores: dict[tuple[str, str], np.ndarray] = {}
        self._roc: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._scales: list[str] | None = None

    def scales(self) -> list[str]:
        """The scales the run can show: its own, plus the other when every method has it."""
        if self._scales is None:
            run = self.run
            self._scales = [run.score_scale] + [
                other for other in api.SCORE_SCALES
                if other != run.score_scale and run.methods and self._has_scale(other)]
        return self._scales

    def _has_scale(self, scale: str) -> bool:
        try:
            for m in self.run.methods:
                self.scores(m, scale)
        except KeyError:
            return False
        return True

    def scale_of(self, op: OperatingPoint) -> str:
        """The scale shown at ``op``: the one asked for where the run has it, else its own."""
        own = self.run.score_scale
        if op.scale is None or op.scale == own:
            return own  # the common case: no score is recomputed
        return op.scale if op.scale in self.scales() else own

    def scores(self, method: str, scale: str) -> np.ndarray:
        """(M, K) scores of ``method`` on ``scale`` (eval rows of the run)."""
        if scale == self.run.score_scale:
            return self.run.scores[method]
        if (method, scale) not in self._scores:
            self._scores[(method, scale)] = self.run.scores_on(method, scale)
        return self._scores[(method, scale)]

    def roc(self, method: str, scale: str) -> tuple[np.ndarray, np.ndarray]:
        """Micro ROC (fpr, tpr) of ``method``'s test scores on ``scale``, so the operating
        point at a threshold of that scale lies on it (the run stores the raw one;
        per-keyword calibration reorders pairs across keywords, so the calibrated curve
        differs)."""
        run = self.run
        if scale == "raw" and method in run.roc:
            return run.roc[method]
        if (method, scale) not in self._roc:
            test = run.test_mask()
            self._roc[(method, scale)] = api.roc_points(self.scores(method, scale)[test], run.labels[test])
        return self._roc[(method, scale)]


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


def describe(op: OperatingPoint, scaled: RunScales, method: str, threshold_text: str) -> str:
    """'t 0.70 (calibrated)' or 'per-keyword thresholds (validation, calibrated)'."""
    run, scale = scaled.run, scaled.scale_of(op)
    if op.mode == PER_KEYWORD:
        if per_keyword_available(run, method, scale):
            return f"per-keyword t (validation, {scale})"
        return f"t {threshold_text} ({scale}; per-keyword thresholds only on the {run.score_scale} scale)"
    return f"t {threshold_text} ({scale})"
