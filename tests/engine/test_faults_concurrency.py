"""Real concurrency and real signals on the atomic folder swap: six processes released
together onto one target, round after round, and SIGTERM landing mid-swap."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.core.atomic import atomic_dir, path_lock
from engine.core.errors import StorageError
from engine.core.signals import Terminated, signals_held, terminate_as_interrupt

WRITERS, ROUNDS = 6, 30
FILES = ("a.bin", "b.bin", "c.bin", "d.txt")
HANG_GUARD_S = 300  # only so a broken build cannot hang the suite; never a verdict on speed

WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from engine.core.atomic import atomic_dir
    from engine.core.errors import MMKGError, StorageError

    me, rounds, target, sync = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    FILES = ("a.bin", "b.bin", "c.bin", "d.txt")

    def guard(path):  # replace only a folder this test's writers made (as save_run does)
        if not (path / ".mine").is_file():
            raise StorageError(f"{path} is not ours")

    def wait_for(p):
        deadline = time.monotonic() + 300  # the test is gone: do not linger
        while not p.exists():
            if time.monotonic() > deadline:
                sys.exit(3)
            time.sleep(0.001)

    for r in range(rounds):
        (sync / f"ready-{r}-{me}").touch()
        wait_for(sync / f"go-{r}")
        tag = f"writer {me} round {r}".encode()
        try:
            with atomic_dir(target, guard=guard) as tmp:
                (tmp / ".mine").touch()
                for i, name in enumerate(FILES):
                    (tmp / name).write_bytes(tag * (2000 * (i + 1)))
            status = "won"
        except MMKGError as exc:
            status = "refused: " + exc.format()
        (sync / f".done-{r}-{me}").write_text(status)
        os.replace(sync / f".done-{r}-{me}", sync / f"done-{r}-{me}")  # the parent never reads it half-written
""")


def _wait_all(paths: list[Path], procs) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not all(p.exists() for p in paths):
        dead = [p for p in procs if p.poll() not in (None, 0)]  # 0: done with its last round
        assert not dead, f"a writer died: {dead[0].communicate()}"
        assert time.monotonic() < deadline, "writers hung"
        time.sleep(0.002)


def test_six_writers_released_together_leave_one_whole_folder(tmp_path):
    target, sync = tmp_path / "out" / "run", tmp_path / "sync"
    sync.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(i), str(ROUNDS), str(target), str(sync)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(WRITERS)]
    try:
        for r in range(ROUNDS):
            _wait_all([sync / f"ready-{r}-{i}" for i in range(WRITERS)], procs)
            (sync / f"go-{r}").touch()  # the barrier: all six start writing at once
            _wait_all([sync / f"done-{r}-{i}" for i in range(WRITERS)], procs)
            statuses = [(sync / f"done-{r}-{i}").read_text() for i in range(WRITERS)]
            assert all(s == "won" for s in statuses), statuses  # they take turns: each wins whole
            assert sorted(p.name for p in target.iterdir()) == sorted((".mine", *FILES))
            first = (target / FILES[0]).read_bytes()
            tag = first[: len(first) // 2000]
            assert f"round {r}".encode() in tag, tag
            for i, name in enumerate(FILES):  # every file from the same writer, none torn: never a mix
                assert (target / name).read_bytes() == tag * (2000 * (i + 1)), f"round {r}: {name} mixed or torn"
            leftovers = sorted(p.name for p in target.parent.iterdir() if p.name != "run")
            assert leftovers == [], f"round {r}: {leftovers}"  # no .tmp, .old or .lock left behind
    except BaseException:
        for p in procs:  # a failed round: the others would wait for the next barrier forever
            p.kill()
        raise
    for p in procs:
        p.wait(timeout=HANG_GUARD_S)
    for p in procs:
        out, err = p.communicate()
        assert p.returncode == 0 and "Traceback" not in err, err


def test_the_guard_refuses_and_nothing_is_left(tmp_path):
    target = tmp_path / "t"
    target.mkdir()
    (target / "user.txt").write_text("mine")

    def guard(path):
        raise StorageError(f"{path} is the user's")

    with pytest.raises(StorageError):
        with atomic_dir(target, guard=guard) as tmp:
            (tmp / "x").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["t"] and (target / "user.txt").read_text() == "mine"


def test_sigterm_during_the_swap_waits_until_the_new_folder_is_in_place(tmp_path, monkeypatch):
    """Before the fix the signal landed between the two renames: no folder at all."""
    target = tmp_path / "run"
    target.mkdir()
    (target / "v").write_text("old")
    real_replace = os.replace
    calls = []

    def replace_then_sigterm(src, dst):
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:  # right after the old folder was moved aside
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):  # give Python every chance to run the handler here
                time.sleep(0)

    monkeypatch.setattr(os, "replace", replace_then_sigterm)
    with terminate_as_interrupt(), pytest.raises(Terminated):
        with atomic_dir(target) as tmp:
            (tmp / "v").write_text("new")
    assert len(calls) == 2 and (target / "v").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_held_signals_are_delivered_after_the_block(monkeypatch):
    seen = []
    with terminate_as_interrupt(), pytest.raises(Terminated):
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):
                time.sleep(0)
            seen.append("still running")
    assert seen == ["still running"]


def test_lock_file_is_removed_and_relocked_by_waiters(tmp_path):
    target = tmp_path / "x"
    with path_lock(target):
        assert (tmp_path / ".x.lock").exists()
    assert not (tmp_path / ".x.lock").exists()
    with path_lock(target):  # reusable after removal
        pass
