"""Negative sampling and minibatches over the homogeneous training graph.

Negatives: ``negative_sampler.Uniform`` would draw from *all* nodes of a homogeneous
graph; ``KeywordUniform`` subclasses it so the Q negatives of each positive are
uniform over the keyword nodes only (P_n of the objective). ``edge_sampler`` excludes
each training edge and its reverse from its own minibatch's neighbourhoods
(``exclude='reverse_id'``, reverse ids from engine.graph.homogeneous).
"""

from __future__ import annotations

import os

os.environ.setdefault("DGLBACKEND", "pytorch")

import numpy as np
import torch

from engine.graph.homogeneous import HomGraph


class KeywordUniform:
    """Per-source uniform negatives restricted to the node id range [lo, hi).

    A subclass of ``dgl.dataloading.negative_sampler.Uniform`` (built lazily so DGL is
    imported only when training): for each positive (u, v), Q pairs (u, v_n) with v_n
    uniform over the keyword nodes, laid out as DGL's ``Uniform`` does (the Q
    negatives of positive i are consecutive). Randomness from torch's global RNG.
    """

    def __new__(cls, k: int, lo: int, hi: int):
        from dgl.dataloading import negative_sampler

        class _KeywordUniform(negative_sampler.Uniform):
            def __init__(self, k, lo, hi):
                super().__init__(k)
                self.lo, self.hi = int(lo), int(hi)

            def _generate(self, g, eids, canonical_etype):
                src, _ = g.find_edges(eids, etype=canonical_etype)
                src = src.repeat_interleave(self.k)
                dst = torch.randint(self.lo, self.hi, (src.shape[0],), dtype=src.dtype)
                return src, dst

        return _KeywordUniform(k, lo, hi)


def edge_sampler(hom: HomGraph, fanouts, negatives: int, exclude_own=None):
    """NeighborSampler(fanouts) wrapped for link prediction with reverse-id exclusion.

    ``exclude_own`` (an engine.learn.objective.ImageLabels): exclude instead EVERY
    keyword edge (both directions) of the minibatch's images, so they are embedded
    without their keywords, as unseen images are (train as you test)."""
    import dgl

    base = dgl.dataloading.NeighborSampler(list(fanouts))
    lo, hi = hom.keyword_range
    if exclude_own is None:
        exclude, reverse = "reverse_id", hom.reverse_eids
    else:
        lo_img = hom.offsets["image"]

        def exclude(seed_edges):
            src, _ = hom.g.find_edges(seed_edges)
            return exclude_own.own_edges(np.unique(src.numpy() - lo_img))

        reverse = None
    return dgl.dataloading.as_edge_prediction_sampler(
        base, exclude=exclude, reverse_eids=reverse,
        negative_sampler=KeywordUniform(negatives, lo, hi),
    )


def epoch_loader(hom: HomGraph, sampler, batch_size: int, generator: torch.Generator):
    """One epoch of minibatches over the training edges, shuffled by ``generator``."""
    import dgl

    perm = torch.randperm(hom.train_eids.numel(), generator=generator)
    return dgl.dataloading.DataLoader(
        hom.g, hom.train_eids[perm], sampler, batch_size=batch_size, shuffle=False,
        drop_last=False, num_workers=0, device="cpu",
    )
