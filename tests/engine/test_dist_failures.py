"""A distributed job whose process fails on a real bad input ends at once, with an
error naming the process, its exit code and its last stderr lines, and no process of
it is left running (engine.distributed.launch / trainer). Loopback, bounded by timeouts."""

import json
import shutil
import socket
import sys

import pytest

from engine.distributed.launch import DistributedJobError, launch_local
from engine.distributed.trainer_job import DistJob
from engine.experiment.config import ExperimentConfig

ARGS = ["--epochs", "1", "--hidden", "16", "--no-baselines", "--objective", "sage", "--no-train-as-test",
        "--select-metric", "none", "--patience", "0", "--no-blend"]


def _ip(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ip = tmp_path / "ip_config.txt"
    ip.write_text(f"127.0.0.1 {port}\n")
    return ip


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    from engine.distributed.partition import partition_dataset

    return partition_dataset(None, 1, tmp_path_factory.mktemp("dist-fail") / "parts").parent


@pytest.fixture
def damaged(parts, tmp_path):
    """A copy of the demo's partition folder, to damage."""
    return shutil.copytree(parts, tmp_path / "parts")


def test_trainers_failing_on_a_corrupted_mapping_end_the_job(damaged, tmp_path):
    (damaged / "mmkg.mmkg.npz").write_bytes(b"PK\x03\x04 not a zip archive" * 8)
    config = ExperimentConfig(objective="sage", train_as_test=False, select_metric="none", epochs=1, hidden=16)
    ip = _ip(tmp_path)
    job = tmp_path / "job.json"
    job.write_text(json.dumps(DistJob(str(damaged / "mmkg.json"), str(ip), str(tmp_path / "run"), config).to_dict()))
    started: list = []
    with pytest.raises(DistributedJobError) as err:
        launch_local([sys.executable, "-m", "engine.distributed.trainer", str(job)], damaged / "mmkg.json", ip, 2,
                     timeout=240, started=started)
    assert err.value.process in ("trainer 0", "trainer 1") and err.value.exit_code == 2
    assert any("partition id mapping unreadable" in line and "mmkg.mmkg.npz" in line for line in err.value.last_lines)
    assert len(started) == 3 and all(p.returncode is not None for p in started)
    assert started[0].returncode != 0  # the server was ended, not left serving
    assert not (tmp_path / "run").exists()


def test_a_server_failing_on_a_truncated_partition_ends_the_job(damaged, tmp_path, capsys):
    from mmkg_tui.cli.main import main

    graph = damaged / "part0" / "graph.dgl"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 3])
    code = main(["run", "--distributed", "--part-config", str(damaged / "mmkg.json"), "--ip-config",
                 str(_ip(tmp_path)), "--trainers-per-machine", "2", "--out", str(tmp_path / "run"), *ARGS])
    err = capsys.readouterr().err
    assert code == 2
    assert "server exited with code 1" in err and "server failed: DGLError" in err
    assert not (tmp_path / "run").exists()
