"""compute_features: the dataset's vectors in one CLIP space, cached, precomputed first.

Image vectors come from ``dataset.embeddings`` when present, else the CLIP image
tower; text vectors (keywords, scenes, attribute-bin labels) from
``dataset.embeddings.text`` where present, else the CLIP text tower. No model is
loaded when nothing needs computing.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.core.errors import DataError, ModelUnavailableError, Problem
from engine.core.progress import ProgressCallback
from engine.core.vectors import l2_normalize
from engine.data.dataset import Dataset
from engine.data.labels import names_preview, text_labels
from engine.features.bundle import MISSING_LABELS_HINT, Features, precomputed_features
from engine.features.clip.cache import (
    FailureLog,
    VectorStore,
    digest,
    image_key,
    text_key,
)
from engine.features.clip.config import ClipConfig, cache_root, check_device, model_slug


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
    return cache_root(cfg) / "clip" / f"{model_slug(spec.model)}-{digest(spec.weights_key).decode()[:12]}"


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


def _check_dim(emb, spec, need: list[str]) -> None:
    if emb is not None and emb.dim != spec.embed_dim:
        raise DataError(
            f"{len(need)} label(s) have no text vector ({names_preview(need, quote=True)}), and the "
            f"precomputed vectors have dimension {emb.dim} but {spec.model} gives {spec.embed_dim}, so its "
            "text tower cannot fill them in", path=emb.path, field="text_labels",
            hint=f"add text vectors for those labels to the embeddings file ({MISSING_LABELS_HINT}), "
                 "or choose the CLIP model that made the vectors (--clip-model)")


def _images_to_compute(dataset: Dataset, towers: _Towers) -> int:
    """Images with neither a cached vector nor a known failure (stat only, no decoding)."""
    store = towers.store("images")
    keys = [image_key(p) for p in dataset.image_paths]
    found, _ = store.lookup(keys)
    failures = FailureLog(store.folder / "failed.json").load()
    return sum(1 for i in np.nonzero(~found)[0].tolist() if failures.get(keys[i]) is None)


def _missing_text_labels(dataset: Dataset, cfg: ClipConfig) -> list[str]:
    have = dataset.embeddings.text if dataset.embeddings is not None else {}
    return [lab for lab in text_labels(dataset, cfg.attribute_bins).all if lab not in have]


def _labels_to_compute(dataset: Dataset, towers: _Towers) -> list[str]:
    cfg = towers.cfg
    missing = _missing_text_labels(dataset, cfg)
    if not missing:
        return []
    found, _ = towers.store("text").lookup([text_key(cfg.prompts, lab) for lab in missing])
    return [lab for lab, ok in zip(missing, found.tolist()) if not ok]


def preflight(dataset: Dataset, towers: _Towers) -> None:
    """Fail within seconds, before any image is decoded or any model is built, when the
    CLIP towers are needed and their weights cannot be had (offline, not cached)."""
    from engine.features.clip.model import REMEDIES, nothing_cached_for, offline, offline_unavailable

    emb = dataset.embeddings
    if not offline() or (emb is not None and all(lab in emb.text for lab in
                                                 text_labels(dataset, towers.cfg.attribute_bins).all)):
        return  # online: locate_weights may download; all precomputed: no model needed
    quick = nothing_cached_for(towers.cfg, cache_root(towers.cfg))
    if quick is not None:  # decided in milliseconds: nothing is cached, so everything is needed
        why, n_images = quick, 0 if emb is not None else dataset.n_images
        labels = _missing_text_labels(dataset, towers.cfg)
    else:
        why = offline_unavailable(towers.spec)
        if why is None:
            return
        n_images = 0 if emb is not None else _images_to_compute(dataset, towers)
        labels = _labels_to_compute(dataset, towers)
    if not n_images and not labels:
        return
    parts = []
    if n_images:
        parts.append(f"{n_images} image(s) have no precomputed or cached vector")
    if labels:
        parts.append(f"{len(labels)} label(s) have no text vector ({names_preview(labels, quote=True)})")
    hint = "cache the weights once online (without HF_HUB_OFFLINE); or " + REMEDIES
    if labels and emb is not None:
        hint = f"add the missing text vectors to {emb.path} ({MISSING_LABELS_HINT}); or {hint}"
    raise ModelUnavailableError(f"{' and '.join(parts)}, and {why}",
                                path=emb.path if emb is not None else None, hint=hint)


def skipped_problems(dataset: Dataset, errors: dict[int, str]) -> list[Problem]:
    """One counted Problem for all skipped images ('3 images skipped: a, b, c'), then one
    per image naming its id, file and reason."""
    if not errors:
        return []
    rows = sorted(errors)
    n = len(rows)
    head = Problem(f"{n} image{'s' if n != 1 else ''} skipped: "
                   f"{names_preview([dataset.ids[r] for r in rows], 3)}",
                   path=dataset.source_path, field="image")
    return [head] + [Problem(f"image '{dataset.ids[r]}' skipped: {errors[r]}", path=dataset.image_paths[r] or None)
                     for r in rows]


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
    stats.problems.extend(skipped_problems(dataset, res.errors))
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
        _check_dim(emb, towers.spec, need)
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
    if cfg.device != "cpu":
        check_device(cfg.device)
    preflight(dataset, towers)
    emb = dataset.embeddings
    ds, image = _images(dataset, towers, stats, progress, cancel, strict)
    need = text_labels(ds, cfg.attribute_bins)
    bins, labels = need.bins, need.all
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
