"""The label-error queue: out-of-fold scores never see the judged label, and the
queue finds the synthetic world's real label noise far better than chance."""

import functools

import numpy as np
import pytest
from retrieval_fixtures import features_of, hand_run

from benchmarks.retrieval_truth import noise_truth
from engine.core.errors import ConfigError
from engine.retrieval.quality import precision_at, ranking_metrics
from engine.retrieval.suspects import fold_assignment, out_of_fold_probe, rank_pairs, suspect_queue


@functools.lru_cache(maxsize=None)
def world_1200():
    """SYNTHETIC: 1200 images, seed 5."""
    from engine.data.synthetic.world import make_world

    return make_world(1200, seed=5)


def test_out_of_fold_scores_do_not_depend_on_the_judged_label(tiny_world):
    x = features_of(tiny_world).image.astype(np.float64)
    y = (tiny_world.label_matrix().toarray() > 0).astype(np.float64)
    fold = fold_assignment(len(x))
    i = int(np.nonzero(fold == 2)[0][0])
    before = out_of_fold_probe(x, y)
    y2 = y.copy()
    y2[i] = 1.0 - y2[i]  # flip every label of image i
    after = out_of_fold_probe(x, y2)
    same = fold == 2
    np.testing.assert_array_equal(before[same], after[same])  # fold 2's probe never saw image i
    assert not np.allclose(before[~same], after[~same])  # the other folds' probes did


def test_rank_pairs_missing_only_untagged_wrong_only_tagged_and_decided_left_out():
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.7]])
    labels = np.array([[False, True, True], [False, False, True]])
    missing = rank_pairs(scores, labels, "missing")
    assert [(r, c) for r, c, _ in missing] == [(0, 0), (1, 1), (1, 0)]
    wrong = rank_pairs(scores, labels, "wrong")
    assert [(r, c) for r, c, _ in wrong] == [(0, 1), (0, 2), (1, 2)]
    assert [(r, c) for r, c, _ in rank_pairs(scores, labels, "missing", 2, exclude={(0, 0)})] == [(1, 1), (1, 0)]
    with pytest.raises(ConfigError, match="unknown suspect kind"):
        rank_pairs(scores, labels, "odd")


def test_queue_beats_random_widely_against_the_generators_truth():
    ds = world_1200()
    feats = features_of(ds)
    truth = noise_truth(1200, 5, ds)
    got = {}
    for method in ("probe", "clip", "random"):
        q = suspect_queue(ds, feats, kind="missing", method=method, k=50)
        got[method] = precision_at(q.pairs(), truth.missing, 50)
        assert all(not ds.keywords.index(s.keyword) in ds.image_keywords(s.row) for s in q.suspects)
    assert got["probe"] >= 0.8, got
    assert got["probe"] >= got["random"] + 0.6, got
    wrong = suspect_queue(ds, feats, kind="wrong", method="probe", k=50)
    rand = suspect_queue(ds, feats, kind="wrong", method="random", k=50)
    assert precision_at(wrong.pairs(), truth.wrong, 50) > 2 * precision_at(rand.pairs(), truth.wrong, 50) + 0.05


def test_truth_replay_refuses_a_dataset_that_is_not_the_world(tiny_world):
    with pytest.raises(AssertionError, match="differ"):
        noise_truth(400, 4, tiny_world)  # another seed: the replayed labels cannot match


def test_decided_pairs_leave_the_queue_and_learned_needs_a_run(tiny_world):
    feats = features_of(tiny_world)
    first = suspect_queue(tiny_world, feats, kind="missing", k=3)
    decided = {(first.suspects[0].row, first.suspects[0].kw)}
    again = suspect_queue(tiny_world, feats, kind="missing", k=3, decided=decided)
    assert [s.row for s in again.suspects[:2]] == [s.row for s in first.suspects[1:]]
    with pytest.raises(ConfigError, match="need a run"):
        suspect_queue(tiny_world, feats, method="learned")
    run = hand_run(tiny_world, feats, {"sage_a": feats.image[200:400]})
    q = suspect_queue(tiny_world, feats, method="learned", run=run, k=20)
    assert q.images == 200 and all(s.row >= 200 for s in q.suspects)


def test_ranking_metrics_by_hand():
    scores = np.array([[0.9, 0.8, 0.7, 0.1]])
    rel = np.array([[False, True, False, True]])
    ndcg, recall, mrr = ranking_metrics(scores, rel, k=2)
    assert ndcg[0] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert recall[0] == pytest.approx(0.5) and mrr[0] == pytest.approx(0.5)
    ndcg, _, _ = ranking_metrics(scores, np.zeros_like(rel), k=2)
    assert np.isnan(ndcg[0])
    assert precision_at([(0, 1), (2, 3), (4, 5)], {(2, 3)}, 2) == 0.5
