"""Evaluation honesty (issue 8 §2): keywords left out of macro figures, small-sample
warnings, methods a dataset cannot run, epochs = 0."""

import dataclasses
import json

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.evaluation.caveats import evaluation_warnings, macro_exclusions
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import iter_experiment, run_experiment
from engine.features.bundle import precomputed_features
from engine.methods.catalog import method_kind, skipped_methods


def test_macro_exclusions_name_the_keyword_the_reason_and_the_seeds():
    a = np.array([[1, 0, 1], [1, 0, 0], [1, 0, 1]], dtype=bool)  # kw0 on every image, kw1 on none
    b = np.array([[0, 0, 1], [1, 1, 0], [1, 0, 1]], dtype=bool)  # seed 1: kw1 has a positive
    got = macro_exclusions([a, b], ["pool", "garage", "view"], seeds=[0, 1])
    assert got == {"pool": "every test image has it (seed 0 of 2)", "garage": "no positive test image (seed 0 of 2)"}
    assert macro_exclusions([a], ["pool", "garage", "view"], seeds=[0]) == {
        "pool": "every test image has it", "garage": "no positive test image"}


def test_warnings_count_test_images_and_positives():
    y = np.zeros((30, 12), bool)
    y[:, 0] = True
    y[:3, 1] = True
    w = evaluation_warnings([y], [f"k{i}" for i in range(12)])
    assert w[0].startswith("only 30 test images (fewer than 50)")
    assert "11 of 12 keywords have fewer than 5 positive test images" in w[1]
    assert "k2 (0), k3 (0)" in w[1] and "k1 (3)" not in w[1] and w[1].endswith("and 1 more)")  # fewest 10 named
    big = np.ones((60, 2), bool)
    assert evaluation_warnings([big], ["a", "b"]) == []


def test_epochs_zero_is_rejected_with_a_clear_error():
    with pytest.raises(ConfigError) as err:
        ExperimentConfig(epochs=0).validate()
    assert err.value.field == "epochs" and "epochs must be >= 1" in str(err.value) and err.value.hint


def test_method_kinds():
    assert method_kind("clip") == "zero_shot"
    assert method_kind("knn") == method_kind("scene_prior") == "baseline"
    assert method_kind("sage_cosine") == "learned"


@pytest.fixture(scope="module")
def sceneless(tiny_world):
    ds = dataclasses.replace(tiny_world, scenes=[], image_scene=np.full(tiny_world.n_images, -1, np.int32))
    return ds, precomputed_features(ds)


def test_methods_needing_scenes_are_skipped_with_the_reason(sceneless, tiny_world):
    ds, _ = sceneless
    cfg = ExperimentConfig()
    why = "the dataset has no scenes"
    assert skipped_methods(ds, cfg.methods) == {"scene_prior": why, "scene_probe": why, "sage_scene": why}
    assert skipped_methods(tiny_world, cfg.methods) == {}


def test_a_run_without_scenes_leaves_them_out_everywhere(sceneless):
    ds, feats = sceneless
    cfg = ExperimentConfig(hidden=32, epochs=1, batch_size=128)
    events = list(iter_experiment(ds, feats, cfg))
    res = events[-1].result
    assert res.methods == ["clip", "prior", "clip_probe", "knn", "sage_self", "sage_cosine"]
    assert res.skipped_methods == {m: "the dataset has no scenes" for m in ("scene_prior", "scene_probe", "sage_scene")}
    assert not any(getattr(e, "stage", "") == "reconnect scene" for e in events[:-1])
    js = json.loads(json.dumps(res.to_json(), allow_nan=False))
    assert set(js["methods"]) == set(res.methods) and js["skipped_methods"] == res.skipped_methods
    # 400 images -> 60 test images; keywords with fewer than 5 test positives are counted
    n_test = int(res.test_mask().sum())
    y = res.labels[res.test_mask()]
    few = int((y.sum(axis=0) < 5).sum())
    assert any(f"{few} of {ds.n_keywords} keywords have fewer than 5" in w for w in res.warnings) == (few > 0)
    assert any(w.startswith(f"only {n_test} test images") for w in res.warnings) == (n_test < 50)
    none = [k for k, c in zip(ds.keywords, y.sum(axis=0)) if c == 0]
    assert [k for k, why in res.macro_excluded.items() if why.startswith("no positive")] == none


def test_only_scene_strategy_on_a_sceneless_dataset_is_an_error_before_work(sceneless):
    ds, feats = sceneless
    with pytest.raises(ConfigError) as err:
        iter_experiment(ds, feats, ExperimentConfig(strategies=("scene",)))
    assert err.value.field == "strategies" and "no scenes" in str(err.value) and "self" in err.value.hint


def test_macro_auc_of_the_run_leaves_the_excluded_keywords_out(tiny_world):
    from sklearn.metrics import roc_auc_score

    ds = tiny_world
    res = run_experiment(ds, precomputed_features(ds), ExperimentConfig(hidden=32, epochs=1, batch_size=128,
                                                                        strategies=("self",), seeds=1))
    tm = res.test_mask()
    y, s = res.labels[tm], res.raw_scores["clip"][tm]
    kept = [k for k, name in enumerate(res.keywords) if name not in res.macro_excluded]
    assert all(y[:, k].any() and not y[:, k].all() for k in kept)
    want = np.mean([roc_auc_score(y[:, k], s[:, k]) for k in kept])
    assert res.metrics["clip"]["macro_auc"]["runs"][0] == pytest.approx(want)
