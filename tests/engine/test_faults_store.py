"""Run folders and metrics files: mmkg-tui replaces only what it wrote, and a damaged
or wrong folder is a DataError naming the file and the field (never a KeyError)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from engine.core.errors import DataError, StorageError
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.experiment.store import (
    check_json_target,
    check_run_folder,
    check_run_target,
    find_runs,
    is_metrics_json,
    is_run_folder,
    load_run,
    save_run,
    write_metrics_json,
)
from engine.features.bundle import precomputed_features


@pytest.fixture(scope="module")
def result(tiny_world):
    feats = precomputed_features(tiny_world)
    cfg = ExperimentConfig(hidden=32, out_dim=512, epochs=1, batch_size=128, strategies=("self",), baselines=False)
    return run_experiment(tiny_world, feats, cfg)


# ----------------------------------------------------------------- never replace the user's things
def test_save_run_refuses_a_users_folder_and_file(result, tmp_path):
    docs = tmp_path / "my_documents"
    docs.mkdir()
    (docs / "thesis.txt").write_text("years of work")
    with pytest.raises(StorageError) as err:
        save_run(result, docs)
    assert str(docs) in str(err.value) and "will not be replaced" in str(err.value)
    assert (docs / "thesis.txt").read_text() == "years of work"
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    with pytest.raises(StorageError, match="not a folder"):
        save_run(result, notes)
    assert notes.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_documents", "notes.txt"]  # no leftovers


def test_save_run_replaces_an_earlier_run_and_fills_an_empty_folder(result, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    save_run(result, empty)
    assert is_run_folder(empty)
    meta = json.loads((empty / "run.json").read_text())
    assert meta["mmkg_tui"] == {"kind": "run", "format": 1}
    save_run(result, empty)  # an earlier run folder: replaced
    assert load_run(empty).methods == result.methods


def test_run_folder_from_before_the_mark_is_still_recognised(result, tmp_path):
    run = save_run(result, tmp_path / "old")
    for name in ("run.json", "metrics.json"):
        data = json.loads((run / name).read_text())
        data.pop("mmkg_tui")
        (run / name).write_text(json.dumps(data))
    assert is_run_folder(run)
    check_run_target(run)
    save_run(result, run)


def test_a_run_folder_holding_a_users_file_is_not_replaced(result, tmp_path):
    run = save_run(result, tmp_path / "r")
    (run / "my_notes.md").write_text("mine")
    with pytest.raises(StorageError, match="my_notes.md"):
        save_run(result, run)
    assert (run / "my_notes.md").read_text() == "mine"


def test_guard_runs_again_under_the_lock(result, tmp_path):
    """A folder that turns into the user's between the check and the swap is kept."""
    from engine.core import atomic

    target = tmp_path / "r"
    real = atomic._swap

    def user_moves_in(tmp, path, guard):
        path.mkdir()
        (path / "theirs.txt").write_text("x")
        return real(tmp, path, guard)

    atomic._swap = user_moves_in
    try:
        with pytest.raises(StorageError):
            save_run(result, target)
    finally:
        atomic._swap = real
    assert [p.name for p in target.iterdir()] == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_metrics_json_overwrites_only_its_own_files(result, tmp_path):
    out = tmp_path / "m.json"
    write_metrics_json(result, out)
    assert json.loads(out.read_text())["mmkg_tui"]["kind"] == "metrics" and is_metrics_json(out)
    write_metrics_json(result, out)  # its own file: replaced
    old = tmp_path / "old.json"  # written before the mark
    data = json.loads(out.read_text())
    data.pop("mmkg_tui")
    old.write_text(json.dumps(data))
    check_json_target(old)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("id,image,keywords\n")
    other_json = tmp_path / "settings.json"
    other_json.write_text('{"theme": "dark"}')
    for victim in (manifest, other_json):
        before = victim.read_bytes()
        with pytest.raises(StorageError, match="will not be overwritten"):
            write_metrics_json(result, victim)
        assert victim.read_bytes() == before
    with pytest.raises(StorageError, match="inside the run folder"):
        check_json_target(tmp_path / "run" / "m.json", run_dir=tmp_path / "run")


@pytest.mark.parametrize("target", ["/proc/nope/run", "/proc/nope/m.json"])
def test_uncreatable_parent_is_refused_up_front(target):
    with pytest.raises(StorageError) as err:
        check_run_target(target) if target.endswith("run") else check_json_target(target)
    assert target in str(err.value) and "/proc" in str(err.value)


def test_parent_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(StorageError, match="is a file, not a folder"):
        check_run_target(tmp_path / "f" / "run")


# ----------------------------------------------------------------- damaged run folders
def _damage_run_json(run, key, value):
    meta = json.loads((run / "run.json").read_text())
    meta[key] = value
    (run / "run.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("key, value, field", [
    ("methods", 42, "methods"),
    ("best_threshold", None, "best_threshold"),
    ("image_ids", "abc", "image_ids"),
    ("keywords", [1, None], "keywords.0"),
])
def test_damaged_run_json_names_file_and_field(result, tmp_path, key, value, field):
    run = save_run(result, tmp_path / "r")
    _damage_run_json(run, key, value)
    for check in (load_run, check_run_folder):
        with pytest.raises(DataError) as err:
            check(run)
        assert err.value.path == str(run / "run.json") and err.value.field == field
        assert "delete it and run" in err.value.format()


def test_a_null_threshold_of_one_method(result, tmp_path):
    run = save_run(result, tmp_path / "r")
    meta = json.loads((run / "run.json").read_text())
    meta["best_threshold"]["sage_self"] = None
    (run / "run.json").write_text(json.dumps(meta))
    with pytest.raises(DataError) as err:
        load_run(run)
    assert err.value.field == "best_threshold.sage_self"


def test_config_json_holding_a_list(result, tmp_path):
    run = save_run(result, tmp_path / "r")
    (run / "config.json").write_text("[1, 2]")
    with pytest.raises(DataError) as err:
        load_run(run)
    assert err.value.path == str(run / "config.json") and "JSON object" in err.value.message


def test_config_json_with_an_invalid_option(result, tmp_path):
    run = save_run(result, tmp_path / "r")
    cfg = json.loads((run / "config.json").read_text())
    cfg["strategies"] = ["telepathy"]
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(DataError) as err:
        load_run(run)
    assert err.value.path == str(run / "config.json")


def _rewrite_arrays(run, drop=(), change=None):
    with np.load(run / "arrays.npz") as z:
        arr = {k: z[k] for k in z.files if k not in drop}
    arr.update(change or {})
    np.savez_compressed(run / "arrays.npz", **arr)


def test_arrays_missing_a_methods_scores(result, tmp_path):
    run = save_run(result, tmp_path / "r")
    _rewrite_arrays(run, drop=("scores/sage_self",))
    for check in (load_run, check_run_folder):  # KeyError: 'sage_self' before the fix
        with pytest.raises(DataError) as err:
            check(run)
        assert err.value.path == str(run / "arrays.npz") and err.value.field == "scores/sage_self"


def test_arrays_with_a_wrong_shape(result, tmp_path):
    run = save_run(result, tmp_path / "r")
    _rewrite_arrays(run, change={"scores/clip": np.zeros((3, 2), np.float32)})
    with pytest.raises(DataError) as err:
        load_run(run)
    assert err.value.field == "scores/clip" and "does not match run.json" in err.value.message


# ----------------------------------------------------------------- not a run folder
def test_the_runs_root_is_not_a_run_folder_and_its_runs_are_listed(result, tmp_path):
    root = tmp_path / "runs"
    made = []
    for i in range(12):
        made.append(save_run(result, root / "fp" / f"2026{i:02d}"))
        os.utime(made[-1] / "run.json", (1_000_000 + i, 1_000_000 + i))
    (root / "fp" / ".half.tmp").mkdir()
    assert find_runs(root) == made[::-1][:10]  # newest first, ten at most
    with pytest.raises(DataError) as err:
        load_run(root)
    text = err.value.format()
    assert "is not a run folder" in text and "newest first" in text
    assert str(made[-1]) in text and str(made[2]) in text and str(made[1]) not in text
    assert text.index(str(made[-1])) < text.index(str(made[2]))
    with pytest.raises(DataError, match="has no run folders inside"):
        load_run(tmp_path / "runs" / "fp" / ".half.tmp")
