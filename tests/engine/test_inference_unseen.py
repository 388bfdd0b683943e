"""unseen_inference: unseen images embedded from the training graph's layer states,
without recomputing the trained nodes (engine.learn.model), on the real reconnection
strategies of the tiny world."""

import numpy as np
import pytest
import torch

from engine.experiment.config import ExperimentConfig
from engine.graph.reconnect import TrainGraphInfo, enlarged_graph, get_strategy
from engine.learn.model import SageModel, full_inference, unseen_inference


@pytest.fixture(scope="module")
def world(tiny_world, tiny_training):
    return (tiny_world, *tiny_training)


def _model(hom, layers, **kw):
    torch.manual_seed(layers)
    model = SageModel(512, 32, 512, layers, len(hom.ntypes), **kw).eval()
    with torch.no_grad():  # the last layer starts small; make its share visible in the comparison
        for p in model.layers[-1].parameters():
            p.normal_(0, 0.2)
    return model


@pytest.mark.parametrize("strategy", ["self", "cosine", "scene"])
@pytest.mark.parametrize("layers,kw", [(1, {}), (2, {}), (3, {}), (2, {"edge_weight": "cosine"}),
                                       (2, {"conv": "gatv2"})])
def test_equals_full_inference_of_the_enlarged_graph_bit_for_bit(world, strategy, layers, kw):
    ds, feats, sp, hom = world
    model = _model(hom, layers, **kw)
    rows = np.concatenate([sp.val, sp.test])
    src, dst = get_strategy(strategy)(TrainGraphInfo.from_hom(hom), rows, feats, ds, ExperimentConfig())
    g2 = enlarged_graph(hom, rows, feats, src, dst)
    n = hom.num_nodes
    ref = full_inference(model, g2, groups=[torch.arange(n), torch.arange(n, n + len(rows))])
    z, states = full_inference(model, hom.g, keep_states=True)
    assert len(states) == layers - 1
    assert torch.equal(z, ref[:n])  # the trained nodes do not depend on the unseen ones
    got = unseen_inference(model, g2, n, states)
    assert got.shape == (len(rows), 512)
    assert torch.equal(got, ref[n:])
    # and the unseen images' neighbours matter: without their edges the result differs
    bare = enlarged_graph(hom, rows, feats, np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert not torch.equal(unseen_inference(model, bare, n, states), got)


def test_batches_follow_the_same_rule(world):
    ds, feats, sp, hom = world
    model = _model(hom, 2)
    rows = sp.test
    src, dst = get_strategy("cosine")(TrainGraphInfo.from_hom(hom), rows, feats, ds, ExperimentConfig())
    g2 = enlarged_graph(hom, rows, feats, src, dst)
    n = hom.num_nodes
    ref = full_inference(model, g2, batch_size=5, groups=[torch.arange(n), torch.arange(n, n + len(rows))])
    _, states = full_inference(model, hom.g, batch_size=5, keep_states=True)
    assert torch.equal(unseen_inference(model, g2, n, states, batch_size=5), ref[n:])


def test_states_of_another_graph_or_model_are_refused(world):
    ds, feats, sp, hom = world
    model = _model(hom, 2)
    g2 = enlarged_graph(hom, sp.test, feats, np.zeros(0, np.int64), np.zeros(0, np.int64))
    _, states = full_inference(model, hom.g, keep_states=True)
    with pytest.raises(ValueError, match="do not belong"):
        unseen_inference(model, g2, hom.num_nodes - 1, states)
    with pytest.raises(ValueError, match="do not belong"):
        unseen_inference(_model(hom, 3), g2, hom.num_nodes, states)


def test_cancel_stops_it(world):
    import threading

    from engine.core.errors import Cancelled

    ds, feats, sp, hom = world
    model = _model(hom, 2)
    g2 = enlarged_graph(hom, sp.test, feats, np.zeros(0, np.int64), np.zeros(0, np.int64))
    _, states = full_inference(model, hom.g, keep_states=True)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        unseen_inference(model, g2, hom.num_nodes, states, cancel=ev)
