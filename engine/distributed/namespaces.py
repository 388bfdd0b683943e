"""Two machines simulated on one Linux host (root only): two network namespaces joined
by a veth pair, each with its own address and its own /dev/shm, and a ``Host`` per
namespace for the launcher (engine.distributed.hosts).

Why a private /dev/shm: DGL 2.1.0 names a partition's shared memory after the graph
(``/<graph>_node_...``), not the partition, so two servers sharing one /dev/shm
overwrite each other's arrays; namespaces separate the network, not /dev/shm. Every
process of namespace X runs ``ip netns exec X unshare -m sh -c 'mount --bind DIR
/dev/shm && exec "$@"'``: a private mount namespace in which X's own folder DIR
(under the real /dev/shm, so still memory) is /dev/shm, shared by X's server and
trainers and by no one else. Each step of that prefix execs, so the process keeps the
id the launcher ends it by. GLOO_SOCKET_IFNAME makes torch.distributed use the veth.

    with two_machines() as machines:
        ip_config.write_text("".join(f"{m.ip} {port}\\n" for m in machines))
        run_distributed(..., hosts=[m.host() for m in machines])

Everything made is removed when the block ends, also on failure: the namespaces
(their veth ends go with them) and the /dev/shm folders.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import MMKGError
from engine.distributed.hosts import Host

SUBNET = "10.200.0"  # a private range, only ever inside the two namespaces
BIND_SHM = 'mount --bind "$0" /dev/shm && exec "$@"'
IP_TIMEOUT_S = 20
_RUNS = itertools.count()


class NamespacesUnavailable(MMKGError):
    """Network namespaces cannot be made here (not root, no ``ip``, or the kernel refused)."""


@dataclass(frozen=True)
class SimulatedMachine:
    namespace: str
    interface: str
    ip: str
    shm: Path

    def host(self) -> Host:
        return Host(prefix=("ip", "netns", "exec", self.namespace, "unshare", "-m", "sh", "-c", BIND_SHM,
                            str(self.shm)), env=(("GLOO_SOCKET_IFNAME", self.interface),), name=self.namespace)


def _ip(*args: str) -> None:
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise NamespacesUnavailable("the 'ip' command (iproute2) is not installed",
                                    hint="install iproute2, or run the one-machine job") from None
    if done.returncode != 0:
        raise NamespacesUnavailable(f"'ip {' '.join(args)}' failed: {done.stderr.strip()}",
                                    hint="network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")


def _make(machines: list[SimulatedMachine]) -> None:
    a, b = machines
    for m in machines:
        _ip("netns", "add", m.namespace)
    _ip("link", "add", a.interface, "type", "veth", "peer", "name", b.interface)
    for m in machines:
        _ip("link", "set", m.interface, "netns", m.namespace)
        _ip("-n", m.namespace, "addr", "add", f"{m.ip}/24", "dev", m.interface)
        _ip("-n", m.namespace, "link", "set", m.interface, "up")
        _ip("-n", m.namespace, "link", "set", "lo", "up")
        m.shm.mkdir(mode=0o700)


def _remove(machines: list[SimulatedMachine]) -> None:
    """Best effort, every step tried: a failure half-way leaves nothing behind."""
    for m in machines:
        subprocess.run(["ip", "netns", "del", m.namespace], capture_output=True, timeout=IP_TIMEOUT_S, check=False)
    subprocess.run(["ip", "link", "del", machines[0].interface], capture_output=True, timeout=IP_TIMEOUT_S, check=False)
    for m in machines:
        shutil.rmtree(m.shm, ignore_errors=True)


@contextmanager
def two_machines(shm_root="/dev/shm") -> Iterator[list[SimulatedMachine]]:
    """Two simulated machines, ``mmkg-<pid>-<n>-a`` (SUBNET.1) and ``...-b`` (SUBNET.2);
    NamespacesUnavailable (with the reason) when they cannot be made."""
    if os.geteuid() != 0:
        raise NamespacesUnavailable("network namespaces need root", hint="run as root, or run the one-machine job")
    run = next(_RUNS)
    tag = f"{os.getpid()}-{run}"
    machines = [SimulatedMachine(f"mmkg-{tag}-{x}", f"mk{os.getpid() % 100000}n{run % 1000}{x}", f"{SUBNET}.{i + 1}",
                                 Path(shm_root) / f"mmkg-{tag}-{x}") for i, x in enumerate("ab")]
    try:
        _make(machines)
        yield machines
    finally:
        _remove(machines)
