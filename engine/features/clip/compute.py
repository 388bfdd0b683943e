"""compute_features: the dataset's vectors in one CLIP space, cached, precomputed first.

Image vectors come from ``dataset.embeddings`` when present, else the CLIP image
tower; text vectors (keywords, scenes, attribute-bin labels) from
``dataset.embeddings.text`` where present, else the CLIP text tower. No model is
loaded when nothing needs computing.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.core.errors import DataError, Problem
from engine.core.progress import ProgressCallback
from engine.core.vectors import l2_normalize
from engine.data.attributes import bin_attributes
from engine.data.dataset import Dataset
from engine.features.bundle import Features, precomputed_features
from engine.features.clip.cache import FailureLog, VectorStore, digest
from engine.features.clip.config import ClipConfig, cache_root


@dataclass
class EmbedStats:
    images_cached: int = 0
    images_computed: int = 0
    images_precomputed: int = 0
    images_skipped: int = 0
    texts_computed: int = 0
    texts_total: int = 0
    model_loaded: bool = False
    cache_dir: Path | None = None
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)


def feature_cache_dir(cfg: ClipConfig, spec=None) -> Path:
    """Folder holding the cached vectors of ``cfg``'s model and weights."""
    from engine.features.clip.model import model_spec

    spec = spec or model_spec(cfg)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec.model)
    return cache_root(cfg) / "clip" / f"{slug}-{digest(spec.weights_key).decode()[:12]}"


class _Towers:
    """Lazily resolved model spec, stores and model (nothing happens until asked)."""

    def __init__(self, cfg: ClipConfig, stats: EmbedStats) -> None:
        self.cfg, self.stats = cfg, stats
        self._spec = None
        self._stores: dict[str, VectorStore] = {}

    @property
    def spec(self):
        if self._spec is None:
            from engine.features.clip.model import model_spec

            self._spec = model_spec(self.cfg)
            self.stats.cache_dir = feature_cache_dir(self.cfg, self._spec)
        return self._spec

    def store(self, kind: str) -> VectorStore:
        if kind not in self._stores:
            spec = self.spec  # also sets stats.cache_dir
            s = VectorStore(self.stats.cache_dir / kind, f"{spec.weights_key}|{kind}", spec.embed_dim)
            self._stores[kind] = s.load()
            self.stats.problems.extend(s.problems)
        return self._stores[kind]

    def model(self):
        from engine.features.clip.model import load_clip

        loaded = load_clip(self.cfg, self.spec)
        self.stats.model_loaded = True
        return loaded


def _check_dim(emb, spec) -> None:
    if emb is not None and emb.dim != spec.embed_dim:
        raise DataError(
            f"precomputed vectors have dimension {emb.dim} but {spec.model} gives {spec.embed_dim}",
            path=emb.path, hint="add text vectors for every keyword/scene/attribute label to the "
                                "embeddings file, or choose the CLIP model that made them (--clip-model)")


def _images(dataset: Dataset, towers: _Towers, stats: EmbedStats, progress, cancel, strict):
    from engine.features.clip.encode import encode_images

    emb = dataset.embeddings
    if emb is not None:
        stats.images_precomputed = dataset.n_images
        return dataset, l2_normalize(emb.image)
    store = towers.store("images")
    failures = FailureLog(store.folder / "failed.json").load()
    res = encode_images(dataset.image_paths, store, towers.model, towers.cfg,
                        progress=progress, cancel=cancel, strict=strict, failures=failures)
    stats.images_cached, stats.images_computed = res.cached, res.computed
    stats.images_skipped = int((~res.ok).sum())
    stats.problems.extend(res.problems)
    if res.ok.all():
        return dataset, res.vectors
    if not res.ok.any():
        raise DataError(f"none of the {dataset.n_images} images could be read", path=dataset.source_path,
                        hint="check the image paths in the manifest (relative to the manifest's folder)")
    rows = np.nonzero(res.ok)[0]
    return dataset.subset(rows), res.vectors[rows]


def _texts(labels: list[str], emb, towers: _Towers, stats: EmbedStats, progress, cancel) -> np.ndarray:
    from engine.features.clip.encode import encode_texts

    have = emb.text if emb is not None else {}
    need = [lab for lab in labels if lab not in have]
    stats.texts_total = len(labels)
    vecs: dict[str, np.ndarray] = {lab: np.asarray(have[lab], np.float32) for lab in labels if lab in have}
    if need:
        _check_dim(emb, towers.spec)
        out, stats.texts_computed = encode_texts(need, towers.store("text"), towers.model, towers.cfg,
                                                 progress=progress, cancel=cancel)
        vecs.update(zip(need, out))
    dim = towers.spec.embed_dim if need else (emb.dim if emb is not None else 0)
    if not labels:
        return np.zeros((0, dim), np.float32)
    return l2_normalize(np.stack([vecs[lab] for lab in labels]))


def assign_zero_shot_scenes(image: np.ndarray, scene: np.ndarray) -> np.ndarray:
    """Each image's most similar scene (argmax of cosine), int32."""
    if scene.shape[0] == 0:
        return np.full(image.shape[0], -1, np.int32)
    return np.argmax(image @ scene.T, axis=1).astype(np.int32)


def compute_features_with_stats(dataset: Dataset, clip: ClipConfig | None = None, *,
                                progress: ProgressCallback | None = None,
                                cancel: threading.Event | None = None,
                                strict: bool = False) -> tuple[Dataset, Features, EmbedStats]:
    t0 = time.perf_counter()
    cfg = clip or ClipConfig()
    stats = EmbedStats()
    towers = _Towers(cfg, stats)
    emb = dataset.embeddings
    ds, image = _images(dataset, towers, stats, progress, cancel, strict)
    bins = bin_attributes(ds, cfg.attribute_bins)
    labels = list(ds.keywords) + list(ds.scenes) + list(bins.labels)
    if emb is not None and all(lab in emb.text for lab in labels):
        feats = precomputed_features(ds, cfg.attribute_bins)
        stats.texts_total = len(labels)
    else:
        text = _texts(labels, emb, towers, stats, progress, cancel)
        K, S = ds.n_keywords, ds.n_scenes
        source = towers.spec.label if emb is None else f"{emb.source} + {towers.spec.label} (text)"
        feats = Features(image=image, keyword=text[:K], scene=text[K:K + S], attribute=text[K + S:],
                         bins=bins, source=source)
    changes: dict = {}
    if stats.problems:
        changes["problems"] = list(ds.problems) + [p for p in stats.problems if p not in ds.problems]
    if ds.scene_source == "zero-shot" and ds.n_scenes:
        changes["image_scene"] = assign_zero_shot_scenes(feats.image, feats.scene)
    if changes:
        ds = dataclasses.replace(ds, **changes)
    stats.seconds = time.perf_counter() - t0
    return ds, feats, stats


def compute_features(dataset: Dataset, clip: ClipConfig | None = None, *,
                     progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                     strict: bool = False) -> tuple[Dataset, Features]:
    """(dataset to use from now on, Features). See the module docstring."""
    ds, feats, _ = compute_features_with_stats(dataset, clip, progress=progress, cancel=cancel,
                                               strict=strict)
    return ds, feats
