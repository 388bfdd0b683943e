"""Ranking metrics (engine.evaluation.ranking) against hand counts and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import coverage_error, label_ranking_average_precision_score

from engine.evaluation.ranking import first_positive_ranks, image_ranking, keyword_retrieval


def test_precision_and_recall_at_k_by_hand():
    s = np.array([[0.9, 0.8, 0.1, 0.0, 0.3, 0.2],
                  [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                  [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])  # no true keyword: left out
    y = np.array([[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]], dtype=bool)
    got = image_ranking(s, y)
    # image 0 ranks keywords 0,1,4,5,2,3: top1 hit, top3 one hit, top5 two hits; image 1: keyword 5 first
    assert got["p_at_1"] == pytest.approx((1 + 1) / 2)
    assert got["p_at_3"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert got["p_at_5"] == pytest.approx((2 / 5 + 1 / 5) / 2)
    assert got["r_at_1"] == pytest.approx((1 / 2 + 1) / 2)
    assert got["r_at_5"] == pytest.approx((1 + 1) / 2)
    assert got["lrap"] == pytest.approx(label_ranking_average_precision_score(y[:2], s[:2]))
    assert got["coverage"] == pytest.approx(coverage_error(y[:2], s[:2]))


def test_keyword_retrieval_mrr_and_hits():
    s = np.array([[0.9, 0.1], [0.8, 0.9], [0.1, 0.8], [0.0, 0.7]])
    y = np.array([[False, False], [True, False], [False, False], [False, True]])
    # keyword 0: positive image ranked 2nd; keyword 1: 3rd
    np.testing.assert_allclose(first_positive_ranks(s, y), [2, 3])
    got = keyword_retrieval(s, y)
    assert got["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert got["hits_at_1"] == 0.0 and got["hits_at_10"] == 1.0


def test_constant_scores_are_not_rewarded_for_row_order():
    s = np.full((10, 1), 0.3)
    y = np.zeros((10, 1), bool)
    y[0] = True  # the first row: a stable sort would rank it first
    assert first_positive_ranks(s, y)[0] == pytest.approx(1 + 9 / 2)


def test_lrap_and_coverage_equal_scikit_learn_with_ties():
    rng = np.random.default_rng(4)
    s = np.round(rng.uniform(size=(200, 9)), 1)  # many tied scores
    y = rng.random((200, 9)) < 0.3
    y[y.sum(axis=1) == 0, 0] = True
    got = image_ranking(s, y)
    assert got["lrap"] == pytest.approx(label_ranking_average_precision_score(y, s))
    assert got["coverage"] == pytest.approx(coverage_error(y, s))
