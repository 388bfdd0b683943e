"""api.operating_thresholds: the global and per-keyword operating points of a run,
chosen on validation rows, on either scale, saved in arrays.npz and loaded back."""

from __future__ import annotations

import numpy as np
import pytest

from engine import api
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.features.bundle import precomputed_features


@pytest.fixture(scope="module")
def run(tiny_world):
    cfg = ExperimentConfig(hidden=32, epochs=1, batch_size=128, seeds=1, strategies=("self",))
    return run_experiment(tiny_world, precomputed_features(tiny_world), cfg)


def _best_per_column(scores, labels, fallback):
    """Brute force, column by column: every distinct score as a threshold, exact F1
    = 2 TP / (predicted + positives), the lowest threshold among equal F1."""
    out = []
    for k in range(labels.shape[1]):
        y, s = labels[:, k], scores[:, k].astype(np.float64)
        if not 0 < y.sum() < len(y):
            out.append(fallback)
            continue
        f1 = {t: 2 * (y & (s >= t)).sum() / ((s >= t).sum() + y.sum()) for t in np.unique(s)}
        top = max(f1.values())
        out.append(min(t for t, v in f1.items() if v == top))
    return np.asarray(out)


@pytest.mark.parametrize("scale", ["calibrated", "raw"])
def test_per_keyword_thresholds_are_each_columns_validation_best(run, scale):
    vm = run.val_mask()
    k = len(run.keywords)
    for m in run.methods:
        glob = api.operating_thresholds(run, m, "global", scale=scale)
        assert glob.shape == (k,) and np.all(glob == run.best_thresholds[scale][m])
        per = api.operating_thresholds(run, m, "per_keyword", scale=scale)
        want = _best_per_column(run.scores_on(m, scale)[vm], run.labels[vm], run.best_thresholds[scale][m])
        np.testing.assert_allclose(per, want, rtol=1e-6)
    per = api.operating_thresholds(run, "clip", "per_keyword", scale=scale)
    assert len(set(np.round(per, 6))) > 3  # really one per keyword


def test_default_scale_is_the_runs_and_matches_the_saved_vector(run, tmp_path):
    for m in run.methods:
        np.testing.assert_array_equal(api.operating_thresholds(run, m, "per_keyword"), run.per_keyword[m]["threshold"])
        np.testing.assert_array_equal(api.operating_thresholds(run, m, "per_keyword"),
                                      api.operating_thresholds(run, m, "per_keyword", scale=run.score_scale))
    back = api.load_run(api.save_run(run, tmp_path / "run"))
    for m in run.methods:
        for mode in api.THRESHOLD_MODES:
            for scale in api.SCORE_SCALES:
                np.testing.assert_array_equal(api.operating_thresholds(back, m, mode, scale=scale),
                                              api.operating_thresholds(run, m, mode, scale=scale))


def test_bad_method_or_mode_names_the_field(run):
    with pytest.raises(api.ConfigError) as err:
        api.operating_thresholds(run, "nope", "global")
    assert err.value.field == "method"
    with pytest.raises(api.ConfigError) as err:
        api.operating_thresholds(run, "clip", "best")
    assert err.value.field == "mode" and "per_keyword" in str(err.value.hint)
