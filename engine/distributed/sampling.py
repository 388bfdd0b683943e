"""Link-prediction sampling on a DistGraph that excludes edges itself.

DGL 2.1.0's ``DistGraph.sample_neighbors`` accepts ``exclude_edges`` and silently
ignores it (dgl issue 7225, fixed in DGL 2.3), so ``as_edge_prediction_sampler(...,
exclude="reverse_id")`` would let every target edge and its reverse leak into its own
minibatch's neighbourhoods: the model would see the answer. ``ExcludingNeighborSampler``
removes the excluded edge ids from every sampled frontier before building the block;
it works on a local DGLGraph too (tests compare both).

Negatives: uniform over the keyword nodes, whose ids are not contiguous after
partitioning (``keyword_nids`` from the partition's mapping).
"""

from __future__ import annotations

import os

os.environ.setdefault("DGLBACKEND", "pytorch")

import torch


def _filtered(frontier, exclude_eids):
    """``frontier`` without the edges whose parent id (dgl.EID) is in ``exclude_eids``."""
    import dgl

    if exclude_eids is None or exclude_eids.numel() == 0 or frontier.num_edges() == 0:
        return frontier
    drop = torch.isin(frontier.edata[dgl.EID], exclude_eids)
    if not bool(drop.any()):
        return frontier
    return dgl.remove_edges(frontier, torch.nonzero(drop, as_tuple=True)[0])


def excluding_sampler_class():
    """The NeighborSampler subclass (built lazily so DGL loads only when training)."""
    import dgl
    from dgl.dataloading import NeighborSampler

    class ExcludingNeighborSampler(NeighborSampler):
        def sample_blocks(self, g, seed_nodes, exclude_eids=None):
            output_nodes = seed_nodes
            blocks = []
            for fanout in reversed(self.fanouts):
                frontier = g.sample_neighbors(seed_nodes, fanout, edge_dir=self.edge_dir, prob=self.prob,
                                              replace=self.replace)
                frontier = _filtered(frontier, exclude_eids)
                block = dgl.to_block(frontier, seed_nodes)
                block.edata[dgl.EID] = frontier.edata[dgl.EID]
                seed_nodes = block.srcdata[dgl.NID]
                blocks.insert(0, block)
            return seed_nodes, output_nodes, blocks

    return ExcludingNeighborSampler


def keyword_negatives(k: int, keyword_nids):
    """Negative sampler: for each positive (u, v), k pairs (u, w), w uniform over the
    keyword node ids ``keyword_nids`` (torch's global RNG)."""
    from dgl.dataloading import negative_sampler

    ids = torch.as_tensor(keyword_nids, dtype=torch.int64)

    class KeywordSetUniform(negative_sampler.Uniform):
        def _generate(self, g, eids, canonical_etype):
            src, _ = g.find_edges(eids, etype=canonical_etype)
            src = src.repeat_interleave(self.k)
            dst = ids[torch.randint(0, len(ids), (src.shape[0],))].to(src.dtype)
            return src, dst

    return KeywordSetUniform(k)


def dist_loader(g, eids, fanouts, negatives: int, reverse_eids, keyword_nids, *, batch_size: int,
                shuffle: bool = True, exclude: bool = True):
    """DistEdgeDataLoader over ``eids`` of the DistGraph ``g``: our excluding sampler
    (each minibatch's target edges and their reverses never sampled), keyword
    negatives. ``exclude=False`` is DGL's own NeighborSampler, for the test that shows
    DGL 2.1.0 leaks the targets."""
    import dgl

    base = excluding_sampler_class()(list(fanouts)) if exclude else dgl.dataloading.NeighborSampler(list(fanouts))
    return dgl.dataloading.DistEdgeDataLoader(
        g, eids, base, exclude="reverse_id", reverse_eids=torch.as_tensor(reverse_eids, dtype=torch.int64),
        negative_sampler=keyword_negatives(negatives, keyword_nids), batch_size=batch_size, shuffle=shuffle,
        drop_last=False)
