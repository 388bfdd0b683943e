"""The IVF index (engine/retrieval/ann.py) against exact search on clustered vectors."""

from __future__ import annotations

import numpy as np
import pytest

from engine.retrieval.ann import DEFAULT_NPROBE, IVFIndex, make_index
from engine.retrieval.index import ExactIndex

N, DIM, CENTRES = 20_000, 64, 200


def clustered(n: int = N, seed: int = 0, noise: float = 0.5) -> np.ndarray:
    """n rows around CENTRES seeded unit centres plus Gaussian noise (norm ~noise), 64-d."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CENTRES, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, CENTRES, n)] + rng.standard_normal((n, DIM)).astype(np.float32) * (noise / DIM ** 0.5)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data():
    x = clustered()
    rng = np.random.default_rng(2)  # queries: perturbed index rows, so they fall in the clusters
    queries = x[rng.choice(N, 100, replace=False)] + rng.standard_normal((100, DIM)).astype(np.float32) * 0.05
    return x, queries.astype(np.float32), ExactIndex(x), IVFIndex(x, seed=0)


def recall(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(r) & set(s)) / len(s) for r, s in zip(a, b)]))


def test_recall_at_default_nprobe(data):
    x, q, exact, ivf = data
    assert ivf.nlist == round(4 * N ** 0.5) and ivf.nprobe == DEFAULT_NPROBE
    r = recall(ivf.search(q, 10).positions, exact.search(q, 10).positions)
    assert r >= 0.9
    assert recall(ivf.search(q, 10, nprobe=1).positions, exact.search(q, 10).positions) < r  # nprobe matters


def test_all_lists_probed_equals_exact(data):
    x, q, exact, ivf = data
    got, want = ivf.search(q, 10, nprobe=ivf.nlist), exact.search(q, 10)
    np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)
    same = got.positions == want.positions
    # a position may only differ where two rows tie within float rounding
    assert same.mean() > 0.99 and np.all(np.abs(got.scores - want.scores)[~same] < 1e-5)
    assert ivf.size == N and ivf.dim == DIM and ivf.nbytes >= N * DIM * 4
    np.testing.assert_allclose(ivf.vectors(np.array([5, 17])), x[[5, 17]], atol=1e-6)


def test_allowed_and_exclude_are_honoured(data):
    x, q, exact, ivf = data
    rng = np.random.default_rng(3)
    big = rng.random(N) < 0.6  # 12k allowed: searched exactly (below SMALL_ALLOWED)
    excl = exact.search(q, 1).positions[:, 0]
    got = ivf.search(q, 10, allowed=big, exclude=excl)
    want = exact.search(q, 10, allowed=big, exclude=excl)
    np.testing.assert_array_equal(got.positions, want.positions)
    np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)
    tiny = np.zeros(N, dtype=bool)
    tiny[[3, 9, 4000]] = True
    t = ivf.search(q[:2], 5, allowed=tiny, exclude=np.array([9, -1]))
    assert t.row(0) and {p for p, _ in t.row(0)} == {3, 4000} and {p for p, _ in t.row(1)} == {3, 9, 4000}
    assert (t.positions[:, 3:] == -1).all() and np.isinf(t.scores[:, 3:]).all()


def test_bitmap_selector_path(data, monkeypatch):
    import engine.retrieval.ann as ann

    x, q, exact, ivf = data
    monkeypatch.setattr(ann, "SMALL_ALLOWED", 0)  # force the faiss IDSelectorBitmap path
    allowed = np.random.default_rng(4).random(N) < 0.5
    excl = ivf.search(q, 1).positions[:, 0]
    got = ivf.search(q, 10, allowed=allowed, exclude=excl)
    kept = got.positions[got.positions >= 0]
    assert kept.size and allowed[kept].all()
    assert not (got.positions == excl[:, None]).any()
    full = ivf.search(q, 10, allowed=allowed, exclude=excl, nprobe=ivf.nlist)
    np.testing.assert_array_equal(full.positions, exact.search(q, 10, allowed=allowed, exclude=excl).positions)


def test_seeded_build_is_reproducible(data):
    x, q, _, ivf = data
    again = IVFIndex(x, seed=0)
    np.testing.assert_array_equal(again.search(q, 10).positions, ivf.search(q, 10).positions)


def test_make_index_picks_by_size():
    x = clustered(2_000)
    assert isinstance(make_index(x), ExactIndex)
    assert isinstance(make_index(x, threshold=1_000), IVFIndex)
    assert isinstance(make_index(x, kind="ivf", nlist=20), IVFIndex)
    assert isinstance(make_index(x, kind="exact", threshold=1), ExactIndex)
    with pytest.raises(ValueError, match="kind"):
        make_index(x, kind="hnsw")


def test_the_index_kind_reaches_every_space_and_the_cli_defaults_to_exact(tiny_world):
    import argparse

    from engine import api
    from engine.features.bundle import precomputed_features
    from engine.retrieval.ann import IVFIndex
    from engine.retrieval.index import ExactIndex
    from mmkg_tui.cli.commands import retrieval_common

    feats = precomputed_features(tiny_world)
    assert isinstance(api.Retrieval(tiny_world, feats, index_kind="exact").space("clip").index, ExactIndex)
    assert isinstance(api.Retrieval(tiny_world, feats, index_kind="ivf").space("clip").index, IVFIndex)
    assert isinstance(api.Retrieval(tiny_world, feats).space("clip").index, ExactIndex)  # auto, 300 images
    p = argparse.ArgumentParser()
    retrieval_common.add_common_arguments(p)
    assert p.parse_args([]).index == "exact"  # a one-off command: nothing to build
    assert p.parse_args(["--index", "ivf"]).index == "ivf"
