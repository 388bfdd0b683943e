"""Calibration: a method's score -> P(keyword | image), fitted on VALIDATION rows only.

Platt scaling, ``p = sigmoid(a * score + b)``, per keyword where the keyword has at
least ``MIN_POSITIVES`` validation positives (and a negative), one pooled (a, b)
fitted on every validation (image, keyword) pair otherwise. Platt's targets
(``(n+ + 1) / (n+ + 2)`` for positives, ``1 / (n- + 2)`` for negatives) keep the fit
finite on separable data. A per-keyword slope < 0 (the keyword's scores rank its
validation images backwards) falls back to the pooled fit (a constant column, as the
``prior`` baseline gives, keeps slope 0: its probability is its Platt-smoothed
validation prevalence); a pooled slope <= 0
becomes a = 0 (every pair gets the pooled validation prevalence), so calibrated
scores never reverse a method's ranking inside a keyword.

The fit is the maximum-likelihood logistic regression of ``sklearn.linear_model
.LogisticRegression`` without penalty, solved by Newton's method for all keywords at
once (a 2 x 2 system per keyword; tests check it against scikit-learn). Scores are
standardised before the fit and the parameters mapped back, so (a, b) apply to the
method's raw scores.

Brier score: ``sklearn.metrics.brier_score_loss`` over every (image, keyword) pair of
the test rows; expected calibration error: ``ECE_BINS`` equal-width probability bins,
sum over bins of (pairs in bin / pairs) * |mean probability - fraction positive|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_POSITIVES = 10
ECE_BINS = 10
_NEWTON_STEPS = 50


@dataclass(frozen=True)
class PlattCalibration:
    """Fitted calibrator of one method (one seed): ``p[:, k] = sigmoid(slope[k] * s + intercept[k])``."""

    slope: np.ndarray  # (K,) float64, >= 0
    intercept: np.ndarray  # (K,) float64
    per_keyword: np.ndarray  # (K,) bool: True = fitted on this keyword's own validation rows, False = pooled

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """(M, K) probabilities in [0, 1], float32."""
        z = np.asarray(scores, dtype=np.float64) * self.slope + self.intercept
        return _sigmoid(z).astype(np.float32)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


def _platt_targets(y: np.ndarray) -> np.ndarray:
    """Platt's smoothed 0/1 targets per column of y (bool (n, K))."""
    pos = y.sum(axis=0)
    neg = y.shape[0] - pos
    hi = (pos + 1.0) / (pos + 2.0)
    lo = 1.0 / (neg + 2.0)
    return np.where(y, hi, lo)


def _loss(u: np.ndarray, t: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(K,) soft-target log loss per column, computed stably."""
    z = u * a + b
    return (np.logaddexp(0.0, z) - t * z).sum(axis=0)


def fit_logistic_1d(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise unpenalised logistic regression of soft targets t on scores x
    ((n, K) each): (slope, intercept) per column, by Newton's method with step halving
    (the loss never increases) on standardised x. A constant column gets slope 0."""
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    u = (x - mu) / sd
    a = np.zeros(x.shape[1])
    tbar = np.clip(t.mean(axis=0), 1e-9, 1 - 1e-9)
    b = np.log(tbar / (1 - tbar))
    loss = _loss(u, t, a, b)
    for _ in range(_NEWTON_STEPS):
        p = _sigmoid(u * a + b)
        w = p * (1 - p) + 1e-12
        r = t - p
        ga, gb = (r * u).sum(axis=0), r.sum(axis=0)
        haa, hab, hbb = (w * u * u).sum(axis=0) + 1e-9, (w * u).sum(axis=0), w.sum(axis=0)
        det = haa * hbb - hab * hab
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        step = np.ones_like(a)
        for _ in range(40):  # halve the step of every column whose loss went up
            new = _loss(u, t, a + step * da, b + step * db)
            worse = new > loss + 1e-12
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
        a, b = a + step * da, b + step * db
        loss = np.minimum(loss, _loss(u, t, a, b))
        if max(np.abs(step * da).max(initial=0), np.abs(step * db).max(initial=0)) < 1e-10:
            break
    return a / sd, b - a * mu / sd


def fit_calibration(scores_val: np.ndarray, labels_val: np.ndarray,
                    min_positives: int = MIN_POSITIVES) -> PlattCalibration:
    """Platt calibrators from VALIDATION rows only (see the module docstring)."""
    s = np.asarray(scores_val, dtype=np.float64)
    y = np.asarray(labels_val, dtype=bool)
    k = y.shape[1]
    if y.size == 0 or not y.any() or y.all():  # nothing to learn from: a constant
        prev = float(y.mean()) if y.size else 0.5
        return PlattCalibration(np.zeros(k), np.full(k, np.log(max(prev, 1e-6) / max(1 - prev, 1e-6))), np.zeros(k, bool))
    pa, pb = fit_logistic_1d(s.reshape(-1, 1), _platt_targets(y.reshape(-1, 1)))
    if pa[0] <= 0:
        prev = np.clip(y.mean(), 1e-6, 1 - 1e-6)
        pa, pb = np.zeros(1), np.array([np.log(prev / (1 - prev))])
    slope, intercept = np.full(k, pa[0]), np.full(k, pb[0])
    pos = y.sum(axis=0)
    own = (pos >= min_positives) & (pos < y.shape[0])
    if own.any():
        a, b = fit_logistic_1d(s[:, own], _platt_targets(y[:, own]))
        good = a >= 0  # 0: the keyword's validation scores are constant (e.g. the prior)
        idx = np.nonzero(own)[0]
        slope[idx[good]], intercept[idx[good]] = a[good], b[good]
        own[idx[~good]] = False
    return PlattCalibration(slope, intercept, own)


def brier_score(probs: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import brier_score_loss

    y = np.asarray(labels, dtype=bool).ravel()
    if y.size == 0:
        return float("nan")
    return float(brier_score_loss(y, np.asarray(probs, dtype=np.float64).ravel()))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    p = np.asarray(probs, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=bool).ravel()
    if p.size == 0:
        return float("nan")
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    n = np.bincount(idx, minlength=bins)
    sum_p = np.bincount(idx, weights=p, minlength=bins)
    sum_y = np.bincount(idx, weights=y.astype(np.float64), minlength=bins)
    used = n > 0
    return float(np.sum(np.abs(sum_p[used] - sum_y[used])) / p.size)


def reliability_curve(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean probability, fraction positive, pairs) per non-empty equal-width bin (for a reliability plot)."""
    p = np.asarray(probs, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=bool).ravel()
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    n = np.bincount(idx, minlength=bins)
    used = n > 0
    mean_p = np.bincount(idx, weights=p, minlength=bins)[used] / n[used]
    frac = np.bincount(idx, weights=y.astype(np.float64), minlength=bins)[used] / n[used]
    return mean_p, frac, n[used]
