"""Exact blockwise top-k: equal to a brute-force numpy ranking, masks and exclusions honoured."""

import numpy as np
import pytest

from engine.retrieval.index import ExactIndex


def _brute(x, q, k, allowed=None, exclude=None):
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    s = qn @ xn.T
    if allowed is not None:
        s[:, ~allowed] = -np.inf
    if exclude is not None:
        s[np.arange(len(q)), exclude] = -np.inf
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


@pytest.mark.parametrize("block", [7, 64, 10_000])
def test_blockwise_topk_equals_brute_force(block):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 16)).astype(np.float32)
    q = rng.normal(size=(4, 16)).astype(np.float32)
    hits = ExactIndex(x, block=block).search(q, 10)
    want_p, want_s = _brute(x, q, 10)
    np.testing.assert_array_equal(hits.positions, want_p)
    np.testing.assert_allclose(hits.scores, want_s, rtol=1e-5, atol=1e-6)
    assert (np.diff(hits.scores, axis=1) <= 1e-7).all()  # best first


def test_allowed_mask_and_padding_when_fewer_rows_are_allowed():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 8)).astype(np.float32)
    allowed = np.zeros(50, bool)
    allowed[[3, 17, 40]] = True
    hits = ExactIndex(x, block=16).search(x[:1], 5, allowed=allowed)
    got = hits.row(0)
    assert sorted(p for p, _ in got) == [3, 17, 40]
    assert list(hits.positions[0, 3:]) == [-1, -1]
    assert np.isneginf(hits.scores[0, 3:]).all()


def test_exclude_drops_the_query_itself_and_k_is_clamped():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 8)).astype(np.float32)
    q = np.array([0, 5, 29])
    hits = ExactIndex(x, block=8).search(x[q], 100, exclude=q)
    assert hits.positions.shape == (3, 30)
    for i, p in enumerate(q):
        row = [pp for pp, _ in hits.row(i)]
        assert p not in row and len(row) == 29
    want_p, _ = _brute(x, x[q], 29, exclude=q)
    np.testing.assert_array_equal(hits.positions[:, :29], want_p)


def test_dimension_mismatch_is_refused():
    idx = ExactIndex(np.eye(4, dtype=np.float32))
    with pytest.raises(ValueError, match="dimension"):
        idx.search(np.ones((1, 3), np.float32), 2)
