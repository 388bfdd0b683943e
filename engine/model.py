"""GraphSAGE over the homogeneous knowledge graph (see engine.sampling for the graph).

* Input: every node's CLIP feature plus a learned per-node-type vector (zero at
  start), so images, keywords, scenes and attribute values share one input space
  but the model can tell them apart.
* ``layers`` x ``dgl.nn.SAGEConv`` (mean aggregator by default), ReLU between layers.
* Residual to CLIP: the output is ``normalize(skip(x) + h_L)`` where ``skip`` is a
  linear map initialised to the identity and ``h_L`` the last SAGE layer, whose
  weights start small; so the model starts near raw CLIP and learns corrections.
* Outputs are L2-normalised; the score of a pair is ``scale * cos(z_u, z_v)`` with a
  learnable temperature ``scale`` (see engine.loss: J is unchanged).

``forward`` refuses a block list whose length differs from the number of layers
(the original code silently ran one of its two layers). ``full_inference`` embeds
every node with full neighbourhoods, layer by layer, in batches (as DGL's
examples/pytorch/graphsage/link_pred.py).
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("DGLBACKEND", "pytorch")

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.errors import Cancelled, ConfigError


class SageModel(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int, layers: int, n_ntypes: int,
                 aggregator: str = "mean", init_scale: float = 10.0, residual: bool = True,
                 last_init_gain: float = 0.1) -> None:
        super().__init__()
        from dgl.nn import SAGEConv

        if layers < 1:
            raise ConfigError("layers must be >= 1", field="layers")
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.type_emb = nn.Embedding(n_ntypes, in_dim)
        nn.init.zeros_(self.type_emb.weight)
        self.layers = nn.ModuleList(
            SAGEConv(dims[i], dims[i + 1], aggregator) for i in range(layers)
        )
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

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(100.0)).exp()

    def input(self, x: torch.Tensor, ntype: torch.Tensor) -> torch.Tensor:
        return x + self.type_emb(ntype)

    def layer(self, i: int, block, h: torch.Tensor) -> torch.Tensor:
        h = self.layers[i](block, h)
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
        for i, block in enumerate(blocks):
            h = self.layer(i, block, h)
        n_out = blocks[-1].num_dst_nodes()
        return self.finish(h, x[:n_out])

    def score(self, z: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        return self.scale * (z[src] * z[dst]).sum(-1)


def full_block(g, dst: torch.Tensor):
    """(input node ids, block) holding every in-edge of ``dst``, in a canonical order.

    Built by hand instead of MultiLayerFullNeighborSampler because DGL's sampler
    returns the in-edges of a node in a thread-dependent order, and mean
    aggregation in a different order differs in the last bits; with a fixed order
    inference is bit-for-bit reproducible. Input nodes: ``dst`` first, then the
    other neighbours sorted by id.
    """
    import dgl

    n = g.num_nodes()
    u, v = g.in_edges(dst)
    order = torch.argsort(v * n + u, stable=True)
    u, v = u[order], v[order]
    outside = torch.ones(n, dtype=torch.bool)
    outside[dst] = False
    src = torch.cat([dst, torch.unique(u[outside[u]])])
    local = torch.full((n,), -1, dtype=torch.int64)
    local[src] = torch.arange(src.numel())
    return src, dgl.create_block((local[u], local[v]), num_src_nodes=src.numel(), num_dst_nodes=dst.numel())


@torch.no_grad()
def full_inference(model: SageModel, g, *, batch_size: int = 4096, groups=None, cancel=None) -> torch.Tensor:
    """Every node's embedding with full neighbourhoods, one layer at a time, in
    batches of ``batch_size`` destination nodes (as DGL's link_pred.py inference).

    ``groups`` optionally partitions the node ids; batches never mix groups, so
    the nodes of one group get bit-identical results whatever the other groups
    hold (used to add unseen images to the trained graph).
    """
    model.eval()
    x = g.ndata["feat"]
    h = model.input(x, g.ndata["ntype"])
    n = g.num_nodes()
    if groups is None:
        groups = [torch.arange(n, dtype=torch.int64)]
    groups = [torch.as_tensor(gr, dtype=torch.int64) for gr in groups if len(gr)]
    batches = [gr[i:i + batch_size] for gr in groups for i in range(0, gr.numel(), batch_size)]
    for i in range(model.n_layers):
        out = torch.zeros(n, model.layers[i]._out_feats)
        for nodes in batches:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            src, block = full_block(g, nodes)
            out[nodes] = model.layer(i, block, h[src])
        h = out
    z = torch.empty(n, h.shape[1])
    for nodes in groups:
        z[nodes] = model.finish(h[nodes], x[nodes])
    return z
