"""Keyword -> hero images: the best images for a keyword, optionally re-ranked by
maximal marginal relevance (MMR) so the top ten are not ten near-copies.

Relevance is the image's cosine with the keyword vector of the space. MMR picks,
one at a time, the candidate maximising

    lambda * relevance - (1 - lambda) * max cosine with the images already picked

over the ``pool`` most relevant images (lambda = 1: plain relevance order).
"""

from __future__ import annotations

import numpy as np

from engine.core.errors import ConfigError
from engine.retrieval.records import SearchHit
from engine.retrieval.space import Space

POOL_FACTOR = 10  # MMR chooses among the k * POOL_FACTOR most relevant images


def mmr_order(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> list[int]:
    """Indices into ``relevance``/``vectors`` (unit rows) chosen by MMR, in pick order."""
    if not 0.0 <= lam <= 1.0:
        raise ConfigError(f"diversity weight must lie in [0, 1], got {lam}", field="diversity",
                          hint="0 = plain relevance, 0.3 = some diversity")
    n = len(relevance)
    k = min(k, n)
    if k == 0:
        return []
    picked = [int(np.argmax(relevance))]
    max_sim = vectors @ vectors[picked[0]]
    chosen = np.zeros(n, dtype=bool)
    chosen[picked[0]] = True
    while len(picked) < k:
        gain = lam * relevance - (1.0 - lam) * max_sim
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        picked.append(j)
        chosen[j] = True
        max_sim = np.maximum(max_sim, vectors @ vectors[j])
    return picked


def hero_images(space: Space, dataset, keyword: str, k: int = 10, *, diversity: float = 0.0,
                rows_allowed: np.ndarray | None = None) -> list[SearchHit]:
    """The ``k`` best images for ``keyword``; ``diversity`` in [0, 1] (0 = by score only)."""
    from engine.retrieval.records import hit
    from engine.retrieval.search import diverse_top

    if space.label_kind.get(keyword) != "keyword" or keyword not in space.label_vectors:
        raise ConfigError(f"unknown keyword '{keyword}'", field="keyword",
                          hint="`mmkg-tui info` lists the keywords")
    mask = None if rows_allowed is None else space.row_mask(rows_allowed)
    top = diverse_top(space, space.label_vectors[keyword], k, mask, diversity)
    return [hit(dataset, int(space.rows[p]), s) for p, s in top]
