"""The retrieval quality report (``mmkg-tui search --eval``, benchmarks/stage_retrieval.py):
per space, every keyword as a query over the run's TEST images (nDCG@10, recall@10,
MRR) and image -> image precision@10 of "shares a keyword", on the same images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.errors import ConfigError
from engine.retrieval.context import Retrieval
from engine.retrieval.quality import (
    QueryQuality,
    image_neighbour_precision,
    keyword_query_quality,
)


@dataclass
class SpaceQuality:
    space: str
    queries: QueryQuality
    neighbour_precision: float  # image -> image precision@10

    def to_json(self) -> dict:
        out = self.queries.to_json()
        out.pop("per_keyword_ndcg")
        out["image_precision@10"] = self.neighbour_precision
        return out


def retrieval_quality(ctx: Retrieval, k: int = 10) -> list[SpaceQuality]:
    """CLIP and every learned method of the run, on the run's test images."""
    run = ctx.run
    if run is None:
        raise ConfigError("the quality report needs a run (its test images are the ones measured)", field="eval",
                          hint="train with `mmkg-tui run` and pass --run DIR")
    test = np.asarray(run.test_mask(), dtype=bool)
    rows = np.asarray(run.eval_rows, dtype=np.int64)[test]
    labels = ctx.dataset.label_matrix()[rows].toarray() > 0
    clip = ctx.space("clip")
    spaces = [("clip", clip.image[clip.positions(rows)], np.asarray(ctx.features.keyword))]
    if ctx.has_learned:
        for m in [m for m in run.methods if m in run.image_embeddings and m != "clip"]:
            sp = ctx.space("learned", m)
            spaces.append((m, sp.image[sp.positions(rows)], run.keyword_embeddings["sage"]))
    out = []
    for name, img, kw in spaces:
        q = keyword_query_quality(name, img, kw, labels, list(ctx.dataset.keywords), k)
        out.append(SpaceQuality(name, q, image_neighbour_precision(img, labels, k)))
    return out
