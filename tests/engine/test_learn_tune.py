"""--tune N: seeded candidates, scored on validation only, winner re-run once."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import engine.experiment.tune as tune_mod
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.features.bundle import precomputed_features
from engine.graph.split import split_images

SMALL_SPACE = {"lr": (1e-4, 3e-3), "dropout": (0.0, 0.3), "epochs": (1, 2)}


def test_candidates_are_seeded_distinct_and_start_with_the_defaults():
    a = tune_mod.draw_candidates(6, seed=0)
    assert a == tune_mod.draw_candidates(6, seed=0) and a != tune_mod.draw_candidates(6, seed=1)
    assert a[0] == {} and len({tuple(sorted(c.items())) for c in a}) == 6
    for c in a[1:]:
        assert all(c[k] in v for k, v in tune_mod.SEARCH_SPACE.items())


def test_fanout_follows_layers():
    cfg = tune_mod.apply(ExperimentConfig(), {"layers": 3})
    assert cfg.fanout == (3, 3, 3)
    cfg.validate()


def cfg(**kw):
    base = dict(hidden=32, out_dim=32, epochs=1, batch_size=256, image_batch_size=64, objective="softmax",
                train_as_test=True, tune=3, strategies=("self", "cosine"))
    base.update(kw)
    return ExperimentConfig(**base)


def scrambled_test_labels(ds, config):
    test = np.zeros(ds.n_images, bool)
    test[split_images(ds.n_images, config.split, config.seed).test] = True
    kws = [([0] if test[i] else list(ds.image_keywords(i))) for i in range(ds.n_images)]
    indptr = np.concatenate([[0], np.cumsum([len(k) for k in kws])])
    return dataclasses.replace(ds, kw_indptr=indptr, kw_indices=np.concatenate([np.asarray(k, np.int32) for k in kws]))


@pytest.fixture(scope="module")
def tuned(tiny_world):
    mp = pytest.MonkeyPatch()
    mp.setattr(tune_mod, "SEARCH_SPACE", SMALL_SPACE)
    try:
        a = run_experiment(tiny_world, precomputed_features(tiny_world), cfg())
        other = scrambled_test_labels(tiny_world, cfg())
        b = run_experiment(other, precomputed_features(other), cfg())
    finally:
        mp.undo()
    return a, b


def test_winner_is_the_best_validation_trial(tuned):
    a, _ = tuned
    assert len(a.tuning) == 3 and a.tuning[0]["overrides"] == {}
    scores = [t["validation_score"] for t in a.tuning]
    best = a.tuning[int(np.argmax(scores))]["overrides"]
    for k, v in best.items():
        assert getattr(a.config, k) == v
    assert a.to_json()["tuning"] == a.tuning


def test_test_labels_never_influence_the_search(tuned):
    a, b = tuned
    assert a.tuning == b.tuning  # same trials, same validation scores, same winner
    assert a.config == b.config
    assert a.metrics["sage_self"]["map"]["runs"] != b.metrics["sage_self"]["map"]["runs"]
