"""A launcher around DGL's conventions (what dgl/tools/launch.py does over ssh): on each
machine of the ip config, one server process serving that machine's partition and K
trainer processes, all running the same command with DGL_ROLE, DGL_IP_CONFIG,
DGL_CONF_PATH, DGL_NUM_SERVER, DGL_NUM_CLIENT, DGL_SERVER_ID, ... and
torch.distributed's MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE set. Every process is
bounded by a timeout and ended by its id.

How a process is started on machine X is a ``Host`` (engine.distributed.hosts): this
machine (the default for a one-line ip config), a command prefix such as
``ip netns exec NS`` (two simulated machines, engine.distributed.namespaces), or ssh.
DGL 2.1.0 serves exactly one partition per machine (two on one host collide in shared
memory: its names hold the graph's name, not the partition's), so a machine is one
line of the ip config and one partition. For the same reason two jobs on one machine
collide (measured: three test suites at once, "fail to open node~_N~feat-kvdata-"):
``launch_job`` holds a machine-wide lock (``JOB_LOCK``) while its processes run, so a
second job waits for the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from engine.core.errors import ConfigError, MMKGError
from engine.distributed.hosts import Host

DIST_MAX_TRY_TIMES = "30"
TAIL_LINES = 15  # last stderr lines of a failed process shown in its error
POLL_S = 0.2
SERVER_GRACE_S = 60.0
LOCAL = Host()
JOB_LOCK = Path(tempfile.gettempdir()) / "mmkg-tui-distdgl.lock"


@dataclass
class Machine:
    ip: str
    port: int


def read_ip_config(path) -> list[Machine]:
    """``IP [PORT]`` per line (DGL's ip_config.txt); ConfigError naming the line."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"ip config {p} not found", field="--ip-config",
                          hint="write one 'IP PORT' line per machine, e.g. '127.0.0.1 30050'")
    out = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            socket.inet_aton(parts[0])
            port = int(parts[1]) if len(parts) > 1 else 30050
        except (OSError, ValueError):
            raise ConfigError(f"line {i}: {line.strip()!r} is not 'IP [PORT]'", field="--ip-config",
                              hint="e.g. '127.0.0.1 30050'") from None
        out.append(Machine(parts[0], port))
    if not out:
        raise ConfigError(f"{p} lists no machine", field="--ip-config", hint="add a line '127.0.0.1 30050'")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def role_env(role: str, part_config, ip_config, trainers: int, *, rank: int = 0, master: str = "127.0.0.1",
             master_port: int = 0, machine: int = 0, machines: int = 1) -> dict[str, str]:
    """DGL's and torch.distributed's variables for one process on machine ``machine`` of
    ``machines`` (1 server and ``trainers`` trainers each): the server's id is its
    machine's index (it serves that partition), ``rank`` is the trainer's rank on its
    machine, RANK the global one, DGL_NUM_CLIENT every trainer of the job."""
    env = dict(os.environ, DGL_ROLE=role, DGL_DIST_MODE="distributed", DGL_IP_CONFIG=str(ip_config),
               DGL_CONF_PATH=str(part_config), DGL_NUM_SERVER="1", DGL_NUM_CLIENT=str(trainers * machines),
               DGL_NUM_SAMPLER="0", DGL_GRAPH_FORMAT="csc", OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE",
               DGL_DIST_MAX_TRY_TIMES=DIST_MAX_TRY_TIMES, DGLBACKEND="pytorch")
    if role == "server":
        env["DGL_SERVER_ID"] = str(machine)
    else:
        env.update(MASTER_ADDR=master, MASTER_PORT=str(master_port), RANK=str(machine * trainers + rank),
                   WORLD_SIZE=str(trainers * machines), LOCAL_RANK=str(rank))
    return env


class DistributedJobError(MMKGError):
    """A process of a distributed job failed (or the job ran past its timeout): which
    process, its exit code (None: timeout) and the last lines it wrote on stderr."""

    def __init__(self, message: str, *, process: str, exit_code: int | None, last_lines: list[str],
                 hint: str) -> None:
        self.process, self.exit_code, self.last_lines = process, exit_code, list(last_lines)
        tail = "".join(f"\n    | {line}" for line in self.last_lines)
        super().__init__(message + (f"; its last stderr lines:{tail}" if tail else ""), hint=hint)


@dataclass
class JobProcess:
    """One process of the job, its stderr relayed to ours (prefixed) and its last lines kept."""

    name: str
    popen: subprocess.Popen
    last_lines: deque = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    relay: threading.Thread | None = None

    @classmethod
    def start(cls, name: str, command: list[str], env: dict[str, str], host: Host = LOCAL) -> JobProcess:
        argv, env = host.argv(command, env)
        proc = cls(name, subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True, errors="replace"))
        proc.relay = threading.Thread(target=proc._relay, name=f"stderr of {name}", daemon=True)
        proc.relay.start()
        return proc

    def _relay(self) -> None:
        for line in self.popen.stderr:
            self.last_lines.append(line.rstrip("\n"))
            sys.stderr.write(f"[{self.name}] {line}")

    def stop(self) -> None:
        """Kill by id when still running; wait for it and its stderr."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        if self.relay is not None:
            self.relay.join(timeout=5)

    def failure(self, what: str) -> DistributedJobError:
        return DistributedJobError(f"{self.name} {what}", process=self.name, exit_code=self.popen.returncode,
                                   last_lines=list(self.last_lines),
                                   hint="read the error above; the other processes of the job were ended")


def launch_job(command: list[str], part_config, ip_config, trainers: int, *, hosts: list[Host] | None = None,
               timeout: float = 1800, started: list | None = None) -> int:
    """Run ``command`` as 1 server + ``trainers`` trainers on each machine of
    ``ip_config``, started there by ``hosts`` (one Host per line, same order; default:
    this machine, for a one-line ip config). 0 when every trainer succeeded.
    DistributedJobError, as soon as ANY process exits with a non-zero code (naming it,
    with its exit code and last stderr lines), or past ``timeout`` seconds; every
    process still running is then killed by its id. ``started`` (a list) receives the
    Popen objects, servers first."""
    machines = read_ip_config(ip_config)
    hosts = _check_hosts(machines, hosts, ip_config)
    if trainers < 1:
        raise ConfigError("--trainers-per-machine must be at least 1", field="--trainers-per-machine", hint="e.g. 2")
    with _one_job_per_machine(timeout):
        return _launch(command, part_config, ip_config, trainers, machines, hosts, timeout, started)


@contextlib.contextmanager
def _one_job_per_machine(timeout: float):
    """Hold ``JOB_LOCK`` (fcntl.flock, released when the process ends, even killed);
    wait at most ``timeout`` seconds for a job already holding it."""
    deadline = time.monotonic() + timeout
    with open(JOB_LOCK, "a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DistributedJobError(
                        f"another DistDGL job kept this machine for {timeout:.0f} s ({JOB_LOCK} is locked)",
                        process="launcher", exit_code=None, last_lines=[],
                        hint="DGL 2.1.0 cannot run two jobs on one machine (their shared memory collides): "
                             "wait for the other job, or end it") from None
                time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _launch(command, part_config, ip_config, trainers: int, machines: list[Machine], hosts: list[Host],
            timeout: float, started) -> int:
    port, m = free_port(), len(machines)
    servers = [JobProcess.start("server" if m == 1 else f"server {i}", command,
                                role_env("server", part_config, ip_config, trainers, machine=i, machines=m), host)
               for i, host in enumerate(hosts)]
    procs = list(servers)
    try:
        time.sleep(0.5)  # let the servers bind before trainers connect (they retry anyway)
        procs += [JobProcess.start(f"trainer {i * trainers + r}", command,
                                   role_env("client", part_config, ip_config, trainers, rank=r, master=machines[0].ip,
                                            master_port=port, machine=i, machines=m), host)
                  for i, host in enumerate(hosts) for r in range(trainers)]
        if started is not None:
            started.extend(p.popen for p in procs)
        _watch(procs, len(servers), time.monotonic() + timeout, timeout)
    finally:
        for p in procs:
            p.stop()
    return 0


def _check_hosts(machines: list[Machine], hosts: list[Host] | None, ip_config) -> list[Host]:
    if hosts is None and len(machines) == 1:
        return [LOCAL]
    if hosts is None:
        raise ConfigError(f"{len(machines)} machines in {ip_config} and no way given to start processes on them",
                          field="--ip-config", hint="pass hosts= (engine.distributed.hosts: ssh, a network "
                          "namespace), or launch with DGL's tools/launch.py (docs/SCALING.md)")
    if len(hosts) != len(machines):
        raise ConfigError(f"{len(hosts)} hosts for the {len(machines)} machines of {ip_config}", field="--ip-config",
                          hint="give one host per line of the ip config, in the same order")
    return list(hosts)


def _watch(procs: list[JobProcess], n_servers: int, deadline: float, timeout: float) -> None:
    """Return when every trainer exited 0 and then the servers ended (at most
    SERVER_GRACE_S later); DistributedJobError at the first non-zero exit or the deadline."""
    servers, trainers = procs[:n_servers], procs[n_servers:]
    while True:
        for p in procs:
            if p.popen.poll() not in (None, 0):
                p.stop()  # its last stderr lines in full
                raise p.failure(f"exited with code {p.popen.returncode}")
        if all(p.popen.returncode == 0 for p in trainers):
            break
        if time.monotonic() > deadline:
            alive = ", ".join(p.name for p in procs if p.popen.poll() is None)
            raise DistributedJobError(f"the job ran past its timeout of {timeout:g} s (still running: {alive})",
                                      process=alive, exit_code=None, last_lines=[],
                                      hint="a process may wait for a peer that died; see the messages above")
        time.sleep(POLL_S)
    grace = time.monotonic() + SERVER_GRACE_S
    for server in servers:
        try:
            server.popen.wait(timeout=max(0.1, grace - time.monotonic()))
        except subprocess.TimeoutExpired:
            return  # the trainers are done and the run folder written: the servers are killed by id


# (field, the value the distributed trainer implements, the option that sets it)
DISTRIBUTED_TRAINING = (("objective", "sage", "--objective sage"), ("train_as_test", False, "--no-train-as-test"),
                        ("select_metric", "none", "--select-metric none"), ("anchor", 0.0, "--anchor 0"),
                        ("train_cosine_k", 0, "--train-cosine-k 0"), ("keyword_to_image", True, "keyword_to_image=True"),
                        ("tune", 0, "--tune 0"), ("edge_weight", "none", "--edge-weight none"),
                        ("conv", "sage", "--conv sage"))


def check_distributed_config(config) -> None:
    """ConfigError naming every training setting the distributed trainer does not
    implement (it trains the poster's objective J on the partitioned graph; evaluation
    settings such as blend, score_scale, threshold and strategies are all honoured)."""
    wrong = [(name, want, option) for name, want, option in DISTRIBUTED_TRAINING if getattr(config, name) != want]
    if wrong:
        got = ", ".join(f"{name}={getattr(config, name)!r}" for name, _, _ in wrong)
        raise ConfigError(f"the distributed trainer trains the poster's objective J only; not implemented: {got}",
                          field=wrong[0][0], hint="run with " + " ".join(option for _, _, option in wrong))


def run_distributed(part_config, ip_config, config, *, trainers: int = 1, run_dir=None, json_path=None,
                    timeout: float = 1800, hosts: list[Host] | None = None) -> int:
    """``mmkg-tui run --distributed``: with DGL_ROLE set (DGL's tools/launch.py or this
    launcher started us) be that process; otherwise launch the job (``hosts``: how to
    start a process on each machine, see launch_job), whose processes run
    ``python -m engine.distributed.trainer JOB.json``."""
    import json
    import tempfile

    from engine.distributed.partition import PartitionMeta, check_part_config
    from engine.distributed.trainer_job import DistJob

    part_config = check_part_config(part_config)
    meta = PartitionMeta.read(part_config)
    if config.seed != meta.seed or tuple(config.split) != tuple(meta.split):
        raise ConfigError(f"the partition holds the split of seed {meta.seed} {meta.split}, not seed {config.seed}",
                          field="--seed", hint=f"run with --seed {meta.seed}, or partition again with --seed {config.seed}")
    if config.seeds != 1:
        raise ConfigError("a distributed run trains one seed (the partition holds one split)", field="--seeds",
                          hint="drop --seeds, or partition once per seed")
    check_distributed_config(config)
    config.validate()
    read_ip_config(ip_config)
    job = DistJob(str(Path(part_config).resolve()), str(Path(ip_config).resolve()),
                  None if run_dir is None else str(Path(run_dir).resolve()), config,
                  None if json_path is None else str(Path(json_path).resolve()))
    if "DGL_ROLE" in os.environ:
        from engine.distributed.trainer import run_process

        return run_process(job)
    # in the partition folder: every machine of the job sees it (a shared filesystem)
    with tempfile.TemporaryDirectory(prefix="job-", dir=Path(part_config).resolve().parent) as tmp:
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job.to_dict()), encoding="utf-8")
        command = [sys.executable, "-m", "engine.distributed.trainer", str(job_file)]
        return launch_job(command, part_config, ip_config, trainers, hosts=hosts, timeout=timeout)
