"""Train as you test: give training images the context unseen images get.

An unseen image reconnected by the ``cosine`` strategy aggregates its k most
similar TRAINING images. ``add_image_neighbours`` gives every training image the
same kind of in-edges: from its k most similar OTHER training images (CLIP
cosine), so the model learns to use them. The edges are appended after the
existing ones (existing edge ids, ``train_eids`` and their reverses unchanged);
each new edge is its own entry in ``reverse_eids`` (it is never a training
target, so nothing pairs with it).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from engine.graph.homogeneous import HomGraph


def nearest_training_images(features_image: np.ndarray, rows: np.ndarray, k: int, *,
                            block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst) local indices into ``rows``: each row's k most similar OTHER rows."""
    x = torch.from_numpy(np.ascontiguousarray(features_image[rows], dtype=np.float32))
    n = x.shape[0]
    k = min(int(k), n - 1)
    if k < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    src, dst = [], []
    for start in range(0, n, block):
        sims = x[start:start + block] @ x.T
        idx = torch.arange(start, min(n, start + block))
        sims[torch.arange(idx.numel()), idx] = -float("inf")  # never itself
        nb = torch.topk(sims, k, dim=1).indices
        src.append(nb.reshape(-1).numpy())
        dst.append(idx.repeat_interleave(k).numpy())
    return np.concatenate(src).astype(np.int64), np.concatenate(dst).astype(np.int64)


def add_image_neighbours(hom: HomGraph, features_image: np.ndarray, k: int) -> HomGraph:
    """``hom`` plus image -> image edges from each training image's k nearest others."""
    import dgl

    src, dst = nearest_training_images(features_image, hom.image_rows, k)
    if not len(src):
        return hom
    lo = hom.offsets["image"]
    n_old = hom.g.num_edges()
    g = dgl.add_edges(hom.g, torch.from_numpy(src + lo), torch.from_numpy(dst + lo))
    reverse = torch.cat([hom.reverse_eids, torch.arange(n_old, g.num_edges(), dtype=torch.int64)])
    return replace(hom, g=g, reverse_eids=reverse)
