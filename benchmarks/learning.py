"""Adapter to the learning engineer's modules (engine.split / sampling / train / model /
evaluate / experiment).

Everything the stages need from the learning side goes through here, so a change
in their API is fixed in one place. A missing module or name raises NotAvailable
with the reason, and the row prints 'not available: <reason>'.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np


class NotAvailable(Exception):
    pass


def _get(module: str, name: str):
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise NotAvailable(f"{module} missing ({exc})") from exc
    try:
        return getattr(mod, name)
    except AttributeError as exc:
        raise NotAvailable(f"{module}.{name} missing") from exc


# ---------------------------------------------------------------- training graph
@dataclass
class Prepared:
    hom: Any  # engine.sampling.HomGraph of the training images
    config: Any  # engine.experiment.ExperimentConfig
    split: Any
    kg: Any


def prepare(dataset, features, *, seed: int = 0, kg=None, **config_overrides) -> Prepared:
    """The experiment's own steps up to training: graph, split, training graph, homogeneous view."""
    ExperimentConfig = _get("engine.experiment.config", "ExperimentConfig")
    split_images = _get("engine.graph.split", "split_images")
    training_graph = _get("engine.graph.split", "training_graph")
    to_homogeneous = _get("engine.graph.homogeneous", "to_homogeneous")
    from engine.graph.knowledge import build_graph

    config = ExperimentConfig(seed=seed, **config_overrides)
    config.validate()
    kg = kg if kg is not None else build_graph(dataset, features)
    split = split_images(dataset.n_images, config.split, seed)
    hom = to_homogeneous(training_graph(kg.g, split.train), split.train)
    return Prepared(hom, config, split, kg)


def steps_per_epoch(p: Prepared) -> int:
    return max(1, -(-int(p.hom.train_eids.numel()) // p.config.batch_size))


def ours_train(p: Prepared, steps: int) -> tuple[Any, int]:
    """engine.train.train_model (progress events, seeding, determinism, cancel checks)
    for ``steps`` minibatches; returns (model, positive edges seen)."""
    import threading

    train_model = _get("engine.learn.train", "train_model")
    cancel = threading.Event()  # a real event, checked every step, as the app does
    gen = train_model(p.hom, p.config, seed=p.config.seed, cancel=cancel)
    n_edges, bs = int(p.hom.train_eids.numel()), p.config.batch_size
    done = 0
    try:
        for ev in gen:
            done = (ev.epoch - 1) * n_edges + min(ev.step * bs, n_edges)
            if ev.step >= steps and ev.epoch == 1:
                break
    finally:
        gen.close()
    return None, done


def ours_step_iter(p: Prepared):
    """engine.train.train_model as an endless per-step iterator (many epochs): each
    next() is one minibatch step of ours, progress event and cancel check included."""
    import dataclasses
    import threading

    train_model = _get("engine.learn.train", "train_model")
    cfg = dataclasses.replace(p.config, epochs=10_000)
    return iter(train_model(p.hom, cfg, seed=cfg.seed, cancel=threading.Event()))


def reference_step_iter(p: Prepared):
    """The minimal DGL loop as an endless per-step iterator (same sampler, model, loss)."""
    import dgl
    import torch

    build_model = _get("engine.learn.train", "build_model")
    edge_sampler = _get("engine.learn.sampling", "edge_sampler")
    sage_loss = _get("engine.learn.loss", "sage_loss")
    hom, cfg = p.hom, p.config
    torch.manual_seed(cfg.seed)
    model = build_model(hom, cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sampler = edge_sampler(hom, cfg.fanout, cfg.negatives)
    feat, ntype = hom.g.ndata["feat"], hom.g.ndata["ntype"]
    model.train()
    while True:
        loader = dgl.dataloading.DataLoader(hom.g, hom.train_eids, sampler, batch_size=cfg.batch_size,
                                            shuffle=True, drop_last=False, num_workers=0)
        for input_nodes, pair, neg, blocks in loader:
            z = model(blocks, feat[input_nodes], ntype[input_nodes])
            loss = sage_loss(model.score(z, *pair.edges()), model.score(z, *neg.edges()), cfg.negatives)
            opt.zero_grad()
            loss.backward()
            opt.step()
            yield int(pair.num_edges())


# ---------------------------------------------------------------- inference
def ours_inference(model, g):
    full_inference = _get("engine.learn.model", "full_inference")
    return full_inference(model, g)


def reference_inference(model, g):
    """Whole-graph layer-by-layer forward (no minibatching): the DGL floor."""
    import torch

    with torch.no_grad():
        x = g.ndata["feat"]
        h = model.input(x, g.ndata["ntype"])
        for i in range(model.n_layers):
            h = model.layer(i, g, h)
        return model.finish(h, x)


def cosine_scores():
    """The experiment's image x keyword scoring function."""
    return _get("engine.methods.scoring", "cosine_scores")


# ---------------------------------------------------------------- evaluation
def evaluate_all(scores: np.ndarray, labels: np.ndarray, val_mask: np.ndarray, test_mask: np.ndarray):
    """Zero-argument callable: every metric of one method with engine.evaluate."""
    evaluate_method = _get("engine.evaluation.metrics", "evaluate_method")
    return lambda: evaluate_method(scores, labels, val_mask, test_mask, 0.7)


def timed(fn, *args, **kw) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0
