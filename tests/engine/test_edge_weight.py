"""Edge weights from CLIP cosine (engine.learn.edge_weight): their values, the same
weights in sampled blocks and in full inference, their effect, determinism, config."""

from __future__ import annotations

import argparse
import math

import dgl
import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.experiment.config import ExperimentConfig
from engine.learn.edge_weight import (
    EDGE_TEMPERATURE,
    block_weights,
    edge_cosines,
    softmax_weights,
)
from engine.learn.model import SageModel, full_inference
from engine.learn.train import train_model


def test_softmax_weights_by_hand():
    cos = torch.tensor([0.5, 0.3, 0.9, 0.2, 0.2])
    dst = torch.tensor([0, 0, 1, 2, 2])
    w = softmax_weights(cos, dst, 3, temperature=0.1)
    a, b = math.exp(5.0), math.exp(3.0)
    want = [2 * a / (a + b), 2 * b / (a + b), 1.0, 1.0, 1.0]  # mean 1 per destination; equal cosines: 1
    np.testing.assert_allclose(w.numpy(), want, rtol=1e-6)
    # a large shift of every logit (cos / 0.1 up to 10) does not overflow
    w2 = softmax_weights(cos + 50.0, dst, 3, temperature=0.1)
    np.testing.assert_allclose(w2.numpy(), want, rtol=1e-5)


def test_edge_cosines_match_numpy():
    rng = np.random.default_rng(0)
    xs, xd = rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=(3, 5)).astype(np.float32)
    src, dst = np.array([0, 5, 2, 2]), np.array([0, 0, 1, 2])
    got = edge_cosines(torch.from_numpy(xs), torch.from_numpy(xd), torch.from_numpy(src), torch.from_numpy(dst))
    a = xs[src] / np.linalg.norm(xs[src], axis=1, keepdims=True)
    b = xd[dst] / np.linalg.norm(xd[dst], axis=1, keepdims=True)
    np.testing.assert_allclose(got.numpy(), (a * b).sum(1), rtol=1e-5)


def test_block_weights_use_the_raw_features_of_each_edge():
    g = dgl.graph((torch.tensor([1, 2, 3, 0]), torch.tensor([0, 0, 0, 1])), num_nodes=4)
    x = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [-1.0, 0.2]])
    block = dgl.to_block(g)  # its sources are the graph's nodes with the destinations first
    ids = block.srcdata[dgl.NID]
    w = block_weights(block, x[ids], "cosine").squeeze(-1)
    u, v = block.edges(order="eid")
    gu, gv = ids[u], ids[block.dstdata[dgl.NID][v]]
    cos = torch.nn.functional.cosine_similarity(x[gu], x[gv])
    for d in gv.unique():
        e = gv == d
        want = torch.softmax(cos[e] / EDGE_TEMPERATURE, 0) * e.sum()
        np.testing.assert_allclose(w[e].numpy(), want.numpy(), rtol=1e-5)
    assert w[(gu == 1) & (gv == 0)] > 2.5  # the similar neighbour counts most (3 neighbours: mean 1)
    assert w[(gu == 3) & (gv == 0)] < 0.3
    assert block_weights(block, x[ids], "none") is None
    with pytest.raises(ValueError, match="edge weight"):
        block_weights(block, x[ids], "attention")


def _model(hom, edge_weight):
    torch.manual_seed(0)
    return SageModel(512, 32, 512, 2, len(hom.ntypes), edge_weight=edge_weight).eval()


def test_full_inference_equals_sampled_blocks_when_the_fanout_covers_everything(hom):
    g = hom.g
    seeds = torch.randperm(g.num_nodes(), generator=torch.Generator().manual_seed(2))[:60]
    sampler = dgl.dataloading.NeighborSampler([-1, -1])
    input_nodes, _, blocks = sampler.sample_blocks(g, seeds)
    feat, nt = g.ndata["feat"][input_nodes], g.ndata["ntype"][input_nodes]
    out = {}
    for mode in ("none", "cosine"):
        model = _model(hom, mode)
        with torch.no_grad():
            sampled = model(blocks, feat, nt)
        full = full_inference(model, g)[seeds]
        torch.testing.assert_close(sampled, full, atol=2e-5, rtol=1e-4)
        batched = full_inference(model, g, batch_size=17)[seeds]
        torch.testing.assert_close(batched, full, atol=2e-5, rtol=1e-4)
        out[mode] = full
    assert (out["none"] - out["cosine"]).abs().max() > 1e-3  # the weights change the embeddings


def _neighbour_only_model(edge_weight):
    """A 1-layer model whose output is the (weighted) mean of its neighbours' features."""
    m = SageModel(2, 2, 2, 1, 1, residual=False, edge_weight=edge_weight).eval()
    conv = m.layers[0]
    with torch.no_grad():
        conv.fc_self.weight.zero_()
        conv.fc_neigh.weight.copy_(torch.eye(2))
        for p in conv.parameters():
            if p.dim() == 1:  # biases
                p.zero_()
    return m


def test_a_similar_neighbour_counts_more_with_weights():
    # image 0 has a near duplicate (1) and a dissimilar neighbour (2)
    g = dgl.graph((torch.tensor([1, 2]), torch.tensor([0, 0])), num_nodes=3)
    g.ndata["feat"] = torch.tensor([[1.0, 0.0], [0.95, 0.1], [0.0, 1.0]])
    g.ndata["ntype"] = torch.zeros(3, dtype=torch.int64)
    sims = {}
    for mode in ("none", "cosine"):
        z = full_inference(_neighbour_only_model(mode), g)[0]
        sims[mode] = (float(torch.nn.functional.cosine_similarity(z, g.ndata["feat"][1], dim=0)),
                      float(torch.nn.functional.cosine_similarity(z, g.ndata["feat"][2], dim=0)))
    plain = torch.nn.functional.normalize(g.ndata["feat"][1:].mean(0), dim=0)
    np.testing.assert_allclose(full_inference(_neighbour_only_model("none"), g)[0].numpy(), plain.numpy(), atol=1e-6)
    assert sims["cosine"][0] > sims["none"][0] + 0.2 and sims["cosine"][1] < sims["none"][1] - 0.2
    assert sims["cosine"][0] > 0.99


def small(**kw):
    base = {"hidden": 32, "out_dim": 32, "epochs": 2, "batch_size": 128, "image_batch_size": 64, "edge_weight": "cosine"}
    base.update(kw)
    return ExperimentConfig(**base)


def finish(gen):
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


@pytest.mark.parametrize("objective", ["symmetric", "sage"])
def test_weighted_training_is_seeded(hom, objective):
    a = finish(train_model(hom, small(objective=objective), seed=4))
    b = finish(train_model(hom, small(objective=objective), seed=4))
    c = finish(train_model(hom, small(objective=objective, edge_weight="none"), seed=4))
    assert a.model.edge_weight == "cosine" and c.model.edge_weight == "none"
    assert a.history == b.history
    assert all(torch.equal(v, b.model.state_dict()[k]) for k, v in a.model.state_dict().items())
    assert a.history != c.history
    za, zb = full_inference(a.model, hom.g), full_inference(b.model, hom.g)
    assert torch.equal(za, zb)


def test_config_round_trip_and_old_records_load_as_none():
    cfg = ExperimentConfig(edge_weight="cosine")
    cfg.validate()
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    old = ExperimentConfig().to_dict()
    del old["edge_weight"]  # a run JSON written before the field existed
    assert ExperimentConfig.from_dict(old).edge_weight == "none"
    with pytest.raises(ConfigError) as err:
        ExperimentConfig(edge_weight="gat").validate()
    assert err.value.field == "edge_weight"
    with pytest.raises(ConfigError):
        SageModel(4, 4, 4, 1, 1, edge_weight="gat")


def test_cli_flag_sets_the_edge_weight():
    from mmkg_tui.cli.commands import run as run_cmd

    p = argparse.ArgumentParser()
    run_cmd.configure(p)
    assert run_cmd.config_from_args(p.parse_args([])).edge_weight == ExperimentConfig().edge_weight
    assert run_cmd.config_from_args(p.parse_args(["--edge-weight", "cosine"])).edge_weight == "cosine"
    assert run_cmd.config_from_args(p.parse_args(["--conv", "gatv2"])).conv == "gatv2"
    for bad in (["--edge-weight", "gat"], ["--conv", "gcn"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)


def test_tune_can_try_edge_weights():
    from engine.experiment.tune import SEARCH_SPACE, apply, draw_candidates

    assert set(SEARCH_SPACE["edge_weight"]) == {"none", "cosine"}
    cands = draw_candidates(12, seed=0)
    assert {c["edge_weight"] for c in cands[1:]} == {"none", "cosine"}
    assert apply(ExperimentConfig(), {"edge_weight": "cosine"}).edge_weight == "cosine"


def test_a_run_folder_saved_before_edge_weights_loads_as_unweighted(tiny_world, tmp_path, monkeypatch):
    import json

    import engine.experiment.config as config_module
    from engine.experiment.pipeline import run_experiment
    from engine.experiment.store import load_run, save_run
    from engine.features.bundle import precomputed_features

    cfg = ExperimentConfig(hidden=32, out_dim=32, epochs=1, batch_size=128, strategies=("self",), baselines=False,
                           edge_weight="cosine", select_metric="none", patience=0, blend=False)
    folder = save_run(run_experiment(tiny_world, precomputed_features(tiny_world), cfg), tmp_path / "run")
    assert load_run(folder).config.edge_weight == "cosine"
    raw = json.loads((folder / "config.json").read_text())
    del raw["edge_weight"]
    (folder / "config.json").write_text(json.dumps(raw))
    # even were the default "cosine", an old record was trained unweighted
    plain = config_module.ExperimentConfig.from_dict.__func__

    def cosine_default(cls, d):
        return plain(cls, {"edge_weight": "cosine", **d})

    monkeypatch.setattr(config_module.ExperimentConfig, "from_dict", classmethod(cosine_default))
    assert config_module.ExperimentConfig.from_dict(raw).edge_weight == "cosine"
    assert load_run(folder).config.edge_weight == "none"


def test_gatv2_full_inference_equals_sampled_blocks_and_training_is_seeded(hom):
    g = hom.g
    seeds = torch.randperm(g.num_nodes(), generator=torch.Generator().manual_seed(5))[:50]
    input_nodes, _, blocks = dgl.dataloading.NeighborSampler([-1, -1]).sample_blocks(g, seeds)
    torch.manual_seed(0)
    model = SageModel(512, 32, 512, 2, len(hom.ntypes), conv="gatv2").eval()
    assert all(isinstance(layer, dgl.nn.GATv2Conv) for layer in model.layers)
    with torch.no_grad():
        sampled = model(blocks, g.ndata["feat"][input_nodes], g.ndata["ntype"][input_nodes])
    torch.testing.assert_close(sampled, full_inference(model, g)[seeds], atol=2e-5, rtol=1e-4)
    cfg = small(conv="gatv2", edge_weight="none")
    a, b = (finish(train_model(hom, cfg, seed=1)) for _ in range(2))
    assert a.history == b.history and np.isfinite(a.history).all()
    assert torch.equal(full_inference(a.model, g), full_inference(b.model, g))


def test_gatv2_refuses_edge_weights_naming_the_field():
    with pytest.raises(ConfigError) as err:
        ExperimentConfig(conv="gatv2", edge_weight="cosine").validate()
    assert err.value.field == "edge_weight" and "--edge-weight none" in err.value.hint
    with pytest.raises(ConfigError) as err:
        ExperimentConfig(conv="gcn").validate()
    assert err.value.field == "conv"
