import json
import threading

import numpy as np
import pytest

from engine.core.errors import Cancelled, ConfigError
from engine.core.progress import StageProgress, TrainProgress
from engine.evaluation.metrics import best_f1_threshold, threshold_metrics
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import iter_experiment, run_experiment
from engine.experiment.records import ExperimentDone
from engine.features.bundle import precomputed_features


def small(**kw):
    base = dict(hidden=32, out_dim=512, epochs=2, batch_size=128)
    base.update(kw)
    return ExperimentConfig(**base)


@pytest.fixture(scope="module")
def data(tiny_world):
    return tiny_world, precomputed_features(tiny_world)


@pytest.fixture(scope="module")
def events(data):
    ds, feats = data
    return list(iter_experiment(ds, feats, small(seeds=2, epochs=1)))


@pytest.fixture(scope="module")
def result(events):
    return events[-1].result


@pytest.mark.parametrize("kw, field", [
    (dict(epochs=-1), "epochs"),
    (dict(layers=2, fanout=(3,)), "fanout"),
    (dict(layers=3, fanout=(3, 3)), "fanout"),
    (dict(strategies=("self", "telepathy")), "strategies"),
    (dict(strategies=()), "strategies"),
    (dict(threshold=1.5), "threshold"),
    (dict(threshold=-1.01), "threshold"),
    (dict(negatives=0), "negatives"),
    (dict(lr=0.0), "lr"),
    (dict(seeds=0), "seeds"),
    (dict(aggregator="median"), "aggregator"),
    (dict(split=(0.9, 0.1, 0.1)), "split"),
])
def test_invalid_config_is_rejected_before_any_work(data, kw, field):
    ds, feats = data
    with pytest.raises(ConfigError) as err:
        next(iter_experiment(ds, feats, ExperimentConfig(**kw)))
    assert err.value.field == field and err.value.hint


def test_default_config_is_valid_and_round_trips():
    cfg = ExperimentConfig()
    cfg.validate()
    assert cfg.layers == len(cfg.fanout) == 2 and cfg.negatives == 1 and cfg.threshold == 0.7
    again = ExperimentConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


def test_events_and_result_shape(events, result, data):
    ds, feats = data
    assert isinstance(events[-1], ExperimentDone)
    kinds = {type(e) for e in events[:-1]}
    assert kinds == {TrainProgress, StageProgress}
    stages = {e.stage for e in events if isinstance(e, StageProgress)}
    assert {"split", "inference", "reconnect self", "reconnect cosine", "reconnect scene", "baselines", "evaluate"} <= stages
    assert result.methods == ["clip", "prior", "scene_prior", "clip_probe", "knn", "scene_probe", "sage_self", "sage_cosine", "sage_scene"]
    M, K = len(result.eval_rows), ds.n_keywords
    for m in result.methods:
        assert result.scores[m].shape == (M, K) and result.scores[m].dtype == np.float32
        assert set(result.per_keyword[m]) >= {"precision", "recall", "f1", "support", "prevalence", "auc"}
        fpr, tpr = result.roc[m]
        assert len(fpr) == len(tpr) <= 400
    for m in ("clip", "sage_self", "sage_cosine", "sage_scene"):  # baselines have no image embeddings
        assert set(result.embedding_stats[m]) == {"mean_pairwise_cosine", "near_zero_fraction", "sparsity"}
    assert result.labels.shape == (M, K) and result.labels.dtype == bool
    assert len(result.loss_history) == 1 and result.seeds == [0, 1]
    assert result.dataset["images"] == ds.n_images and result.dataset["synthetic"] is True
    assert len(result.dataset["fingerprint"]) == 16


def test_eval_rows_are_validation_then_test_images_only(result):
    split = result.split
    assert not (split[result.eval_rows] == 0).any()
    vm, tm = result.val_mask(), result.test_mask()
    assert vm.sum() + tm.sum() == len(result.eval_rows)
    first_test = np.argmax(tm)
    assert vm[:first_test].all() and tm[first_test:].all()
    expected = result.labels.copy()
    assert expected.any()


def test_clip_scores_are_raw_clip_cosines(result, data):
    ds, feats = data
    want = feats.image[result.eval_rows] @ feats.keyword.T
    np.testing.assert_allclose(result.scores_on("clip", "raw"), want, atol=1e-5)


def test_reported_metrics_use_validation_threshold_on_test_rows(result):
    vm, tm = result.val_mask(), result.test_mask()
    for m in result.methods:
        s, y = result.scores[m], result.labels
        thr = best_f1_threshold(s[vm], y[vm])
        assert result.best_threshold[m] == pytest.approx(thr)
        first_run = result.metrics[m]["best_f1"]["f1"]["runs"][0]
        assert first_run == pytest.approx(threshold_metrics(s[tm], y[tm], thr)["f1"])
        assert result.metrics[m]["best_f1"]["threshold"]["runs"][0] == pytest.approx(thr)
        at = result.metrics[m]["at_threshold"]
        assert at["threshold"]["mean"] == 0.7
        assert at["f1"]["runs"][0] == pytest.approx(threshold_metrics(s[tm], y[tm], 0.7)["f1"])


def test_several_seeds_give_mean_std_and_runs(result):
    auc = result.metrics["clip"]["micro_auc"]
    assert len(auc["runs"]) == 2 and auc["runs"][0] != auc["runs"][1]  # each seed its own split
    assert auc["mean"] == pytest.approx(np.mean(auc["runs"]))
    assert auc["std"] == pytest.approx(np.std(auc["runs"], ddof=1))


def test_json_has_the_documented_shape(result):
    js = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert set(js) >= {"methods", "config", "dataset"}
    assert set(js["methods"]) == {"clip", "prior", "scene_prior", "clip_probe", "knn", "scene_probe", "sage_self", "sage_cosine", "sage_scene"}
    assert set(js["score_scales"]) == set(js["methods"]) and js["config"]["baselines"] is True
    for m, d in js["methods"].items():
        for name in ("micro_auc", "macro_auc", "map"):
            assert set(d[name]) == {"mean", "std", "runs"}
        for group in ("best_f1", "at_threshold"):
            assert set(d[group]) == {"threshold", "precision", "recall", "f1"}
            assert set(d[group]["f1"]) == {"mean", "std", "runs"}
    assert js["config"]["fanout"] == [3, 3] and js["dataset"]["fingerprint"]


def test_same_seed_gives_identical_metrics(data):
    ds, feats = data
    cfg = small(epochs=1, strategies=("self", "scene"))
    a = run_experiment(ds, feats, cfg)
    b = run_experiment(ds, feats, cfg)
    assert a.metrics == b.metrics  # floats compared with ==, to the last digit
    for m in a.methods:
        assert np.array_equal(a.scores[m], b.scores[m])
    assert a.loss_history == b.loss_history


def test_cancel_during_training_stops_before_the_next_step(data):
    ds, feats = data
    cancel = threading.Event()
    gen = iter_experiment(ds, feats, small(epochs=100), cancel=cancel)
    for ev in gen:
        if isinstance(ev, TrainProgress):
            break
    cancel.set()
    after = []
    with pytest.raises(Cancelled):
        for ev in gen:
            after.append(ev)
    assert after == []


def test_progress_callback_sees_every_event(data):
    ds, feats = data
    seen = []
    res = run_experiment(ds, feats, small(epochs=1, strategies=("self",)), progress=seen.append)
    assert isinstance(seen[-1], ExperimentDone) and seen[-1].result is res
    assert res.methods == ["clip", "prior", "scene_prior", "clip_probe", "knn", "scene_probe", "sage_self"]
