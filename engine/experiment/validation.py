"""Choices made on VALIDATION images while an experiment runs (never on test).

* ``EpochScorer``: the ``on_epoch_end`` hook of engine.learn.train.train_model:
  embeds the validation images exactly as the test images are embedded later
  (each configured strategy's reconnection + full-neighbourhood inference) and
  returns the selection metric averaged over the strategies; training keeps the
  best epoch.
* ``blend_with_clip``: the learned cosine blended with zero-shot CLIP,
  ``(1 - w) * learned + w * clip``, ``w`` chosen on the validation rows.
"""

from __future__ import annotations

import numpy as np

from engine.methods.scoring import cosine_scores

SELECT_METRICS = ("none", "map", "macro_auc", "micro_auc", "mean")
BLEND_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def selection_score(scores: np.ndarray, labels: np.ndarray, metric: str) -> float:
    """One number, higher is better: a ranking metric or the mean of the three."""
    from engine.evaluation.metrics import ranking_metrics

    r = ranking_metrics(np.asarray(scores), np.asarray(labels, dtype=bool))
    if metric == "mean":
        vals = [r["micro_auc"], r["macro_auc"], r["map"]]
        return float(np.nanmean(vals))
    return float(r[metric])


class EpochScorer:
    """``(model, epoch) -> validation score`` for train_model's ``on_epoch_end``."""

    def __init__(self, dataset, features, config, hom, val_rows: np.ndarray) -> None:
        from engine.graph.reconnect import TrainGraphInfo, enlarged_graph, get_strategy

        self.metric = config.select_metric
        self.hom = hom
        self.labels = dataset.label_matrix()[val_rows].toarray().astype(bool)
        info = TrainGraphInfo.from_hom(hom)
        self.graphs = []
        for strat in config.strategies:
            src, dst = get_strategy(strat)(info, val_rows, features, dataset, config)
            self.graphs.append(enlarged_graph(hom, val_rows, features, src, dst))
        self.n_val = len(val_rows)
        self.history: list[float] = []

    def __call__(self, model, epoch: int) -> float:
        from engine.learn.model import full_inference, unseen_inference

        n = self.hom.num_nodes
        lo, hi = self.hom.keyword_range
        z, states = full_inference(model, self.hom.g, keep_states=True)  # the training graph, once for all strategies
        keywords = z[lo:hi].numpy()
        per = []
        for g2 in self.graphs:
            images = unseen_inference(model, g2, n, states).numpy()
            per.append(selection_score(cosine_scores(images, keywords), self.labels, self.metric))
        score = float(np.mean(per))
        self.history.append(score)
        return score


def blend_with_clip(learned: np.ndarray, clip: np.ndarray, n_val: int, labels_val: np.ndarray,
                    metric: str, grid=BLEND_GRID) -> tuple[np.ndarray, float]:
    """(blended scores of every row, chosen w): the first ``n_val`` rows are the
    validation rows that choose ``w`` (ties: the smaller w)."""
    metric = "map" if metric == "none" else metric
    best = None
    for w in grid:
        s = (1.0 - w) * learned[:n_val] + w * clip[:n_val]
        v = selection_score(s, labels_val, metric)
        if best is None or v > best[0]:
            best = (v, float(w))
    w = best[1]
    return ((1.0 - w) * learned + w * clip).astype(np.float32), w
