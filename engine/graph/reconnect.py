"""Reconnecting unseen (validation / test) images to the trained graph.

A strategy is a pure function

    strategy(info: TrainGraphInfo, unseen_rows, features, dataset, config) -> (src, dst)

returning int64 edge arrays in the *enlarged* graph's node ids: the trained graph's
nodes keep their ids and unseen image j (dataset row ``unseen_rows[j]``) becomes
node ``info.n_nodes + j``. Every edge points INTO an unseen image (dst >= n_nodes),
so nothing in the trained graph changes (keyword embeddings are identical with and
without the unseen images) and unseen images never influence each other. An
unseen image's own keyword edges (its ground truth) are never used.

Register a new strategy with ``@register("name")``; it is then available to the
experiment, the CLI and the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from engine.core.errors import ConfigError

StrategyFn = Callable[..., tuple[np.ndarray, np.ndarray]]
STRATEGIES: dict[str, StrategyFn] = {}


@dataclass
class TrainGraphInfo:
    offsets: dict[str, int]  # first id of each node type in the trained (homogeneous) graph
    counts: dict[str, int]
    train_rows: np.ndarray  # dataset row of each training image node (node offsets['image'] + i)
    n_nodes: int  # nodes in the trained graph; unseen image j gets id n_nodes + j

    @classmethod
    def from_hom(cls, hom) -> "TrainGraphInfo":
        return cls(dict(hom.offsets), dict(hom.counts), np.asarray(hom.image_rows), hom.num_nodes)


def register(name: str) -> Callable[[StrategyFn], StrategyFn]:
    def deco(fn: StrategyFn) -> StrategyFn:
        STRATEGIES[name] = fn
        return fn

    return deco


def get_strategy(name: str) -> StrategyFn:
    if name not in STRATEGIES:
        raise ConfigError(f"unknown reconnection strategy '{name}'", field="strategies",
                          hint=f"choose from {', '.join(sorted(STRATEGIES))}")
    return STRATEGIES[name]


def _unseen_ids(info: TrainGraphInfo, n: int) -> np.ndarray:
    return info.n_nodes + np.arange(n, dtype=np.int64)


@register("self")
def self_loop(info, unseen_rows, features, dataset, config):
    """A self-loop only: the image sees nothing but itself."""
    ids = _unseen_ids(info, len(unseen_rows))
    return ids.copy(), ids


@register("cosine")
def cosine(info, unseen_rows, features, dataset, config, *, block: int = 4096):
    """Edges from the k most similar TRAINING images (CLIP cosine), never keywords.

    ``config.cosine_k`` (k) and ``config.cosine_min_sim`` (drop weaker links; an
    image may then get fewer than k, possibly none). Computed block by block.
    """
    k = int(getattr(config, "cosine_k", 3))
    min_sim = getattr(config, "cosine_min_sim", None)
    train = torch.from_numpy(np.ascontiguousarray(features.image[info.train_rows], dtype=np.float32))
    k = min(k, train.shape[0])
    ids = _unseen_ids(info, len(unseen_rows))
    src, dst = [], []
    for start in range(0, len(unseen_rows), block):
        rows = unseen_rows[start:start + block]
        q = torch.from_numpy(np.ascontiguousarray(features.image[rows], dtype=np.float32))
        sims, idx = torch.topk(q @ train.T, k, dim=1)
        keep = torch.ones_like(sims, dtype=torch.bool) if min_sim is None else sims >= float(min_sim)
        r, c = torch.nonzero(keep, as_tuple=True)
        src.append(info.offsets["image"] + idx[r, c].numpy().astype(np.int64))
        dst.append(ids[start + r.numpy()])
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(src), np.concatenate(dst)


@register("scene")
def scene(info, unseen_rows, features, dataset, config):
    """Edges from the image's scene node and from its attribute-value nodes."""
    unseen_rows = np.asarray(unseen_rows, dtype=np.int64)
    ids = _unseen_ids(info, len(unseen_rows))
    sc = dataset.image_scene[unseen_rows].astype(np.int64)
    has = sc >= 0
    src = [info.offsets["scene"] + sc[has]]
    dst = [ids[has]]
    bins = features.bins
    pos = np.full(dataset.n_images, -1, dtype=np.int64)
    pos[unseen_rows] = np.arange(len(unseen_rows))
    j = pos[bins.image_node]
    mine = j >= 0
    src.append(info.offsets["attribute"] + bins.attr_node[mine].astype(np.int64))
    dst.append(ids[j[mine]])
    return np.concatenate(src), np.concatenate(dst)


def enlarged_graph(hom, unseen_rows: np.ndarray, features, src: np.ndarray, dst: np.ndarray):
    """The trained homogeneous graph plus the unseen images (CLIP features) and edges."""
    import dgl

    if len(dst) and int(np.min(dst)) < hom.num_nodes:
        raise ValueError("reconnection edges must point into unseen images only")
    n_unseen = len(unseen_rows)
    image_type = hom.ntypes.index("image")
    feat = torch.from_numpy(np.ascontiguousarray(features.image[unseen_rows], dtype=np.float32))
    g = dgl.add_nodes(hom.g, n_unseen, data={
        "feat": feat, "ntype": torch.full((n_unseen,), image_type, dtype=torch.int64)})
    return dgl.add_edges(g, torch.from_numpy(np.asarray(src, np.int64)), torch.from_numpy(np.asarray(dst, np.int64)))
