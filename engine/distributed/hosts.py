"""How the launcher starts a process on machine X of the ip config (one ``Host`` per
line of ip_config.txt, in the same order).

A Host turns (command, environment) into what ``subprocess.Popen`` runs here:

- ``Host()``: this machine, the command as it is (the one-machine job).
- ``Host(prefix=("ip", "netns", "exec", "NS"))``: a command prefix that runs it
  somewhere else but inherits our environment (a network namespace; ``env`` adds
  per-host variables such as ``GLOO_SOCKET_IFNAME``). engine.distributed.namespaces
  builds these for two simulated machines.
- ``SshHost("user@node1", workdir="/shared/mmkg")``: ssh does not forward our
  environment, so the job's variables (DGL_ROLE, RANK, ..., everything that differs
  from our own environment) are written into the remote command line, as DGL's
  tools/launch.py does. Killing the local ssh client ends a remote process only when
  the session closes it (``ssh -tt``, the default ``options`` here, hangs it up).

In every case the process we start keeps its id through ``exec`` (ip netns exec,
unshare and ``sh -c 'exec ...'`` all exec), so the launcher ends it by that id.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    """Start a process with ``prefix + command``; ``env`` (pairs) is added to its environment."""

    prefix: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    name: str = "localhost"

    def argv(self, command: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """(what to run here, its environment)."""
        return [*self.prefix, *command], {**env, **dict(self.env)}


@dataclass(frozen=True)
class SshHost(Host):
    """A machine reached by passwordless ssh, with the same files at ``workdir``
    (a shared filesystem). The job's variables travel in the command line."""

    address: str = ""
    workdir: str = "."
    options: tuple[str, ...] = ("-tt", "-o", "BatchMode=yes")

    def argv(self, command: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        full = {**env, **dict(self.env)}
        job_vars = {k: v for k, v in full.items() if os.environ.get(k) != v}
        assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(job_vars.items()))
        remote = f"cd {shlex.quote(self.workdir)} && env {assigns} {shlex.join(command)}"
        return ["ssh", *self.options, self.address, remote], dict(os.environ)


HOSTS_FORMAT = "'local', 'ssh ADDRESS [WORKDIR]' or 'prefix COMMAND...' (e.g. 'prefix ip netns exec NS')"


def read_hosts(path) -> list[Host]:
    """A hosts file for the launcher: one line per line of the ip config, same order,
    each ``local``, ``ssh ADDRESS [WORKDIR]`` or ``prefix COMMAND...`` (shell words);
    ``#`` comments and blank lines skipped. ConfigError naming the file and line."""
    from pathlib import Path

    from engine.core.errors import ConfigError

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"hosts file {p} not found", field="--hosts", hint=f"one line per machine: {HOSTS_FORMAT}")
    hosts = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        words = shlex.split(line, comments=True)
        if not words:
            continue
        kind, rest = words[0], words[1:]
        if kind == "local" and not rest:
            hosts.append(Host())
        elif kind == "ssh" and 1 <= len(rest) <= 2:
            hosts.append(SshHost(name=rest[0], address=rest[0], workdir=rest[1] if len(rest) == 2 else os.getcwd()))
        elif kind == "prefix" and rest:
            hosts.append(Host(prefix=tuple(rest), name=" ".join(rest)))
        else:
            raise ConfigError(f"line {i}: {line.strip()!r} is not a host", path=p, line=i, field="--hosts",
                              hint=f"write {HOSTS_FORMAT}")
    if not hosts:
        raise ConfigError(f"{p} lists no host", path=p, field="--hosts", hint=f"one line per machine: {HOSTS_FORMAT}")
    return hosts
