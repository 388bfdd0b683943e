"""The on-disk feature cache: hits, per-entry growth, damage detection, speed."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from clip_helpers import (  # noqa: F401  (fixtures)
    clip_cache,
    make_dataset,
    pattern,
    photos,
    tiny_cfg,
    tiny_clip,
    write_image,
)

from engine.features.clip import (
    ClipConfig,
    compute_features,
    compute_features_with_stats,
    feature_cache_dir,
)
from engine.features.clip.cache import VectorStore, digest
from engine.features.clip.model import load_clip


def _forbid_forward(monkeypatch, cfg):
    loaded = load_clip(cfg)

    def boom(*a, **k):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(loaded.model, "encode_image", boom)
    monkeypatch.setattr(loaded.model, "encode_text", boom)


def _count_image_forwards(monkeypatch, cfg) -> list[int]:
    loaded = load_clip(cfg)
    calls: list[int] = []
    real = loaded.model.encode_image

    def counting(x, *a, **k):
        calls.append(int(x.shape[0]))
        return real(x, *a, **k)

    monkeypatch.setattr(loaded.model, "encode_image", counting)
    return calls


def test_second_run_is_served_from_the_cache(tiny_cfg, photos, monkeypatch, clip_cache):
    ds = make_dataset(list(photos.values()))
    _, f1, s1 = compute_features_with_stats(ds, tiny_cfg)
    assert s1.images_computed == len(photos) and s1.texts_computed > 0
    assert s1.cache_dir == feature_cache_dir(tiny_cfg) and str(s1.cache_dir).startswith(str(clip_cache))
    _forbid_forward(monkeypatch, tiny_cfg)
    _, f2, s2 = compute_features_with_stats(ds, tiny_cfg)
    assert s2.images_cached == len(photos) and s2.images_computed == 0 and s2.texts_computed == 0
    assert not s2.model_loaded
    for a, b in [(f1.image, f2.image), (f1.keyword, f2.keyword), (f1.scene, f2.scene),
                 (f1.attribute, f2.attribute)]:
        assert np.array_equal(a, b)


def test_new_and_changed_images_only_are_computed(tiny_cfg, photos, tmp_path, monkeypatch):
    paths = list(photos.values())
    _, f1 = compute_features(make_dataset(paths[:5]), tiny_cfg)
    calls = _count_image_forwards(monkeypatch, tiny_cfg)
    _, f2, s2 = compute_features_with_stats(make_dataset(paths), tiny_cfg)
    assert sum(calls) == len(paths) - 5 and s2.images_cached == 5
    assert np.array_equal(f1.image, f2.image[:5])
    # rewrite one file with other pixels: its key (size, mtime) changes, so it is recomputed
    write_image(paths[0], pattern(77), quality=92)
    os.utime(paths[0], ns=(time.time_ns(), time.time_ns() + 10**9))
    calls.clear()
    _, f3 = compute_features(make_dataset(paths), tiny_cfg)
    assert sum(calls) == 1
    assert np.abs(f3.image[0] - f2.image[0]).max() > 1e-3
    assert np.array_equal(f3.image[1:], f2.image[1:])


def test_prompts_and_weights_are_part_of_the_key(tiny_cfg, tiny_clip, photos, tmp_path):
    ds = make_dataset(list(photos.values())[:2])
    _, f1, s1 = compute_features_with_stats(ds, tiny_cfg)
    other = ClipConfig(model=tiny_cfg.model, pretrained=tiny_cfg.pretrained, prompts=("a {}",))
    _, f2, s2 = compute_features_with_stats(ds, other)
    assert s2.texts_computed == s1.texts_total and s2.images_computed == 0
    assert np.abs(f1.keyword - f2.keyword).max() > 1e-4
    from clip_helpers import save_tiny_checkpoint

    ckpt2 = save_tiny_checkpoint(tmp_path / "other.pt", seed=1)
    cfg3 = ClipConfig(model=tiny_cfg.model, pretrained=str(ckpt2))
    assert feature_cache_dir(cfg3) != feature_cache_dir(tiny_cfg)
    _, f3, s3 = compute_features_with_stats(ds, cfg3)
    assert s3.images_computed == 2 and np.abs(f3.image - f1.image).max() > 1e-3


def _shards(cfg, kind="images"):
    return sorted((feature_cache_dir(cfg) / kind).glob("part-*.keys.npz"))


def _damage_truncate(path):
    vec = VectorStore.vectors_path(path)
    data = vec.read_bytes()
    vec.write_bytes(data[: len(data) // 2])


def _damage_garbage(path):
    path.write_bytes(b"this is not a zip file at all")


def _damage_missing_vectors(path):
    VectorStore.vectors_path(path).unlink()


def _rewrite(path, **change):
    vec_path = VectorStore.vectors_path(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    vecs = np.load(vec_path)
    meta = json.loads(str(arrays["meta"]))
    if "dim" in change:
        vecs = np.ones((vecs.shape[0], change["dim"]), np.float32)
        meta["dim"] = change["dim"]
    if "drop_key" in change:
        arrays["keys"] = arrays["keys"][:-1]
    if "nan" in change:
        vecs[0, 0] = np.nan
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    np.save(vec_path, vecs)


@pytest.mark.parametrize("damage", [
    _damage_truncate, _damage_garbage, _damage_missing_vectors,
    lambda p: _rewrite(p, dim=16), lambda p: _rewrite(p, drop_key=True), lambda p: _rewrite(p, nan=True),
], ids=["truncated", "bad-zip", "vectors-missing", "wrong-dim", "wrong-key-count", "nan"])
def test_damaged_cache_is_detected_and_rebuilt(tiny_cfg, photos, monkeypatch, damage):
    ds = make_dataset(list(photos.values()))
    _, f1 = compute_features(ds, tiny_cfg)
    (shard,) = _shards(tiny_cfg)
    damage(shard)
    calls = _count_image_forwards(monkeypatch, tiny_cfg)
    out_ds, f2, stats = compute_features_with_stats(ds, tiny_cfg)
    assert sum(calls) == len(photos) and stats.images_cached == 0  # nothing trusted
    assert np.allclose(f1.image, f2.image, atol=1e-6)
    assert any(p.path == str(shard) and "cache" in p.message for p in stats.problems)
    assert any(p.path == str(shard) for p in out_ds.problems)
    assert not shard.exists() and not VectorStore.vectors_path(shard).exists()
    assert len(_shards(tiny_cfg)) == 1  # replaced by a fresh shard
    calls.clear()
    compute_features(ds, tiny_cfg)
    assert calls == []


def test_cache_of_another_model_is_not_trusted(tmp_path):
    a = VectorStore(tmp_path / "s", "model A", 8)
    a.add([digest("x")], np.ones((1, 8), np.float32))
    b = VectorStore(tmp_path / "s", "model B", 8).load()
    assert len(b) == 0 and "another model" in b.problems[0].message


def test_shards_compact_without_losing_entries(tmp_path, monkeypatch):
    import engine.features.clip.cache as cache

    monkeypatch.setattr(cache, "MAX_SHARDS", 3)
    store = VectorStore(tmp_path / "s", "id", 4)
    rng = np.random.default_rng(0)
    keys = [digest(str(i)) for i in range(10)]
    vecs = rng.normal(size=(10, 4)).astype(np.float32)
    for i in range(0, 10, 2):
        store.add(keys[i:i + 2], vecs[i:i + 2])
    store.add(keys[:1], vecs[:1])  # a duplicate entry
    assert len(list((tmp_path / "s").glob("part-*.keys.npz"))) <= 3
    assert len(list((tmp_path / "s").glob("part-*.npy"))) <= 3
    fresh = VectorStore(tmp_path / "s", "id", 4).load()
    found, got = fresh.lookup(keys[::-1] + [digest("unknown"), None])
    assert found.tolist() == [True] * 10 + [False, False]
    assert np.array_equal(got[:10], vecs[::-1]) and not got[10:].any()
    assert not fresh.problems


def test_loading_100k_cached_vectors_round_trips(tmp_path):
    """Correctness at 100k; the speed (target < 1 s) is the benchmark row
    'clip / load 100k cached vectors' (benchmarks/stage_clip.py), not a timed test."""
    n, d = 100_000, 128
    rng = np.random.default_rng(0)
    keys = [digest(f"/photos/{i}.jpg", "1234", "5678") for i in range(n)]
    vecs = rng.standard_normal((n, d), dtype=np.float32)
    VectorStore(tmp_path / "s", "id", d).add(keys, vecs)
    store = VectorStore(tmp_path / "s", "id", d).load()
    found, got = store.lookup(keys)
    assert found.all() and np.array_equal(got, vecs)
    found, _ = store.lookup(keys[:10] + [digest("/photos/new.jpg", "1", "2")])
    assert found.tolist() == [True] * 10 + [False]


def test_cache_folder_defaults_and_env(monkeypatch, tmp_path):
    from engine.features.clip import cache_root

    monkeypatch.setenv("MMKG_TUI_CACHE", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
    assert cache_root(ClipConfig(cache_dir=str(tmp_path / "cfg"))) == tmp_path / "cfg"
    monkeypatch.delenv("MMKG_TUI_CACHE")
    assert "mmkg-tui" in str(cache_root())
