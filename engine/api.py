"""The facade: the only engine module the terminal app (mmkg_tui) calls.

Each function delegates to the module that owns the work; imports are lazy so
that importing the facade is cheap and no model is loaded at import time.

Contract (all raise engine.errors.MMKGError subclasses for user problems):

* ``default_data_path() -> Path``: the bundled synthetic demo.
* ``load_dataset(path=None, *, strict=False, embeddings=None) -> Dataset``
  (engine.loaders): manifest CSV/JSONL, COCO instances json, or a folder holding one.
* ``compute_features(dataset, clip=None, *, progress=None, cancel=None, strict=False)
  -> tuple[Dataset, Features]`` (engine.clip): precomputed vectors where the dataset
  has them, open_clip towers (cached) for the rest; may drop corrupt images (the
  returned dataset is the one to use) and assigns zero-shot scenes.
* ``build_graph(dataset, features, *, image_similarity=None) -> KnowledgeGraph``.
* ``summary(dataset, kg, features) -> dict``: the `info` JSON.
* Learning (engine.experiment): ``ExperimentConfig``, ``run_experiment(...)``,
  ``save_run``, ``load_run``, ``last_run_for`` -- see engine/experiment.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def default_data_path() -> Path:
    from engine.loaders import default_data_path as f

    return f()


def load_dataset(path=None, *, strict: bool = False, embeddings=None):
    from engine.loaders import load_dataset as f

    return f(path, strict=strict, embeddings=embeddings)


def compute_features(dataset, clip=None, *, progress=None, cancel=None, strict: bool = False):
    from engine.clip import compute_features as f

    return f(dataset, clip, progress=progress, cancel=cancel, strict=strict)


def build_graph(dataset, features, *, image_similarity: float | None = None):
    from engine.graph import build_graph as f

    return f(dataset, features, image_similarity=image_similarity)


def summary(dataset, kg, features=None) -> dict[str, Any]:
    """Counts per node and edge type, keyword prevalence, scenes, attributes."""
    counts = dataset.keyword_counts()
    scounts = dataset.scene_counts()
    return {
        "name": dataset.name,
        "kind": dataset.kind,
        "synthetic": bool(dataset.synthetic),
        "source": dataset.source_path,
        "embedding_source": features.source if features is not None else None,
        "images": dataset.n_images,
        "keywords": dataset.n_keywords,
        "scenes": dataset.n_scenes,
        "attribute_nodes": len(kg.attribute_labels),
        "node_counts": kg.node_counts(),
        "edge_counts": kg.edge_counts(),
        "keyword_prevalence": {k: int(c) for k, c in zip(dataset.keywords, counts)},
        "scene_counts": {s: int(c) for s, c in zip(dataset.scenes, scounts)},
        "scene_source": dataset.scene_source,
        "numeric_attributes": sorted(dataset.numeric),
        "text_attributes": sorted(dataset.text),
        "attribute_labels": list(kg.attribute_labels),
        "problems": [p.format() for p in dataset.problems],
    }


# Learning, evaluation and runs: resolved lazily from the owning modules so the app
# imports only this facade. (PEP 562 module __getattr__.)
_LAZY = {
    "ExperimentConfig": "engine.experiment",
    "RunResult": "engine.experiment",
    "iter_experiment": "engine.experiment",
    "run_experiment": "engine.experiment",
    "save_run": "engine.runs",
    "load_run": "engine.runs",
    "last_run_for": "engine.runs",
    "default_run_dir": "engine.runs",
    "threshold_metrics": "engine.evaluate",
    "per_keyword_metrics": "engine.evaluate",
    "ClipConfig": "engine.clip",
    "DataError": "engine.errors",
    "ConfigError": "engine.errors",
    "MMKGError": "engine.errors",
    "Cancelled": "engine.errors",
    "Progress": "engine.progress",
}


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'engine.api' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)
