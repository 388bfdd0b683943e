"""The one-machine launcher: DGL's environment per role, timeouts, and every process
it started ended by its id (engine.distributed.launch)."""

import sys

import pytest

from engine.core.errors import ConfigError
from engine.distributed.launch import launch_local, role_env


def test_role_environment_follows_dgl_conventions(tmp_path):
    server = role_env("server", tmp_path / "mmkg.json", tmp_path / "ip.txt", 2)
    assert (server["DGL_ROLE"], server["DGL_SERVER_ID"], server["DGL_NUM_CLIENT"]) == ("server", "0", "2")
    trainer = role_env("client", tmp_path / "mmkg.json", tmp_path / "ip.txt", 2, rank=1, master_port=1234)
    assert (trainer["DGL_ROLE"], trainer["RANK"], trainer["WORLD_SIZE"], trainer["MASTER_PORT"]) == (
        "client", "1", "2", "1234")
    for env in (server, trainer):
        assert env["OMP_NUM_THREADS"] == "1" and env["DGL_DIST_MODE"] == "distributed"
        assert int(env["DGL_DIST_MAX_TRY_TIMES"]) <= 60  # not DGL's ~50 minutes of retries


def _ip(tmp_path, text="127.0.0.1 30050\n"):
    ip = tmp_path / "ip.txt"
    ip.write_text(text)
    return ip


def test_timeout_ends_every_process_by_id(tmp_path):
    started: list = []
    code = launch_local([sys.executable, "-c", "import time; time.sleep(120)"], tmp_path / "mmkg.json",
                        _ip(tmp_path), 2, timeout=3, started=started)
    assert code == 124
    assert len(started) == 3 and all(p.returncode is not None for p in started)


def test_failed_trainer_ends_the_job(tmp_path):
    src = "import os, sys, time\nif os.environ['DGL_ROLE'] == 'server': time.sleep(120)\nsys.exit(3)"
    started: list = []
    assert launch_local([sys.executable, "-c", src], tmp_path / "x.json", _ip(tmp_path), 2, timeout=60,
                        started=started) == 3
    assert len(started) == 3 and all(p.returncode is not None for p in started)


def test_one_machine_only(tmp_path):
    with pytest.raises(ConfigError) as err:
        launch_local([sys.executable, "-c", "pass"], tmp_path / "x.json",
                     _ip(tmp_path, "127.0.0.1 30050\n127.0.0.2 30050\n"), 2)
    assert "tools/launch.py" in err.value.hint
