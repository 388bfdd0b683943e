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

os.environ.setdefault("DGLBACKEND", "pytorch")

import numpy as np
import torch

from engine.core.errors import Cancelled
from engine.core.progress import TrainProgress
from engine.core.thread import single_thread
from engine.graph.homogeneous import HomGraph
from engine.learn.loss import sage_loss
from engine.learn.model import SageModel
from engine.learn.sampling import edge_sampler, epoch_loader


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



