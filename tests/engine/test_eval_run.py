"""A run's calibrated scale, JSON contract (issue 10) and run-folder round trip."""

import json

import numpy as np
import pytest

from engine.evaluation.metrics import best_f1_threshold, threshold_metrics
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.features.bundle import precomputed_features


@pytest.fixture(scope="module")
def run(tiny_world):
    cfg = ExperimentConfig(hidden=32, epochs=1, batch_size=128, seeds=2, strategies=("self",))
    return run_experiment(tiny_world, precomputed_features(tiny_world), cfg)


def test_default_scale_is_calibrated_and_both_scales_are_there(run):
    assert run.score_scale == "calibrated" and run.config.score_scale == "calibrated"
    vm, tm = run.val_mask(), run.test_mask()
    for m in run.methods:
        p, raw = run.scores[m], run.raw_scores[m]
        assert p.min() >= 0 and p.max() <= 1 and raw.min() >= -1 and raw.max() <= 1
        np.testing.assert_array_equal(run.scores_on(m, "calibrated"), p)
        np.testing.assert_array_equal(run.scores_on(m, "raw"), raw)
        np.testing.assert_array_equal(run.calibration[m].apply(raw), p)
        # every threshold of the result is on the calibrated scale, chosen on validation rows
        assert run.best_thresholds["calibrated"][m] == run.best_threshold[m] == pytest.approx(
            best_f1_threshold(p[vm], run.labels[vm]))
        assert run.best_thresholds["raw"][m] == pytest.approx(best_f1_threshold(raw[vm], run.labels[vm]))
        at = run.metrics[m]["at_threshold"]
        assert at["precision"]["runs"][0] == pytest.approx(threshold_metrics(p[tm], run.labels[tm], 0.7)["precision"])


def test_json_keeps_todays_keys_and_adds_the_new_ones(run):
    js = json.loads(json.dumps(run.to_json(), allow_nan=False))
    assert js["score_scale"] == "calibrated"
    for m, d in js["methods"].items():
        assert {"micro_auc", "macro_auc", "map", "best_f1", "at_threshold"} <= set(d)
        assert d["kind"] == {"clip": "zero_shot", "sage_self": "learned"}.get(m, "baseline")
        assert set(d["calibration"]) == {"brier", "ece"}
        assert {"p_at_1", "p_at_3", "r_at_5", "lrap", "mrr"} <= set(d["ranking"])
        assert set(d["per_keyword_threshold"]) == {"precision", "recall", "f1", "macro_f1"}
        for leaf in (d["calibration"]["brier"], d["ranking"]["mrr"], d["per_keyword_threshold"]["f1"]):
            assert set(leaf) == {"mean", "std", "runs"} and len(leaf["runs"]) == 2
    pk = js["per_keyword"]
    assert pk["keywords"] == run.keywords
    auc = pk["methods"]["clip"]["auc"]
    runs = run.per_keyword_runs["clip"]["auc"]
    assert runs.shape == (2, len(run.keywords))
    k = int(np.nonzero(np.isfinite(runs).all(axis=0))[0][0])
    assert auc["mean"][k] == pytest.approx(runs[:, k].mean()) and auc["std"][k] == pytest.approx(runs[:, k].std(ddof=1))
    assert js["comparison"]["learned"] == "sage_self" and js["comparison"]["seeds"] == 2


def test_run_folder_round_trip_keeps_both_scales(run, tmp_path):
    from engine.experiment.store import load_run, save_run

    back = load_run(save_run(run, tmp_path / "run"))
    assert back.score_scale == "calibrated" and back.best_thresholds == run.best_thresholds
    for m in run.methods:
        np.testing.assert_array_equal(back.scores_on(m, "raw"), run.scores_on(m, "raw"))
        np.testing.assert_array_equal(back.scores_on(m, "calibrated"), run.scores_on(m, "calibrated"))
        np.testing.assert_array_equal(back.per_keyword_runs[m]["f1"], run.per_keyword_runs[m]["f1"])
    assert back.comparison() == run.comparison()


def test_raw_scale_run_thresholds_raw_scores(tiny_world):
    cfg = ExperimentConfig(hidden=32, epochs=1, batch_size=128, strategies=("self",), baselines=False,
                           score_scale="raw")
    res = run_experiment(tiny_world, precomputed_features(tiny_world), cfg)
    tm = res.test_mask()
    for m in res.methods:
        np.testing.assert_array_equal(res.scores[m], res.raw_scores[m])
        assert res.metrics[m]["at_threshold"]["f1"]["runs"][0] == pytest.approx(
            threshold_metrics(res.scores[m][tm], res.labels[tm], 0.7)["f1"])
