"""Shared pieces of the retrieval tests: features of the session's tiny world and a
RunResult built by hand with chosen learned embeddings (to test how retrieval reads
a run, not to stand in for training; the CLI tests use a really trained run)."""

from __future__ import annotations

import numpy as np

from engine.core.vectors import l2_normalize


def features_of(world):
    from engine.features.bundle import precomputed_features

    return precomputed_features(world)


def hand_run(world, features, embeddings: dict[str, np.ndarray], *, keyword=None, split=None):
    """A RunResult whose learned methods have the given (M, D) eval-row embeddings."""
    from engine.experiment.config import ExperimentConfig
    from engine.experiment.records import RunResult

    n = world.n_images
    if split is None:
        split = np.zeros(n, np.int8)
        split[n // 2: 3 * n // 4] = 1
        split[3 * n // 4:] = 2
    eval_rows = np.concatenate([np.nonzero(split == 1)[0], np.nonzero(split == 2)[0]])
    labels = world.label_matrix()[eval_rows].toarray() > 0
    methods = ["clip", *embeddings]
    kw = features.keyword if keyword is None else keyword
    return RunResult(
        config=ExperimentConfig(), dataset={"source": None}, embedding_source=features.source,
        image_ids=list(world.ids), split=split, keywords=list(world.keywords), methods=methods,
        eval_rows=eval_rows, labels=labels, scores={}, best_threshold={}, metrics={}, per_keyword={}, roc={},
        embedding_stats={}, loss_history=[], created="now",
        image_embeddings={"clip": features.image[eval_rows], **{m: l2_normalize(e) for m, e in embeddings.items()}},
        keyword_embeddings={"clip": features.keyword, "sage": kw},
    )
