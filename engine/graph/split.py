"""Seeded train / validation / test split of the images, and the training graph.

Validation and test images are *unseen*: they and every edge that touches them are
removed from the training graph (keyword, scene and attribute nodes all stay, so
keyword embeddings exist for every keyword). Their keyword edges are the ground
truth of the evaluation and are never used to reconnect them (engine.reconnect).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.errors import ConfigError

TRAIN, VAL, TEST = 0, 1, 2


@dataclass
class Split:
    assignment: np.ndarray  # (N,) int8: 0 train, 1 validation, 2 test

    def rows(self, part: int) -> np.ndarray:
        return np.nonzero(self.assignment == part)[0].astype(np.int64)

    @property
    def train(self) -> np.ndarray:
        return self.rows(TRAIN)

    @property
    def val(self) -> np.ndarray:
        return self.rows(VAL)

    @property
    def test(self) -> np.ndarray:
        return self.rows(TEST)


def check_fractions(fractions) -> tuple[float, float, float]:
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or any(not np.isfinite(f) or f <= 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ConfigError(f"split fractions must be three positive numbers summing to 1, got {fractions}",
                          field="split", hint="e.g. 0.7,0.15,0.15 (train, validation, test)")
    return fr  # type: ignore[return-value]


def split_images(n_images: int, fractions=(0.7, 0.15, 0.15), seed: int = 0) -> Split:
    """Shuffle image rows with ``np.random.default_rng(seed)`` and cut them 70/15/15.

    Each part gets at least one image when there are at least three images.
    """
    fr = check_fractions(fractions)
    if n_images < 3:
        raise ConfigError(f"need at least 3 images to split into train/validation/test, got {n_images}",
                          field="split", hint="use a larger dataset")
    perm = np.random.default_rng([seed, 1013]).permutation(n_images)
    n_val = max(1, int(round(fr[1] * n_images)))
    n_test = max(1, int(round(fr[2] * n_images)))
    n_train = n_images - n_val - n_test
    if n_train < 1:
        raise ConfigError("the split leaves no training image", field="split",
                          hint="give training a larger fraction")
    assignment = np.zeros(n_images, dtype=np.int8)
    assignment[perm[n_train:n_train + n_val]] = VAL
    assignment[perm[n_train + n_val:]] = TEST
    return Split(assignment)


def training_graph(g, train_rows: np.ndarray):
    """The heterograph restricted to the training images (all other nodes kept).

    Image node ``i`` of the result is dataset row ``train_rows[i]`` (``train_rows``
    sorted); the result's ``ndata[dgl.NID]``/``edata[dgl.EID]`` map back to ``g``.
    Every edge touching a non-training image is gone with its image.
    """
    import dgl
    import torch

    train_rows = np.sort(np.asarray(train_rows, dtype=np.int64))
    nodes = {nt: torch.arange(g.num_nodes(nt), dtype=torch.int64) for nt in g.ntypes}
    nodes["image"] = torch.from_numpy(train_rows)
    feats = _same_shape_features(g, FEATURE)
    if feats is None:
        return dgl.node_subgraph(g, nodes, store_ids=True)
    lg = g.local_var()  # dropping the feature here leaves g untouched
    for nt in g.ntypes:
        lg.nodes[nt].data.pop(FEATURE)
    sub = dgl.node_subgraph(lg, nodes, store_ids=True)
    _attach_stacked_features(sub, feats, FEATURE)
    return sub


#: the node feature that ``training_graph`` stores once for all node types
FEATURE = "feat"


def _same_shape_features(g, key: str):
    """{ntype: tensor} when every node type has a 2-D ``key`` feature of one width and dtype, else None."""
    feats = {nt: g.nodes[nt].data.get(key) for nt in g.ntypes}
    if not feats or any(f is None or f.dim() != 2 for f in feats.values()):
        return None
    if len({(f.shape[1], f.dtype) for f in feats.values()}) != 1:
        return None
    return feats


def _attach_stacked_features(sub, feats: dict, key: str) -> None:
    """Gather each node type's ``key`` rows (by the subgraph's stored ids) into ONE
    tensor, node types stacked in ``sub.ntypes`` order, and give each type its row
    range as a view: ``engine.sampling.to_homogeneous`` then uses that tensor as the
    homogeneous feature instead of copying all features again (~1.4 GB at 1M images)."""
    import dgl
    import torch

    first = next(iter(feats.values()))
    counts = [sub.num_nodes(nt) for nt in sub.ntypes]
    stacked = torch.empty(sum(counts), first.shape[1], dtype=first.dtype)
    off = 0
    for nt, c in zip(sub.ntypes, counts):
        rows = stacked[off:off + c]
        torch.index_select(feats[nt], 0, sub.nodes[nt].data[dgl.NID], out=rows)
        sub.nodes[nt].data[key] = rows
        off += c
