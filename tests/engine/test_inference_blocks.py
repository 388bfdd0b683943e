"""Inference blocks (engine.model.InEdges / full_inference) and the training graph's
single feature tensor (engine.split.training_graph + engine.sampling.to_homogeneous)."""

import numpy as np
import pytest
import torch

from engine.features.bundle import precomputed_features
from engine.graph.homogeneous import stacked_feature, to_homogeneous
from engine.graph.knowledge import build_graph
from engine.graph.split import split_images, training_graph
from engine.learn.model import InEdges, SageModel, full_block, full_inference


@pytest.fixture(scope="module")
def world(tiny_world):
    feats = precomputed_features(tiny_world)
    kg = build_graph(tiny_world, feats)
    sp = split_images(tiny_world.n_images, seed=0)
    return kg, sp


@pytest.fixture(scope="module")
def hom(world):
    kg, sp = world
    return to_homogeneous(training_graph(kg.g, sp.train), sp.train)


def model_for(hom):
    torch.manual_seed(0)
    return SageModel(512, 32, 512, 2, len(hom.ntypes)).eval()


def test_block_holds_exactly_the_in_edges_of_its_destinations(hom):
    g = hom.g
    dst = torch.randperm(g.num_nodes(), generator=torch.Generator().manual_seed(3))[:40]
    src, block = full_block(g, dst)
    assert torch.equal(src[:40], dst)
    assert len(set(src.tolist())) == src.numel()
    assert block.num_dst_nodes() == 40 and block.num_src_nodes() == src.numel()
    bu, bv = block.edges()
    got = sorted(zip(src[bu].tolist(), dst[bv].tolist()))
    u, v = g.in_edges(dst)
    assert got == sorted(zip(u.tolist(), v.tolist()))
    # other neighbours come after dst, sorted by id
    rest = src[40:]
    assert torch.equal(rest, torch.sort(rest).values)


def test_whole_graph_block_is_every_node_in_order(hom):
    g = hom.g
    edges = InEdges(g)
    src, block = edges.block(np.arange(g.num_nodes()))
    assert src is None
    assert block.num_edges() == g.num_edges() == edges.count(torch.arange(g.num_nodes()))


def test_one_block_and_small_batches_give_the_same_embeddings(hom):
    model = model_for(hom)
    whole = full_inference(model, hom.g)
    batched = full_inference(model, hom.g, batch_size=13)
    assert torch.allclose(whole, batched, atol=1e-6)
    perm = torch.randperm(hom.num_nodes, generator=torch.Generator().manual_seed(1))
    grouped = full_inference(model, hom.g, groups=[perm[:50], perm[50:]])
    assert torch.allclose(whole, grouped, atol=1e-6)


def test_training_graph_features_are_one_shared_tensor(world):
    import dgl

    kg, sp = world
    before = {nt: kg.g.nodes[nt].data["feat"].clone() for nt in kg.g.ntypes}
    tg = training_graph(kg.g, sp.train)
    for nt in kg.g.ntypes:  # the full graph keeps its own features, unchanged
        assert torch.equal(kg.g.nodes[nt].data["feat"], before[nt])
    rows = torch.from_numpy(np.sort(sp.train))
    assert torch.equal(tg.nodes["image"].data["feat"], before["image"][rows])
    assert torch.equal(tg.nodes["keyword"].data["feat"], before["keyword"])
    stacked = stacked_feature(tg, "feat")
    assert stacked is not None
    hom = to_homogeneous(tg, sp.train)
    assert hom.g.ndata["feat"].data_ptr() == stacked.data_ptr()
    assert torch.equal(hom.g.ndata["feat"], dgl.to_homogeneous(tg, ndata=["feat"]).ndata["feat"])


def test_features_not_stacked_fall_back_to_concatenation(world):
    import dgl

    kg, sp = world
    tg = training_graph(kg.g, sp.train)
    tg.nodes["keyword"].data["feat"] = tg.nodes["keyword"].data["feat"].clone()  # no longer a view
    assert stacked_feature(tg, "feat") is None
    hom = to_homogeneous(tg, sp.train)
    assert torch.equal(hom.g.ndata["feat"], dgl.to_homogeneous(tg, ndata=["feat"]).ndata["feat"])
