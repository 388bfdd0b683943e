"""Every choice is made on validation rows: replacing the TEST rows' scores and labels
by garbage (NaN, flipped labels) changes no choice (issue 10 §5)."""

import dataclasses

import numpy as np
import pytest

from engine.data.dataset import csr_from_lists
from engine.evaluation.calibration import fit_calibration
from engine.evaluation.metrics import evaluate_method
from engine.features.bundle import precomputed_features
from engine.graph.split import split_images
from engine.methods.baselines import BASELINES, BaselineInput, baseline_scores


def scored(seed=0, m=600, k=8):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(m, k)).astype(np.float32)
    y = (s + rng.normal(size=s.shape)) > 1.0
    val = np.arange(m) < m // 2
    return s, y, val


@pytest.mark.parametrize("scale", ["calibrated", "raw"])
def test_evaluate_method_chooses_from_validation_rows_only(scale):
    s, y, val = scored()
    a = evaluate_method(s, y, val, ~val, 0.7, scale=scale)
    s2, y2 = s.copy(), y.copy()
    s2[~val] = np.random.default_rng(9).normal(size=s2[~val].shape) * 100  # garbage test scores
    y2[~val] = ~y2[~val]  # every test label flipped
    b = evaluate_method(s2, y2, val, ~val, 0.7, scale=scale)
    assert a.best_threshold == b.best_threshold and a.best_thresholds == b.best_thresholds
    np.testing.assert_array_equal(a.calibration.slope, b.calibration.slope)
    np.testing.assert_array_equal(a.calibration.intercept, b.calibration.intercept)
    np.testing.assert_array_equal(a.per_keyword["threshold"], b.per_keyword["threshold"])
    assert a.metrics.validation == b.metrics.validation
    assert a.metrics.micro_auc != b.metrics.micro_auc  # the test figures did change


def test_calibrator_ignores_nan_test_rows_when_given_validation_rows():
    s, y, val = scored(1)
    s_nan = s.copy()
    s_nan[~val] = np.nan
    a, b = fit_calibration(s[val], y[val]), fit_calibration(s_nan[val], y[val])
    np.testing.assert_array_equal(a.slope, b.slope)
    assert np.isfinite(a.slope).all()


@pytest.fixture(scope="module")
def world(tiny_world):
    return tiny_world, precomputed_features(tiny_world)


def test_baselines_never_read_test_labels(world):
    """Flip the labels of every test image: each baseline (knn's k, the blend's weight,
    the probe's penalty, the priors) scores every image exactly as before."""
    ds, feats = world
    sp = split_images(ds.n_images, seed=0)
    lists = [list(ds.image_keywords(i)) for i in range(ds.n_images)]
    everything = set(range(ds.n_keywords))
    for r in sp.test:
        lists[r] = sorted(everything - set(lists[r]))
    indptr, indices = csr_from_lists(lists)
    garbage = dataclasses.replace(ds, kw_indptr=indptr, kw_indices=indices)
    rows = np.concatenate([sp.val, sp.test])
    for name in BASELINES:
        a = baseline_scores(name, BaselineInput(ds, feats, sp.train, sp.val, rows))
        b = baseline_scores(name, BaselineInput(garbage, feats, sp.train, sp.val, rows))
        np.testing.assert_array_equal(a, b, err_msg=name)
