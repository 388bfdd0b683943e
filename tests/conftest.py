import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DGLBACKEND", "pytorch")

import pytest


@pytest.fixture(scope="session")
def tiny_world():
    """A small synthetic listing world (SYNTHETIC) with precomputed embeddings."""
    from engine.synthetic import make_world

    return make_world(400, seed=3)
