"""The second SYNTHETIC world: no scenes, caption-like label noise, and the truth of the noise."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.synthetic.noise import LabelNoise
from engine.data.synthetic.world import NOISY_WORLD, make_noisy_world


@pytest.fixture(scope="module")
def noisy():
    return make_noisy_world(1200, seed=2)


def dense(noise: LabelNoise, ds):
    true = noise.true_matrix(ds.n_keywords).toarray().astype(bool)
    dropped = np.zeros_like(true)
    dropped[noise.dropped_rows, noise.dropped_cols] = True
    added = np.zeros_like(true)
    added[noise.added_rows, noise.added_cols] = True
    return true, dropped, added


def test_no_scenes(noisy):
    ds, _ = noisy
    assert ds.n_scenes == 0 and ds.scenes == [] and (ds.image_scene == -1).all()
    assert ds.scene_source == "none" and ds.synthetic and "SYNTHETIC" in ds.name


def test_noise_truth_explains_the_labels(noisy):
    ds, noise = noisy
    labels = ds.label_matrix().toarray().astype(bool)
    true, dropped, added = dense(noise, ds)
    assert (dropped <= true).all() and not (added & true).any()
    np.testing.assert_array_equal(labels, (true & ~dropped) | added)
    assert dropped.sum() > 0 and added.sum() > 0


def test_noise_is_heavier_than_the_demo(noisy):
    ds, noise = noisy
    from engine.data.synthetic.world import KEYWORDS, SyntheticWorld, WorldConfig

    w = SyntheticWorld(WorldConfig(n_images=1200, seed=2))
    d = w.make_dataset()
    t_demo, dr_demo, ad_demo = dense(w.noise, d)
    t, dr, ad = dense(noise, ds)
    assert dr.sum() / t.sum() > dr_demo.sum() / t_demo.sum() + 0.1  # more true tags dropped
    labels = ds.label_matrix().toarray().astype(bool)
    assert ad.sum() / labels.sum() > 2 * ad_demo.sum() / d.label_matrix().sum()  # more wrong tags
    # caption-like: hard-to-see keywords are dropped more often
    vis = np.array([v[2] for v in KEYWORDS.values()])
    low, high = vis <= 0.4, vis >= 0.9
    rate_low = dr[:, low].sum() / t[:, low].sum()
    rate_high = dr[:, high].sum() / t[:, high].sum()
    assert rate_low > rate_high + 0.15


def test_seeded_and_chunk_invariant(noisy):
    ds, noise = noisy
    again, noise2 = make_noisy_world(1200, seed=2, chunk=100)
    np.testing.assert_array_equal(ds.kw_indices, again.kw_indices)
    np.testing.assert_array_equal(ds.embeddings.image, again.embeddings.image)
    for k in LabelNoise.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(noise, k), getattr(noise2, k))
    other, _ = make_noisy_world(1200, seed=3)
    assert not np.array_equal(ds.kw_indices, other.kw_indices)


def test_demo_settings_unchanged():
    """The demo's defaults are untouched by the second world's settings."""
    from engine.data.synthetic.world import WorldConfig

    cfg = WorldConfig()
    assert cfg.scenes and cfg.p_missing_visibility == 0.0 and cfg.p_wrong_common == 0.0
    assert NOISY_WORLD["scenes"] is False


def test_write_noisy_world_folder(tmp_path, noisy):
    from engine.data.loaders import load_dataset
    from engine.data.synthetic.demo import write_demo

    out = write_demo(tmp_path / "noisy", n=300, seed=2, images=False, world="noisy")
    header = (out / "manifest.csv").read_text().splitlines()[0]
    assert "scene" not in header.split(",")
    noise = LabelNoise.load(out / "label_noise.npz")
    ds = load_dataset(str(out / "manifest.csv"))
    assert ds.n_images == 300 and ds.n_scenes == 0
    labels = ds.label_matrix().toarray().astype(bool)
    true, dropped, added = noise.for_dataset(ds)  # the loader has its own keyword order
    np.testing.assert_array_equal(labels, (true & ~dropped) | added)
    assert "no scenes" in (out / "README.md").read_text()
