"""Exact top-k search by cosine similarity, block by block with torch.mm.

The index keeps L2-normalised float32 rows (a million 512-d vectors are 2 GB;
float16 storage halves that but CPU half-precision matrix products are ~50x slower
in torch 2.2, see benchmarks/stage_retrieval.py). A query batch is scored against
``block`` index rows at a time, so the (queries x block) score matrix stays small,
and a running top-k is merged across blocks. Ties are broken by the lower row.
Above 200k images ``ann.make_index`` (used by ``Space.index``) builds an approximate
IVF index with this interface instead (exact search measured ~250 ms per query at 1M).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.vectors import l2_normalize

DEFAULT_BLOCK = 262_144  # index rows scored per torch.mm
MAX_SCORE_BYTES = 256 << 20  # at most this much for one (queries x block) score matrix


@dataclass
class Hits:
    """Top-k of each query: positions in the index (``-1`` where fewer than k were
    allowed) and their cosine scores (``-inf`` there), best first."""

    positions: np.ndarray  # (Q, k) int64
    scores: np.ndarray  # (Q, k) float32

    def row(self, q: int = 0) -> list[tuple[int, float]]:
        """(position, score) pairs of query ``q`` without the padding."""
        keep = self.positions[q] >= 0
        return [(int(p), float(s)) for p, s in zip(self.positions[q][keep], self.scores[q][keep])]


class ExactIndex:
    """Cosine top-k over ``vectors`` (rows normalised here unless ``normalized``)."""

    def __init__(self, vectors: np.ndarray, *, normalized: bool = False, block: int = DEFAULT_BLOCK) -> None:
        import torch

        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim != 2:
            raise ValueError(f"vectors must be 2-d, got shape {v.shape}")
        if not normalized:
            v = l2_normalize(v)
        self._data = torch.from_numpy(np.ascontiguousarray(v))
        self.block = int(block)

    @property
    def size(self) -> int:
        return int(self._data.shape[0])

    @property
    def dim(self) -> int:
        return int(self._data.shape[1])

    @property
    def nbytes(self) -> int:
        return int(self._data.element_size() * self._data.nelement())

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        return self._data[np.asarray(positions, dtype=np.int64)].numpy()

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               exclude: np.ndarray | None = None) -> Hits:
        """Top-``k`` index positions for each query row (queries need not be normalised).

        ``allowed``: (size,) bool, only these positions may be returned.
        ``exclude``: (Q,) int64, one position per query that may not be returned
        (the query image itself in "similar images"); -1 for none.
        """
        import torch

        q = torch.from_numpy(np.ascontiguousarray(l2_normalize(np.atleast_2d(queries))))
        if q.shape[1] != self.dim:
            raise ValueError(f"query dimension {q.shape[1]} differs from the index's {self.dim}")
        n_q, k = q.shape[0], max(0, min(int(k), self.size))
        best_s = torch.full((n_q, k), -float("inf"))
        best_p = torch.full((n_q, k), -1, dtype=torch.int64)
        if k == 0:
            return Hits(best_p.numpy(), best_s.numpy())
        mask = None if allowed is None else torch.from_numpy(np.asarray(allowed, dtype=bool))
        excl = None if exclude is None else torch.from_numpy(np.asarray(exclude, dtype=np.int64))
        block = max(1, min(self.block, MAX_SCORE_BYTES // (4 * n_q)))
        for start in range(0, self.size, block):
            stop = min(self.size, start + block)
            block_rows = self._data[start:stop]
            # one query: a matrix-vector product (~15% faster than mm of a 1-row matrix on CPU)
            s = torch.mv(block_rows, q[0])[None, :] if n_q == 1 else torch.mm(q, block_rows.T)
            self._mask_block(s, start, stop, mask, excl)
            kk = min(k, stop - start)
            bs, bp = torch.topk(s, kk, dim=1)
            bp = torch.where(torch.isinf(bs), torch.full_like(bp, -1), bp + start)
            best_s, best_p = _merge(best_s, best_p, bs, bp, k)
        return Hits(best_p.numpy(), best_s.numpy().astype(np.float32))

    @staticmethod
    def _mask_block(s, start: int, stop: int, mask, excl) -> None:
        import torch

        if mask is not None:
            s[:, ~mask[start:stop]] = -float("inf")
        if excl is not None:
            inside = (excl >= start) & (excl < stop)
            rows = torch.nonzero(inside, as_tuple=True)[0]
            s[rows, excl[rows] - start] = -float("inf")


def _merge(best_s, best_p, new_s, new_p, k: int):
    """Keep the k best of two candidate lists (equal scores: the lower position first)."""
    import torch

    s = torch.cat([best_s, new_s], dim=1)
    p = torch.cat([best_p, new_p], dim=1)
    # sort by (-score, position): positions only break ties, padding (-1) sorts last
    key_p = torch.where(p < 0, torch.full_like(p, torch.iinfo(torch.int64).max), p)
    order = torch.argsort(key_p, dim=1, stable=True)
    s, p = torch.gather(s, 1, order), torch.gather(p, 1, order)
    top = torch.argsort(-s, dim=1, stable=True)[:, :k]
    return torch.gather(s, 1, top), torch.gather(p, 1, top)


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int) -> Hits:
    """One-shot helper: the top-k of ``queries`` against ``vectors`` (normalised here)."""
    return ExactIndex(vectors).search(queries, k)
