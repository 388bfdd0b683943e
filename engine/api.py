"""The one door into the engine for mmkg_tui (the CLI and the app alike).

Everything the UI needs is imported or defined here by name, so a reader (or a tool)
sees the whole surface in one file. Importing this module is cheap: it loads numpy
and the engine's light modules, never torch, DGL or a model. The functions that need
torch/DGL import their module on first call.

All user problems raise :class:`MMKGError` subclasses (``DataError``, ``ConfigError``,
``ModelUnavailableError``) that carry a location and a hint; ``Cancelled`` ends work
the user stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

# first engine import: sets OMP_WAIT_POLICY=PASSIVE before anything loads torch/libgomp
from engine.core.thread import TRAIN_THREADS_ENV, training_threads, wait_policy_status

# isort: split
from engine.core.atomic import atomic_write_text
from engine.core.errors import (
    Cancelled,
    ConfigError,
    DataError,
    MMKGError,
    ModelUnavailableError,
    Problem,
)
from engine.core.progress import ProgressCallback, StageProgress, TrainProgress
from engine.data.attributes import human_number
from engine.data.dataset import Dataset
from engine.data.loaders import default_data_path, load_dataset
from engine.distributed.launch import read_ip_config, run_distributed
from engine.distributed.partition import PartitionMeta, partition_dataset
from engine.evaluation.metrics import per_keyword_metrics, threshold_metrics
from engine.experiment.config import ExperimentConfig
from engine.experiment.records import ExperimentDone, RunResult
from engine.experiment.store import default_run_dir, last_run_for, load_run, save_run
from engine.features.bundle import Features
from engine.features.clip import (
    ClipConfig,
    EmbedStats,
    compute_features,
    compute_features_with_stats,
)
from engine.methods.baselines import BASELINES, score_scale

if TYPE_CHECKING:
    from engine.graph.knowledge import KnowledgeGraph

__all__ = [
    # errors and progress
    "MMKGError", "DataError", "ConfigError", "ModelUnavailableError", "Cancelled", "Problem",
    "StageProgress", "TrainProgress", "ProgressCallback",
    # data and features
    "Dataset", "default_data_path", "load_dataset", "Features", "ClipConfig", "EmbedStats",
    "compute_features", "compute_features_with_stats", "human_number",
    # graph
    "build_graph", "summary",
    # experiments, methods, metrics, runs
    "ExperimentConfig", "ExperimentDone", "RunResult", "iter_experiment", "run_experiment",
    "BASELINES", "score_scale", "threshold_metrics", "per_keyword_metrics",
    "default_run_dir", "last_run_for", "load_run", "save_run", "atomic_write_text",
    "warm_up",
    # thread policy (engine.core.thread)
    "TRAIN_THREADS_ENV", "training_threads", "wait_policy_status",
    # DistDGL (engine.distributed)
    "partition_dataset", "PartitionMeta", "run_distributed", "read_ip_config",
]

# Modules training imports on first use (torch, DGL, scikit-learn's metrics and
# torch._dynamo, which torch.optim.Adam pulls in). The app imports them in a
# background worker once its main screen is up, so training does not freeze the UI.
TRAINING_MODULES = (
    "engine.experiment.pipeline", "engine.learn.train", "engine.learn.model", "engine.learn.sampling",
    "engine.graph.homogeneous", "engine.graph.split", "engine.graph.reconnect", "engine.graph.knowledge",
    "sklearn.metrics", "torch.optim", "torch._dynamo",
)


def warm_up() -> None:
    """Import everything an experiment needs (seconds; call from a worker thread)."""
    import importlib

    for name in TRAINING_MODULES:
        importlib.import_module(name)


def build_graph(dataset: Dataset, features: Features, *, image_similarity: float | None = None) -> KnowledgeGraph:
    """The DGL knowledge graph of ``dataset`` (imports torch and DGL)."""
    from engine.graph.knowledge import build_graph as build

    return build(dataset, features, image_similarity=image_similarity)


def iter_experiment(dataset: Dataset, features: Features, config: ExperimentConfig, *,
                    cancel: threading.Event | None = None) -> Iterator[StageProgress | TrainProgress | ExperimentDone]:
    """Typed progress events of one experiment, ending with ExperimentDone(result);
    ``config`` is validated at call time (ConfigError before any work)."""
    from engine.experiment.pipeline import iter_experiment as iterate

    return iterate(dataset, features, config, cancel=cancel)


def run_experiment(dataset: Dataset, features: Features, config: ExperimentConfig, *,
                   cancel: threading.Event | None = None,
                   progress: Callable[[StageProgress | TrainProgress | ExperimentDone], None] | None = None) -> RunResult:
    from engine.experiment.pipeline import run_experiment as run

    return run(dataset, features, config, cancel=cancel, progress=progress)


def summary(dataset: Dataset, kg: KnowledgeGraph, features: Features | None = None) -> dict[str, Any]:
    """Counts per node and edge type, keyword prevalence, scenes, attributes (the `info` JSON)."""
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

