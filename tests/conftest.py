import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DGLBACKEND", "pytorch")

import pytest

# The engine thread must be the first user of DGL's per-thread RNG in this process, as
# in a CLI or app run, whichever test happens to sample first (see engine/train.py).
from engine.core.thread import claim_dgl_rng  # noqa: E402

claim_dgl_rng()


@pytest.fixture(scope="session")
def tiny_world():
    """A small synthetic listing world (SYNTHETIC) with precomputed embeddings."""
    from engine.data.synthetic.world import make_world

    return make_world(400, seed=3)


@pytest.fixture(scope="module")
def tiny_training(tiny_world):
    """(features, seed-0 split, homogeneous training graph) of tiny_world."""
    from engine.features.bundle import precomputed_features
    from engine.graph.homogeneous import to_homogeneous
    from engine.graph.knowledge import build_graph
    from engine.graph.split import split_images, training_graph

    feats = precomputed_features(tiny_world)
    kg = build_graph(tiny_world, feats)
    sp = split_images(tiny_world.n_images, seed=0)
    return feats, sp, to_homogeneous(training_graph(kg.g, sp.train), sp.train)


@pytest.fixture(scope="module")
def hom(tiny_training):
    """The homogeneous training graph of tiny_world (seed-0 split)."""
    return tiny_training[2]
