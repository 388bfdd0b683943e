"""Seeded GraphSAGE training as a generator of progress events.

``train_model`` yields ``TrainProgress`` after every minibatch step and returns a
``TrainResult`` (model, loss history, chosen epoch; use ``yield from``). It checks the cancel event before
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
from dataclasses import dataclass, field

os.environ.setdefault("DGLBACKEND", "pytorch")

import numpy as np
import torch

from engine.core.errors import Cancelled, ConfigError
from engine.core.progress import TrainProgress
from engine.core.thread import sampling_thread, single_thread
from engine.graph.homogeneous import HomGraph
from engine.learn.loss import sage_loss
from engine.learn.model import SageModel
from engine.learn.objective import ImageLabels, all_keyword_loss, anchor_loss, image_batches, init_keyword_bias
from engine.learn.sampling import edge_sampler, epoch_loader


def seed_everything(seed: int) -> None:
    import dgl

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    with sampling_thread():  # which thread gets which DGL stream must not depend on scheduling
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
    if config.anchor and config.out_dim != in_dim:
        raise ConfigError(f"the CLIP anchor compares embeddings with CLIP features, but out_dim is "
                          f"{config.out_dim} and the features have {in_dim} dimensions", field="anchor",
                          hint=f"set out_dim to {in_dim}, or anchor to 0")
    all_kw = config.objective != "sage"
    return SageModel(in_dim, config.hidden, config.out_dim, config.layers, len(hom.ntypes),
                     aggregator=config.aggregator, dropout=config.dropout, init_scale=config.temperature,
                     n_keywords=hom.counts["keyword"] if all_kw else 0, edge_weight=config.edge_weight, conv=config.conv)


def make_optimizer(model, config) -> torch.optim.Optimizer:
    """Adam; AdamW (decoupled weight decay) when ``config.weight_decay`` > 0."""
    if config.weight_decay:
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


def train_step(model, optimizer, hom: HomGraph, batch, negatives: int, anchor: float = 0.0) -> float:
    """One step of the poster's objective J on a batch of positive edges (+ the CLIP anchor)."""
    input_nodes, pair_graph, neg_graph, blocks = batch
    x = hom.g.ndata["feat"][input_nodes]
    nt = hom.g.ndata["ntype"][input_nodes]
    z = model(blocks, x, nt)
    pos = model.score(z, *pair_graph.edges())
    neg = model.score(z, *neg_graph.edges())
    loss = sage_loss(pos, neg, negatives)
    if anchor:
        loss = loss + anchor * anchor_loss(z, x[: z.shape[0]])
    return _step(optimizer, loss)


def _step(optimizer, loss: torch.Tensor) -> float:
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())


@dataclass
class TrainResult:
    """What ``train_model`` returns: the model (the best epoch's weights when an
    ``on_epoch_end`` score was given), the mean loss of every epoch, and the
    validation score of every evaluated epoch (epoch 0 = before training)."""

    model: SageModel
    history: list[float]
    best_epoch: int | None = None  # None: no selection, the last epoch's weights
    epoch_scores: list[float] = field(default_factory=list)  # index = epoch (0 = untrained)


class _Selector:
    """Keeps the state of the best-scoring epoch (earliest on ties); counts patience."""

    def __init__(self, score_fn, patience: int) -> None:
        self.score_fn, self.patience = score_fn, int(patience)
        self.scores: list[float] = []
        self.best: tuple[float, int, dict] | None = None

    def __call__(self, model, epoch: int) -> bool:
        """Score ``epoch``; True when training should stop (patience exhausted)."""
        score = float(self.score_fn(model, epoch))
        model.train()
        self.scores.append(score)
        if self.best is None or score > self.best[0]:
            self.best = (score, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
        return self.patience > 0 and epoch - self.best[1] >= self.patience

    def restore(self, model) -> int:
        model.load_state_dict(self.best[2])
        return self.best[1]


def _epoch_batches(hom, config, sampler, gen, labels):
    """An iterator over one epoch's batches: edge minibatches (J) or image-id batches."""
    if labels is None:
        return iter(epoch_loader(hom, sampler, config.batch_size, gen))
    return iter(image_batches(labels.images.numel(), config.image_batch_size, gen))


def _setup(hom: HomGraph, config):
    """(sampler, labels or None, steps per epoch) of the configured objective."""
    if config.objective == "sage":
        own = ImageLabels.from_hom(hom) if config.train_as_test else None
        sampler = edge_sampler(hom, config.fanout, config.negatives, exclude_own=own)
        return sampler, None, max(1, math.ceil(int(hom.train_eids.numel()) / config.batch_size))
    import dgl

    labels = ImageLabels.from_hom(hom)
    sampler = dgl.dataloading.NeighborSampler(list(config.fanout))
    return sampler, labels, max(1, math.ceil(labels.images.numel() / config.image_batch_size))


def train_model(hom: HomGraph, config, *, seed: int, seed_index: int = 0, n_seeds: int = 1,
                cancel=None, on_epoch_end=None) -> Iterator[TrainProgress]:
    """Train a fresh model on ``hom``; yields TrainProgress, returns a TrainResult.

    ``on_epoch_end(model, epoch) -> float`` (optional): a validation score, higher is
    better, called with the model in eval mode before training (epoch 0) and after
    every epoch; the best epoch's weights are restored at the end (earliest on ties)
    and training stops after ``config.patience`` epochs without improvement (0: never).
    """
    with deterministic(), single_thread():
        seed_everything(seed)
        model = build_model(hom, config)
        optimizer = make_optimizer(model, config)
        sampler, labels, steps = _setup(hom, config)
        if labels is not None:
            init_keyword_bias(model, hom, labels)
        gen = torch.Generator().manual_seed(seed)
        total = steps * config.epochs
        history: list[float] = []
        clock = _Clock(total)
        selector = _Selector(on_epoch_end, config.patience) if on_epoch_end is not None else None
        if selector is not None:
            model.eval()
            selector(model, 0)
        for epoch in range(1, config.epochs + 1):
            model.train()
            running, step = 0.0, 0
            batches = _epoch_batches(hom, config, sampler, gen, labels)
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                with sampling_thread():  # the edge loader samples here (the all-keyword loss samples inside)
                    batch = next(batches, None)
                if batch is None:
                    break
                step += 1
                if labels is None:
                    running += train_step(model, optimizer, hom, batch, config.negatives, config.anchor)
                    n_ex = int(batch[1].num_edges())
                else:
                    loss = all_keyword_loss(model, hom, labels, sampler, batch, config.objective,
                                            config.train_as_test, config.anchor)
                    running += _step(optimizer, loss)
                    n_ex = int(batch.numel())
                yield clock.event(seed, seed_index, n_seeds, epoch, config.epochs, step, steps, running / step, n_ex)
            history.append(running / max(step, 1))
            if selector is not None:
                model.eval()
                if selector(model, epoch):
                    break
        best = selector.restore(model) if selector is not None else None
        model.eval()
        return TrainResult(model, history, best, selector.scores if selector is not None else [])


class _Clock:
    """Throughput and ETA of the progress events."""

    def __init__(self, total_steps: int) -> None:
        self.total, self.done, self.examples = total_steps, 0, 0
        self.start = time.perf_counter()

    def event(self, seed, seed_index, n_seeds, epoch, epochs, step, steps, loss, n_examples) -> TrainProgress:
        self.done += 1
        self.examples += n_examples
        elapsed = time.perf_counter() - self.start
        return TrainProgress(
            seed=seed, seed_index=seed_index, n_seeds=n_seeds, epoch=epoch, epochs=epochs, step=step,
            steps_per_epoch=steps, loss=loss, examples_per_s=self.examples / elapsed if elapsed > 0 else 0.0,
            elapsed_s=elapsed, eta_s=elapsed / self.done * max(self.total - self.done, 0),
        )
