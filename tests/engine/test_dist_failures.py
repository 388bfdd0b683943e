"""A distributed job whose process fails on a real bad input ends at once, with an
error naming the process, its exit code and its last stderr lines, and no process of
it is left running (engine.distributed.launch / trainer). Loopback, bounded by timeouts."""

import json
import shutil
import socket
import sys

import pytest

from engine.distributed.launch import DistributedJobError, launch_job
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
    npz = damaged / "mmkg.mmkg.npz"
    npz.write_bytes(b"\0" * npz.stat().st_size)  # same size: only reading it finds the damage
    config = ExperimentConfig(objective="sage", train_as_test=False, select_metric="none", epochs=1, hidden=16)
    ip = _ip(tmp_path)
    job = tmp_path / "job.json"
    job.write_text(json.dumps(DistJob(str(damaged / "mmkg.json"), str(ip), str(tmp_path / "run"), config).to_dict()))
    started: list = []
    with pytest.raises(DistributedJobError) as err:
        launch_job([sys.executable, "-m", "engine.distributed.trainer", str(job)], damaged / "mmkg.json", ip, 2,
                     timeout=240, started=started)
    assert err.value.process in ("trainer 0", "trainer 1") and err.value.exit_code == 2
    assert any("partition id mapping unreadable" in line and "mmkg.mmkg.npz" in line for line in err.value.last_lines)
    assert len(started) == 3 and all(p.returncode is not None for p in started)
    assert started[0].returncode != 0  # the server was ended, not left serving
    assert not (tmp_path / "run").exists()


def _run_cli(folder, tmp_path, capsys) -> tuple[int, str]:
    from mmkg_tui.cli.main import main

    code = main(["run", "--distributed", "--part-config", str(folder / "mmkg.json"), "--ip-config",
                 str(_ip(tmp_path)), "--trainers-per-machine", "2", "--out", str(tmp_path / "run"), *ARGS])
    return code, capsys.readouterr().err


def test_a_server_failing_on_a_damaged_partition_graph_ends_the_job(damaged, tmp_path, capsys):
    graph = damaged / "part0" / "graph.dgl"
    data = graph.read_bytes()
    graph.write_bytes(b"\0" * 64 + data[64:])  # same size, DGL's header gone: only DGL's loader finds it
    code, err = _run_cli(damaged, tmp_path, capsys)
    assert code == 2
    assert "server exited with code 1" in err and "server failed: DGLError" in err
    assert not (tmp_path / "run").exists()


def test_a_truncated_partition_file_ends_the_job(damaged, tmp_path, capsys):
    feat = damaged / "part0" / "node_feat.dgl"
    feat.write_bytes(feat.read_bytes()[: feat.stat().st_size // 3])  # DGL 2.1.0 alone would load it
    code, err = _run_cli(damaged, tmp_path, capsys)
    assert code == 2
    assert "exited with code 2" in err and "node_feat.dgl: partition file is" in err
    assert not (tmp_path / "run").exists()
