"""Reference baselines (engine.baselines): label priors and a CLIP ridge probe."""

import dataclasses
import json

import numpy as np
import pytest

from engine.data.dataset import csr_from_lists
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.features.bundle import precomputed_features
from engine.graph.split import split_images
from engine.methods.baselines import (
    BASELINES,
    LAMBDA_GRID,
    BaselineInput,
    baseline_scores,
    fit_ridge_probe,
    probability_to_score,
    probe_to_score,
    score_scale,
)


@pytest.fixture(scope="module")
def world(tiny_world):
    return tiny_world, precomputed_features(tiny_world)


@pytest.fixture(scope="module")
def split(world):
    return split_images(world[0].n_images, seed=0)


def make_input(ds, feats, split) -> BaselineInput:
    return BaselineInput(ds, feats, split.train, split.val, np.concatenate([split.val, split.test]))


def with_labels(ds, row: int, keywords: list[int]):
    """A copy of ``ds`` in which image ``row`` carries exactly ``keywords``."""
    lists = [list(ds.image_keywords(i)) for i in range(ds.n_images)]
    lists[row] = keywords
    indptr, indices = csr_from_lists(lists)
    return dataclasses.replace(ds, kw_indptr=indptr, kw_indices=indices)


def test_registry_order_and_scales():
    assert list(BASELINES) == ["prior", "scene_prior", "clip_probe", "knn", "scene_probe"]
    assert "2p - 1" in score_scale("prior") and "tanh" in score_scale("clip_probe")
    assert "cosine" in score_scale("clip") and "cosine" in score_scale("sage_scene")


def test_prior_is_the_training_prevalence_exactly(world, split):
    ds, feats = world
    inp = make_input(ds, feats, split)
    s = baseline_scores("prior", inp)
    counts = np.zeros(ds.n_keywords)
    for r in split.train:
        counts[ds.image_keywords(r)] += 1
    want = (2.0 * (counts / len(split.train)) - 1.0).astype(np.float32)
    assert s.shape == (len(inp.eval_rows), ds.n_keywords)
    np.testing.assert_array_equal(s, np.broadcast_to(want, s.shape))
    # not the prevalence over all images (the split matters)
    assert not np.allclose(s[0], probability_to_score(ds.prevalence()))


def test_scene_prior_values_and_missing_scene(world, split):
    ds, feats = world
    ds = dataclasses.replace(ds, image_scene=ds.image_scene.copy())
    gone = int(split.test[0])
    ds.image_scene[gone] = -1  # an unseen image without a scene gets the global prior
    inp = make_input(ds, feats, split)
    s = baseline_scores("scene_prior", inp)
    y = ds.label_matrix()[split.train].toarray()
    p = y.mean(axis=0)
    j = int(np.nonzero(inp.eval_rows == gone)[0][0])
    np.testing.assert_allclose(s[j], 2 * p - 1, atol=1e-6)
    k = 0 if int(inp.eval_rows[0]) != gone else 1
    sc = ds.image_scene[inp.eval_rows[k]]
    in_scene = ds.image_scene[split.train] == sc
    want = (y[in_scene].sum(axis=0) + p) / (in_scene.sum() + 1)  # add-one toward the prior
    np.testing.assert_allclose(s[k], 2 * want - 1, atol=1e-6)
    assert not np.allclose(s[k], 2 * p - 1, atol=1e-3)


@pytest.mark.parametrize("name", ["prior", "scene_prior", "clip_probe"])
def test_labels_of_test_images_never_change_a_score(world, split, name):
    ds, feats = world
    base = baseline_scores(name, make_input(ds, feats, split))
    changed = ds
    for r in split.test[:20]:
        changed = with_labels(changed, int(r), [] if len(ds.image_keywords(r)) else [0, 1, 2])
    after = baseline_scores(name, make_input(changed, feats, split))
    np.testing.assert_array_equal(base, after)
    # while a training image's labels do change them (the test can fail)
    r = int(split.train[0])
    moved = with_labels(ds, r, [k for k in range(ds.n_keywords) if k not in ds.image_keywords(r)])
    assert not np.array_equal(base, baseline_scores(name, make_input(moved, feats, split)))


def _correlated(n, rng):
    x1 = rng.normal(size=n)
    x2 = 0.9 * x1 + np.sqrt(1 - 0.81) * rng.normal(size=n)
    return np.stack([x1, x2], axis=1)


def test_probe_penalty_is_chosen_on_validation():
    """Train labels follow x1; x2 is correlated with x1. Little shrinkage keeps the
    least-squares direction (~x1), strong shrinkage turns it toward the covariance
    direction X^T y (~x1 + 0.9 x2). Validation labels along one or the other must
    pick a weak or the strongest penalty; test data is never an input."""
    rng = np.random.default_rng(0)
    x_tr = _correlated(2000, rng)
    y_tr = (x_tr[:, :1] > 0).astype(float)
    x_val = _correlated(1000, rng)
    along_ols = (x_val[:, :1] > 0).astype(float)
    along_cov = (x_val[:, :1] + 0.9 * x_val[:, 1:] > 0).astype(float)
    a = fit_ridge_probe(x_tr, y_tr, x_val, along_ols)
    b = fit_ridge_probe(x_tr, y_tr, x_val, along_cov)
    assert set(a.val_auc) == set(LAMBDA_GRID)
    # same training data, only the validation labels differ -> a different penalty
    assert a.lam_factor < b.lam_factor == max(LAMBDA_GRID)
    for probe in (a, b):  # the chosen one has the best validation AUC (ties: stronger penalty)
        best = max(probe.val_auc.values())
        assert probe.val_auc[probe.lam_factor] == best
        assert all(v < best for f, v in probe.val_auc.items() if f > probe.lam_factor)
    assert a.val_auc[a.lam_factor] > a.val_auc[max(LAMBDA_GRID)]
    assert b.val_auc[max(LAMBDA_GRID)] > b.val_auc[min(LAMBDA_GRID)]
    # closed form: the chosen weights solve (Xc^T Xc + lam I) W = Xc^T yc
    xc = x_tr - x_tr.mean(axis=0)
    w = np.linalg.solve(xc.T @ xc + a.lam * np.eye(2), xc.T @ (y_tr - y_tr.mean(axis=0)))
    np.testing.assert_allclose(a.weights, w, rtol=1e-8, atol=1e-12)


def test_probe_validation_labels_matter_in_the_experiment_path(world, split):
    ds, feats = world
    inp = make_input(ds, feats, split)
    img = feats.image
    probe = fit_ridge_probe(img[split.train], inp.labels(split.train), img[split.val], inp.labels(split.val))
    assert probe.lam_factor in LAMBDA_GRID and np.isfinite(list(probe.val_auc.values())).all()
    want = probe_to_score(probe.predict(img[inp.eval_rows]))
    np.testing.assert_array_equal(baseline_scores("clip_probe", inp), want)


def test_scores_lie_in_minus_one_one(world, split):
    ds, feats = world
    inp = make_input(ds, feats, split)
    for name in BASELINES:
        s = baseline_scores(name, inp)
        assert s.dtype == np.float32 and s.min() >= -1.0 and s.max() <= 1.0 and np.isfinite(s).all()
    y = np.array([-1e6, -3.0, 0.0, 0.5, 1.0, 4.0, 1e6])
    s = probe_to_score(y)
    assert s.min() >= -1 and s.max() <= 1 and s[3] == 0 and np.all(np.diff(s) >= 0)
    np.testing.assert_array_equal(probability_to_score(np.array([0.0, 0.5, 1.0])), [-1.0, 0.0, 1.0])


def test_same_input_gives_identical_scores(world, split):
    ds, feats = world
    for name in BASELINES:
        a = baseline_scores(name, make_input(ds, feats, split))
        b = baseline_scores(name, make_input(ds, feats, split_images(ds.n_images, seed=0)))
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def run_with(world):
    ds, feats = world
    cfg = ExperimentConfig(hidden=32, out_dim=512, epochs=1, batch_size=128, strategies=("self",), seeds=2)
    return run_experiment(ds, feats, cfg)


def _schema(d):
    return {k: _schema(v) for k, v in d.items()} if isinstance(d, dict) and "mean" not in d else sorted(d)


def test_experiment_reports_baselines_like_clip(run_with, world):
    ds, feats = world
    r = run_with
    assert r.methods == ["clip", "prior", "scene_prior", "clip_probe", "knn", "scene_probe", "sage_self"]
    for m in ("prior", "scene_prior", "clip_probe"):
        assert _schema(r.metrics[m]) == _schema(r.metrics["clip"])
        assert set(r.per_keyword[m]) == set(r.per_keyword["clip"]) and m in r.roc and m in r.best_threshold
        assert len(r.metrics[m]["micro_auc"]["runs"]) == 2
        assert m not in r.embedding_stats and m not in r.image_embeddings
        # the arrays are those of the first seed's split
        split = split_images(ds.n_images, seed=0)
        inp = BaselineInput(ds, feats, split.train, split.val, r.eval_rows)
        np.testing.assert_array_equal(r.scores_on(m, "raw"), baseline_scores(m, inp))
    assert r.metrics["prior"]["macro_auc"]["mean"] == pytest.approx(0.5)  # constant within a keyword
    assert r.metrics["clip_probe"]["micro_auc"]["mean"] > r.metrics["prior"]["micro_auc"]["mean"]
    js = json.loads(json.dumps(r.to_json(), allow_nan=False))
    assert list(js["methods"]) == r.methods and set(js["score_scales"]) == set(r.methods)


def test_no_baselines_and_old_run_folders(run_with, world, tmp_path):
    from engine.experiment.store import load_run, save_run

    ds, feats = world
    off = run_experiment(ds, feats, ExperimentConfig(hidden=32, out_dim=512, epochs=1, batch_size=128,
                                                     strategies=("self",), baselines=False))
    assert off.methods == ["clip", "sage_self"]
    assert set(off.scores) == set(off.metrics) == {"clip", "sage_self"}
    for res, want in ((off, False), (run_with, True)):
        folder = save_run(res, tmp_path / f"run-{want}")
        cfg = json.loads((folder / "config.json").read_text())
        assert cfg["baselines"] is want
        del cfg["baselines"]  # as written before baselines existed
        (folder / "config.json").write_text(json.dumps(cfg))
        back = load_run(folder)
        assert back.methods == res.methods and back.config.baselines is want


def test_cli_flag_turns_baselines_off():
    import argparse

    from mmkg_tui.cli.commands import run as run_cmd

    p = argparse.ArgumentParser()
    run_cmd.configure(p)
    assert run_cmd.config_from_args(p.parse_args([])).baselines is True
    assert run_cmd.config_from_args(p.parse_args(["--no-baselines"])).baselines is False
    cfg = ExperimentConfig(baselines=False)
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    assert ExperimentConfig.from_dict({"epochs": 3}).baselines is True  # missing key: the default


def test_baselines_flag_must_be_a_bool():
    from engine.core.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        ExperimentConfig(baselines="yes").validate()
    assert err.value.field == "baselines" and err.value.hint


# ------------------------------------------------------------- knn and the blend
def test_knn_probabilities_are_label_fractions_of_the_nearest_training_images():
    from engine.methods.baselines import knn_probabilities

    x_train = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    y_train = np.array([[1, 0], [1, 1], [0, 1], [0, 1]], dtype=float)
    q = np.array([[1.0, 0.05], [0.05, 1.0]])
    got = knn_probabilities(x_train, y_train, q, (1, 2, 3))
    np.testing.assert_allclose(got[1], [[1, 0], [0, 1]])
    np.testing.assert_allclose(got[2], [[1, 0.5], [0, 1]])  # query 0: rows 0, 1; query 1: rows 2, 3
    np.testing.assert_allclose(got[3], [[2 / 3, 2 / 3], [1 / 3, 1]])
    small_budget = knn_probabilities(x_train, y_train, q, (1, 2, 3), budget=1)  # one query per block
    for k in (1, 2, 3):
        np.testing.assert_allclose(small_budget[k], got[k])


def test_choose_on_validation_takes_the_best_and_the_first_on_ties():
    from engine.methods.baselines import choose_on_validation

    assert choose_on_validation((5, 10, 20), {5: 0.3, 10: 0.5, 20: 0.5}.get)[0] == 10
    assert choose_on_validation((5, 10), lambda k: float("nan"))[0] == 5


def test_knn_picks_k_on_validation_and_scores_like_the_chosen_k(world, split):
    from engine.methods.baselines import KNN_GRID, knn_probabilities, mean_average_precision

    ds, feats = world
    inp = make_input(ds, feats, split)
    x, ytr = feats.image[split.train], inp.labels(split.train)
    val = knn_probabilities(x, ytr, feats.image[split.val], KNN_GRID)
    best_k = max(KNN_GRID, key=lambda k: (mean_average_precision(inp.labels(split.val), val[k]), -k))
    want = knn_probabilities(x, ytr, feats.image[inp.eval_rows], (best_k,))[best_k]
    np.testing.assert_array_equal(baseline_scores("knn", inp), probability_to_score(want))


def test_scene_probe_blend_lies_between_its_parts(world, split):
    from engine.methods.baselines import BLEND_GRID

    ds, feats = world
    inp = make_input(ds, feats, split)
    blend = (baseline_scores("scene_probe", inp) + 1) / 2
    scene = (baseline_scores("scene_prior", inp) + 1) / 2
    probe = fit_ridge_probe(feats.image[split.train], inp.labels(split.train), feats.image[split.val],
                            inp.labels(split.val)).predict(feats.image[inp.eval_rows]).clip(0, 1)
    fits = [w for w in BLEND_GRID if np.allclose(blend, w * scene + (1 - w) * probe, atol=1e-6)]
    assert len(fits) == 1  # exactly one weight of the grid reproduces it


def test_baselines_that_need_scenes_say_so():
    from engine.methods.baselines import NEEDS

    assert NEEDS == {"prior": (), "scene_prior": ("scenes",), "clip_probe": (), "knn": (), "scene_probe": ("scenes",)}
