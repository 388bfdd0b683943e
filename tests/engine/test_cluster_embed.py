"""Cluster embedding (engine.features.clip.cluster) on a local Ray cluster with the tiny
random-weight CLIP model: the vectors land in the same content-keyed cache that a
later single-machine compute_features reuses (nothing recomputed), a worker killed
mid-shard has its shard redone, and finished shards are kept across jobs."""

import numpy as np
import pytest
from clip_helpers import (  # noqa: F401  (fixtures)
    TINY_CFG,
    clip_cache,
    make_dataset,
    pattern,
    tiny_cfg,
    tiny_clip,
    write_image,
)

ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install -e '.[scale]'); not installed here")
pytest.importorskip("ray.data", reason="ray[data] (pyarrow) not installed")


@pytest.fixture
def many_photos(tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    return [str(write_image(d / f"p{i}.png", pattern(100 + i))) for i in range(12)]


@pytest.fixture
def setup_fn(tiny_clip, tmp_path):
    import json

    cfg_file = tmp_path / "tiny-config.json"
    cfg_file.write_text(json.dumps(TINY_CFG))
    name = tiny_clip[0]
    target = cfg_file.with_name(f"{name}.json")
    cfg_file.rename(target)
    return [str(target)]


def test_cluster_vectors_are_reused_by_a_single_machine_run(many_photos, tiny_cfg, setup_fn):
    from engine.features.clip import compute_features_with_stats
    from engine.features.clip.cluster import cluster_embed

    stats = cluster_embed(many_photos, tiny_cfg, shard_size=4, workers=2, model_configs=setup_fn)
    assert (stats.shards, stats.computed, stats.cached_before) == (3, 12, 0)
    ds = make_dataset(many_photos)
    _, feats, es = compute_features_with_stats(ds, tiny_cfg)
    assert (es.images_cached, es.images_computed) == (12, 0)  # every vector reused
    # and they are the vectors the single-machine encoder computes
    import shutil

    from engine.features.clip.cluster import image_store

    shutil.rmtree(image_store(tiny_cfg).folder)
    _, fresh, es2 = compute_features_with_stats(ds, tiny_cfg)
    assert es2.images_computed == 12
    assert np.allclose(feats.image, fresh.image, atol=1e-5)


def test_killed_worker_shard_is_redone_and_finished_shards_kept(many_photos, tiny_cfg, setup_fn, tmp_path):
    from engine.features.clip.cache import image_key
    from engine.features.clip.cluster import cluster_embed, image_store

    import os
    from pathlib import Path

    from clip_helpers import CRASH_ENV, CrashOnceEncoder

    marker = tmp_path / "crashed"
    tests = str(Path(__file__).resolve().parents[1])
    workers_env = {CRASH_ENV: f"1:{marker}",
                   "PYTHONPATH": os.pathsep.join([str(Path(tests).parent), tests, os.environ.get("PYTHONPATH", "")])}
    stats = cluster_embed(many_photos[:8], tiny_cfg, shard_size=4, workers=2, model_configs=setup_fn,
                          extra_env=workers_env, encoder=CrashOnceEncoder)
    assert marker.exists()  # the worker of shard 1 died (os._exit) once
    assert stats.computed == 8  # ... and Ray redid that shard on a restarted actor
    found, _ = image_store(tiny_cfg).load().lookup([image_key(p) for p in many_photos[:8]])
    assert found.all()
    again = cluster_embed(many_photos, tiny_cfg, shard_size=4, workers=2, model_configs=setup_fn)
    assert (again.cached_before, again.shards, again.computed) == (8, 1, 4)  # only the new shard
