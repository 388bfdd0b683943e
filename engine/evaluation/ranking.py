"""Ranking metrics of multi-label tagging and link prediction, on test rows.

Per image (rank the keywords of one image by score; images with at least one true
keyword only; ties broken by keyword order):

* ``p_at_k``  -- fraction of the k top-scored keywords that are true (k = 1, 3, 5);
* ``r_at_k``  -- fraction of the image's true keywords among its k top-scored ones;
* ``lrap``    -- label ranking average precision, as
  ``sklearn.metrics.label_ranking_average_precision_score`` (vectorised here; the
  tests check it against scikit-learn, ties included);
* ``coverage``-- as ``sklearn.metrics.coverage_error`` (how deep one must go to cover
  every true keyword; lower is better).

Per keyword (keyword -> image retrieval: rank the test images by the keyword's score;
keywords with at least one positive test image only):

* ``mrr``         -- mean reciprocal rank of the first positive image;
* ``hits_at_k``   -- fraction of keywords with a positive among the top k images
  (k = 1, 10).

The first positive's rank counts the negatives scored strictly higher plus, for a
block of tied scores, the expected position under a random order of the block
(constant scores, as the ``prior`` baseline gives inside a keyword, are not rewarded
for the order of the rows).
"""

from __future__ import annotations

import numpy as np

P_AT = (1, 3, 5)
HITS_AT = (1, 10)


def image_ranking(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    keep = y.any(axis=1)
    if not keep.any():
        return {**{f"p_at_{k}": float("nan") for k in P_AT}, **{f"r_at_{k}": float("nan") for k in P_AT},
                "lrap": float("nan"), "coverage": float("nan")}
    y, s = y[keep], s[keep]
    order = np.argsort(-s, axis=1, kind="stable")
    hits = np.take_along_axis(y, order, axis=1)
    cum = np.cumsum(hits, axis=1)
    n_true = y.sum(axis=1)
    out: dict[str, float] = {}
    for k in P_AT:
        kk = min(k, y.shape[1])
        out[f"p_at_{k}"] = float(np.mean(cum[:, kk - 1] / kk))
    for k in P_AT:
        kk = min(k, y.shape[1])
        out[f"r_at_{k}"] = float(np.mean(cum[:, kk - 1] / n_true))
    out["lrap"], out["coverage"] = _lrap_and_coverage(np.take_along_axis(s, order, axis=1), hits, cum, n_true)
    return out


def _lrap_and_coverage(sorted_s: np.ndarray, hits: np.ndarray, cum: np.ndarray, n_true: np.ndarray) -> tuple[float, float]:
    """scikit-learn's label_ranking_average_precision_score and coverage_error (tied
    scores share the worst rank of their block), from each row's descending sort."""
    m, k = sorted_s.shape
    group_end = np.ones((m, k), dtype=bool)
    group_end[:, :-1] = sorted_s[:, :-1] != sorted_s[:, 1:]
    idx = np.where(group_end, np.arange(k), k)
    block_end = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]  # last position of each tie block
    rank = block_end + 1.0  # labels scored >= this one
    precision = np.take_along_axis(cum, block_end, axis=1) / rank
    lrap = float(np.mean(np.where(hits, precision, 0.0).sum(axis=1) / n_true))
    coverage = float(np.mean(np.where(hits, rank, 0.0).max(axis=1)))
    return lrap, coverage


def first_positive_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(K',) expected rank of the best-scored positive image of every keyword with a positive."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    has = y.any(axis=0)
    s, y = s[:, has], y[:, has]
    best = np.where(y, s, -np.inf).max(axis=0)
    above = ((s > best) & ~y).sum(axis=0)
    tied_neg = ((s == best) & ~y).sum(axis=0)
    tied_pos = ((s == best) & y).sum(axis=0)
    return above + 1.0 + tied_neg / (tied_pos + 1.0)


def keyword_retrieval(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    ranks = first_positive_ranks(scores, labels)
    if ranks.size == 0:
        return {"mrr": float("nan"), **{f"hits_at_{k}": float("nan") for k in HITS_AT}}
    out = {"mrr": float(np.mean(1.0 / ranks))}
    for k in HITS_AT:
        out[f"hits_at_{k}"] = float(np.mean(ranks <= k))
    return out
