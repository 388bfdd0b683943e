"""Edge weights from CLIP cosine, so neighbours count by relevance (issue 10 section 3).

``edge_weight="cosine"``: an edge u -> v is weighted in SAGEConv's mean aggregation by

    w_uv = deg(v) * softmax_{u' in N(v)}(cos(x_u', x_v) / EDGE_TEMPERATURE)[u]

where ``x`` are the nodes' raw CLIP features (the graph's ``feat``, never the
hidden states, so every layer and every pass uses the same weights). The weights
of a destination average 1, so ``mean(w * h)`` is the softmax-weighted mean of its
neighbours: with equal cosines it is the plain mean (``"none"``), and a neighbour
0.1 more similar than another counts e = 2.7 times as much. Every in-edge
(keyword, scene, attribute, the reconnection edges of unseen images: cosine, scene,
self) is weighted the same way, in sampled training blocks and in full inference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported on first use, so engine.api can name EDGE_WEIGHTS cheaply
    import torch

EDGE_WEIGHTS = ("none", "cosine")
#: the convolution of every layer: dgl.nn.SAGEConv, or dgl.nn.GATv2Conv (learned attention, one head)
CONVS = ("sage", "gatv2")
#: the softmax temperature over a destination's neighbour cosines
EDGE_TEMPERATURE = 0.1
_CHUNK = 1 << 16  # edges per chunk of the cosine computation (bounds its memory)


def check_neighbour_options(conv: str, edge_weight: str) -> None:
    """ConfigError naming the field unless ``conv`` and ``edge_weight`` are known and compatible."""
    from engine.core.errors import ConfigError

    if conv not in CONVS:
        raise ConfigError(f"unknown convolution {conv!r}", field="conv", hint=f"choose from {', '.join(CONVS)} (--conv)")
    if edge_weight not in EDGE_WEIGHTS:
        raise ConfigError(f"unknown edge weight {edge_weight!r}", field="edge_weight",
                          hint=f"choose from {', '.join(EDGE_WEIGHTS)} (--edge-weight)")
    if conv == "gatv2" and edge_weight != "none":
        raise ConfigError("GATv2 learns its own attention over neighbours; edge weights apply to SAGE only",
                          field="edge_weight", hint="use --edge-weight none with --conv gatv2")


def edge_cosines(x_src: torch.Tensor, x_dst: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """cos(x_src[src[e]], x_dst[dst[e]]) for every edge e, in chunks."""
    import torch
    import torch.nn.functional as F

    a, b = F.normalize(x_src, dim=-1), F.normalize(x_dst, dim=-1)
    out = torch.empty(src.numel(), dtype=a.dtype)
    for i in range(0, src.numel(), _CHUNK):
        s, d = src[i:i + _CHUNK], dst[i:i + _CHUNK]
        out[i:i + _CHUNK] = (a[s] * b[d]).sum(-1)
    return out


def softmax_weights(cos: torch.Tensor, dst: torch.Tensor, n_dst: int,
                    temperature: float = EDGE_TEMPERATURE) -> torch.Tensor:
    """Per-destination softmax of ``cos / temperature`` times the in-degree (mean 1 per destination)."""
    import torch

    logits = cos / float(temperature)
    top = torch.full((n_dst,), float("-inf"), dtype=logits.dtype)
    top = top.scatter_reduce(0, dst, logits, reduce="amax", include_self=True)
    e = torch.exp(logits - top[dst])
    total = torch.zeros(n_dst, dtype=logits.dtype).index_add_(0, dst, e)
    deg = torch.zeros(n_dst, dtype=logits.dtype).index_add_(0, dst, torch.ones_like(e))
    return e / total[dst] * deg[dst]


def block_weights(block, x_src: torch.Tensor, mode: str) -> torch.Tensor | None:
    """The weights of ``block``'s edges (in edge-id order) from the raw features of its
    source nodes (its destinations are the first ``num_dst_nodes`` of them); None for "none"."""
    if mode == "none":
        return None
    if mode != "cosine":
        raise ValueError(f"unknown edge weight {mode!r}; choose from {', '.join(EDGE_WEIGHTS)}")
    import torch

    with torch.no_grad():
        return _cosine_block_weights(block, x_src)


def _cosine_block_weights(block, x_src):
    src, dst = block.edges(order="eid")
    n_dst = block.num_dst_nodes()
    cos = edge_cosines(x_src, x_src[:n_dst], src.long(), dst.long())
    return softmax_weights(cos, dst.long(), n_dst).unsqueeze(-1)
