"""Retrieval and label-error quality, measured on held-out rows.

* ``keyword_query_quality``: every keyword's vector is a query over a set of images
  (e.g. the run's test images); relevance = the image carries the keyword. Per
  keyword nDCG@k (binary gains, log2 discount, ideal = min(k, #relevant) ones),
  recall@k (relevant found in the top k / all relevant) and MRR (1 / rank of the
  first relevant image, over the whole ranking); keywords without a relevant
  image are left out of the means.
* ``image_neighbour_precision``: every image is a query over the same set (itself
  excluded); precision@k of neighbours sharing at least one keyword with it
  (images without keywords are not queries).
* ``precision_at``: precision of a ranked list of (row, keyword) pairs against a
  truth set (label-error queues).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.retrieval.index import ExactIndex


@dataclass
class QueryQuality:
    space: str
    images: int  # images searched
    queries: int  # keywords with at least one relevant image
    ndcg: float
    recall: float
    mrr: float
    k: int
    per_keyword_ndcg: dict[str, float]

    def to_json(self) -> dict:
        return {"space": self.space, "images": self.images, "queries": self.queries, "k": self.k,
                f"ndcg@{self.k}": self.ndcg, f"recall@{self.k}": self.recall, "mrr": self.mrr,
                "per_keyword_ndcg": self.per_keyword_ndcg}


def _dcg(rel: np.ndarray) -> np.ndarray:
    """(Q, k) 0/1 gains -> (Q,) DCG with log2(rank + 1) discounts."""
    disc = 1.0 / np.log2(np.arange(2, rel.shape[1] + 2))
    return (rel * disc).sum(axis=1)


def ranking_metrics(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query (rows of ``scores`` (Q, M), ``relevant`` (Q, M) bool): nDCG@k, recall@k, MRR.
    Queries without a relevant item give NaN."""
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant, dtype=bool)
    order = np.argsort(-scores, axis=1, kind="stable")
    rel_sorted = np.take_along_axis(relevant, order, axis=1)
    n_rel = relevant.sum(axis=1)
    kk = min(k, scores.shape[1])
    top = rel_sorted[:, :kk].astype(np.float64)
    ideal = (np.arange(kk)[None, :] < n_rel[:, None]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ndcg = _dcg(top) / _dcg(ideal)
        recall = top.sum(axis=1) / n_rel
        first = np.argmax(rel_sorted, axis=1)
        mrr = 1.0 / (first + 1.0)
    none = n_rel == 0
    for a in (ndcg, recall, mrr):
        a[none] = np.nan
    return ndcg, recall, mrr


def keyword_query_quality(space: str, image: np.ndarray, keyword_vectors: np.ndarray, labels: np.ndarray,
                          keywords: list[str], k: int = 10) -> QueryQuality:
    """Each keyword vector queries ``image`` (M, D); ``labels`` (M, K) bool."""
    from engine.core.vectors import l2_normalize

    s = l2_normalize(keyword_vectors) @ l2_normalize(image).T  # (K, M)
    ndcg, recall, mrr = ranking_metrics(s, np.asarray(labels, dtype=bool).T, k)
    ok = ~np.isnan(ndcg)
    return QueryQuality(space, int(image.shape[0]), int(ok.sum()), _mean(ndcg[ok]), _mean(recall[ok]),
                        _mean(mrr[ok]), k, {kw: float(v) for kw, v, good in zip(keywords, ndcg, ok) if good})


def image_neighbour_precision(image: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean precision@k of "the neighbour shares a keyword" over images with keywords."""
    labels = np.asarray(labels, dtype=bool)
    has = labels.any(axis=1)
    if not has.any() or len(image) < 2:
        return float("nan")
    index = ExactIndex(image)
    q = np.nonzero(has)[0]
    hits = index.search(index.vectors(q), k, exclude=q)
    y = labels.astype(np.float32)
    shares = np.einsum("qd,qkd->qk", y[q], y[np.maximum(hits.positions, 0)]) > 0
    shares &= hits.positions >= 0
    return float(shares.sum() / max(1, (hits.positions >= 0).sum()))


def precision_at(pairs: list[tuple[int, int]], truth: set[tuple[int, int]], k: int) -> float:
    """Share of the first ``k`` (row, keyword) pairs that are in ``truth``."""
    top = pairs[:k]
    return float(sum(p in truth for p in top) / len(top)) if top else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else float("nan")
