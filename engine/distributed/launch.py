"""A one-machine launcher around DGL's conventions (what dgl/tools/launch.py does per
machine over ssh): one server process serving this machine's partition and K trainer
processes, all running the same command with DGL_ROLE, DGL_IP_CONFIG, DGL_CONF_PATH,
DGL_NUM_SERVER, DGL_NUM_CLIENT, ... and torch.distributed's MASTER_ADDR, MASTER_PORT,
RANK, WORLD_SIZE set. Every process is bounded by a timeout and ended by its id.

DGL 2.1.0 serves exactly one partition per machine (two on one host collide in shared
memory), so this launcher runs a one-partition job; on a cluster use DGL's
tools/launch.py with ``mmkg-tui run --distributed ...`` as the command (docs/SCALING.md).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import ConfigError

DIST_MAX_TRY_TIMES = "30"


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
             master_port: int = 0) -> dict[str, str]:
    env = dict(os.environ, DGL_ROLE=role, DGL_DIST_MODE="distributed", DGL_IP_CONFIG=str(ip_config),
               DGL_CONF_PATH=str(part_config), DGL_NUM_SERVER="1", DGL_NUM_CLIENT=str(trainers),
               DGL_NUM_SAMPLER="0", DGL_GRAPH_FORMAT="csc", OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE",
               DGL_DIST_MAX_TRY_TIMES=DIST_MAX_TRY_TIMES, DGLBACKEND="pytorch")
    if role == "server":
        env["DGL_SERVER_ID"] = "0"
    else:
        env.update(MASTER_ADDR=master, MASTER_PORT=str(master_port), RANK=str(rank), WORLD_SIZE=str(trainers),
                   LOCAL_RANK=str(rank))
    return env


def launch_local(command: list[str], part_config, ip_config, trainers: int, *, timeout: float = 1800,
                 started: list | None = None) -> int:
    """Run ``command`` as 1 server + ``trainers`` trainers on this machine; the exit code
    of the job (0 when every trainer succeeded; 124 on timeout). Processes left at the
    end (timeout or a failed peer) are killed by id; ``started`` (a list) receives the
    Popen objects, server first."""
    machines = read_ip_config(ip_config)
    if len(machines) != 1:
        raise ConfigError(f"{len(machines)} machines in {ip_config}: this launcher runs one machine",
                          field="--ip-config", hint="for a cluster launch with DGL's tools/launch.py (docs/SCALING.md)")
    if trainers < 1:
        raise ConfigError("--trainers-per-machine must be at least 1", field="--trainers-per-machine", hint="e.g. 2")
    port = free_port()
    procs = [subprocess.Popen(command, env=role_env("server", part_config, ip_config, trainers))]
    time.sleep(0.5)  # let the server bind before trainers connect (they retry anyway)
    trainers_p = [subprocess.Popen(command, env=role_env("client", part_config, ip_config, trainers, rank=r,
                                                          master=machines[0].ip, master_port=port))
                  for r in range(trainers)]
    procs += trainers_p
    if started is not None:
        started.extend(procs)
    deadline = time.monotonic() + timeout
    code = 0
    try:
        for p in trainers_p:
            left = max(1.0, deadline - time.monotonic())
            rc = p.wait(timeout=left)
            code = code or rc
            if rc != 0:
                break
        if code == 0:
            procs[0].wait(timeout=max(1.0, min(60.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        code = 124
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return code



def run_distributed(part_config, ip_config, config, *, trainers: int = 1, run_dir=None, json_path=None,
                    timeout: float = 1800) -> int:
    """``mmkg-tui run --distributed``: with DGL_ROLE set (DGL's tools/launch.py or this
    launcher started us) be that process; otherwise launch the one-machine job, whose
    processes run ``python -m engine.distributed.trainer JOB.json``."""
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
    read_ip_config(ip_config)
    job = DistJob(str(Path(part_config).resolve()), str(Path(ip_config).resolve()),
                  None if run_dir is None else str(Path(run_dir).resolve()), config,
                  None if json_path is None else str(Path(json_path).resolve()))
    if "DGL_ROLE" in os.environ:
        from engine.distributed.trainer import run_process

        return run_process(job)
    with tempfile.TemporaryDirectory(prefix="mmkg-dist-") as tmp:
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job.to_dict()), encoding="utf-8")
        command = [sys.executable, "-m", "engine.distributed.trainer", str(job_file)]
        return launch_local(command, part_config, ip_config, trainers, timeout=timeout)
