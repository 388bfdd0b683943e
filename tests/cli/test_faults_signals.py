"""Real signals on a real `mmkg-tui run` process: SIGINT/SIGTERM leave the run folder
complete or absent (the previous one intact), the feature cache intact, no traceback,
and a re-run that works.

The deterministic test pauses the process inside its half-written temporary folder
(np.savez_compressed wrapped to wait after writing) and signals it there; the other
one signals an unmodified process the moment a folder appears and accepts either
outcome of the race (the check holds at whatever instant the signal lands).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from clip_helpers import (
    TINY_CFG,
    pattern,
    register_tiny,
    save_tiny_checkpoint,
    write_image,
)

from engine.experiment.store import is_run_folder, load_run
from engine.features.clip.cache import VectorStore
from mmkg_tui.cli.main import main

FAST = ["--epochs", "1", "--hidden", "16", "--batch-size", "64", "--no-baselines", "--strategies", "self"]
HANG_GUARD_S = 300  # only so a broken build cannot hang the suite; never a verdict on speed

TINY_MAIN = textwrap.dedent("""
    import signal, sys
    # Ctrl-C as in a terminal, even when the suite runs under a parent that ignores SIGINT
    # (a shell's background job: the disposition is inherited and Python then installs no
    # KeyboardInterrupt handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from pathlib import Path
    from clip_helpers import register_tiny
    register_tiny(Path(sys.argv[1]))
    from mmkg_tui.cli.main import main
    sys.exit(main(sys.argv[3:]))
""")

PAUSE_IN_SAVE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np

    flag = Path(sys.argv[2])
    real = np.savez_compressed

    def savez_then_wait(file, *a, **k):
        real(file, *a, **k)
        flag.write_text(str(file))  # the temporary run folder exists, half-written
        while True:
            time.sleep(0.01)  # until the test's signal arrives

    np.savez_compressed = savez_then_wait
""") + TINY_MAIN


@pytest.fixture(scope="module")
def photo_set(tmp_path_factory):
    """A manifest of 40 real images (no precomputed vectors: CLIP fills the cache)."""
    root = tmp_path_factory.mktemp("photos")
    rows = ["id,image,keywords,scene"]
    kws = ["pool", "lawn", "fireplace", "garage"]
    for i in range(40):
        write_image(root / f"p{i}.png", pattern(i))
        rows.append(f"p{i},p{i}.png,{kws[i % 4]};{kws[(i + 1) % 4]},{'kitchen' if i % 2 else 'garden'}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    tiny = tmp_path_factory.mktemp("tiny")
    register_tiny(tiny / "configs")
    ckpt = save_tiny_checkpoint(tiny / "tiny.pt")
    return root, tiny / "configs", ckpt


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("MMKG_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MMKG_TUI_CACHE", str(tmp_path / "cache"))
    tests = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*sys.path, tests]), "HF_HUB_OFFLINE": "1"}


def _args(photo_set, out: Path) -> list[str]:
    root, _, ckpt = photo_set
    return ["run", "--data", str(root), "--clip-model", "mmkg-test-tiny-clip", "--clip-pretrained", str(ckpt),
            *FAST, "--out", str(out)]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _wait_for(cond, proc) -> bool:
    deadline = time.monotonic() + HANG_GUARD_S
    while not cond():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the run hung"
        time.sleep(0.001)
    return True


def _cache_is_intact(cache: Path) -> None:
    leftovers = [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == [], leftovers
    for store in (p for p in cache.glob("clip/*/*") if p.is_dir()):
        s = VectorStore(store, "?", TINY_CFG["embed_dim"])
        for keys in store.glob("part-*.keys.npz"):  # every shard complete: its vectors file is there
            assert s.vectors_path(keys).is_file()
        assert sorted(p.name for p in store.glob("part-*.npy")) == sorted(
            s.vectors_path(k).name for k in store.glob("part-*.keys.npz"))


def _signal_when_paused(script: str, photo_set, args: list[str], sig, env, tmp_path, check=None) -> None:
    """Run ``script`` (it pauses where it writes its flag file), send ``sig`` there, and
    check the process ends as Ctrl-C does: rc 130, 'interrupted', no traceback."""
    flag = tmp_path / "paused"
    proc = subprocess.Popen([sys.executable, "-c", script, str(photo_set[1]), str(flag), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
    try:
        assert _wait_for(flag.exists, proc), proc.communicate()
        if check is not None:
            check()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, (proc.returncode, err)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_inside_the_half_written_run_folder_keeps_the_previous_run(sig, photo_set, tmp_path, env, capsys):
    out = tmp_path / "out" / "run"
    assert main(_args(photo_set, out)) == 0  # the previous run (and a filled cache)
    capsys.readouterr()
    before, cache_before = _snapshot(out), _snapshot(tmp_path / "cache")
    def half_written():
        assert [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")], "no temporary folder"

    _signal_when_paused(PAUSE_IN_SAVE, photo_set, _args(photo_set, out), sig, env, tmp_path, half_written)
    assert _snapshot(out) == before  # the previous run folder, byte for byte
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]  # no half-written leftovers
    assert _snapshot(tmp_path / "cache") == cache_before
    assert main(_args(photo_set, out)) == 0 and load_run(out).methods  # a re-run works


@pytest.mark.parametrize("sig, moment", [(signal.SIGINT, "cache"), (signal.SIGTERM, "save")])
def test_signal_at_a_real_moment_leaves_everything_valid(sig, moment, photo_set, tmp_path, env, capsys):
    out = tmp_path / "out" / "run"
    out.parent.mkdir()
    cache = tmp_path / "cache"
    if moment == "cache":
        def arrived():
            return any(cache.glob("clip/*/images"))
    else:
        def arrived():
            return any(p.name.endswith(".tmp") for p in out.parent.iterdir())
    proc = subprocess.Popen([sys.executable, "-c", TINY_MAIN, str(photo_set[1]), "-", *_args(photo_set, out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
    try:
        if _wait_for(arrived, proc):
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130) and "Traceback" not in err, (proc.returncode, err)
    assert not os.path.lexists(out) or (is_run_folder(out) and load_run(out).methods)  # complete or absent
    assert [p.name for p in out.parent.iterdir() if p.name != "run"] == []
    _cache_is_intact(cache)
    assert main(_args(photo_set, out)) == 0 and load_run(out).methods  # a re-run works
    _cache_is_intact(cache)


PAUSE_AFTER_FIRST_SHARD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from engine.features.clip.cache import VectorStore

    flag = Path(sys.argv[2])
    real = VectorStore.add

    def add_then_wait(self, *a, **k):
        real(self, *a, **k)  # one shard committed (vectors, then keys, each renamed into place)
        flag.write_text("shard")
        while True:
            time.sleep(0.01)  # until the test's signal arrives

    VectorStore.add = add_then_wait
""") + TINY_MAIN


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_embed_keeps_finished_shards_and_the_rerun_reuses_them(sig, photo_set, tmp_path, env):
    root, _, ckpt = photo_set
    args = ["embed", "--data", str(root), "--clip-model", "mmkg-test-tiny-clip", "--clip-pretrained", str(ckpt),
            "--batch-size", "8"]
    _signal_when_paused(PAUSE_AFTER_FIRST_SHARD, photo_set, args, sig, env, tmp_path)
    cache = tmp_path / "cache"
    _cache_is_intact(cache)
    rerun = subprocess.run([sys.executable, "-c", TINY_MAIN, str(photo_set[1]), "-", *args], env=env,
                           capture_output=True, text=True, cwd=str(tmp_path), timeout=HANG_GUARD_S, check=False)
    assert rerun.returncode == 0, rerun.stderr
    import re
    found = re.search(r"(\d+) from cache, (\d+) computed", rerun.stdout)
    assert found, rerun.stdout
    cached, computed = int(found.group(1)), int(found.group(2))
    assert cached > 0 and cached + computed == 40, rerun.stdout  # the finished shard was kept and reused
    _cache_is_intact(cache)
