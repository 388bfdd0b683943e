"""The homogeneous view of the training graph, negative sampling and minibatches.

Design: GraphSAGE runs on the *homogeneous* version of the knowledge graph
(``dgl.to_homogeneous``): one node id space over images, keywords, scenes and
attribute nodes, ``ndata['ntype']`` telling the type (the model adds a learned
per-type input vector, engine.model). Every heterograph edge type has its reverse
with the same local ids, so the reverse of homogeneous edge e is a fixed id:
``reverse_eids`` feeds ``as_edge_prediction_sampler(exclude='reverse_id')`` and a
training edge image->keyword and its keyword->image twin are both removed from the
sampled neighbourhoods of their own minibatch (no leakage of the edge being predicted).

Negatives: ``negative_sampler.Uniform`` would draw from *all* nodes of a homogeneous
graph; ``KeywordUniform`` subclasses it so the Q negatives of each positive are
uniform over the keyword nodes only (P_n of the objective).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("DGLBACKEND", "pytorch")

import numpy as np
import torch

from engine.graph.knowledge import REVERSE_ETYPES


@dataclass
class HomGraph:
    g: "dgl.DGLGraph"  # noqa: F821  homogeneous; ndata 'feat', 'ntype'
    ntypes: list[str]  # index = ndata['ntype'] value
    offsets: dict[str, int]  # first homogeneous id of each node type (ids contiguous per type)
    counts: dict[str, int]
    image_rows: np.ndarray  # dataset row of each image node (image node i -> image_rows[i])
    reverse_eids: torch.Tensor  # (E,) homogeneous id of each edge's reverse
    train_eids: torch.Tensor  # homogeneous ids of the image->has_keyword edges

    def node_id(self, ntype: str, local) -> np.ndarray:
        return self.offsets[ntype] + np.asarray(local, dtype=np.int64)

    @property
    def keyword_range(self) -> tuple[int, int]:
        lo = self.offsets["keyword"]
        return lo, lo + self.counts["keyword"]

    @property
    def num_nodes(self) -> int:
        return int(self.g.num_nodes())


def to_homogeneous(hg, image_rows: np.ndarray) -> HomGraph:
    """Heterograph (the training graph, engine.split.training_graph) -> HomGraph."""
    import dgl

    stacked = stacked_feature(hg, "feat")
    g = dgl.to_homogeneous(hg, ndata=None if stacked is not None else ["feat"])
    if stacked is not None:
        g.ndata["feat"] = stacked
    ntype = g.ndata[dgl.NTYPE]
    offsets, counts = {}, {}
    for t, name in enumerate(hg.ntypes):
        ids = torch.nonzero(ntype == t, as_tuple=True)[0]
        counts[name] = int(ids.numel())
        offsets[name] = int(ids[0]) if ids.numel() else int(g.num_nodes())
        if ids.numel():
            assert int(ids[-1]) - int(ids[0]) + 1 == ids.numel(), "node types must be contiguous"
    etype = g.edata[dgl.ETYPE]
    local = g.edata[dgl.EID]
    # Homogeneous ids of each edge type, ordered by the edge's id in the FULL graph:
    # engine.graph pairs edge i of a type with edge i of its reverse there, but a
    # node subgraph reorders edges (by destination), so pair by the stored original
    # id (dgl.EID of the subgraph), not by the subgraph's local id.
    by_type = []
    for t, cet in enumerate(hg.canonical_etypes):
        ids = torch.nonzero(etype == t, as_tuple=True)[0]
        key = local[ids]
        orig = hg.edges[cet].data.get(dgl.EID) if dgl.EID in hg.edges[cet].data else None
        if orig is not None:
            key = orig[key]
        by_type.append(ids[torch.argsort(key)])
    reverse = torch.arange(g.num_edges(), dtype=torch.int64)
    index = {c[1]: t for t, c in enumerate(hg.canonical_etypes)}
    for t, (_, name, _) in enumerate(hg.canonical_etypes):
        rev = REVERSE_ETYPES.get(name)
        if rev is not None and rev in index and len(by_type[index[rev]]) == len(by_type[t]):
            reverse[by_type[t]] = by_type[index[rev]]
    train_eids = by_type[index["has_keyword"]]
    g.ndata["ntype"] = ntype.to(torch.int64)
    for k in (dgl.NTYPE, dgl.NID):
        g.ndata.pop(k, None)
    for k in (dgl.ETYPE, dgl.EID):
        g.edata.pop(k, None)
    return HomGraph(g, list(hg.ntypes), offsets, counts, np.asarray(image_rows, dtype=np.int64),
                    reverse, train_eids)


def stacked_feature(hg, key: str):
    """The one tensor behind every node type's ``key`` feature when they are
    consecutive row ranges of it in ``hg.ntypes`` order (as engine.split.training_graph
    stores them), i.e. exactly what ``dgl.to_homogeneous(hg, ndata=[key])`` would
    build by concatenation; None otherwise."""
    feats = [hg.nodes[nt].data.get(key) for nt in hg.ntypes]
    if not feats or any(f is None for f in feats):
        return None
    base = feats[0]._base
    if base is None or base.dim() != 2 or not base.is_contiguous():
        return None
    if base.shape[0] != sum(f.shape[0] for f in feats):
        return None
    row_bytes = base.stride(0) * base.element_size()
    off = 0
    for f in feats:
        if f._base is not base or not f.is_contiguous() or f.shape[1:] != base.shape[1:]:
            return None
        if f.shape[0] and f.data_ptr() != base.data_ptr() + off * row_bytes:
            return None
        off += f.shape[0]
    return base


