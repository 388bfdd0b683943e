"""The launcher: DGL's environment per role and machine, how a process is started on
each machine (engine.distributed.hosts), timeouts, and every process it started ended
by its id (engine.distributed.launch). The real two-machine job is in
test_dist_namespaces.py."""

import sys

import pytest

from engine.core.errors import ConfigError
from engine.distributed.hosts import Host, SshHost
from engine.distributed.launch import DistributedJobError, launch_job, role_env


@pytest.fixture(autouse=True)
def own_job_lock(tmp_path_factory, monkeypatch):
    """These jobs run nothing of DGL's: they must not wait for a real DistDGL job that
    another process (a parallel test suite) runs on this machine."""
    from engine.distributed import launch

    monkeypatch.setattr(launch, "JOB_LOCK", tmp_path_factory.mktemp("lock") / "job.lock")


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
        launch_job([sys.executable, "-c", src], tmp_path / "x.json", _ip(tmp_path), 2, timeout=300, started=started)
    assert (err.value.process, err.value.exit_code, err.value.last_lines) == ("trainer 0", 3, ["bad input in rank 0"])
    assert "trainer 0 exited with code 3" in str(err.value) and "| bad input in rank 0" in str(err.value)
    assert len(started) == 3 and all(p.returncode is not None for p in started)
    assert started[0].returncode != 0 and started[2].returncode != 0  # killed, not left to their 120 s


def test_failed_server_ends_the_job(tmp_path):
    src = "import os, sys, time\nif os.environ['DGL_ROLE'] == 'server': sys.exit(4)\ntime.sleep(120)"
    started: list = []
    with pytest.raises(DistributedJobError) as err:
        launch_job([sys.executable, "-c", src], tmp_path / "x.json", _ip(tmp_path), 2, timeout=300, started=started)
    assert (err.value.process, err.value.exit_code) == ("server", 4)
    assert all(p.returncode is not None for p in started) and started[1].returncode != 0


def test_several_machines_need_hosts(tmp_path):
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
    with pytest.raises(ConfigError) as err:  # the distributed model has no edge weights or attention
        run_distributed(_partition_meta(tmp_path), _ip(tmp_path),
                        ExperimentConfig(seed=0, objective="sage", train_as_test=False, select_metric="none",
                                         edge_weight="cosine", conv="gatv2"))
    assert err.value.field == "edge_weight"
    assert err.value.hint == "run with --edge-weight none --conv sage"


def test_role_environment_of_the_second_machine(tmp_path):
    server = role_env("server", tmp_path / "mmkg.json", tmp_path / "ip.txt", 2, machine=1, machines=2)
    assert (server["DGL_SERVER_ID"], server["DGL_NUM_CLIENT"], server["DGL_NUM_SERVER"]) == ("1", "4", "1")
    trainer = role_env("client", tmp_path / "mmkg.json", tmp_path / "ip.txt", 2, rank=1, master="10.0.0.1",
                       master_port=9, machine=1, machines=2)
    assert (trainer["RANK"], trainer["LOCAL_RANK"], trainer["WORLD_SIZE"], trainer["MASTER_ADDR"]) == (
        "3", "1", "4", "10.0.0.1")


def test_prefix_host_wraps_the_command_and_adds_its_env():
    host = Host(prefix=("ip", "netns", "exec", "ns1"), env=(("GLOO_SOCKET_IFNAME", "veth1"),))
    argv, env = host.argv(["python", "-m", "x"], {"RANK": "0"})
    assert argv == ["ip", "netns", "exec", "ns1", "python", "-m", "x"]
    assert env == {"RANK": "0", "GLOO_SOCKET_IFNAME": "veth1"}


def test_ssh_host_puts_the_job_variables_in_the_remote_command(monkeypatch):
    import shlex

    monkeypatch.setenv("HOME_LIKE", "same")
    argv, env = SshHost(address="u@node1", workdir="/shared dir").argv(
        ["python", "-m", "x", "a b"], {"HOME_LIKE": "same", "RANK": "1", "DGL_ROLE": "client"})
    assert argv[:4] == ["ssh", "-tt", "-o", "BatchMode=yes"] and argv[4] == "u@node1"
    assert shlex.split(argv[5]) == ["cd", "/shared dir", "&&", "env", "DGL_ROLE=client", "RANK=1",
                                    "python", "-m", "x", "a b"]  # only what differs from our environment
    assert env["HOME_LIKE"] == "same"


def _per_machine_script(out):
    """Each process writes its role, DGL_SERVER_ID/RANK and the host's marker variable."""
    return ("import os\nr = os.environ['DGL_ROLE']\nk = os.environ['DGL_SERVER_ID'] if r == 'server' else "
            f"os.environ['RANK']\nopen(os.path.join({str(out)!r}, r + k), 'w').write(os.environ['HOST_MARK'])")


def test_every_machine_gets_a_server_and_its_trainers(tmp_path):
    hosts = [Host(env=(("HOST_MARK", "a"),)), Host(env=(("HOST_MARK", "b"),))]
    started: list = []
    assert launch_job([sys.executable, "-c", _per_machine_script(tmp_path)], tmp_path / "x.json",
                      _ip(tmp_path, "10.0.0.1 1\n10.0.0.2 1\n"), 2, hosts=hosts, timeout=300, started=started) == 0
    marks = {p.name: p.read_text() for p in tmp_path.iterdir() if p.name != "ip.txt"}
    assert marks == {"server0": "a", "server1": "b", "client0": "a", "client1": "a", "client2": "b", "client3": "b"}
    assert len(started) == 6 and all(p.returncode == 0 for p in started)


def test_hosts_must_match_the_ip_config(tmp_path):
    with pytest.raises(ConfigError) as err:
        launch_job([sys.executable, "-c", "pass"], tmp_path / "x.json", _ip(tmp_path, "10.0.0.1 1\n10.0.0.2 1\n"),
                   1, hosts=[Host()])
    assert "1 hosts for the 2 machines" in err.value.message and err.value.field == "--ip-config"


def test_hosts_file_gives_one_host_per_line(tmp_path):
    from engine.distributed.hosts import read_hosts

    f = tmp_path / "hosts.txt"
    f.write_text("# machines in ip_config order\nlocal\n\nssh u@node1 /shared/mmkg\nprefix ip netns exec 'ns b'\n")
    local, ssh, prefix = read_hosts(f)
    assert local == Host()
    assert (ssh.address, ssh.workdir) == ("u@node1", "/shared/mmkg") and isinstance(ssh, SshHost)
    assert prefix.argv(["python"], {})[0] == ["ip", "netns", "exec", "ns b", "python"]


def test_hosts_file_errors_name_the_line(tmp_path):
    from engine.distributed.hosts import read_hosts

    f = tmp_path / "hosts.txt"
    f.write_text("local\nssh\n")
    with pytest.raises(ConfigError) as err:
        read_hosts(f)
    assert (err.value.line, err.value.field) == (2, "--hosts") and "'ssh'" in err.value.message
    with pytest.raises(ConfigError) as err:
        read_hosts(tmp_path / "none.txt")
    assert "not found" in err.value.message


def test_a_second_job_on_this_machine_waits_for_the_first(tmp_path, monkeypatch):
    """Two DistDGL jobs on one machine collide in DGL's shared memory ("fail to open
    node~_N~feat-kvdata-", seen with three test suites at once): a job holding the
    machine's lock makes the next one wait, and give up with a clear error past its
    timeout, before it starts any process."""
    import fcntl

    from engine.distributed import launch

    lock = launch.JOB_LOCK  # this test's own (the fixture)
    started: list = []
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the first job
        with pytest.raises(DistributedJobError, match="another DistDGL job") as err:
            launch_job([sys.executable, "-c", "pass"], tmp_path / "mmkg.json", _ip(tmp_path), 1, timeout=0.5,
                       started=started)
        assert "wait for the other job" in err.value.hint and started == []
    # released: the next job runs (its processes exit at once; 0 = every trainer succeeded)
    assert launch_job([sys.executable, "-c", "pass"], tmp_path / "mmkg.json", _ip(tmp_path), 1, timeout=300,
                      started=started) == 0
    assert len(started) == 2
