"""Thread policy: the one engine thread every experiment runs on, and one OpenMP
thread for training (both for determinism; see the comments below)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def single_thread():
    """Train on one OpenMP thread. DGL's kernels (neighbour sampling, the edge
    orderings behind message passing and its backward) split work across OpenMP
    threads in a way that depends on scheduling, i.e. on machine load: with two
    threads the same seed gave different weights on a busy machine (checked: 3 of 8
    runs differed under a CPU hog; 8 of 8 identical with this). DGL resolves its
    OpenMP calls to the libgomp that torch loads, so torch.set_num_threads governs
    both. Inference and evaluation keep all threads (their results were stable)."""
    import torch

    n = torch.get_num_threads()
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
        with single_thread():  # one OpenMP thread: only this thread is touched
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
