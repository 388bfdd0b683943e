import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.features.bundle import precomputed_features
from engine.graph.homogeneous import to_homogeneous
from engine.graph.knowledge import build_graph
from engine.graph.split import TEST, TRAIN, VAL, split_images, training_graph


@pytest.fixture(scope="module")
def world(tiny_world):
    feats = precomputed_features(tiny_world)
    return tiny_world, feats, build_graph(tiny_world, feats)


def test_split_sizes_are_70_15_15_and_disjoint():
    sp = split_images(1000, (0.7, 0.15, 0.15), seed=4)
    assert (len(sp.train), len(sp.val), len(sp.test)) == (700, 150, 150)
    allrows = np.concatenate([sp.train, sp.val, sp.test])
    assert sorted(allrows.tolist()) == list(range(1000))
    assert set(np.unique(sp.assignment)) == {TRAIN, VAL, TEST}


def test_split_is_seeded():
    a, b, c = split_images(500, seed=1), split_images(500, seed=1), split_images(500, seed=2)
    assert np.array_equal(a.assignment, b.assignment)
    assert not np.array_equal(a.assignment, c.assignment)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.8, 0.3, 0.1), (1.0, 0.0, 0.0), (0.7, -0.15, 0.45)])
def test_bad_fractions_are_config_errors(fractions):
    with pytest.raises(ConfigError) as err:
        split_images(100, fractions)
    assert err.value.field == "split"


def test_training_graph_has_no_unseen_image_or_edge(world):
    import dgl

    ds, feats, kg = world
    sp = split_images(ds.n_images, seed=0)
    tg = training_graph(kg.g, sp.train)
    kept = tg.nodes["image"].data[dgl.NID].numpy()
    assert np.array_equal(kept, sp.train)
    unseen = set(np.concatenate([sp.val, sp.test]).tolist())
    assert not unseen & set(kept.tolist())
    # every edge of every type touching an image touches a training image, in original ids
    for src_t, et, dst_t in tg.canonical_etypes:
        u, v = tg.edges(etype=et)
        if src_t == "image":
            assert set(kept[u.numpy()].tolist()).isdisjoint(unseen)
        if dst_t == "image":
            assert set(kept[v.numpy()].tolist()).isdisjoint(unseen)
    # exactly the training images' keyword edges, all of them
    n_kw_edges = int(sum(len(ds.image_keywords(i)) for i in sp.train))
    assert tg.num_edges("has_keyword") == n_kw_edges == tg.num_edges("keyword_of")
    u, v = tg.edges(etype="has_keyword")
    got = sorted(zip(kept[u.numpy()].tolist(), v.tolist()))
    want = sorted((int(i), int(k)) for i in sp.train for k in ds.image_keywords(i))
    assert got == want


def test_training_graph_keeps_every_keyword_scene_and_attribute_node(world):
    ds, feats, kg = world
    tg = training_graph(kg.g, split_images(ds.n_images, seed=0).train)
    assert tg.num_nodes("keyword") == ds.n_keywords
    assert tg.num_nodes("scene") == ds.n_scenes
    assert tg.num_nodes("attribute") == feats.bins.n_nodes
    assert torch.equal(tg.nodes["keyword"].data["feat"], kg.g.nodes["keyword"].data["feat"])


def test_homogeneous_view_reverse_ids_and_training_edges(world):
    ds, feats, kg = world
    sp = split_images(ds.n_images, seed=0)
    hom = to_homogeneous(training_graph(kg.g, sp.train), sp.train)
    g = hom.g
    src, dst = g.edges()
    rev = hom.reverse_eids
    assert torch.equal(rev[rev], torch.arange(g.num_edges()))
    assert torch.equal(src[rev], dst) and torch.equal(dst[rev], src)
    ntype = g.ndata["ntype"]
    img, kw = hom.ntypes.index("image"), hom.ntypes.index("keyword")
    te = hom.train_eids
    assert bool((ntype[src[te]] == img).all()) and bool((ntype[dst[te]] == kw).all())
    assert te.numel() == int(sum(len(ds.image_keywords(i)) for i in sp.train))
    lo, hi = hom.keyword_range
    assert hi - lo == ds.n_keywords and bool((ntype[lo:hi] == kw).all())
    # image node i of the homogeneous graph is dataset row image_rows[i]: same CLIP feature
    i0 = hom.offsets["image"]
    assert torch.equal(g.ndata["feat"][i0:i0 + 5], torch.from_numpy(feats.image[hom.image_rows[:5]]))
