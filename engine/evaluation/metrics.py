"""Honest link-prediction evaluation: image x keyword cosine scores vs ground truth.

Every curve, AUC and average precision comes from scikit-learn. The only
hand-written parts are plain counts at a threshold (``threshold_metrics`` and
``per_keyword_metrics``, fast enough for the app to recompute as a slider moves);
the tests check them against ``sklearn.metrics.precision_recall_fscore_support``.

* micro = pooled counts over every (image, keyword) pair, not a weighted mean.
* macro ROC AUC = mean over keywords that have both classes in the evaluated rows.
* mean average precision = mean over keywords that have at least one positive.
* the best-F1 threshold is chosen on the VALIDATION rows only and then applied to
  the test rows; the user threshold (default 0.7) is reported as well.
* a prediction is ``score >= threshold`` (scikit-learn's convention).
"""

from __future__ import annotations

import math
from dataclasses import asdict, is_dataclass

import numpy as np

from engine.evaluation.results import MethodEvaluation, MethodMetrics, OperatingPoint

ROC_POINTS = 400


def _counts(pred: np.ndarray, labels: np.ndarray):
    tp = np.count_nonzero(pred & labels)
    predicted = np.count_nonzero(pred)
    positives = np.count_nonzero(labels)
    return tp, predicted - tp, positives - tp, predicted, positives


def _ratio(a, b):
    return float(a) / float(b) if b else 0.0


def threshold_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """Micro (pooled) precision, recall, F1, counts, FPR and TPR at ``score >= threshold``."""
    labels = np.asarray(labels, dtype=bool)
    pred = np.asarray(scores) >= threshold
    tp, fp, fn, predicted, positives = _counts(pred, labels)
    negatives = labels.size - positives
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return {
        "threshold": float(threshold), "precision": precision, "recall": recall, "f1": f1,
        "tp": int(tp), "fp": int(fp), "fn": int(fn), "predicted": int(predicted),
        "fpr": _ratio(fp, negatives), "tpr": recall,
    }


def per_keyword_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    """(K,) precision, recall, F1 and support (positives) per keyword column."""
    labels = np.asarray(labels, dtype=bool)
    pred = np.asarray(scores) >= threshold
    def colsum(b: np.ndarray) -> np.ndarray:  # column counts of a bool matrix (int32 sums are fastest)
        return b.view(np.uint8).sum(axis=0, dtype=np.int32).astype(np.int64)

    tp = colsum(pred & labels)
    predicted = colsum(pred)
    support = colsum(labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        denom = predicted + support
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """Threshold maximising pooled F1 on these rows (precision_recall_curve). NaN if no positive."""
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(labels, dtype=bool).ravel()
    if not y.any() or y.all():
        return float("nan")
    precision, recall, thresholds = precision_recall_curve(y, np.asarray(scores, dtype=np.float64).ravel())
    p, r = precision[:-1], recall[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return float(thresholds[int(np.argmax(f1))])


def keyword_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(K,) ROC AUC per keyword; NaN where the rows hold only one class."""
    from sklearn.metrics import roc_auc_score

    y_cols, s_cols = _columns(labels, scores)
    out = np.full(len(y_cols), np.nan)
    for k, (y, s) in enumerate(zip(y_cols, s_cols)):
        if y.any() and not y.all():
            out[k] = roc_auc_score(y, s)
    return out


def _columns(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keyword columns as contiguous rows (per-column scikit-learn calls run faster on them)."""
    return np.ascontiguousarray(np.asarray(labels, dtype=bool).T), np.ascontiguousarray(np.asarray(scores).T)


def ranking_metrics(scores: np.ndarray, labels: np.ndarray, aucs: np.ndarray | None = None) -> dict[str, float]:
    """micro ROC AUC, macro ROC AUC (two-class keywords only), mean average precision.

    ``aucs``: this matrix's ``keyword_auc`` when the caller already has it (not recomputed).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels, dtype=bool)
    y = labels.ravel()
    micro = float(roc_auc_score(y, scores.ravel())) if y.any() and not y.all() else float("nan")
    if aucs is None:
        aucs = keyword_auc(scores, labels)
    macro = float(np.nanmean(aucs)) if np.isfinite(aucs).any() else float("nan")
    y_cols, s_cols = _columns(labels, scores)
    aps = [average_precision_score(y, s) for y, s in zip(y_cols, s_cols) if y.any()]
    mean_ap = float(np.mean(aps)) if aps else float("nan")
    return {"micro_auc": micro, "macro_auc": macro, "map": mean_ap}


def roc_points(scores: np.ndarray, labels: np.ndarray, max_points: int = ROC_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Micro ROC curve (sklearn roc_curve), downsampled to at most ``max_points`` points."""
    from sklearn.metrics import roc_curve

    y = np.asarray(labels, dtype=bool).ravel()
    if not y.any() or y.all():
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    fpr, tpr, _ = roc_curve(y, scores.ravel(), drop_intermediate=True)
    if len(fpr) > max_points:
        idx = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(np.int64))
        fpr, tpr = fpr[idx], tpr[idx]
    return fpr.astype(np.float64), tpr.astype(np.float64)


def embedding_stats(emb: np.ndarray, *, sample: int = 500, seed: int = 0) -> dict[str, float]:
    """Mean pairwise cosine (on a sample), fraction of near-zero dimensions
    (|x| < 0.1 / sqrt(D) after L2 normalisation) and mean Hoyer sparsity
    ((sqrt(D) - L1/L2) / (sqrt(D) - 1): 0 dense, 1 one-hot)."""
    x = np.asarray(emb, dtype=np.float64)
    if x.shape[0] == 0:
        return {"mean_pairwise_cosine": float("nan"), "near_zero_fraction": float("nan"), "sparsity": float("nan")}
    if x.shape[0] > sample:
        x = x[np.random.default_rng(seed).choice(x.shape[0], sample, replace=False)]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    u = x / np.maximum(norms, 1e-12)
    n, d = u.shape
    if n > 1:
        sim = u @ u.T
        mean_cos = float((sim.sum() - np.trace(sim)) / (n * (n - 1)))
    else:
        mean_cos = float("nan")
    near_zero = float(np.mean(np.abs(u) < 0.1 / math.sqrt(d)))
    l1 = np.abs(u).sum(axis=1)
    hoyer = (math.sqrt(d) - l1) / (math.sqrt(d) - 1) if d > 1 else np.zeros(n)
    return {"mean_pairwise_cosine": mean_cos, "near_zero_fraction": near_zero, "sparsity": float(np.mean(hoyer))}


def evaluate_method(scores: np.ndarray, labels: np.ndarray, val_mask: np.ndarray, test_mask: np.ndarray,
                    user_threshold: float) -> MethodEvaluation:
    """One method, one seed: metrics on test rows, best-F1 threshold from validation rows."""
    labels = np.asarray(labels, dtype=bool)
    s_val, y_val = scores[val_mask], labels[val_mask]
    s_test, y_test = scores[test_mask], labels[test_mask]
    thr = best_f1_threshold(s_val, y_val)
    if not math.isfinite(thr):  # no positive on validation: fall back to the user threshold
        thr = float(user_threshold)
    best = threshold_metrics(s_test, y_test, thr)
    user = threshold_metrics(s_test, y_test, user_threshold)
    aucs = keyword_auc(s_test, y_test)  # once: macro AUC and the per-keyword column
    ranking = ranking_metrics(s_test, y_test, aucs)
    metrics = MethodMetrics(ranking["micro_auc"], ranking["macro_auc"], ranking["map"],
                            OperatingPoint.from_counts(best), OperatingPoint.from_counts(user))
    per_kw = per_keyword_metrics(s_test, y_test, thr)
    per_kw["prevalence"] = per_kw["support"] / max(len(y_test), 1)
    per_kw["auc"] = aucs
    return MethodEvaluation(metrics, thr, per_kw, roc_points(s_test, y_test))


def aggregate(runs: list) -> dict:
    """Nested per-seed metrics (dicts or dataclass records such as MethodMetrics) -> the
    same nesting as dicts with {"mean", "std", "runs"} leaves (std: sample standard
    deviation, 0 for one run; NaN runs are ignored by mean/std)."""
    runs = [asdict(r) if is_dataclass(r) else r for r in runs]
    first = runs[0]
    out: dict = {}
    for key, value in first.items():
        if isinstance(value, dict):
            out[key] = aggregate([r[key] for r in runs])
        else:
            vals = [float(r[key]) for r in runs]
            finite = [v for v in vals if math.isfinite(v)]
            mean = float(np.mean(finite)) if finite else float("nan")
            std = float(np.std(finite, ddof=1)) if len(finite) > 1 else (0.0 if finite else float("nan"))
            out[key] = {"mean": mean, "std": std, "runs": vals}
    return out
