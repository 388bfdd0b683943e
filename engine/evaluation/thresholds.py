"""Per-keyword thresholds: the best-F1 threshold of every keyword, chosen on VALIDATION rows.

A keyword without a validation positive (F1 undefined) gets the global threshold the
caller passes (the pooled best-F1 threshold of the same validation rows). Test
metrics at these thresholds: pooled precision / recall / F1 of ``score[:, k] >=
threshold[k]`` plus the macro F1 over keywords with a test positive.
"""

from __future__ import annotations

import numpy as np


def per_keyword_thresholds(scores_val: np.ndarray, labels_val: np.ndarray, fallback: float) -> np.ndarray:
    """(K,) best-F1 threshold per keyword column of the validation rows: the same choice
    as engine.evaluation.metrics.best_f1_threshold on that column alone (a threshold is
    a score of the column; among equal F1 the lowest; F1 computed exactly from counts, so on
    an exact tie this lowest one is kept where the float F1 of precision_recall_curve may
    pick another), for all columns at once.
    Columns without a positive, or whose every row is positive, get ``fallback``."""
    s = np.asarray(scores_val, dtype=np.float64)
    y = np.asarray(labels_val, dtype=bool)
    m, k = y.shape
    out = np.full(k, float(fallback))
    if m == 0:
        return out
    order = np.argsort(-s, axis=0, kind="stable")
    ss = np.take_along_axis(s, order, axis=0)
    tp = np.cumsum(np.take_along_axis(y, order, axis=0), axis=0)
    predicted = np.arange(1, m + 1)[:, None]
    pos = y.sum(axis=0)
    f1 = 2.0 * tp / (predicted + pos[None, :]).clip(min=1)
    group_end = np.ones_like(ss, dtype=bool)
    group_end[:-1] = ss[:-1] != ss[1:]  # a threshold predicts a whole block of tied scores
    f1 = np.where(group_end, f1, -1.0)
    best = m - 1 - np.argmax(f1[::-1], axis=0)  # the last (lowest-threshold) maximum
    ok = (pos > 0) & (pos < m)
    out[ok] = ss[best, np.arange(k)][ok]
    return out


def per_keyword_threshold_metrics(scores: np.ndarray, labels: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    """Pooled precision, recall, F1 and macro F1 at one threshold per keyword column."""
    y = np.asarray(labels, dtype=bool)
    pred = np.asarray(scores) >= np.asarray(thresholds)[None, :]
    tp_k = (pred & y).sum(axis=0)
    pred_k, pos_k = pred.sum(axis=0), y.sum(axis=0)
    tp, predicted, positives = int(tp_k.sum()), int(pred_k.sum()), int(pos_k.sum())
    precision = tp / predicted if predicted else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * tp / (predicted + positives) if predicted + positives else 0.0
    has = pos_k > 0
    macro = float(np.mean(2 * tp_k[has] / (pred_k[has] + pos_k[has]))) if has.any() else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1, "macro_f1": macro}
