"""Text -> images and image -> similar images, in one Space, with scores."""

from __future__ import annotations

import numpy as np

from engine.core.errors import ConfigError, DataError
from engine.core.vectors import l2_normalize
from engine.retrieval.hero import mmr_order
from engine.retrieval.query import ParsedQuery, parse_query
from engine.retrieval.records import SearchHit, SearchResult, hit
from engine.retrieval.space import Space


def restrict_rows(dataset, *, split: np.ndarray | None = None, split_value: int | None = None,
                  scene: str | None = None, keyword: str | None = None) -> np.ndarray | None:
    """(N,) bool of the rows allowed by the optional filters (None = all)."""
    keep = np.ones(dataset.n_images, dtype=bool)
    used = False
    if split_value is not None:
        if split is None:
            raise ConfigError("a split filter needs a run (the split is the run's)", field="split",
                              hint="pass --run DIR or drop --split")
        keep &= np.asarray(split) == split_value
        used = True
    if scene is not None:
        if scene not in dataset.scenes:
            raise ConfigError(f"unknown scene '{scene}'", field="scene", hint=f"one of: {', '.join(dataset.scenes)}")
        keep &= dataset.image_scene == dataset.scenes.index(scene)
        used = True
    if keyword is not None:
        if keyword not in dataset.keywords:
            raise ConfigError(f"unknown keyword '{keyword}'", field="keyword", hint="`mmkg-tui info` lists the keywords")
        col = np.asarray(dataset.label_matrix()[:, dataset.keywords.index(keyword)].toarray()).ravel() > 0
        keep &= col
        used = True
    return keep if used else None


def query_vector(space: Space, parsed: ParsedQuery) -> tuple[np.ndarray | None, np.ndarray | None, list[str]]:
    """(query vector or None, (N,) bool filter or None, notes) for a parsed query."""
    pos, neg, notes = [], [], []
    allowed = None
    for term in parsed.terms:
        have = [space.label_vectors[lab] for lab in term.labels if lab in space.label_vectors]
        filt = [space.membership[lab] for lab in term.labels if lab in space.membership]
        if have:
            (neg if term.negative else pos).append(l2_normalize(np.mean(have, axis=0)))
        if filt:
            m = np.logical_or.reduce(filt)
            m = ~m if term.negative else m
            allowed = m if allowed is None else allowed & m
            notes.append(f"{'-' if term.negative else ''}{term.text}: used as a filter "
                         f"(no vector for it in the {space.name} space)")
    if not pos and not neg:
        return None, allowed, notes
    q = np.mean(pos, axis=0) if pos else np.zeros_like(neg[0])
    if neg:
        q = q - np.mean(neg, axis=0)
    return l2_normalize(q), allowed, notes


def search_text(space: Space, dataset, text: str, k: int = 10, *, rows_allowed: np.ndarray | None = None,
                diversity: float = 0.0, clip=None, features=None) -> SearchResult:
    """The ``k`` images closest to the labels ``text`` means (see engine.retrieval.query);
    ``diversity`` in [0, 1] re-ranks by maximal marginal relevance (engine.retrieval.hero).
    With ``clip`` (a ClipConfig) and the ``features`` it made, the CLIP text tower
    embeds the free text instead (engine.retrieval.text)."""
    if clip is not None:
        return _tower_search(space, dataset, text, k, rows_allowed, diversity, clip, features)
    parsed = parse_query(text, list(space.label_kind))
    if not parsed.terms:
        raise ConfigError(f"no known label in the query {text!r}", field="query",
                          hint="use keywords, scenes or attribute ranges (`mmkg-tui info` lists them), e.g. fireplace")
    q, allowed, notes = query_vector(space, parsed)
    if rows_allowed is not None:
        allowed = rows_allowed if allowed is None else allowed & rows_allowed
    mask = None if allowed is None else space.row_mask(allowed)
    if q is None:  # filters only: the most typical images of the filtered set
        sel = space.image[mask] if mask is not None else space.image
        q = l2_normalize(sel.mean(axis=0)) if len(sel) else np.zeros(space.image.shape[1], np.float32)
        notes.append("ranked by closeness to the filtered images' centroid (no label vector in the query)")
    out = [hit(dataset, int(space.rows[p]), s) for p, s in diverse_top(space, q, k, mask, diversity)]
    return SearchResult(text, space.name, parsed.labels, [t.describe() for t in parsed.terms], parsed.unmatched,
                        out, [space.note, *notes])


def _tower_search(space, dataset, text, k, rows_allowed, diversity, clip, features) -> SearchResult:
    from engine.retrieval.text import text_tower_vector

    if space.learned:
        raise ConfigError("the CLIP text tower queries the CLIP space only", field="space",
                          hint="use --space clip with --text-tower")
    q, described = text_tower_vector(text, clip, features)
    mask = None if rows_allowed is None else space.row_mask(rows_allowed)
    out = [hit(dataset, int(space.rows[p]), s) for p, s in diverse_top(space, q, k, mask, diversity)]
    return SearchResult(text, space.name, [], described, [], out, [space.note, "free text through the CLIP text tower"])


def row_of(dataset, image_id: str) -> int:
    try:
        return dataset.ids.index(image_id)
    except ValueError:
        import difflib

        close = difflib.get_close_matches(image_id, dataset.ids, n=1)
        raise DataError(f"no image with id '{image_id}'", field="image",
                        hint=f"did you mean {close[0]}?" if close else "`mmkg-tui search` finds image ids") from None


def similar_images(space: Space, dataset, row: int, k: int = 10, *,
                   rows_allowed: np.ndarray | None = None) -> list[SearchHit]:
    """The ``k`` images closest to dataset ``row`` in ``space`` (itself excluded)."""
    p = space.position(row)
    if p < 0:
        raise DataError(f"image {dataset.ids[row]} is not in the {space.name} space",
                        hint="the learned space of a saved run holds its validation and test images; "
                             "pick one of those or use --space clip")
    mask = None if rows_allowed is None else space.row_mask(rows_allowed)
    hits = space.index.search(space.image[p][None, :], k, allowed=mask, exclude=np.array([p]))
    return [hit(dataset, int(space.rows[q]), s) for q, s in hits.row(0)]


def diverse_top(space: Space, q: np.ndarray, k: int, mask: np.ndarray | None,
                diversity: float) -> list[tuple[int, float]]:
    """(position, score) of the top ``k``; with ``diversity`` > 0 chosen by MMR among
    the ``k * POOL_FACTOR`` best (scores stay the cosine with the query)."""
    from engine.retrieval.hero import POOL_FACTOR

    pool = space.index.search(q[None, :], k * POOL_FACTOR if diversity > 0 else k, allowed=mask).row(0)
    if diversity <= 0 or not pool:
        return pool
    pos = np.array([p for p, _ in pool])
    rel = np.array([s for _, s in pool])
    return [pool[j] for j in mmr_order(rel, space.image[pos], k, 1.0 - diversity)]
