import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DGLBACKEND", "pytorch")

import pytest

# The engine thread must be the first user of DGL's per-thread RNG in this process, as
# in a CLI or app run, whichever test happens to sample first (see engine/train.py).
from engine.train import claim_dgl_rng  # noqa: E402

claim_dgl_rng()


@pytest.fixture(scope="session")
def tiny_world():
    """A small synthetic listing world (SYNTHETIC) with precomputed embeddings."""
    from engine.synthetic import make_world

    return make_world(400, seed=3)
