"""The bundled demo (SYNTHETIC): loading it reproduces the generator, the committed
files are what the generator writes today, and the folder stays small."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from engine.data.loaders import default_data_path, load_dataset
from engine.data.synthetic.demo import render_image, write_demo
from engine.data.synthetic.world import SyntheticWorld, WorldConfig
from engine.features.bundle import precomputed_features

DEMO = default_data_path()


@pytest.fixture(scope="module")
def meta():
    return json.loads((DEMO / "dataset.json").read_text())


@pytest.fixture(scope="module")
def loaded():
    return load_dataset(None)


@pytest.fixture(scope="module")
def generated(meta):
    return SyntheticWorld(WorldConfig(n_images=meta["n_images"], seed=meta["seed"])).make_dataset()


def names_per_image(ds):
    return [frozenset(ds.keywords[k] for k in ds.image_keywords(i)) for i in range(ds.n_images)]


def test_demo_is_labelled_synthetic(loaded, meta):
    assert meta["synthetic"] is True and 2000 <= meta["n_images"] <= 5000
    assert loaded.synthetic and "SYNTHETIC" in loaded.name
    assert "SYNTHETIC" in loaded.embeddings.source and "not CLIP" in loaded.embeddings.source
    readme = (DEMO / "README.md").read_text()
    assert "synthetic" in readme.lower() and "python -m engine.demo" in readme


def test_loading_the_demo_reproduces_the_generator(loaded, generated):
    assert loaded.ids == generated.ids
    assert names_per_image(loaded) == names_per_image(generated)
    used = sorted({generated.keywords[k] for k in np.unique(generated.kw_indices)})
    assert loaded.keywords == used
    assert [loaded.scenes[s] for s in loaded.image_scene] == [generated.scenes[s] for s in generated.image_scene]
    assert sorted(loaded.numeric) == sorted(generated.numeric)
    for name, values in generated.numeric.items():
        np.testing.assert_array_equal(loaded.numeric[name], values, err_msg=name)
    assert loaded.text["listing"] == generated.text["listing"]
    np.testing.assert_allclose(loaded.embeddings.image, generated.embeddings.image, atol=2e-3)
    cos = (loaded.embeddings.image * generated.embeddings.image).sum(1)
    assert cos.min() > 0.9999
    for label, vec in generated.embeddings.text.items():
        np.testing.assert_allclose(loaded.embeddings.text[label], vec, atol=2e-3, err_msg=label)


def test_demo_has_every_text_vector_the_graph_needs(loaded):
    feats = precomputed_features(loaded)  # raises if a keyword/scene/attribute label lacks a vector
    assert feats.keyword.shape == (loaded.n_keywords, 512)
    assert feats.attribute.shape[0] == feats.bins.n_nodes > 0
    assert feats.scene.shape == (loaded.n_scenes, 512)


def test_demo_images_exist_and_match_render_image(loaded):
    assert all(p and p.endswith(".png") for p in loaded.image_paths)
    rng = np.random.default_rng(0)
    for i in rng.choice(loaded.n_images, 5, replace=False):
        scene = loaded.scenes[loaded.image_scene[i]]
        # keyword order in the picture follows the manifest order
        with open(DEMO / "manifest.csv", newline="") as fh:
            row = next(r for r in csv.DictReader(fh) if r["id"] == loaded.ids[i])
        kws = [k for k in row["keywords"].split("|") if k]
        want = np.asarray(render_image(scene, kws, loaded.ids[i], (96, 64)))
        got = np.asarray(Image.open(loaded.image_paths[i]).convert("RGB"))
        np.testing.assert_array_equal(got, want)


def test_committed_demo_is_current(tmp_path, meta):
    out = write_demo(tmp_path / "demo", n=meta["n_images"], seed=meta["seed"], images=False)
    assert (out / "manifest.csv").read_bytes() == (DEMO / "manifest.csv").read_bytes()
    assert (out / "README.md").read_text() == (DEMO / "README.md").read_text()
    with np.load(out / "embeddings.npz") as a, np.load(DEMO / "embeddings.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_demo_size_limit():
    files = [p for p in DEMO.parent.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    assert total <= 10 * 1024 * 1024, f"sample_data holds {total / 1e6:.1f} MB"


def test_render_image_is_deterministic_and_shows_the_scene():
    a = np.asarray(render_image("kitchen", ["pool", "fireplace"], "x1"))
    b = np.asarray(render_image("kitchen", ["pool", "fireplace"], "x1"))
    c = np.asarray(render_image("garage", ["pool", "fireplace"], "x1"))
    d = np.asarray(render_image("kitchen", [], "x1"))
    assert a.shape == (64, 96, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0, 0], c[0, 0])  # the wall colour is the scene's
    assert (a != d).any(axis=2).sum() > 20  # keywords draw shapes


def test_small_demo_written_and_loaded(tmp_path):
    out = write_demo(tmp_path / "d", n=40, seed=5, size=(32, 24))
    ds = load_dataset(out)
    gen = SyntheticWorld(WorldConfig(n_images=40, seed=5)).make_dataset()
    assert ds.ids == gen.ids and names_per_image(ds) == names_per_image(gen)
    assert len(list((out / "images").glob("*.png"))) == 40
    assert Image.open(out / "images" / "img0000000.png").size == (32, 24)
    # rewriting replaces the folder atomically, leaving no temporary folders behind
    write_demo(out, n=40, seed=5, size=(32, 24), images=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    assert not (out / "images").exists()
