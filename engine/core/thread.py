"""Thread policy: how OpenMP threads wait, how many threads training uses, and the one
engine thread every experiment runs on (see the comments below).

OpenMP wait policy
    ``OMP_WAIT_POLICY=PASSIVE`` is set (``os.environ.setdefault``, so a user's own
    value wins) when this module is imported. With libgomp's default a thread that
    finishes a parallel region spins waiting for the next one; on a machine with
    another busy process every small op then waits for a descheduled spinning
    thread (measured: a training step 1.1 s instead of 65 ms, ``to_homogeneous``
    277 ms instead of 5 ms; ``benchmarks/stage_threads.py``). libgomp reads the
    variable ONCE, when it is loaded (i.e. when torch is first imported): setting it
    later has no effect (``wait_policy_status`` says which case a process is in).
    ``engine.api`` imports this module before anything imports torch, so the CLI and
    the app get PASSIVE; scripts that import torch before the engine must set the
    variable themselves (``OMP_WAIT_POLICY=PASSIVE python ...``).

Training threads
    Training runs on ``training_threads()`` OpenMP threads: 1 by default.
    ``MMKG_TRAIN_THREADS`` (a number or ``all``) gives the dense math (forward,
    backward, optimizer) more threads. Either way the result is bit-reproducible for
    the same seed and thread count, in any process, under load or not
    (tests/engine/test_determinism_processes.py for 1 thread,
    tests/engine/test_threads_determinism.py for 2), because DGL's random work stays
    on one thread (``sampling_thread``):

    * DGL's C random engine gives each OS thread a stream ``seed + id``, the id
      counting the threads in the order they first touch it. ``dgl.seed`` under two
      OpenMP threads seeds the engine thread and an OpenMP worker in one parallel
      region, so which of them got id 0 depended on scheduling: measured, 2 of 4
      processes beside a busy one sampled other neighbourhoods from the same seed.
      ``dgl.seed`` and the neighbour sampling therefore run on one OpenMP thread.
    * Sampling and seeding on one thread, the dense math on two: 12 of 12 processes
      (three rounds of four, beside three test suites and two busy processes) ended
      with the same loss; with two-thread seeding, 2-4 different losses per round.
      (An earlier attempt kept ``dgl.seed`` on two threads and concluded, wrongly,
      that the two-thread dense math was scheduling-dependent.)
    Inference and evaluation keep all threads (their results were stable).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
TRAIN_THREADS_ENV = "MMKG_TRAIN_THREADS"

# Before torch (hence libgomp) is loaded, or it is too late: libgomp reads it once.
_TORCH_LOADED_FIRST = "torch" in sys.modules
os.environ.setdefault(WAIT_POLICY_ENV, "PASSIVE")


def wait_policy_status() -> str:
    """The OpenMP wait policy this process runs with, in words (for benchmarks/info)."""
    value = os.environ.get(WAIT_POLICY_ENV, "")
    if _TORCH_LOADED_FIRST:
        return f"libgomp default (torch was imported before engine.core.thread; {WAIT_POLICY_ENV}={value!r} too late)"
    return f"{WAIT_POLICY_ENV}={value}"


def training_threads(environ=None) -> int:
    """Number of OpenMP threads for training: ``MMKG_TRAIN_THREADS`` (a positive
    number or ``all`` = every core), default 1. A bad value is a ConfigError."""
    from engine.core.errors import ConfigError

    env = os.environ if environ is None else environ
    raw = str(env.get(TRAIN_THREADS_ENV, "1")).strip().lower()
    if raw == "all":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{TRAIN_THREADS_ENV}={raw!r} is not a thread count", field=TRAIN_THREADS_ENV,
                          hint="set it to a positive whole number (e.g. 2) or 'all', or unset it for 1")
    return n


@contextlib.contextmanager
def single_thread(threads: int | None = None):
    """Train on ``threads`` OpenMP threads (default ``training_threads()``, i.e. 1
    unless MMKG_TRAIN_THREADS says otherwise; the name is historical, train.py).
    DGL's kernels resolve their OpenMP calls to the libgomp that torch loads, so
    torch.set_num_threads governs both."""
    import torch

    n_before = torch.get_num_threads()
    n = training_threads() if threads is None else int(threads)
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(n_before)


@contextlib.contextmanager
def sampling_thread():
    """One OpenMP thread for DGL's random work (``dgl.seed``, neighbour and negative
    sampling) inside training's ``single_thread(n)``; the thread count is restored after."""
    import torch

    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


# DGL's C random engine seeds each OS thread with ``seed + n``, where n counts the
# threads that touched it before (include/dgl/random.h: GetThreadId). So the same
# dgl.seed gives different neighbour samples in the app's worker threads than on the
# CLI's main thread, and differs again for every new worker. All experiments therefore
# run on one long-lived engine thread: the same thread, hence the same stream, whoever
# iterates the events.
_ENGINE_THREAD = None


def engine_thread():
    """The one long-lived engine thread (a single-worker executor)."""
    global _ENGINE_THREAD
    from concurrent.futures import ThreadPoolExecutor

    if _ENGINE_THREAD is None:
        _ENGINE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmkg-engine")
    return _ENGINE_THREAD


def claim_dgl_rng() -> None:
    """Make the engine thread the first thread of the process to use DGL's RNG (so its
    per-thread offset is 0, as for a CLI run), if nothing used that RNG before. Tests
    call this first so results do not depend on which test sampled first."""
    import dgl

    def seed_once():
        with single_thread(1):  # one OpenMP thread: only this thread is touched
            dgl.seed(0)

    engine_thread().submit(seed_once).result()


def on_engine_thread(events: Iterator) -> Iterator:
    """Iterate ``events`` with every step executed on the one engine thread."""
    executor = engine_thread()
    while True:
        try:
            event = executor.submit(next, events).result()
        except StopIteration as stop:
            return stop.value
        yield event
