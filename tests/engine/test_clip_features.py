"""compute_features through the real open_clip path (tiny registered model, local checkpoint)."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
from clip_helpers import (  # noqa: F401  (fixtures)
    clip_cache,
    make_dataset,
    pattern,
    photos,
    tiny_cfg,
    tiny_clip,
    write_exif_rotated_pair,
    write_image,
    write_truncated_jpeg,
)

from engine.core.errors import Cancelled, DataError
from engine.data.attributes import bin_attributes
from engine.features.bundle import precomputed_features
from engine.features.clip import compute_features, compute_features_with_stats
from engine.features.clip.model import load_clip


def independent_text_vectors(cfg, labels):
    """Prompt ensemble computed here, straight from open_clip."""
    import torch

    loaded = load_clip(cfg)
    out = []
    with torch.no_grad():
        for lab in labels:
            tok = loaded.tokenizer([t.format(lab) for t in cfg.prompts])
            e = loaded.model.encode_text(tok).numpy().astype(np.float64)
            e /= np.linalg.norm(e, axis=1, keepdims=True)
            m = e.mean(0)
            out.append(m / np.linalg.norm(m))
    return np.array(out)


def test_image_and_text_vectors(tiny_cfg, photos, tmp_path):
    dup = tmp_path / "copy_of_rgb0.jpg"
    shutil.copy(photos["rgb0"], dup)
    paths = list(photos.values()) + [dup]
    ds = make_dataset(paths)
    out_ds, f = compute_features(ds, tiny_cfg)
    n = len(paths)
    assert out_ds.n_images == n and not out_ds.problems
    assert f.image.shape == (n, 32) and f.image.dtype == np.float32
    for m in (f.image, f.keyword, f.scene, f.attribute):
        assert np.allclose(np.linalg.norm(m, axis=1), 1, atol=1e-5)
    assert np.allclose(f.image[0], f.image[-1], atol=1e-6)  # same pixels, same vector
    assert np.abs(f.image[0] - f.image[1]).max() > 1e-3  # different pictures differ
    bins = bin_attributes(ds, tiny_cfg.attribute_bins)
    assert f.bins.labels == bins.labels and f.attribute.shape == (len(bins.labels), 32)
    want = independent_text_vectors(tiny_cfg, ds.keywords + ds.scenes + bins.labels)
    got = np.concatenate([f.keyword, f.scene, f.attribute])
    assert np.allclose(got, want, atol=1e-5)
    assert f.source == f"open_clip {tiny_cfg.model} / tiny.pt"


def test_image_vector_matches_direct_forward(tiny_cfg, photos):
    import torch

    from engine.features.clip.images import open_rgb

    _, f = compute_features(make_dataset([photos["cmyk"], photos["alpha"]]), tiny_cfg)
    loaded = load_clip(tiny_cfg)
    with torch.no_grad():
        x = torch.stack([loaded.preprocess(open_rgb(str(photos[k]))) for k in ("cmyk", "alpha")])
        e = loaded.model.encode_image(x).numpy()
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    assert np.allclose(f.image, e, atol=1e-5)


def test_exif_rotation_gives_the_manually_rotated_vector(tiny_cfg, tmp_path):
    jpg, manual, raw = write_exif_rotated_pair(tmp_path)
    _, f = compute_features(make_dataset([jpg, manual, raw]), tiny_cfg)
    assert np.allclose(f.image[0], f.image[1], atol=1e-6)
    assert np.abs(f.image[0] - f.image[2]).max() > 1e-3  # ignoring EXIF would give this one


def test_corrupt_images_are_skipped_and_counted(tiny_cfg, photos, tmp_path):
    bad = write_truncated_jpeg(tmp_path / "truncated.jpg")
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8 definitely not a jpeg")
    paths = [photos["rgb0"], bad, photos["rgb1"], junk, tmp_path / "missing.jpg"]
    ds = make_dataset(paths)
    out_ds, f, stats = compute_features_with_stats(ds, tiny_cfg)
    assert out_ds.ids == ["img0", "img2"]
    assert f.image.shape == (2, 32)
    assert stats.images_skipped == 3 and stats.images_computed == 2
    head, *per_image = out_ds.problems  # the counted summary first (issue 8), then one per image
    assert head.message == "3 images skipped: img1, img3, img4" and head.field == "image"
    probs = {p.path: p.message for p in per_image}
    assert set(probs) == {str(bad), str(junk), str(tmp_path / "missing.jpg")}
    assert "truncated" in probs[str(bad)] and "not found" in probs[str(tmp_path / "missing.jpg")]
    assert ds.n_images == 5 and not ds.problems  # the input dataset is untouched
    _, f_ok = compute_features(make_dataset([photos["rgb0"], photos["rgb1"]]), tiny_cfg)
    assert np.allclose(f.image, f_ok.image, atol=1e-6)


@pytest.mark.parametrize("second_run", [False, True])
def test_strict_names_the_corrupt_file(tiny_cfg, photos, tmp_path, second_run):
    bad = write_truncated_jpeg(tmp_path / "truncated.jpg")
    ds = make_dataset([photos["rgb0"], bad])
    if second_run:  # the failure is remembered in the cache; strict still refuses it
        compute_features(ds, tiny_cfg)
    with pytest.raises(DataError) as err:
        compute_features(ds, tiny_cfg, strict=True)
    assert err.value.path == str(bad) and "truncated" in err.value.message
    assert "--strict" in err.value.format()


def test_all_images_corrupt_is_a_data_error(tiny_cfg, tmp_path):
    bad = write_truncated_jpeg(tmp_path / "t.jpg")
    with pytest.raises(DataError, match="none of the 1 images"):
        compute_features(make_dataset([bad]), tiny_cfg)


def test_zero_shot_scenes_are_the_argmax(tiny_cfg, photos):
    ds = make_dataset(list(photos.values()), scenes=("kitchen", "bathroom", "garden", "garage"),
                      scene_source="zero-shot")
    out_ds, f = compute_features(ds, tiny_cfg)
    scene_vecs = independent_text_vectors(tiny_cfg, ds.scenes)
    want = np.argmax(f.image.astype(np.float64) @ scene_vecs.T, axis=1)
    assert np.array_equal(out_ds.image_scene, want)
    assert out_ds.image_scene.dtype == np.int32 and (ds.image_scene == -1).all()
    col_ds, _ = compute_features(make_dataset(list(photos.values())), tiny_cfg)
    assert (col_ds.image_scene == 0).all()  # scene_source="column" keeps the given scenes


def test_progress_reaches_total(tiny_cfg, photos):
    events = []
    compute_features(make_dataset(list(photos.values())), tiny_cfg, progress=events.append)
    img = [e for e in events if e.stage == "embed images"]
    txt = [e for e in events if e.stage == "embed text"]
    assert img[0].done == 0 and img[-1].done == img[-1].total == len(photos)
    assert [e.done for e in img] == sorted(e.done for e in img)
    assert txt and txt[-1].done == txt[-1].total


def test_cancel_stops_and_keeps_finished_batches(tiny_cfg, photos):
    cancel = threading.Event()
    ds = make_dataset(list(photos.values()))

    def on_progress(p):
        if p.stage == "embed images" and p.done >= 4:
            cancel.set()

    with pytest.raises(Cancelled):
        compute_features(ds, tiny_cfg, progress=on_progress, cancel=cancel)
    _, _, stats = compute_features_with_stats(ds, tiny_cfg)
    assert stats.images_cached >= 4  # the batches done before the cancel were written
    assert stats.images_cached + stats.images_computed == len(photos)


def test_precomputed_images_with_clip_text(tiny_cfg, photos):
    ds = make_dataset(list(photos.values())[:3])
    from engine.data.dataset import PrecomputedEmbeddings

    rng = np.random.default_rng(1)
    ds.embeddings = PrecomputedEmbeddings(rng.normal(size=(3, 32)).astype(np.float32),
                                          {"pool": np.ones(32, np.float32)}, source="my vectors")
    _, f, stats = compute_features_with_stats(ds, tiny_cfg)
    assert stats.images_precomputed == 3 and stats.images_computed == 0
    assert np.allclose(f.image, ds.embeddings.image / np.linalg.norm(ds.embeddings.image, axis=1)[:, None],
                       atol=1e-6)
    assert np.allclose(f.keyword[0], np.ones(32) / np.sqrt(32), atol=1e-6)  # from the file
    want = independent_text_vectors(tiny_cfg, ["fireplace"])
    assert np.allclose(f.keyword[1], want[0], atol=1e-5)  # from the text tower
    assert f.source == f"my vectors + open_clip {tiny_cfg.model} / tiny.pt (text)"
    ds.embeddings = PrecomputedEmbeddings(np.ones((3, 16), np.float32), {}, path="/x/emb.npz")
    with pytest.raises(DataError, match="dimension 16"):
        compute_features(ds, tiny_cfg)


def test_everything_precomputed_loads_no_model(tiny_world, clip_cache):
    from engine.features.clip import ClipConfig

    cfg = ClipConfig(pretrained="/does/not/exist/weights.pt")
    ds = tiny_world
    out_ds, f, stats = compute_features_with_stats(ds, cfg)
    ref = precomputed_features(ds, cfg.attribute_bins)
    assert not stats.model_loaded and stats.cache_dir is None
    assert np.array_equal(f.image, ref.image) and np.array_equal(f.keyword, ref.keyword)
    assert f.source == ds.embeddings.source
    assert not clip_cache.exists()
