"""Calibration (engine.evaluation.calibration): Platt scaling fitted on validation rows."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from engine.evaluation.calibration import (
    MIN_POSITIVES,
    _platt_targets,
    expected_calibration_error,
    fit_calibration,
    fit_logistic_1d,
    reliability_curve,
    brier_score,
)
from engine.evaluation.metrics import evaluate_method, threshold_metrics


def well_specified(n=4000, k=3, seed=0):
    """Scores s and labels drawn with P(y | s) = sigmoid(a_k s + b_k): the true calibrator is known."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(-1, 1, size=(n, k))
    a, b = np.array([6.0, 10.0, 4.0])[:k], np.array([-1.0, -3.0, 0.5])[:k]
    p = 1 / (1 + np.exp(-(a * s + b)))
    return s, rng.random((n, k)) < p, a, b


def test_newton_fit_equals_scikit_learn_logistic_regression():
    s, y, _, _ = well_specified(n=300)
    t = _platt_targets(y)
    a, b = fit_logistic_1d(s, t)
    for k in range(s.shape[1]):
        x = np.concatenate([s[:, k], s[:, k]])[:, None]
        target = np.r_[np.ones(len(s)), np.zeros(len(s))]
        weight = np.r_[t[:, k], 1 - t[:, k]]
        ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(x, target, sample_weight=weight)
        assert a[k] == pytest.approx(ref.coef_[0, 0], rel=1e-5)
        assert b[k] == pytest.approx(ref.intercept_[0], rel=1e-5, abs=1e-6)


def test_per_keyword_fit_recovers_the_true_calibrator():
    s, y, a, b = well_specified()
    cal = fit_calibration(s, y)
    assert cal.per_keyword.all()
    np.testing.assert_allclose(cal.slope, a, rtol=0.15)
    np.testing.assert_allclose(cal.intercept, b, atol=0.35)


def test_keywords_with_few_validation_positives_share_the_pooled_fit():
    s, y, _, _ = well_specified(n=2000)
    y[:, 2] = False
    y[: MIN_POSITIVES - 1, 2] = True  # 9 positives: pooled
    cal = fit_calibration(s, y)
    assert cal.per_keyword.tolist() == [True, True, False]
    pooled = fit_logistic_1d(s.reshape(-1, 1), _platt_targets(y.reshape(-1, 1)))
    assert cal.slope[2] == pytest.approx(pooled[0][0]) and cal.intercept[2] == pytest.approx(pooled[1][0])


def test_a_backwards_keyword_never_reverses_its_ranking():
    s, y, _, _ = well_specified(n=2000)
    y[:, 1] = (-s[:, 1] + np.random.default_rng(1).normal(0, 0.3, len(s))) > 0.5  # scores rank it backwards
    cal = fit_calibration(s, y)
    assert not cal.per_keyword[1] and (cal.slope >= 0).all()
    p = cal.apply(s)
    order = np.argsort(s[:, 1])
    assert (np.diff(p[order, 1]) >= 0).all()


def test_brier_and_ece_on_known_values():
    p = np.array([[0.0, 1.0], [0.25, 0.75]])
    y = np.array([[False, True], [False, True]])
    assert brier_score(p, y) == pytest.approx(brier_score_loss(y.ravel(), p.ravel()))
    assert brier_score(p, y) == pytest.approx((0 + 0 + 0.0625 + 0.0625) / 4)
    # bins: 0.0 and 0.25 -> bins 0, 2 (fraction positive 0); 0.75, 1.0 -> bins 7, 9 (fraction 1)
    assert expected_calibration_error(p, y) == pytest.approx((0 + 0.25 + 0.25 + 0) / 4)
    mean_p, frac, n = reliability_curve(p, y)
    assert mean_p.tolist() == [0.0, 0.25, 0.75, 1.0] and frac.tolist() == [0, 0, 1, 1] and n.tolist() == [1, 1, 1, 1]


def test_calibrated_threshold_0_7_gives_precision_near_0_7_or_above_on_fresh_rows():
    s, y, _, _ = well_specified(n=8000)
    val = np.arange(len(s)) < 4000
    ev = evaluate_method(s, y, val, ~val, 0.7, scale="calibrated")
    p_test = ev.calibration.apply(s[~val])
    at = threshold_metrics(p_test, y[~val], 0.7)
    expected = p_test[p_test >= 0.7].mean()  # what a calibrated model promises for these pairs
    assert at["predicted"] > 0
    assert at["precision"] == pytest.approx(expected, abs=0.03) and at["precision"] >= 0.7 - 0.03
    assert ev.metrics.at_threshold.precision == pytest.approx(at["precision"])
    raw = evaluate_method(s, y, val, ~val, 0.7, scale="raw")
    assert raw.metrics.at_threshold.precision != pytest.approx(at["precision"])  # the scale matters
    assert raw.metrics.micro_auc == ev.metrics.micro_auc  # AUCs use raw scores on either scale
    assert ev.metrics.calibration.ece < 0.03 and raw.metrics.calibration == ev.metrics.calibration
