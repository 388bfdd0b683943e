"""Approximate cosine top-k for large image sets: an inverted-file (IVF) index on faiss.

Exact search reads every vector per query (1M x 512 float32 = 1.9 GiB), which
measured ~250 ms per query at 1M on 2 cores, over the 100 ms target
(benchmarks/stage_retrieval.py). ``IVFIndex`` clusters the L2-normalised rows into
``nlist`` ~ 4 sqrt(N) lists with k-means (trained on a seeded sample) and scores a
query against the rows of its ``nprobe`` closest lists only (faiss
``IndexIVFFlat``, inner product, full float32 vectors, no compression).

It has ExactIndex's interface and rules (``Hits``: best first, equal scores the
lower position first, ``-1`` / ``-inf`` padding). ``allowed`` and ``exclude`` are
honoured exactly: a small allowed set (< ``SMALL_ALLOWED`` rows) is searched
exactly; a larger one is a faiss ``IDSelectorBitmap``; ``exclude`` over-fetches one
hit and drops it. Results are approximate only in which rows are missed
(recall@10 against exact search is measured in the benchmark), never in scores.

``make_index`` picks exact below ``AUTO_THRESHOLD`` rows (where exact search met
the target) and IVF above.
"""

from __future__ import annotations

import math

import numpy as np

from engine.core.vectors import l2_normalize
from engine.retrieval.index import ExactIndex, Hits

DEFAULT_NPROBE = 32  # chosen on the structured 1M benchmark (docs/RETRIEVAL.md)
TRAIN_PER_LIST = 24  # k-means sample rows per list (faiss warns below 39; fewer rows: a faster build)
KMEANS_ITERATIONS = 10  # faiss's default is 25; with 10 the 1M build took ~8-9 min on 2 shared cores and
# recall@10 vs exact was 1.000 at nprobe 32 (benchmarks/stage_retrieval.py)
SMALL_ALLOWED = 50_000  # an allowed set this small is searched exactly
AUTO_THRESHOLD = 200_000  # make_index(kind="auto"): exact below, IVF from here on
KINDS = ("auto", "exact", "ivf")


def default_nlist(n: int) -> int:
    """~4 sqrt(n) lists, at least 1 and at most n."""
    return max(1, min(n, int(round(4 * math.sqrt(n)))))


class IVFIndex:
    """Approximate cosine top-k over ``vectors`` (rows normalised here unless ``normalized``)."""

    def __init__(self, vectors: np.ndarray, *, normalized: bool = False, nlist: int | None = None,
                 nprobe: int = DEFAULT_NPROBE, seed: int = 0, train_per_list: int = TRAIN_PER_LIST,
                 niter: int = KMEANS_ITERATIONS) -> None:
        import faiss

        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim != 2 or v.shape[0] == 0:
            raise ValueError(f"vectors must be a non-empty 2-d array, got shape {v.shape}")
        v = np.ascontiguousarray(v if normalized else l2_normalize(v))
        self.nlist = int(nlist or default_nlist(v.shape[0]))
        if not 1 <= self.nlist <= v.shape[0]:
            raise ValueError(f"nlist must be between 1 and the number of rows ({v.shape[0]}), got {self.nlist}")
        self.nprobe = int(nprobe)
        if self.nprobe < 1:
            raise ValueError(f"nprobe must be at least 1, got {self.nprobe}")
        self.seed = int(seed)
        self._index = faiss.IndexIVFFlat(faiss.IndexFlatIP(v.shape[1]), v.shape[1], self.nlist,
                                         faiss.METRIC_INNER_PRODUCT)
        self._index.cp.seed = self.seed
        self._index.cp.niter = int(niter)
        self._index.train(_train_sample(v, self.nlist * int(train_per_list), self.seed))
        self._index.add(v)
        self._index.make_direct_map()  # vectors(pos) reads rows back from the lists

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def nbytes(self) -> int:
        """Vectors + ids in the lists, the direct map (8 bytes a row) and the centroids."""
        return self.size * (4 * self.dim + 8 + 8) + self.nlist * 4 * self.dim

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        p = np.asarray(positions, dtype=np.int64)
        return self._index.reconstruct_batch(p.ravel()).reshape(*p.shape, self.dim)

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               exclude: np.ndarray | None = None, nprobe: int | None = None) -> Hits:
        """Top-``k`` positions per query row, as ExactIndex.search (``nprobe`` overrides the default)."""
        q = np.ascontiguousarray(l2_normalize(np.atleast_2d(np.asarray(queries, dtype=np.float32))))
        if q.shape[1] != self.dim:
            raise ValueError(f"query dimension {q.shape[1]} differs from the index's {self.dim}")
        k = max(0, min(int(k), self.size))
        if k == 0:
            return Hits(np.full((q.shape[0], 0), -1, np.int64), np.full((q.shape[0], 0), -np.inf, np.float32))
        mask = None if allowed is None else np.asarray(allowed, dtype=bool)
        if mask is not None and mask.shape != (self.size,):
            raise ValueError(f"allowed must be a ({self.size},) bool mask, got shape {mask.shape}")
        excl = None if exclude is None else np.asarray(exclude, dtype=np.int64).ravel()
        if mask is not None and int(mask.sum()) < SMALL_ALLOWED:
            return self._exact_subset(q, k, mask, excl)
        fetch = min(self.size, k + (excl is not None))
        scores, pos = self._faiss_search(q, fetch, mask, nprobe or self.nprobe)
        if excl is not None:
            drop = pos == excl[:, None]
            pos[drop], scores[drop] = -1, -np.inf
        return _ordered(pos, scores, k)

    def _faiss_search(self, q: np.ndarray, k: int, mask: np.ndarray | None, nprobe: int):
        import faiss

        params = faiss.SearchParametersIVF(nprobe=min(int(nprobe), self.nlist))
        if mask is not None:
            bits = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits))
        scores, pos = self._index.search(q, k, params=params)  # bits stays alive through the call
        pos = pos.astype(np.int64)
        scores = np.where(pos < 0, -np.inf, scores).astype(np.float32)
        return scores, pos

    def _exact_subset(self, q: np.ndarray, k: int, mask: np.ndarray, excl: np.ndarray | None) -> Hits:
        """Exact search over the allowed rows only (read back from the lists)."""
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return Hits(np.full((q.shape[0], k), -1, np.int64), np.full((q.shape[0], k), -np.inf, np.float32))
        sub_excl = None
        if excl is not None:
            at = np.clip(np.searchsorted(rows, excl), 0, rows.size - 1)
            sub_excl = np.where(rows[at] == excl, at, -1)
        hits = ExactIndex(self.vectors(rows), normalized=True).search(q, k, exclude=sub_excl)
        pos = np.where(hits.positions >= 0, rows[np.maximum(hits.positions, 0)], -1)
        out_p = np.full((q.shape[0], k), -1, np.int64)
        out_s = np.full((q.shape[0], k), -np.inf, np.float32)
        out_p[:, :pos.shape[1]], out_s[:, :pos.shape[1]] = pos, hits.scores
        return Hits(out_p, out_s)


def _train_sample(v: np.ndarray, n: int, seed: int) -> np.ndarray:
    """A seeded sample of ``n`` rows (all rows when there are fewer)."""
    if v.shape[0] <= n:
        return v
    pick = np.sort(np.random.default_rng(seed).choice(v.shape[0], size=n, replace=False))
    return np.ascontiguousarray(v[pick])


def _ordered(pos: np.ndarray, scores: np.ndarray, k: int) -> Hits:
    """The best ``k`` per row sorted by (-score, position), padding (-1, -inf) last."""
    key_p = np.where(pos < 0, np.iinfo(np.int64).max, pos)
    order = np.lexsort((key_p, -scores.astype(np.float64)), axis=1)[:, :k]
    out_p = np.take_along_axis(pos, order, axis=1)
    out_s = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    if out_p.shape[1] < k:  # fewer candidates than k (k = size with an exclusion): pad
        pad = k - out_p.shape[1]
        out_p = np.pad(out_p, ((0, 0), (0, pad)), constant_values=-1)
        out_s = np.pad(out_s, ((0, 0), (0, pad)), constant_values=-np.inf)
    return Hits(out_p, out_s)


def make_index(vectors: np.ndarray, *, kind: str = "auto", normalized: bool = False,
               threshold: int = AUTO_THRESHOLD, **ivf_options) -> ExactIndex | IVFIndex:
    """An index over ``vectors``: ``exact``, ``ivf`` or ``auto`` (exact below ``threshold`` rows)."""
    if kind not in KINDS:
        raise ValueError(f"index kind must be one of {', '.join(KINDS)}, got '{kind}'")
    n = int(np.shape(vectors)[0])
    if kind == "exact" or (kind == "auto" and n < threshold):
        return ExactIndex(vectors, normalized=normalized)
    return IVFIndex(vectors, normalized=normalized, **ivf_options)
