"""The multi-modal knowledge graph as a DGL heterograph.

Node types: ``image``, ``keyword``, ``scene``, ``attribute`` (binned numeric
attribute values such as 'price 500k-750k'). Every edge type has its reverse, and
edge ``i`` of a type and edge ``i`` of its reverse are the same link, so the
reverse-edge id map is the identity per pair (``reverse_etypes``); samplers use it
to exclude a training edge's reverse and avoid leakage.

All node features are in one CLIP space: ``g.nodes[nt].data['feat']``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

os.environ.setdefault("DGLBACKEND", "pytorch")

import numpy as np
import torch

from engine.data.attributes import AttributeBins, bin_attributes
from engine.data.dataset import Dataset
from engine.features.bundle import Features

NODE_TYPES = ("image", "keyword", "scene", "attribute")
HAS_KEYWORD = ("image", "has_keyword", "keyword")
KEYWORD_OF = ("keyword", "keyword_of", "image")
IN_SCENE = ("image", "in_scene", "scene")
SCENE_OF = ("scene", "scene_of", "image")
HAS_ATTRIBUTE = ("image", "has_attribute", "attribute")
ATTRIBUTE_OF = ("attribute", "attribute_of", "image")
SIMILAR = ("image", "similar", "image")
REVERSE_ETYPES = {
    "has_keyword": "keyword_of", "keyword_of": "has_keyword",
    "in_scene": "scene_of", "scene_of": "in_scene",
    "has_attribute": "attribute_of", "attribute_of": "has_attribute",
}


@dataclass
class KnowledgeGraph:
    g: "dgl.DGLHeteroGraph"  # noqa: F821
    image_ids: list[str]  # row i of the image nodes
    keywords: list[str]
    scenes: list[str]
    attribute_labels: list[str]
    reverse_etypes: dict[str, str] = field(default_factory=lambda: dict(REVERSE_ETYPES))

    def node_counts(self) -> dict[str, int]:
        return {nt: int(self.g.num_nodes(nt)) for nt in self.g.ntypes}

    def edge_counts(self) -> dict[str, int]:
        return {et: int(self.g.num_edges(et)) for et in self.g.etypes}


def edge_arrays(dataset: Dataset, bins: AttributeBins) -> dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]:
    """The (src, dst) arrays of every forward edge type, before any DGL call."""
    n = dataset.n_images
    kw_src = np.repeat(np.arange(n, dtype=np.int64), np.diff(dataset.kw_indptr))
    kw_dst = dataset.kw_indices.astype(np.int64)
    has_scene = np.nonzero(dataset.image_scene >= 0)[0].astype(np.int64)
    sc_dst = dataset.image_scene[has_scene].astype(np.int64)
    return {
        HAS_KEYWORD: (kw_src, kw_dst),
        IN_SCENE: (has_scene, sc_dst),
        HAS_ATTRIBUTE: (bins.image_node, bins.attr_node),
    }


def similar_image_edges(image: np.ndarray, threshold: float, max_block_bytes: int = 256 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j), i != j, with cosine(image_i, image_j) >= threshold, both directions.

    Computed block by block (rows x all), never as a full N x N matrix.
    """
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    n = x.shape[0]
    block = max(1, min(n, max_block_bytes // max(4 * n, 1)))
    src, dst = [], []
    for start in range(0, n, block):
        sims = x[start : start + block] @ x.T
        rows, cols = torch.nonzero(sims >= threshold, as_tuple=True)
        rows = rows + start
        keep = rows != cols
        src.append(rows[keep].numpy())
        dst.append(cols[keep].numpy())
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(src).astype(np.int64), np.concatenate(dst).astype(np.int64)


def build_graph(dataset: Dataset, features: Features | None, *, image_similarity: float | None = None) -> KnowledgeGraph:
    """Dataset + features -> KnowledgeGraph. ``image_similarity`` adds image-image
    edges for CLIP cosine >= that value (off by default).

    With ``features=None`` only the structure is built (no 'feat' data): enough for
    counts (`mmkg-tui info`) without any model.
    """
    import dgl

    bins = features.bins if features is not None else bin_attributes(dataset)
    arrays = edge_arrays(dataset, bins)
    data = {}
    for (s, e, d), (src, dst) in arrays.items():
        data[(s, e, d)] = (torch.from_numpy(src), torch.from_numpy(dst))
        data[(d, REVERSE_ETYPES[e], s)] = (torch.from_numpy(dst), torch.from_numpy(src))
    if image_similarity is not None:
        if features is None:
            raise ValueError("image-image similarity edges need features")
        src, dst = similar_image_edges(features.image, image_similarity)
        data[SIMILAR] = (torch.from_numpy(src), torch.from_numpy(dst))
    num_nodes = {
        "image": dataset.n_images, "keyword": dataset.n_keywords,
        "scene": dataset.n_scenes, "attribute": bins.n_nodes,
    }
    g = dgl.heterograph(data, num_nodes_dict=num_nodes, idtype=torch.int64)
    if features is None:
        return KnowledgeGraph(g, list(dataset.ids), list(dataset.keywords), list(dataset.scenes), list(bins.labels))
    g.nodes["image"].data["feat"] = torch.from_numpy(np.ascontiguousarray(features.image, dtype=np.float32))
    g.nodes["keyword"].data["feat"] = torch.from_numpy(np.ascontiguousarray(features.keyword, dtype=np.float32))
    g.nodes["scene"].data["feat"] = torch.from_numpy(np.ascontiguousarray(features.scene, dtype=np.float32).reshape(-1, features.dim))
    g.nodes["attribute"].data["feat"] = torch.from_numpy(np.ascontiguousarray(features.attribute, dtype=np.float32).reshape(-1, features.dim))
    return KnowledgeGraph(g, list(dataset.ids), list(dataset.keywords), list(dataset.scenes), list(bins.labels))
