"""Disk full, on a real small tmpfs: a clear "no space left on PATH" StorageError, and
what was there before (run folder, metrics JSON, cache shards) stays valid.
Needs root (mount); skipped with the reason otherwise."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine.core.errors import StorageError
from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.experiment.store import load_run, save_run, write_metrics_json
from engine.features.bundle import precomputed_features
from engine.features.clip.cache import VectorStore, digest


@pytest.fixture
def small_fs(tmp_path):
    """Mount a tmpfs of the given size (KiB) under tmp_path; unmounted afterwards."""
    mounted: list[Path] = []

    def mount(kib: int) -> Path:
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here (needs root): {res.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


@pytest.fixture(scope="module")
def result(tiny_world):
    feats = precomputed_features(tiny_world)
    cfg = ExperimentConfig(hidden=16, out_dim=512, epochs=1, batch_size=128, strategies=("self",), baselines=False)
    return run_experiment(tiny_world, feats, cfg)


def _fill(folder: Path, leave: int = 512) -> None:
    """Fill the file system of ``folder`` until at most ``leave`` bytes are free."""
    import shutil

    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as fh:
        try:
            fh.write(b"\0" * max(free - leave, 0))
        except OSError:
            pass


def test_run_folder_on_a_full_disk_keeps_the_previous_run(result, small_fs, tmp_path):
    probe = save_run(result, tmp_path / "probe")
    size = sum(p.stat().st_size for p in probe.iterdir())
    fs = small_fs((size * 3 // 2) // 1024 + 8)  # room for one run folder, not for two during the swap
    run = save_run(result, fs / "run")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(StorageError) as err:  # OSError: [Errno 28] before the fix
        save_run(result, run)
    assert f"no space left on {run}" in err.value.format() and err.value.hint
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    assert sorted(p.name for p in fs.iterdir()) == ["run"]  # the partial copy is gone
    assert load_run(run).methods == result.methods


def test_run_folder_on_a_64k_disk(result, small_fs):
    fs = small_fs(64)
    with pytest.raises(StorageError, match="no space left on"):
        save_run(result, fs / "run")
    assert list(fs.iterdir()) == []


def test_metrics_json_on_a_full_disk_keeps_the_previous_one(result, small_fs):
    fs = small_fs(64)
    out = fs / "m.json"
    write_metrics_json(result, out)
    before = out.read_bytes()
    _fill(fs)
    with pytest.raises(StorageError) as err:
        write_metrics_json(result, out)
    assert f"no space left on {out}" in err.value.format()
    assert out.read_bytes() == before and json.loads(before)["mmkg_tui"]["kind"] == "metrics"
    assert sorted(p.name for p in fs.iterdir()) == ["filler", "m.json"]


def test_cache_on_a_full_disk_keeps_its_shards(small_fs):
    fs = small_fs(64)
    store = VectorStore(fs / "clip" / "m" / "images", "id|images", 32).load()
    store.add([digest("a")], np.ones((1, 32), np.float32))
    many = [digest(str(i)) for i in range(1000)]  # 128 KB of vectors: "N requested and M written"
    with pytest.raises(StorageError) as err:
        store.add(many, np.ones((1000, 32), np.float32))
    assert "no space left on" in err.value.format() and str(fs) in err.value.format()
    again = VectorStore(fs / "clip" / "m" / "images", "id|images", 32).load()
    assert again.problems == [] and len(again) == 1
    assert [p.name for p in (fs / "clip" / "m" / "images").iterdir() if p.name.endswith(".tmp")] == []
    found, vecs = again.lookup([digest("a")])
    assert found.all() and np.allclose(vecs, 1)


def test_cli_with_home_on_a_full_disk(small_fs, tmp_path, monkeypatch, capsys):
    from engine.data.synthetic.demo import write_demo
    from mmkg_tui.cli.main import main

    demo = write_demo(tmp_path / "demo", n=120, seed=2, images=False)
    fs = small_fs(64)
    monkeypatch.setenv("MMKG_TUI_HOME", str(fs))
    code = main(["run", "--data", str(demo), "--epochs", "1", "--hidden", "16", "--no-baselines",
                 "--strategies", "self", "--json", str(tmp_path / "m.json")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "Traceback" not in err and "no space left on" in err and str(fs) in err
    assert not (tmp_path / "m.json").exists()  # no JSON for a run whose folder could not be saved
