"""The one-machine launcher: DGL's environment per role, timeouts, and every process
it started ended by its id (engine.distributed.launch)."""

import sys

import pytest

from engine.core.errors import ConfigError
from engine.distributed.launch import DistributedJobError, launch_job, role_env


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
    with pytest.raises(DistributedJobError) as err:
        launch_job([sys.executable, "-c", "import time; time.sleep(120)"], tmp_path / "mmkg.json",
                     _ip(tmp_path), 2, timeout=3, started=started)
    assert err.value.exit_code is None and "timeout of 3 s" in err.value.message
    assert err.value.process == "server, trainer 0, trainer 1"
    assert len(started) == 3 and all(p.returncode is not None for p in started)


def test_failed_trainer_ends_the_job(tmp_path):
    src = ("import os, sys, time\nif os.environ['DGL_ROLE'] == 'server': time.sleep(120)\n"
           "if os.environ['RANK'] == '1': time.sleep(120)\nprint('bad input in rank 0', file=sys.stderr)\nsys.exit(3)")
    started: list = []
    with pytest.raises(DistributedJobError) as err:
        launch_job([sys.executable, "-c", src], tmp_path / "x.json", _ip(tmp_path), 2, timeout=100, started=started)
    assert (err.value.process, err.value.exit_code, err.value.last_lines) == ("trainer 0", 3, ["bad input in rank 0"])
    assert "trainer 0 exited with code 3" in str(err.value) and "| bad input in rank 0" in str(err.value)
    assert len(started) == 3 and all(p.returncode is not None for p in started)
    assert started[0].returncode != 0 and started[2].returncode != 0  # killed, not left to their 120 s


def test_failed_server_ends_the_job(tmp_path):
    src = "import os, sys, time\nif os.environ['DGL_ROLE'] == 'server': sys.exit(4)\ntime.sleep(120)"
    started: list = []
    with pytest.raises(DistributedJobError) as err:
        launch_job([sys.executable, "-c", src], tmp_path / "x.json", _ip(tmp_path), 2, timeout=100, started=started)
    assert (err.value.process, err.value.exit_code) == ("server", 4)
    assert all(p.returncode is not None for p in started) and started[1].returncode != 0


def test_one_machine_only(tmp_path):
    with pytest.raises(ConfigError) as err:
        launch_job([sys.executable, "-c", "pass"], tmp_path / "x.json",
                     _ip(tmp_path, "127.0.0.1 30050\n127.0.0.2 30050\n"), 2)
    assert "tools/launch.py" in err.value.hint


def test_cli_distributed_needs_both_configs(capsys):
    from mmkg_tui.cli.main import main

    assert main(["run", "--distributed", "--ip-config", "ip.txt"]) == 2
    err = capsys.readouterr().err
    assert "--distributed needs --part-config and --ip-config" in err and "field '--part-config'" in err


def test_cli_distributed_missing_part_config_file(tmp_path, capsys):
    from mmkg_tui.cli.main import main

    assert main(["run", "--distributed", "--part-config", str(tmp_path / "none.json"),
                 "--ip-config", str(tmp_path / "ip.txt")]) == 2
    assert "partition config" in capsys.readouterr().err


def _partition_meta(tmp_path):
    """A part config with mmkg-tui's metadata (split of seed 0); no partition data."""
    import json

    pc = tmp_path / "mmkg.json"
    pc.write_text("{}")
    (tmp_path / "mmkg.mmkg.json").write_text(json.dumps({
        "graph_name": "mmkg", "parts": 1, "data": None, "embeddings": None, "seed": 0, "split": [0.7, 0.15, 0.15],
        "fingerprint": "x", "num_nodes": 1, "num_edges": 1, "train_edges": 1}))
    return pc


def test_seed_must_match_the_partition(tmp_path):
    from engine.distributed.launch import run_distributed
    from engine.experiment.config import ExperimentConfig

    with pytest.raises(ConfigError) as err:
        run_distributed(_partition_meta(tmp_path), _ip(tmp_path), ExperimentConfig(seed=5))
    assert err.value.field == "--seed" and "--seed 0" in err.value.hint


def test_training_settings_the_trainer_lacks_are_refused(tmp_path):
    from engine.distributed.launch import run_distributed
    from engine.experiment.config import ExperimentConfig

    with pytest.raises(ConfigError) as err:
        run_distributed(_partition_meta(tmp_path), _ip(tmp_path),
                        ExperimentConfig(seed=0, objective="sage", select_metric="map"))
    assert err.value.field == "train_as_test"
    assert err.value.hint == "run with --no-train-as-test --select-metric none"
    assert "train_as_test=True, select_metric='map'" in err.value.message


@pytest.mark.skip(reason="not done in time: two machines simulated by two network namespaces (ip netns works here "
                         "as root) each with a private /dev/shm (DGL's shared memory collides between partitions "
                         "on one host), 2 partitions, 1 server + 1 trainer per namespace; only the one-machine "
                         "loopback job (test_dist_run.py) is tested")
def test_two_machines_in_network_namespaces():
    raise AssertionError("see the skip reason")
