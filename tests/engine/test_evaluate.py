import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from engine.evaluation.metrics import (
    aggregate,
    best_f1_threshold,
    embedding_stats,
    evaluate_method,
    per_keyword_metrics,
    ranking_metrics,
    roc_points,
    threshold_metrics,
)


def test_threshold_metrics_are_pooled_counts_like_sklearn_micro():
    rng = np.random.default_rng(0)
    scores = rng.uniform(-1, 1, (120, 9)).astype(np.float32)
    labels = rng.random((120, 9)) < 0.2
    got = threshold_metrics(scores, labels, 0.3)
    p, r, f, _ = precision_recall_fscore_support(labels, scores >= 0.3, average="micro", zero_division=0)
    assert got["precision"] == pytest.approx(p) and got["recall"] == pytest.approx(r) and got["f1"] == pytest.approx(f)
    pred = scores >= 0.3
    assert got["tp"] == int((pred & labels).sum()) and got["fp"] == int((pred & ~labels).sum())
    assert got["fn"] == int((~pred & labels).sum()) and got["predicted"] == int(pred.sum())
    assert got["fpr"] == pytest.approx(got["fp"] / (~labels).sum())


def test_micro_precision_is_not_a_weighted_mean():
    # keyword 0: 1 tp, 0 fp (support 1); keyword 1: 1 tp, 3 fp (support 3)
    labels = np.array([[1, 1], [0, 1], [0, 1], [0, 0], [0, 0], [0, 0]], dtype=bool)
    scores = np.array([[0.9, 0.9], [0.0, 0.0], [0.0, 0.0], [0.0, 0.9], [0.0, 0.9], [0.0, 0.9]])
    got = threshold_metrics(scores, labels, 0.5)
    assert got["precision"] == pytest.approx(2 / 5)
    weighted = precision_recall_fscore_support(labels, scores >= 0.5, average="weighted", zero_division=0)[0]
    assert weighted == pytest.approx((1.0 * 1 + 0.25 * 3) / 4)
    assert got["precision"] != pytest.approx(weighted)


def test_per_keyword_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    scores = rng.uniform(-1, 1, (80, 6))
    labels = rng.random((80, 6)) < 0.3
    labels[:, 5] = False  # a keyword without positives
    got = per_keyword_metrics(scores, labels, 0.2)
    p, r, f, s = precision_recall_fscore_support(labels, scores >= 0.2, average=None, zero_division=0)
    np.testing.assert_allclose(got["precision"], p)
    np.testing.assert_allclose(got["recall"], r)
    np.testing.assert_allclose(got["f1"], f)
    np.testing.assert_array_equal(got["support"], s)


def test_best_threshold_is_chosen_on_validation_not_test():
    # validation rows: best F1 at 0.5; test rows: best F1 would be at 0.3
    val_s = np.array([0.9, 0.6, 0.5, 0.3, 0.2])
    test_s = np.array([0.9, 0.4, 0.3, 0.25, 0.1])
    y = np.array([1, 1, 1, 0, 0], dtype=bool)
    scores = np.concatenate([val_s, test_s])[:, None]
    labels = np.concatenate([y, y])[:, None]
    val_mask = np.arange(10) < 5
    assert best_f1_threshold(val_s[:, None], y[:, None]) == pytest.approx(0.5)
    assert best_f1_threshold(test_s[:, None], y[:, None]) == pytest.approx(0.3)
    out = evaluate_method(scores, labels, val_mask, ~val_mask, user_threshold=0.7)
    assert out.best_threshold == pytest.approx(0.5)
    best = out.metrics.best_f1
    assert best.threshold == pytest.approx(0.5)
    assert best.precision == pytest.approx(1.0) and best.recall == pytest.approx(1 / 3)
    assert best.f1 == pytest.approx(0.5)  # the test-optimal threshold would give 1.0
    at = out.metrics.at_threshold
    assert at.threshold == 0.7 and at.recall == pytest.approx(1 / 3)


def test_macro_auc_skips_single_class_keywords_and_map_skips_keywords_without_positives():
    rng = np.random.default_rng(2)
    scores = rng.uniform(size=(40, 3))
    labels = rng.random((40, 3)) < 0.4
    labels[:, 2] = False  # keyword 2: only negatives in these rows
    got = ranking_metrics(scores, labels)
    expected_macro = np.mean([roc_auc_score(labels[:, k], scores[:, k]) for k in (0, 1)])
    assert got["macro_auc"] == pytest.approx(expected_macro)
    expected_map = np.mean([average_precision_score(labels[:, k], scores[:, k]) for k in (0, 1)])
    assert got["map"] == pytest.approx(expected_map)
    assert got["micro_auc"] == pytest.approx(roc_auc_score(labels.ravel(), scores.ravel()))


def test_roc_points_are_downsampled_and_span_the_square():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(300, 20))
    labels = (scores + rng.normal(size=scores.shape)) > 1.0
    fpr, tpr = roc_points(scores, labels, max_points=50)
    assert len(fpr) <= 50 and len(fpr) == len(tpr)
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()


def test_embedding_stats_on_known_cases():
    onehot = np.eye(8)[[0, 1, 2, 3]]
    st = embedding_stats(onehot)
    assert st["sparsity"] == pytest.approx(1.0)
    assert st["near_zero_fraction"] == pytest.approx(7 / 8)
    assert st["mean_pairwise_cosine"] == pytest.approx(0.0)
    dense = np.ones((5, 16))
    st = embedding_stats(dense)
    assert st["sparsity"] == pytest.approx(0.0) and st["mean_pairwise_cosine"] == pytest.approx(1.0)
    assert st["near_zero_fraction"] == 0.0


def test_aggregate_gives_mean_std_and_runs_for_nested_metrics():
    runs = [{"micro_auc": 0.8, "best_f1": {"f1": 0.5}}, {"micro_auc": 0.9, "best_f1": {"f1": 0.7}}]
    agg = aggregate(runs)
    assert agg["micro_auc"]["runs"] == [0.8, 0.9]
    assert agg["micro_auc"]["mean"] == pytest.approx(0.85)
    assert agg["micro_auc"]["std"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert agg["best_f1"]["f1"]["mean"] == pytest.approx(0.6)
    assert aggregate([{"x": 0.3}])["x"] == {"mean": 0.3, "std": 0.0, "runs": [0.3]}
