"""A DistDGL job on loopback: the demo partitioned in one part, 1 server + 2 trainers
on 127.0.0.1 (mmkg-tui run --distributed), bounded by timeouts, every process ended
by its id (engine.distributed.launch). The run folder is complete and its metrics are
within 0.02 of a single-machine run with the same settings."""

import json
import os
import socket

import pytest

from engine import api

# the poster's learner (the distributed trainer implements J with uniform negatives only)
ARGS = ["--epochs", "4", "--hidden", "64", "--no-baselines", "--objective", "sage", "--no-train-as-test",
        "--select-metric", "none", "--patience", "0", "--no-blend"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config():
    import argparse

    from mmkg_tui.cli.commands.run import config_from_args, configure

    p = argparse.ArgumentParser()
    configure(p)
    return config_from_args(p.parse_args(ARGS))


@pytest.fixture(scope="module")
def dist_run(tmp_path_factory):
    from mmkg_tui.cli.main import main

    base = tmp_path_factory.mktemp("dist")
    assert main(["partition", "--parts", "1", "--out", str(base / "parts")]) == 0
    ip = base / "ip_config.txt"
    ip.write_text(f"127.0.0.1 {_port()}\n")
    os.environ.pop("DGL_ROLE", None)
    # the CLI's --distributed path with a bound: any process failing, or 240 s, ends the job
    code = api.run_distributed(base / "parts" / "mmkg.json", ip, _config(), trainers=2, run_dir=base / "run",
                               json_path=base / "run.json", timeout=240)
    assert code == 0
    return base


def test_run_folder_is_complete(dist_run):
    run = dist_run / "run"
    for name in ("config.json", "metrics.json", "arrays.npz", "model.pt", "run.json"):
        assert (run / name).is_file(), name
    result = api.load_run(run)
    result = result[0] if isinstance(result, tuple) else result
    assert result.methods == ["clip", "sage_self", "sage_cosine", "sage_scene"]
    assert len(result.loss_history) == 4
    assert result.loss_history[-1] < result.loss_history[0]  # it learned
    assert json.loads((dist_run / "run.json").read_text())["config"]["epochs"] == 4


def test_metrics_match_a_single_machine_run(dist_run):
    ds, f = api.compute_features(api.load_dataset(None))
    single = api.run_experiment(ds, f, _config()).to_json()["methods"]
    dist = json.loads((dist_run / "run.json").read_text())["methods"]
    diffs = {(m, key): (dist[m][key]["mean"], single[m][key]["mean"])
             for m in ("clip", "sage_self", "sage_cosine", "sage_scene") for key in ("macro_auc", "micro_auc")}
    print("distributed vs single machine:", {f"{m} {k}": f"{a:.4f} vs {b:.4f}" for (m, k), (a, b) in diffs.items()})
    for (m, key), (a, b) in diffs.items():
        assert abs(a - b) <= 0.02, (m, key, a, b)
    assert dist["clip"]["macro_auc"]["mean"] == single["clip"]["macro_auc"]["mean"]
