"""Validation-only choices inside an experiment: early stopping and the CLIP blend
never read the test images' labels; what was chosen is recorded in the run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.experiment.validation import blend_with_clip, selection_score
from engine.features.bundle import precomputed_features
from engine.graph.split import split_images


def cfg(**kw):
    base = dict(hidden=32, out_dim=32, epochs=3, batch_size=256, image_batch_size=64, objective="softmax",
                train_as_test=True, select_metric="map", blend=True, seeds=1)
    base.update(kw)
    return ExperimentConfig(**base)


def with_test_labels_scrambled(ds, config):
    """The same dataset, but every test image gets keyword 0 only (one seed: with more,
    one seed's test images are another's training images)."""
    test = np.zeros(ds.n_images, bool)
    for s in config.seed_list:
        test[split_images(ds.n_images, config.split, s).test] = True
    kws = [([0] if test[i] else list(ds.image_keywords(i))) for i in range(ds.n_images)]
    indptr = np.concatenate([[0], np.cumsum([len(k) for k in kws])])
    indices = np.concatenate([np.asarray(k, np.int32) for k in kws])
    return dataclasses.replace(ds, kw_indptr=indptr, kw_indices=indices)


@pytest.fixture(scope="module")
def runs(tiny_world):
    config = cfg()
    other = with_test_labels_scrambled(tiny_world, config)
    a = run_experiment(tiny_world, precomputed_features(tiny_world), config)
    b = run_experiment(other, precomputed_features(other), cfg())
    return a, b


def test_choices_are_recorded_per_seed(runs):
    a, _ = runs
    for m in ("sage_self", "sage_cosine", "sage_scene"):
        ep = a.metrics[m]["chosen_epoch"]
        assert len(ep["runs"]) == 1 and all(0 <= e <= 3 and float(e).is_integer() for e in ep["runs"])
        w = a.metrics[m]["blend_weight"]
        assert len(w["runs"]) == 1 and all(0.0 <= x <= 1.0 for x in w["runs"])
    assert "chosen_epoch" not in a.metrics["clip"] and "chosen_epoch" in a.to_json()["methods"]["sage_self"]


def test_test_labels_never_influence_the_choices(runs):
    a, b = runs
    for m in ("sage_self", "sage_cosine", "sage_scene"):
        assert a.metrics[m]["chosen_epoch"]["runs"] == b.metrics[m]["chosen_epoch"]["runs"]
        assert a.metrics[m]["blend_weight"]["runs"] == b.metrics[m]["blend_weight"]["runs"]
        np.testing.assert_array_equal(a.scores[m], b.scores[m])  # every row: the same model and weight
    assert a.metrics["sage_self"]["map"]["runs"] != b.metrics["sage_self"]["map"]["runs"]  # test metrics did change


def test_blend_weight_is_chosen_on_validation_rows_only():
    rng = np.random.default_rng(0)
    labels = rng.random((40, 5)) < 0.3
    clip = labels + 0.01 * rng.random((40, 5))  # clip is perfect on every row
    learned = 1000 * rng.random((40, 5))  # noise that only w = 1 removes completely
    s, w = blend_with_clip(learned, clip, 20, labels[:20], "map")
    assert w == 1.0 and np.allclose(s, clip)
    # changing the test rows (20:) does not change the weight
    learned2, clip2 = learned.copy(), clip.copy()
    clip2[20:] = rng.random((20, 5))
    _, w2 = blend_with_clip(learned2, clip2, 20, labels[:20], "map")
    assert w2 == w
    # a useless clip on validation -> weight 0 (ties: the smaller weight)
    _, w3 = blend_with_clip(clip, np.zeros_like(clip), 20, labels[:20], "map")
    assert w3 == 0.0


def test_selection_score_mean_is_the_mean_of_three():
    from engine.evaluation.metrics import ranking_metrics

    rng = np.random.default_rng(1)
    labels = rng.random((30, 4)) < 0.4
    s = rng.random((30, 4))
    r = ranking_metrics(s, labels)
    assert selection_score(s, labels, "mean") == pytest.approx(np.mean([r["micro_auc"], r["macro_auc"], r["map"]]))
    assert selection_score(s, labels, "map") == pytest.approx(r["map"])
