import math
import threading

import pytest
import torch

from engine.core.errors import Cancelled
from engine.core.progress import TrainProgress
from engine.experiment.config import ExperimentConfig
from engine.learn.train import train_model


def small(**kw):
    base = dict(hidden=32, out_dim=32, epochs=2, batch_size=128, objective="sage")  # the poster's J loop
    base.update(kw)
    return ExperimentConfig(**base)


def run(gen):
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        model, history = stop.value.model, stop.value.history
    return events, model, history


def test_progress_events_cover_every_step(hom):
    cfg = small(epochs=2)
    events, model, history = run(train_model(hom, cfg, seed=0))
    steps = math.ceil(hom.train_eids.numel() / cfg.batch_size)
    assert len(events) == 2 * steps and all(isinstance(e, TrainProgress) for e in events)
    assert [(e.epoch, e.step) for e in events] == [(ep, s) for ep in (1, 2) for s in range(1, steps + 1)]
    assert all(e.steps_per_epoch == steps and e.epochs == 2 for e in events)
    assert events[-1].eta_s == 0.0 and events[-1].examples_per_s > 0
    assert len(history) == 2 and history[0] == events[steps - 1].loss and history[1] == events[-1].loss


def test_same_seed_same_weights_bit_for_bit(hom):
    _, m1, h1 = run(train_model(hom, small(), seed=5))
    _, m2, h2 = run(train_model(hom, small(), seed=5))
    _, m3, h3 = run(train_model(hom, small(), seed=6))
    assert h1 == h2
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert h1 != h3


def test_training_lowers_the_loss(hom):
    _, _, history = run(train_model(hom, small(epochs=4, hidden=64, out_dim=512, lr=3e-3), seed=0))
    assert history[-1] < history[0]


def test_cancel_stops_before_the_next_step(hom):
    """Cancel is checked before every minibatch step (a step takes well under a second,
    see benchmarks), so no further step runs once it is set."""
    cancel = threading.Event()
    gen = train_model(hom, small(epochs=50), seed=0, cancel=cancel)
    first = next(gen)
    assert isinstance(first, TrainProgress) and first.step == 1
    cancel.set()
    after = []
    with pytest.raises(Cancelled):
        for ev in gen:
            after.append(ev)
    assert after == []


def test_training_leaves_global_determinism_flag_as_it_was(hom):
    before = torch.are_deterministic_algorithms_enabled()
    run(train_model(hom, small(epochs=1), seed=0))
    assert torch.are_deterministic_algorithms_enabled() == before
