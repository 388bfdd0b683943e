"""CLIP image embedding on a cluster with Ray Data (optional extra: ``pip install -e
'.[scale]'``), writing into the same content-keyed cache as ``mmkg-tui embed``, so a
later single-machine run reuses every vector.

The driver looks every image up in the cache (engine.features.clip.cache.VectorStore,
keyed by file content: path, size, mtime) and cuts the missing ones into shards of
``shard_size`` images. Ray Data maps the shards over a pool of actors (one CLIP model
per actor); each actor encodes its shard with the single-machine encoder
(engine.features.clip.encode.encode_images) into its own VectorStore on the shared
cache folder: every write is a new, atomically written part file, so concurrent
actors never clash and a shard exists in the cache only once written.

Resumable: a worker killed mid-shard leaves nothing half-written; Ray restarts the
actor and retries that shard (``max_task_retries``), and if the whole job dies, the
next call finds the finished shards in the cache and computes only the rest.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.core.errors import ConfigError
from engine.features.clip.cache import VectorStore, image_key
from engine.features.clip.config import ClipConfig

RAY_MISSING = "Ray is not installed: pip install -e '.[scale]' (or pip install 'ray[data]')"


@dataclass
class ClusterEmbedStats:
    images: int
    cached_before: int  # found in the cache when the job started (finished shards kept)
    shards: int  # shards sent to the cluster
    computed: int  # vectors written by the workers
    skipped: list[str] = field(default_factory=list)  # unreadable image paths
    cache_dir: Path | None = None


def image_store(cfg: ClipConfig) -> VectorStore:
    """The image VectorStore of ``cfg``'s model: the one ``compute_features`` uses
    (same folder and identity, ``weights_key|images``)."""
    from engine.features.clip.compute import feature_cache_dir
    from engine.features.clip.model import model_spec

    spec = model_spec(cfg)
    return VectorStore(feature_cache_dir(cfg, spec) / "images", f"{spec.weights_key}|images", spec.embed_dim)


def plan_shards(paths: Sequence[str], store: VectorStore, shard_size: int) -> tuple[list[list[str]], int]:
    """(shards of the paths not in the cache, number already cached)."""
    keys = [image_key(p) for p in paths]
    found, _ = store.lookup(keys)
    todo = [p for p, k, f in zip(paths, keys, found) if k is not None and not f]
    return [todo[i:i + shard_size] for i in range(0, len(todo), shard_size)], int(found.sum())


class ShardEncoder:
    """A Ray Data actor: one CLIP model, encodes one shard per call into the cache."""

    def __init__(self, cfg: ClipConfig, folder: str, identity: str, dim: int, model_configs: tuple[str, ...] = ()):
        import open_clip

        from engine.features.clip.model import load_clip

        os.environ.setdefault("OMP_NUM_THREADS", "1")
        for path in model_configs:  # custom open_clip architectures, as registered on the driver
            open_clip.add_model_config(path)
        self.cfg, self.folder, self.identity, self.dim = cfg, folder, identity, dim
        self.loaded = load_clip(cfg)

    def __call__(self, batch: dict) -> dict:
        from engine.features.clip.encode import encode_images

        out = {"shard": [], "computed": [], "skipped": []}
        for shard, paths in zip(batch["shard"], batch["paths"]):
            paths = [str(p) for p in paths]
            store = VectorStore(Path(self.folder), self.identity, self.dim)  # write-only view
            res = encode_images(paths, store, lambda: self.loaded, self.cfg)
            out["shard"].append(int(shard))
            out["computed"].append(int(res.computed))
            out["skipped"].append("\n".join(p for p, ok in zip(paths, res.ok) if not ok))
        return out


def _runtime_env(extra_env: dict | None) -> dict:
    root = str(Path(__file__).resolve().parents[3])
    env = {"PYTHONPATH": os.pathsep.join(x for x in (root, os.environ.get("PYTHONPATH", "")) if x),
           "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "OMP_NUM_THREADS": "1",
           "OMP_WAIT_POLICY": "PASSIVE"}
    if "MMKG_TUI_CACHE" in os.environ:
        env["MMKG_TUI_CACHE"] = os.environ["MMKG_TUI_CACHE"]
    env.update(extra_env or {})
    return {"env_vars": env}


def cluster_embed(paths: Sequence[str], cfg: ClipConfig | None = None, *, shard_size: int = 1024,
                  workers: int = 2, address: str | None = None, model_configs: Sequence[str] = (),
                  extra_env: dict | None = None, encoder: type = ShardEncoder) -> ClusterEmbedStats:
    """Embed ``paths`` on a Ray cluster (``address``: None starts a local one) into the
    feature cache of ``cfg``. ``model_configs``: open_clip config JSON files every actor
    registers before loading the model (for architectures not built into open_clip).
    ``extra_env``: environment variables for the workers. ``encoder``: the actor class
    (a ShardEncoder subclass importable on the workers, e.g. one that preprocesses)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(RAY_MISSING, field="scale", hint="pip install -e '.[scale]'") from None
    cfg = cfg or ClipConfig()
    if shard_size < 1 or workers < 1:
        raise ConfigError("shard_size and workers must be at least 1", field="shard_size" if shard_size < 1 else "workers",
                          hint="e.g. shard_size=1024, workers=one per CPU or GPU")
    store = image_store(cfg).load()
    shards, cached = plan_shards(list(paths), store, shard_size)
    stats = ClusterEmbedStats(len(paths), cached, len(shards), 0, cache_dir=store.folder.parent)
    if not shards:
        return stats
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 runtime_env=_runtime_env(extra_env), log_to_driver=False)
    try:
        rows = _run_shards(ray, shards, cfg, store, workers, tuple(str(p) for p in model_configs), encoder)
    finally:
        if started_here:
            ray.shutdown()
    for r in rows:
        stats.computed += int(r["computed"])
        stats.skipped += [p for p in str(r["skipped"]).split("\n") if p]
    image_store(cfg).load().compact()  # many small part files -> one
    return stats


def _run_shards(ray, shards, cfg, store, workers: int, model_configs: tuple[str, ...], encoder: type):
    import ray.data

    items = [{"shard": i, "paths": np.asarray(s, dtype=object)} for i, s in enumerate(shards)]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    out = ds.map_batches(
        encoder, batch_size=1, concurrency=workers, num_cpus=1, max_task_retries=3, max_restarts=3,
        fn_constructor_args=(cfg, str(store.folder), store.identity, store.dim, model_configs))
    return out.take_all()
