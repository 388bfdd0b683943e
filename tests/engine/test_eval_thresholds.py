"""Per-keyword thresholds chosen on validation rows (engine.evaluation.thresholds)."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from engine.evaluation.metrics import best_f1_threshold
from engine.evaluation.thresholds import per_keyword_threshold_metrics, per_keyword_thresholds


def test_each_keyword_gets_its_own_best_f1_threshold():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(300, 12))  # continuous: no exact F1 ties
    y = (s + rng.normal(size=s.shape)) > np.linspace(0.0, 2.0, 12)
    got = per_keyword_thresholds(s, y, fallback=0.123)
    want = [best_f1_threshold(s[:, k:k + 1], y[:, k:k + 1]) for k in range(12)]
    np.testing.assert_allclose(got, want)
    assert len(set(np.round(got, 6))) > 6  # really per keyword, not one global value


def test_keywords_without_validation_positives_fall_back():
    s = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.3]])
    y = np.array([[True, False], [False, False], [False, False]])
    got = per_keyword_thresholds(s, y, fallback=0.55)
    assert got[0] == pytest.approx(0.9) and got[1] == 0.55


def test_tied_scores_are_predicted_as_a_block():
    s = np.array([[0.5], [0.5], [0.5], [0.1]])
    y = np.array([[True], [False], [False], [True]])
    # thresholds 0.5 (predict the 3 tied rows: F1 2/6) or 0.1 (all 4 rows: F1 4/6)
    assert per_keyword_thresholds(s, y, 0.0)[0] == pytest.approx(0.1)


def test_metrics_at_per_keyword_thresholds_match_scikit_learn():
    rng = np.random.default_rng(1)
    s = rng.uniform(size=(200, 5))
    y = rng.random((200, 5)) < s
    thr = np.array([0.2, 0.4, 0.5, 0.6, 0.9])
    got = per_keyword_threshold_metrics(s, y, thr)
    pred = s >= thr
    assert got["precision"] == pytest.approx(precision_score(y.ravel(), pred.ravel()))
    assert got["recall"] == pytest.approx(recall_score(y.ravel(), pred.ravel()))
    assert got["f1"] == pytest.approx(f1_score(y.ravel(), pred.ravel()))
    assert got["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
