"""The SYNTHETIC listing world: seeded, CLIP-like statistics, noise, chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.synthetic.world import (
    KEYWORDS,
    SCENES,
    SyntheticWorld,
    WorldConfig,
    make_world,
)


@pytest.fixture(scope="module")
def world():
    return make_world(2000, seed=4)


def text_matrix(ds, labels):
    return np.stack([ds.embeddings.text[x] for x in labels])


def same(a, b) -> bool:
    return (a.ids == b.ids and np.array_equal(a.kw_indptr, b.kw_indptr) and np.array_equal(a.kw_indices, b.kw_indices)
            and np.array_equal(a.image_scene, b.image_scene) and np.array_equal(a.embeddings.image, b.embeddings.image)
            and all(np.array_equal(a.numeric[k], b.numeric[k]) for k in a.numeric))


def test_same_seed_same_world(world):
    again = make_world(2000, seed=4)
    assert same(world, again)
    for label, v in world.embeddings.text.items():
        np.testing.assert_array_equal(again.embeddings.text[label], v)


def test_different_seeds_differ(world):
    other = make_world(2000, seed=5)
    assert not np.array_equal(world.embeddings.image, other.embeddings.image)
    assert not np.array_equal(world.image_scene, other.image_scene)
    assert not np.array_equal(world.numeric["price"], other.numeric["price"])


def test_labelled_synthetic(world):
    assert "SYNTHETIC" in world.name and world.synthetic and world.kind == "synthetic"
    assert "synthetic" in world.embeddings.source.lower() and "not CLIP" in world.embeddings.source


def test_unit_vectors_512d(world):
    img = world.embeddings.image
    assert img.shape == (2000, 512) and img.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1, atol=1e-5)
    T = text_matrix(world, world.keywords)
    np.testing.assert_allclose(np.linalg.norm(T, axis=1), 1, atol=1e-5)


def test_matching_cosines_in_clip_range(world):
    T = text_matrix(world, world.keywords)
    sims = world.embeddings.image @ T.T
    labels = world.label_matrix().toarray().astype(bool)
    match, other = sims[labels].mean(), sims[~labels].mean()
    assert 0.2 <= match <= 0.35, match
    assert match > other + 0.02, (match, other)


def test_modality_gap(world):
    img = world.embeddings.image
    T = text_matrix(world, world.keywords + world.scenes)
    ic, tc = img.mean(0), T.mean(0)
    centroid_cos = ic @ tc / np.linalg.norm(ic) / np.linalg.norm(tc)
    within_img = (img[:300] @ img[:300].T)[np.triu_indices(300, 1)].mean()
    within_txt = (T @ T.T)[np.triu_indices(len(T), 1)].mean()
    across = (img @ T.T).mean()
    assert centroid_cos < 0.8  # the towers' means point apart
    assert within_img > across + 0.1 and within_txt > across + 0.1


def test_zipf_like_prevalence(world):
    counts = np.sort(world.keyword_counts())[::-1]
    assert counts[0] > 10 * np.median(counts)
    ranks = np.arange(1, len(counts) + 1)
    ok = counts > 0
    slope = np.polyfit(np.log(ranks[ok]), np.log(counts[ok]), 1)[0]
    assert -2.5 < slope < -0.7, slope


def test_scene_driven_cooccurrence(world):
    labels = world.label_matrix().toarray().astype(bool)
    pool = labels[:, world.keywords.index("pool")]
    assert pool.sum() > 0
    backyard = world.scenes.index("backyard")
    assert (world.image_scene[pool] == backyard).mean() > 0.9  # pools are outside
    assert len(world.scenes) == len(SCENES) and len(world.keywords) == len(KEYWORDS)


def test_label_noise_present(world):
    clean = make_world(2000, seed=4, p_missing=0.0, p_wrong=0.0)
    # the true tags and pixels are the same; only the labels change
    np.testing.assert_array_equal(clean.embeddings.image, world.embeddings.image)
    true = clean.label_matrix().toarray().astype(bool)
    noisy = world.label_matrix().toarray().astype(bool)
    missing = (true & ~noisy).sum() / true.sum()
    wrong = (noisy & ~true).sum() / noisy.sum()
    assert 0.15 < missing < 0.35, missing  # p_missing = 0.25
    assert 0.01 < wrong < 0.2, wrong


def test_chunked_generation_identical_to_unchunked():
    whole = SyntheticWorld(WorldConfig(n_images=9000, seed=2, chunk=1_000_000)).make_dataset()
    for chunk in (1000, 4096, 5000):
        part = SyntheticWorld(WorldConfig(n_images=9000, seed=2, chunk=chunk)).make_dataset()
        assert same(whole, part), chunk


def test_numeric_attributes_shared_per_listing(world):
    listing = np.array(world.text["listing"])
    price = world.numeric["price"]
    for lst in np.unique(listing)[:20]:
        assert len(np.unique(price[listing == lst])) == 1
    assert price.min() > 0 and world.numeric["bedrooms"].min() >= 1
    assert np.corrcoef(np.log(price), world.numeric["sqft"])[0, 1] > 0.2


def test_text_vectors_for_attribute_bins(world):
    from engine.data.attributes import bin_attributes

    for label in bin_attributes(world).labels:
        assert label in world.embeddings.text


def test_invalid_size():
    with pytest.raises(ValueError):
        SyntheticWorld(WorldConfig(n_images=0))
