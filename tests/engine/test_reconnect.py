import types

import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.features.bundle import precomputed_features
from engine.graph.homogeneous import to_homogeneous
from engine.graph.knowledge import build_graph
from engine.graph.reconnect import (
    STRATEGIES,
    TrainGraphInfo,
    enlarged_graph,
    get_strategy,
    register,
)
from engine.graph.split import split_images, training_graph
from engine.learn.model import SageModel, full_inference

CFG = types.SimpleNamespace(cosine_k=3, cosine_min_sim=None)


@pytest.fixture(scope="module")
def setup(tiny_world):
    feats = precomputed_features(tiny_world)
    kg = build_graph(tiny_world, feats)
    sp = split_images(tiny_world.n_images, seed=0)
    hom = to_homogeneous(training_graph(kg.g, sp.train), sp.train)
    unseen = np.concatenate([sp.val, sp.test])
    torch.manual_seed(0)
    model = SageModel(512, 32, 512, 2, len(hom.ntypes)).eval()
    with torch.no_grad():  # move away from the identity start so every part matters
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return tiny_world, feats, hom, unseen, model


def in_neighbours(g, node: int) -> list[int]:
    src, _ = g.in_edges(node)
    return sorted(src.tolist())


def test_registry_has_the_three_strategies_and_rejects_unknown():
    assert {"self", "cosine", "scene"} <= set(STRATEGIES)
    with pytest.raises(ConfigError) as err:
        get_strategy("telepathy")
    assert err.value.field == "strategies" and "cosine" in err.value.hint


def test_a_fourth_strategy_is_added_in_one_place(setup):
    ds, feats, hom, unseen, _ = setup

    @register("first_train_image")
    def first(info, rows, features, dataset, config):
        ids = info.n_nodes + np.arange(len(rows))
        return np.full(len(rows), info.offsets["image"]), ids

    try:
        from engine.experiment.config import ExperimentConfig

        ExperimentConfig(strategies=("first_train_image",)).validate()
        src, dst = get_strategy("first_train_image")(TrainGraphInfo.from_hom(hom), unseen, feats, ds, CFG)
        assert len(src) == len(unseen)
    finally:
        del STRATEGIES["first_train_image"]


def test_self_strategy_is_a_self_loop_only(setup):
    ds, feats, hom, unseen, _ = setup
    info = TrainGraphInfo.from_hom(hom)
    src, dst = get_strategy("self")(info, unseen, feats, ds, CFG)
    g2 = enlarged_graph(hom, unseen, feats, src, dst)
    n = hom.num_nodes
    for j in (0, 5, len(unseen) - 1):
        assert in_neighbours(g2, n + j) == [n + j]


def test_cosine_links_only_the_k_most_similar_training_images(setup):
    ds, feats, hom, unseen, _ = setup
    info = TrainGraphInfo.from_hom(hom)
    src, dst = get_strategy("cosine")(info, unseen, feats, ds, CFG)
    n, i0 = hom.num_nodes, hom.offsets["image"]
    assert len(src) == 3 * len(unseen) and (dst >= n).all()
    img_type = hom.ntypes.index("image")
    ntype = hom.g.ndata["ntype"].numpy()
    assert (ntype[src] == img_type).all()  # never a keyword (or anything but an image)
    assert ((src >= i0) & (src < i0 + hom.counts["image"])).all()
    sims = feats.image[unseen] @ feats.image[hom.image_rows].T
    for j in (0, 7, len(unseen) - 1):
        want = sorted((i0 + np.argsort(-sims[j])[:3]).tolist())
        assert sorted(src[dst == n + j].tolist()) == want
        assert set(hom.image_rows[src[dst == n + j] - i0]).issubset(set(hom.image_rows))


def test_cosine_min_similarity_drops_weak_links(setup):
    ds, feats, hom, unseen, _ = setup
    info = TrainGraphInfo.from_hom(hom)
    sims = feats.image[unseen] @ feats.image[hom.image_rows].T
    cut = float(np.median(np.sort(sims, axis=1)[:, -1]))
    cfg = types.SimpleNamespace(cosine_k=3, cosine_min_sim=cut)
    src, dst = get_strategy("cosine")(info, unseen, feats, ds, cfg)
    i0 = hom.offsets["image"]
    got = sims[dst - hom.num_nodes, src - i0]
    assert (got >= cut - 1e-6).all() and 0 < len(src) < 3 * len(unseen)


def test_scene_strategy_links_exactly_its_scene_and_attribute_nodes(setup):
    ds, feats, hom, unseen, _ = setup
    info = TrainGraphInfo.from_hom(hom)
    src, dst = get_strategy("scene")(info, unseen, feats, ds, CFG)
    g2 = enlarged_graph(hom, unseen, feats, src, dst)
    n = hom.num_nodes
    bins = feats.bins
    feat = g2.ndata["feat"]
    for j in range(0, len(unseen), 9):
        row = unseen[j]
        scene = int(ds.image_scene[row])
        attrs = bins.attr_node[bins.image_node == row]
        want = sorted([hom.offsets["scene"] + scene] + (hom.offsets["attribute"] + attrs).tolist())
        got = in_neighbours(g2, n + j)
        assert got == want
        # the ids really are that scene's and those attributes' nodes: same CLIP text vectors
        assert torch.equal(feat[hom.offsets["scene"] + scene], torch.from_numpy(feats.scene[scene]))
        for a in attrs:
            assert torch.equal(feat[hom.offsets["attribute"] + a], torch.from_numpy(feats.attribute[a]))


@pytest.mark.parametrize("name", ["self", "cosine", "scene"])
def test_edges_point_into_unseen_images_and_keywords_do_not_change(setup, name):
    ds, feats, hom, unseen, model = setup
    info = TrainGraphInfo.from_hom(hom)
    src, dst = get_strategy(name)(info, unseen, feats, ds, CFG)
    n = hom.num_nodes
    assert (dst >= n).all() and (dst < n + len(unseen)).all()
    g2 = enlarged_graph(hom, unseen, feats, src, dst)
    assert g2.num_edges() == hom.g.num_edges() + len(src)
    z_train = full_inference(model, hom.g)
    z_all = full_inference(model, g2, groups=[torch.arange(n), torch.arange(n, n + len(unseen))])
    lo, hi = hom.keyword_range
    assert torch.equal(z_train[lo:hi], z_all[lo:hi])
    assert torch.equal(z_train, z_all[:n])


def test_unseen_images_do_not_influence_each_other(setup):
    ds, feats, hom, unseen, model = setup
    info = TrainGraphInfo.from_hom(hom)
    n = hom.num_nodes

    def embed(rows):
        src, dst = get_strategy("cosine")(info, rows, feats, ds, CFG)
        g2 = enlarged_graph(hom, rows, feats, src, dst)
        return full_inference(model, g2, groups=[torch.arange(n), torch.arange(n, n + len(rows))])[n:]

    both = embed(unseen)
    half = embed(unseen[::2])
    assert torch.allclose(both[::2], half, atol=1e-6)


def test_enlarged_graph_refuses_edges_out_of_unseen_images(setup):
    ds, feats, hom, unseen, _ = setup
    with pytest.raises(ValueError):
        enlarged_graph(hom, unseen, feats, np.array([hom.num_nodes]), np.array([0]))
