"""Learning options: early stopping hook, all-keyword objectives, train as you test,
training-image context edges, dropout, weight decay, CLIP anchor, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.experiment.config import ExperimentConfig
from engine.learn.objective import ImageLabels, all_keyword_loss, init_keyword_bias
from engine.learn.train import TrainResult, build_model, make_optimizer, train_model


def small(**kw):
    base = dict(hidden=32, out_dim=32, epochs=3, batch_size=128, image_batch_size=64)
    base.update(kw)
    return ExperimentConfig(**base)


def finish(gen):
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return events, stop.value


class Scripted:
    """An on_epoch_end hook returning fixed scores; records the epochs it saw."""

    def __init__(self, scores):
        self.scores, self.seen, self.states = list(scores), [], []

    def __call__(self, model, epoch):
        assert not model.training  # scored in eval mode, as inference runs
        self.seen.append(epoch)
        self.states.append({k: v.clone() for k, v in model.state_dict().items()})
        return self.scores[epoch]


def same_state(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_early_stopping_restores_the_best_epoch(hom):
    hook = Scripted([0.1, 0.2, 0.9, 0.3])
    _, res = finish(train_model(hom, small(epochs=3), seed=0, on_epoch_end=hook))
    assert isinstance(res, TrainResult)
    assert hook.seen == [0, 1, 2, 3] and res.epoch_scores == [0.1, 0.2, 0.9, 0.3]
    assert res.best_epoch == 2 and len(res.history) == 3
    assert same_state(res.model.state_dict(), hook.states[2])
    assert not same_state(res.model.state_dict(), hook.states[3])


def test_epoch_zero_can_win_and_ties_keep_the_earliest(hom):
    hook = Scripted([0.5, 0.5, 0.4, 0.5])
    _, res = finish(train_model(hom, small(epochs=3), seed=0, on_epoch_end=hook))
    assert res.best_epoch == 0 and same_state(res.model.state_dict(), hook.states[0])


def test_patience_stops_training(hom):
    hook = Scripted([0.5, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    events, res = finish(train_model(hom, small(epochs=6, patience=2), seed=0, on_epoch_end=hook))
    assert hook.seen == [0, 1, 2, 3] and res.best_epoch == 1 and len(res.history) == 3
    assert max(e.epoch for e in events) == 3


def test_without_a_hook_nothing_is_selected(hom):
    _, res = finish(train_model(hom, small(epochs=1), seed=0))
    assert res.best_epoch is None and res.epoch_scores == []


def test_image_labels_match_the_training_graph(tiny_world, hom):
    data = ImageLabels.from_hom(hom)
    want = tiny_world.label_matrix()[hom.image_rows].toarray()
    np.testing.assert_array_equal(data.labels.numpy(), want)
    # own_edges: both directions of exactly the image's keyword edges
    i = int(np.argmax(want.sum(1)))
    eids = data.own_edges(np.array([i]))
    src, dst = hom.g.find_edges(eids)
    node = hom.offsets["image"] + i
    lo, hi = hom.keyword_range
    ends = set(zip(src.tolist(), dst.tolist()))
    kws = {lo + k for k in np.nonzero(want[i])[0]}
    assert ends == {(node, k) for k in kws} | {(k, node) for k in kws}


def test_train_as_test_batches_never_see_their_own_keywords(hom):
    import dgl

    data = ImageLabels.from_hom(hom)
    sampler = dgl.dataloading.NeighborSampler([-1, -1])
    local = torch.arange(0, 40)
    own = set(data.own_edges(local.numpy()).tolist())
    lo, hi = hom.keyword_range
    seeds = torch.cat([data.images[local], torch.arange(lo, hi)])
    _, _, blocks = sampler.sample_blocks(hom.g, seeds, exclude_eids=data.own_edges(local.numpy()))
    used = set(torch.cat([b.edata[dgl.EID] for b in blocks]).tolist())
    assert own and not (own & used)
    _, _, blocks = sampler.sample_blocks(hom.g, seeds)  # without exclusion they would be there
    assert own & set(torch.cat([b.edata[dgl.EID] for b in blocks]).tolist())


def test_j_with_train_as_test_excludes_every_keyword_edge_of_the_batch_images(hom):
    import dgl

    from engine.learn.sampling import edge_sampler

    data = ImageLabels.from_hom(hom)
    sampler = edge_sampler(hom, [-1, -1], 1, exclude_own=data)
    loader = dgl.dataloading.DataLoader(hom.g, hom.train_eids[:64], sampler, batch_size=64, shuffle=False)
    _, pair, _, blocks = next(iter(loader))
    src, _ = hom.g.find_edges(hom.train_eids[:64])
    own = set(data.own_edges(np.unique(src.numpy() - hom.offsets["image"])).tolist())
    used = set(torch.cat([b.edata[dgl.EID] for b in blocks]).tolist())
    assert own and not (own & used)


@pytest.mark.parametrize("objective", ["softmax", "bce", "symmetric"])
def test_all_keyword_objectives_train_and_lower_their_loss(hom, objective):
    _, res = finish(train_model(hom, small(epochs=4, objective=objective, train_as_test=True, lr=3e-3), seed=0))
    assert res.model.keyword_bias is not None and len(res.history) == 4
    assert all(np.isfinite(res.history)) and res.history[-1] < res.history[0]


def test_all_keyword_training_is_deterministic(hom):
    cfg = small(epochs=2, objective="softmax", train_as_test=True, dropout=0.1)
    _, a = finish(train_model(hom, cfg, seed=3))
    _, b = finish(train_model(hom, cfg, seed=3))
    assert a.history == b.history and same_state(a.model.state_dict(), b.model.state_dict())


def test_keyword_bias_starts_at_the_prevalence(hom):
    cfg = small(objective="bce")
    model = build_model(hom, cfg)
    data = ImageLabels.from_hom(hom)
    init_keyword_bias(model, hom, data)
    lo, hi = hom.keyword_range
    x = torch.nn.functional.normalize(hom.g.ndata["feat"], dim=-1)
    logit = model.scale.detach() * (x[data.images] @ x[lo:hi].T).mean(0) + model.keyword_bias.detach()
    p = data.labels.mean(0).clamp(1e-4, 1 - 1e-4)
    torch.testing.assert_close(torch.sigmoid(logit), p, rtol=1e-4, atol=1e-5)


def test_anchor_term_adds_the_distance_to_clip(hom):
    import dgl

    data = ImageLabels.from_hom(hom)
    model = build_model(hom, small(objective="softmax", out_dim=512, anchor=1.0))
    sampler = dgl.dataloading.NeighborSampler([3, 3])
    local = torch.arange(32)
    torch.manual_seed(0)
    base = all_keyword_loss(model, hom, data, sampler, local, "softmax", True, 0.0)
    torch.manual_seed(0)
    anchored = all_keyword_loss(model, hom, data, sampler, local, "softmax", True, 2.0)
    assert float(anchored) > float(base)


def test_anchor_needs_the_clip_dimension(hom):
    with pytest.raises(ConfigError) as exc:
        build_model(hom, small(anchor=1.0, out_dim=32))
    assert exc.value.field == "anchor" and "512" in exc.value.hint


def test_dropout_only_while_training(hom):
    from engine.learn.model import full_inference

    model = build_model(hom, small(dropout=0.5))
    assert model.dropout is not None and model.dropout.p == 0.5
    a = full_inference(model, hom.g)
    b = full_inference(model, hom.g)
    assert torch.equal(a, b)  # eval mode: no dropout
    model.train()
    h = torch.ones(4, 32)
    assert not torch.equal(model.dropout(h), h)


def test_weight_decay_uses_adamw(hom):
    model = build_model(hom, small())
    assert type(make_optimizer(model, small())) is torch.optim.Adam
    opt = make_optimizer(model, small(weight_decay=0.01))
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["weight_decay"] == 0.01


def test_training_image_neighbours(hom, tiny_world):
    from engine.features.bundle import precomputed_features
    from engine.graph.context import add_image_neighbours

    feats = precomputed_features(tiny_world)
    k = 3
    aug = add_image_neighbours(hom, feats.image, k)
    n_old = hom.g.num_edges()
    assert aug.g.num_edges() == n_old + k * hom.counts["image"]
    u, v = aug.g.find_edges(torch.arange(n_old, aug.g.num_edges()))
    lo = hom.offsets["image"]
    assert ((u >= lo) & (u < lo + hom.counts["image"])).all() and not (u == v).any()
    assert (torch.bincount(v - lo, minlength=hom.counts["image"]) == k).all()
    # nearest by CLIP cosine among training images
    x = feats.image[hom.image_rows]
    i = int(v[0]) - lo
    sims = x @ x[i]
    sims[i] = -np.inf
    want = set(np.argsort(-sims)[:k].tolist())
    assert set((u[v == v[0]] - lo).tolist()) == want
    old_u, old_v = hom.g.edges()
    new_u, new_v = aug.g.find_edges(torch.arange(n_old))
    assert torch.equal(old_u, new_u) and torch.equal(old_v, new_v) and torch.equal(aug.train_eids, hom.train_eids)


@pytest.mark.parametrize("kw,field", [
    ({"objective": "hinge"}, "objective"), ({"dropout": 1.0}, "dropout"), ({"weight_decay": -1}, "weight_decay"),
    ({"anchor": float("nan")}, "anchor"), ({"train_as_test": "yes"}, "train_as_test"),
    ({"train_cosine_k": -1}, "train_cosine_k"), ({"select_metric": "f1"}, "select_metric"),
    ({"patience": 1.5}, "patience"), ({"blend": 1}, "blend"), ({"image_batch_size": 0}, "image_batch_size"),
])
def test_invalid_learning_options_name_their_field(kw, field):
    with pytest.raises(ConfigError) as exc:
        ExperimentConfig(**kw).validate()
    assert exc.value.field == field and exc.value.hint


def test_symmetric_adds_the_keyword_to_image_softmax():
    from engine.learn.objective import _softmax_ce

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]])
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    row = -(torch.log_softmax(logits[0], 0)[0] + 0.5 * (torch.log_softmax(logits[1], 0)[1:].sum())) / 2
    torch.testing.assert_close(_softmax_ce(logits, y), row)
    col_k0 = -torch.log_softmax(logits[:, 0], 0)[0]  # keyword 0: image 0 among the 2 images
    col_k1 = -torch.log_softmax(logits[:, 1], 0)[1]
    col_k2 = -torch.log_softmax(logits[:, 2], 0)[1]
    torch.testing.assert_close(_softmax_ce(logits.T, y.T), (col_k0 + col_k1 + col_k2) / 3)


def test_all_keyword_progress_counts_image_batches(hom):
    import math

    cfg = small(epochs=2, objective="softmax")
    events, _ = finish(train_model(hom, cfg, seed=0))
    steps = math.ceil(hom.counts["image"] / cfg.image_batch_size)
    assert [(e.epoch, e.step) for e in events] == [(ep, s) for ep in (1, 2) for s in range(1, steps + 1)]
    assert all(e.steps_per_epoch == steps for e in events) and events[-1].eta_s == 0.0
