"""Seeded GraphSAGE training as a generator of progress events.

``train_model`` yields ``TrainProgress`` after every minibatch step and returns
``(model, loss_history)`` (use ``yield from``). It checks the cancel event before
every step (a step takes well under a second) and raises ``engine.errors.Cancelled``.

Determinism: ``seed_everything`` seeds ``random``, numpy, torch and DGL; the edge
order of each epoch comes from a seeded ``torch.Generator``; DataLoaders run with
``num_workers=0``; training runs on one OpenMP thread (see ``single_thread``: with
more, DGL's results depended on machine load); ``torch.use_deterministic_algorithms``
is switched on for the duration of training (and restored afterwards). The same seed gives the same
weights and metrics on CPU, bit for bit.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

os.environ.setdefault("DGLBACKEND", "pytorch")

import numpy as np
import torch

from engine.errors import Cancelled
from engine.loss import sage_loss
from engine.model import SageModel
from engine.sampling import HomGraph, edge_sampler, epoch_loader


@dataclass(frozen=True)
class TrainProgress:
    seed: int
    seed_index: int
    n_seeds: int
    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based within the epoch
    steps_per_epoch: int
    loss: float  # running mean loss of the current epoch
    examples_per_s: float
    elapsed_s: float
    eta_s: float | None


def seed_everything(seed: int) -> None:
    import dgl

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    dgl.seed(seed)


@contextlib.contextmanager
def deterministic():
    prev = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev, warn_only=prev_warn)


@contextlib.contextmanager
def single_thread():
    """Train on one OpenMP thread. DGL's kernels (neighbour sampling, the edge
    orderings behind message passing and its backward) split work across OpenMP
    threads in a way that depends on scheduling, i.e. on machine load: with two
    threads the same seed gave different weights on a busy machine (checked: 3 of 8
    runs differed under a CPU hog; 8 of 8 identical with this). DGL resolves its
    OpenMP calls to the libgomp that torch loads, so torch.set_num_threads governs
    both. Inference and evaluation keep all threads (their results were stable)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def build_model(hom: HomGraph, config) -> SageModel:
    in_dim = int(hom.g.ndata["feat"].shape[1])
    return SageModel(in_dim, config.hidden, config.out_dim, config.layers, len(hom.ntypes),
                     aggregator=config.aggregator)


def train_step(model, optimizer, hom: HomGraph, batch, negatives: int) -> float:
    input_nodes, pair_graph, neg_graph, blocks = batch
    x = hom.g.ndata["feat"][input_nodes]
    nt = hom.g.ndata["ntype"][input_nodes]
    z = model(blocks, x, nt)
    pos = model.score(z, *pair_graph.edges())
    neg = model.score(z, *neg_graph.edges())
    loss = sage_loss(pos, neg, negatives)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())


def train_model(hom: HomGraph, config, *, seed: int, seed_index: int = 0, n_seeds: int = 1,
                cancel=None) -> Iterator[TrainProgress]:
    """Train a fresh model on ``hom``; yields TrainProgress, returns (model, loss_history)."""
    with deterministic(), single_thread():
        seed_everything(seed)
        model = build_model(hom, config)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        sampler = edge_sampler(hom, config.fanout, config.negatives)
        gen = torch.Generator().manual_seed(seed)
        n_edges = int(hom.train_eids.numel())
        steps = max(1, math.ceil(n_edges / config.batch_size))
        total = steps * config.epochs
        history: list[float] = []
        start = time.perf_counter()
        done_steps = 0
        examples = 0
        for epoch in range(1, config.epochs + 1):
            model.train()
            running = 0.0
            batches = iter(epoch_loader(hom, sampler, config.batch_size, gen))
            step = 0
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                batch = next(batches, None)
                if batch is None:
                    break
                step += 1
                running += train_step(model, optimizer, hom, batch, config.negatives)
                done_steps += 1
                examples += int(batch[1].num_edges())
                elapsed = time.perf_counter() - start
                yield TrainProgress(
                    seed=seed, seed_index=seed_index, n_seeds=n_seeds, epoch=epoch,
                    epochs=config.epochs, step=step, steps_per_epoch=steps, loss=running / step,
                    examples_per_s=examples / elapsed if elapsed > 0 else 0.0, elapsed_s=elapsed,
                    eta_s=elapsed / done_steps * (total - done_steps),
                )
            history.append(running / max(step, 1))
        model.eval()
        return model, history



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
