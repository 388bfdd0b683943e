import json

import numpy as np
import pytest
import torch

from engine.core.errors import DataError
from engine.data.fingerprint import dataset_fingerprint
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.experiment.records import RunResult
from engine.experiment.store import (
    default_run_dir,
    last_run_for,
    load_model_state,
    load_run,
    save_run,
)
from engine.features.bundle import precomputed_features


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MMKG_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def result(tiny_world):
    feats = precomputed_features(tiny_world)
    cfg = ExperimentConfig(hidden=32, out_dim=512, epochs=1, batch_size=128, strategies=("self", "scene"))
    return run_experiment(tiny_world, feats, cfg)


def assert_same(a: RunResult, b: RunResult):
    assert a.config == b.config and a.methods == b.methods and a.keywords == b.keywords
    assert a.image_ids == b.image_ids and a.dataset == b.dataset and a.created == b.created
    assert np.array_equal(a.split, b.split) and np.array_equal(a.eval_rows, b.eval_rows)
    assert np.array_equal(a.labels, b.labels)
    for m in a.methods:
        assert np.array_equal(a.scores[m], b.scores[m])
        assert a.best_threshold[m] == b.best_threshold[m]
        for k, v in a.per_keyword[m].items():
            np.testing.assert_array_equal(v, b.per_keyword[m][k])
        assert np.array_equal(a.roc[m][0], b.roc[m][0]) and np.array_equal(a.roc[m][1], b.roc[m][1])
    assert set(a.image_embeddings) == set(b.image_embeddings) == {"clip", "sage_self", "sage_scene"}  # baselines: none
    for m in a.image_embeddings:
        assert np.array_equal(a.image_embeddings[m], b.image_embeddings[m])
    assert json.dumps(a.metrics, sort_keys=True) == json.dumps(b.metrics, sort_keys=True)
    assert a.embedding_stats == b.embedding_stats and a.loss_history == b.loss_history
    assert np.array_equal(a.keyword_embeddings["sage"], b.keyword_embeddings["sage"])


def test_save_and_load_round_trip(result, tmp_path):
    run_dir = save_run(result, tmp_path / "run1")
    assert sorted(p.name for p in run_dir.iterdir()) == ["arrays.npz", "config.json", "metrics.json", "model.pt", "run.json"]
    back = load_run(run_dir)
    assert_same(result, back)
    assert back.model_state is None  # weights stay on disk until asked for
    state = load_model_state(run_dir)
    assert all(torch.equal(state[k], v) for k, v in result.model_state.items())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"clip", "prior", "scene_prior", "clip_probe", "knn", "scene_probe", "sage_self", "sage_scene"}


def test_interrupted_save_leaves_no_folder(result, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        save_run(result, tmp_path / "runs" / "r")
    assert list((tmp_path / "runs").iterdir()) == []


def test_interrupted_save_keeps_the_previous_run(result, tmp_path, monkeypatch):
    run_dir = save_run(result, tmp_path / "r")
    before = (run_dir / "run.json").read_bytes()
    monkeypatch.setattr(torch, "save", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_run(result, run_dir)
    assert (run_dir / "run.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.parametrize("victim", ["run.json", "config.json", "arrays.npz"])
def test_missing_or_corrupt_files_are_data_errors_naming_the_file(result, tmp_path, victim):
    run_dir = save_run(result, tmp_path / "r")
    (run_dir / victim).unlink()
    with pytest.raises(DataError) as err:
        load_run(run_dir)
    assert victim in str(err.value)
    run_dir = save_run(result, tmp_path / "r")
    (run_dir / victim).write_bytes(b"\x00garbage{")
    with pytest.raises(DataError) as err:
        load_run(run_dir)
    assert victim in str(err.value)


def test_load_run_of_a_missing_folder(tmp_path):
    with pytest.raises(DataError):
        load_run(tmp_path / "nope")


def test_default_run_dir_and_last_run_for(result, tiny_world, home):
    d1 = default_run_dir(tiny_world)
    assert d1.parent == home / "runs" / dataset_fingerprint(tiny_world)
    assert last_run_for(tiny_world) is None
    save_run(result, d1)
    d2 = default_run_dir(tiny_world)
    assert d2.name > d1.name
    save_run(result, d2)
    (d2.parent / ".half.tmp").mkdir()  # an atomic_dir leftover is never a run
    assert last_run_for(tiny_world) == d2
    (d2 / "run.json").unlink()  # incomplete -> skipped
    assert last_run_for(tiny_world) == d1
    assert last_run_for(result.dataset) == d1  # the dataset dict of a RunResult works too


def test_fingerprint_changes_with_labels(tiny_world):
    other = tiny_world.subset(np.arange(tiny_world.n_images))
    assert dataset_fingerprint(other) == dataset_fingerprint(tiny_world)
    other.kw_indices = other.kw_indices.copy()
    other.kw_indices[0] = (other.kw_indices[0] + 1) % other.n_keywords
    assert dataset_fingerprint(other) != dataset_fingerprint(tiny_world)
