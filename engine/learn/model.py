"""GraphSAGE over the homogeneous knowledge graph (see engine.sampling for the graph).

* Input: every node's CLIP feature plus a learned per-node-type vector (zero at
  start), so images, keywords, scenes and attribute values share one input space
  but the model can tell them apart.
* ``layers`` x ``dgl.nn.SAGEConv`` (mean aggregator by default; ``conv="gatv2"``:
  ``dgl.nn.GATv2Conv``, one attention head), ReLU between layers;
  with ``edge_weight="cosine"`` each message is weighted by the CLIP cosine of the
  edge's ends (engine.learn.edge_weight), identically in ``forward`` and ``full_inference``.
* Residual to CLIP: the output is ``normalize(skip(x) + h_L)`` where ``skip`` is a
  linear map initialised to the identity and ``h_L`` the last SAGE layer, whose
  weights start small; so the model starts near raw CLIP and learns corrections.
* Outputs are L2-normalised; the score of a pair is ``scale * cos(z_u, z_v)`` with a
  learnable temperature ``scale`` (see engine.loss: J is unchanged).

``forward`` refuses a block list whose length differs from the number of layers
(the original code silently ran one of its two layers). ``full_inference`` embeds
every node with full neighbourhoods, layer by layer, one block per group or in batches (as DGL's
examples/pytorch/graphsage/link_pred.py).
"""

from __future__ import annotations

import math
import os

import numpy as np

os.environ.setdefault("DGLBACKEND", "pytorch")

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.core.errors import Cancelled, ConfigError
from engine.learn.edge_weight import block_weights, check_neighbour_options


def _conv(conv: str, d_in: int, d_out: int, aggregator: str) -> nn.Module:
    """``dgl.nn.SAGEConv``, or ``dgl.nn.GATv2Conv`` (one head; its residual plays
    SAGE's ``fc_self``; a node without in-edges keeps its own term)."""
    from dgl.nn import GATv2Conv, SAGEConv

    if conv == "gatv2":
        return GATv2Conv(d_in, d_out, 1, residual=True, allow_zero_in_degree=True)
    return SAGEConv(d_in, d_out, aggregator)


class SageModel(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int, layers: int, n_ntypes: int,
                 aggregator: str = "mean", init_scale: float = 10.0, residual: bool = True,
                 last_init_gain: float = 0.1, dropout: float = 0.0, n_keywords: int = 0,
                 edge_weight: str = "none", conv: str = "sage") -> None:
        super().__init__()
        if layers < 1:
            raise ConfigError("layers must be >= 1", field="layers")
        check_neighbour_options(conv, edge_weight)
        # "cosine": neighbours weighted by the CLIP cosine of the edge's ends (engine.learn.edge_weight)
        self.edge_weight, self.conv = edge_weight, conv
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.dims = tuple(dims)  # input size, then each layer's output size
        self.type_emb = nn.Embedding(n_ntypes, in_dim)
        nn.init.zeros_(self.type_emb.weight)
        self.layers = nn.ModuleList(_conv(conv, dims[i], dims[i + 1], aggregator) for i in range(layers))
        last = self.layers[-1]
        with torch.no_grad():
            for p in last.parameters():
                if p.dim() > 1:
                    p.mul_(last_init_gain)
                else:  # biases (SAGEConv's fc_self has a random one): start at zero
                    p.zero_()
        self.residual = residual
        self.skip = nn.Linear(in_dim, out_dim, bias=False)
        with torch.no_grad():
            if in_dim == out_dim:
                self.skip.weight.copy_(torch.eye(out_dim))
        self.log_scale = nn.Parameter(torch.tensor(math.log(init_scale)))
        # dropout on every layer's input while training (off in eval / full_inference)
        self.dropout = nn.Dropout(float(dropout)) if dropout else None
        # per-keyword logit bias, used only by the all-keyword objectives (engine.learn.objective)
        self.keyword_bias = nn.Parameter(torch.zeros(int(n_keywords))) if n_keywords else None

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(100.0)).exp()

    def input(self, x: torch.Tensor, ntype: torch.Tensor) -> torch.Tensor:
        return x + self.type_emb(ntype)

    def weights(self, block, x_src: torch.Tensor) -> torch.Tensor | None:
        """The edge weights of ``block`` from its source nodes' raw CLIP features (None: unweighted)."""
        return block_weights(block, x_src, self.edge_weight)

    def layer(self, i: int, block, h: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        if self.dropout is not None:
            h = self.dropout(h)
        if self.conv == "gatv2":  # (dst, heads = 1, out); attention replaces the edge weights
            h = self.layers[i](block, h).squeeze(1)
        else:
            h = self.layers[i](block, h, edge_weight=w)
        if i != len(self.layers) - 1:
            h = F.relu(h)
        return h

    def finish(self, h: torch.Tensor, x_dst: torch.Tensor) -> torch.Tensor:
        if self.residual:
            h = h + self.skip(x_dst)
        return F.normalize(h, dim=-1)

    def forward(self, blocks, x: torch.Tensor, ntype: torch.Tensor) -> torch.Tensor:
        """Embeddings of the output nodes of ``blocks`` (x, ntype: of the input nodes)."""
        if len(blocks) != len(self.layers):
            raise ConfigError(
                f"{len(blocks)} sampled layer(s) for a {len(self.layers)}-layer model",
                field="fanout", hint="give one fan-out per layer, e.g. --layers 2 --fanout 3,3")
        h = self.input(x, ntype)
        for i, block in enumerate(blocks):  # a block's sources are a prefix of the first block's inputs
            h = self.layer(i, block, h, self.weights(block, x[:block.num_src_nodes()]))
        n_out = blocks[-1].num_dst_nodes()
        return self.finish(h, x[:n_out])

    def score(self, z: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        return self.scale * (z[src] * z[dst]).sum(-1)


#: a group of destination nodes whose in-edges number at most this many is one block
#: (per layer); larger groups are cut into batches (``full_inference``'s batch size).
WHOLE_BLOCK_MAX_EDGES = 2_000_000
#: the blocks are kept for every layer when all of them hold at most this many edges.
REUSE_BLOCKS_MAX_EDGES = 4_000_000
DEFAULT_BATCH_SIZE = 4096


class InEdges:
    """Every in-edge of ``g`` sorted once by (destination, source), CSC-style.

    ``of(dst)`` returns the in-edges of ``dst`` as CSC (destinations in the order of
    ``dst``, sources ascending) by slicing, and ``block(dst)`` the canonical block;
    the O(N) scratch buffers are allocated once per instance. The bookkeeping is
    numpy (one thread): on a busy machine each torch parallel op waits for cores,
    which cost more than these memory-bound steps.
    """

    def __init__(self, g) -> None:
        u, v = g.edges(order="eid")
        self._index(u, v, g.num_nodes())

    @classmethod
    def of_edges(cls, u: torch.Tensor, v: torch.Tensor, n: int) -> InEdges:
        """The same index over the edges ``u[e] -> v[e]`` (in edge-id order) of a graph of ``n`` nodes."""
        self = cls.__new__(cls)
        self._index(u, v, n)
        return self

    def _index(self, u, v, n: int) -> None:
        u, v = (t.numpy().astype(np.int64, copy=False) for t in (u, v))
        order = (v * n + u).argsort(kind="stable")
        self.n = n
        self.u = u[order]
        self.degree = np.bincount(v, minlength=n)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(self.degree, out=self.indptr[1:])
        self._outside = np.ones(n, dtype=bool)
        self._local = np.empty(n, dtype=np.int64)

    def count(self, dst) -> int:
        return int(self.degree[np.asarray(dst)].sum())

    def is_all(self, dst: np.ndarray) -> bool:
        """``dst`` is every node in id order."""
        return dst.size == self.n and bool((dst == np.arange(self.n)).all())

    def of(self, dst) -> tuple[np.ndarray, np.ndarray]:
        """(sources, indptr): the in-edges of ``dst``, node ``dst[i]``'s sources
        being ``sources[indptr[i]:indptr[i + 1]]`` in ascending id order."""
        dst = np.asarray(dst, dtype=np.int64)
        if self.is_all(dst):
            return self.u, self.indptr
        deg = self.degree[dst]
        indptr = np.zeros(dst.size + 1, dtype=np.int64)
        np.cumsum(deg, out=indptr[1:])
        pos = np.repeat(self.indptr[dst] - indptr[:-1], deg)
        pos += np.arange(pos.size, dtype=np.int64)
        return self.u[pos], indptr

    def block(self, dst):
        """(input node ids or None, block): input nodes ``dst`` first, then the other
        sources sorted by id; None when they are every node of ``g`` in id order."""
        import dgl

        dst = np.asarray(dst, dtype=np.int64)
        u, indptr = self.of(dst)
        if self.is_all(dst):
            src, indices = None, u
        else:
            outside = self._outside
            outside[dst] = False
            src = np.concatenate([dst, np.unique(u[outside[u]])])
            outside[dst] = True
            local = self._local  # only entries of src are read back, so no reset is needed
            local[src] = np.arange(src.size)
            indices = local[u]
            src = torch.from_numpy(src)
        n_src = self.n if src is None else src.numel()
        # given as CSC, DGL needs no COO -> CSC conversion (same edge order per node).
        # The edge ids must be given: with an empty id array DGL's CPU SpMM read past
        # it and crashed (segfault) on blocks of millions of edges (1M-image world).
        eids = torch.arange(len(indices), dtype=torch.int64)
        csc = (torch.from_numpy(indptr), torch.from_numpy(indices), eids)
        return src, dgl.create_block(("csc", csc), num_src_nodes=n_src, num_dst_nodes=dst.size)


def full_block(g, dst: torch.Tensor):
    """(input node ids, block) holding every in-edge of ``dst``, in a canonical order.

    Built by hand instead of MultiLayerFullNeighborSampler because DGL's sampler
    returns the in-edges of a node in a thread-dependent order, and mean
    aggregation in a different order differs in the last bits; with a fixed order
    inference is bit-for-bit reproducible. Input nodes: ``dst`` first, then the
    other neighbours sorted by id; edges by destination, then source id.
    (For many batches of one graph build an ``InEdges`` once and call its ``block``.)
    """
    dst = torch.as_tensor(dst, dtype=torch.int64)
    src, block = InEdges(g).block(dst.numpy())
    return (dst if src is None else src), block


def _batches(edges: InEdges, groups, batch_size: int | None) -> list[torch.Tensor]:
    out = []
    for gr in groups:
        if batch_size is None:
            size = gr.numel() if edges.count(gr) <= WHOLE_BLOCK_MAX_EDGES else DEFAULT_BATCH_SIZE
        else:
            size = batch_size
        out.extend(gr[i:i + size] for i in range(0, gr.numel(), size))
    return out


def _weighted_block(model: SageModel, edges: InEdges, nodes: torch.Tensor, x: torch.Tensor):
    """(input node ids or None, block, its edge weights or None) of the destinations ``nodes``."""
    src, block = edges.block(nodes.numpy())
    return src, block, model.weights(block, x if src is None else x[src])


@torch.no_grad()
def full_inference(model: SageModel, g, *, batch_size: int | None = None, groups=None, cancel=None,
                   keep_states: bool = False):
    """Every node's embedding with full neighbourhoods, one layer at a time (as
    DGL's link_pred.py inference).

    ``batch_size`` None (default): each group is one block when its in-edges number
    at most ``WHOLE_BLOCK_MAX_EDGES``, else batches of ``DEFAULT_BATCH_SIZE``
    destination nodes; an int forces batches of that size. In-edges are sorted once
    per call (``InEdges``) and blocks are reused across layers when small enough.

    ``groups`` optionally partitions the node ids; batches never mix groups, and a
    group's batching depends only on the group's own in-edges, so the nodes of one
    group get bit-identical results whatever the other groups hold (used to add
    unseen images to the trained graph).

    ``keep_states``: return ``(embeddings, states)``, ``states`` being the inputs of
    layers 1..L-1 of every node, for ``unseen_inference``.
    """
    model.eval()
    x = g.ndata["feat"]
    h = model.input(x, g.ndata["ntype"])
    n = g.num_nodes()
    if groups is None:
        groups = [torch.arange(n, dtype=torch.int64)]
    groups = [torch.as_tensor(gr, dtype=torch.int64) for gr in groups if len(gr)]
    edges = InEdges(g)
    batches = _batches(edges, groups, batch_size)
    reuse = g.num_edges() <= REUSE_BLOCKS_MAX_EDGES
    blocks: dict[int, tuple] = {}
    whole = len(batches) == 1 and edges.is_all(batches[0].numpy())  # one block of every node, in order
    states = []
    for i in range(model.n_layers):
        if keep_states and i:
            states.append(h)
        out = None if whole else torch.zeros(n, model.dims[i + 1])
        for j, nodes in enumerate(batches):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            src, block, w = blocks[j] if j in blocks else _weighted_block(model, edges, nodes, x)
            if reuse and i + 1 < model.n_layers:
                blocks[j] = (src, block, w)
            res = model.layer(i, block, h if src is None else h[src], w)
            if whole:
                out = res
            else:
                out[nodes] = res
        h = out
    if whole:
        z = model.finish(h, x)
    else:
        z = torch.empty(n, h.shape[1])
        for nodes in groups:
            z[nodes] = model.finish(h[nodes], x[nodes])
    return (z, states) if keep_states else z


@torch.no_grad()
def unseen_inference(model: SageModel, g, n: int, states: list[torch.Tensor], *, batch_size: int | None = None,
                     cancel=None) -> torch.Tensor:
    """Embeddings of the nodes ``n..`` that ``g`` adds to a graph of ``n`` nodes whose
    layer states ``full_inference(..., keep_states=True)`` returned.

    The added nodes' in-edges may come from any node, but the first ``n`` nodes must
    have no in-edge from an added node (``enlarged_graph``: reconnection edges point
    into unseen images only), so their states are those of the smaller graph and are
    not computed again. Bit-identical to ``full_inference(model, g, groups=[arange(n),
    arange(n, N)])[n:]``: the added nodes are batched and blocked the same way.
    """
    model.eval()
    x, ntype = g.ndata["feat"], g.ndata["ntype"]
    total = g.num_nodes()
    added = torch.arange(n, total, dtype=torch.int64)
    if not len(added):
        return torch.empty(0, model.skip.out_features)
    if len(states) != model.n_layers - 1 or any(st.shape[0] != n for st in states):
        raise ValueError(f"states of {len(states)} layer(s) do not belong to a {model.n_layers}-layer "
                         f"model over {n} nodes (use full_inference(..., keep_states=True))")
    u, v, eid = g.in_edges(added, form="all")
    order = eid.argsort()
    edges = InEdges.of_edges(u[order], v[order], total)
    batches = _batches(edges, [added], batch_size)
    blocks = [edges.block(nodes.numpy()) for nodes in batches]
    blocks = [(torch.arange(total) if src is None else src, block) for src, block in blocks]  # n == 0: all nodes
    h_added = model.input(x[n:], ntype[n:])
    for i in range(model.n_layers):
        out = torch.zeros(len(added), model.dims[i + 1])
        for nodes, (src, block) in zip(batches, blocks):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            inner = src < n
            base = src[inner]
            h_src = torch.empty(src.numel(), h_added.shape[1])
            h_src[~inner] = h_added[src[~inner] - n]
            h_src[inner] = model.input(x[base], ntype[base]) if i == 0 else states[i - 1][base]
            out[nodes - n] = model.layer(i, block, h_src, model.weights(block, x[src]))
        h_added = out
    return model.finish(h_added, x[n:])
