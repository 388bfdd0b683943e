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

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# first engine import: sets OMP_WAIT_POLICY=PASSIVE before anything loads torch/libgomp
from engine.core.thread import TRAIN_THREADS_ENV, training_threads, wait_policy_status

# isort: split
from engine.core.atomic import atomic_write_text, check_can_create
from engine.core.errors import (
    Cancelled,
    ConfigError,
    DataError,
    MMKGError,
    ModelUnavailableError,
    Problem,
    StorageError,
)
from engine.core.progress import ProgressCallback, StageProgress, TrainProgress
from engine.core.signals import Terminated, terminate_as_interrupt
from engine.data.attributes import human_number
from engine.data.dataset import Dataset
from engine.data.fingerprint import dataset_fingerprint
from engine.data.image_check import ImageCheck, check_image_files
from engine.data.labels import TextLabels, names_preview, text_labels
from engine.data.loaders import default_data_path
from engine.data.loaders import load_dataset as _load_dataset
from engine.evaluation.calibration import reliability_curve
from engine.distributed.hosts import Host, SshHost, read_hosts
from engine.distributed.launch import DistributedJobError, read_ip_config, run_distributed
from engine.distributed.partition import PartitionMeta, partition_dataset
from engine.evaluation.metrics import per_keyword_metrics, roc_points, threshold_metrics
from engine.evaluation.operating import MODES as THRESHOLD_MODES
from engine.evaluation.operating import operating_thresholds
from engine.experiment.config import SCORE_SCALES, ExperimentConfig
from engine.learn.edge_weight import CONVS, EDGE_WEIGHTS
from engine.experiment.records import ExperimentDone, RunResult
from engine.experiment.store import (
    check_json_target,
    check_run_folder,
    check_run_target,
    default_run_dir,
    is_complete,
    last_run_for,
    load_run,
    runs_root,
    save_run,
    write_metrics_json,
)
from engine.features.bundle import Features
from engine.features.clip import (
    ClipConfig,
    EmbedStats,
    compute_features,
    compute_features_with_stats,
)
from engine.features.clip.config import check_device
from engine.methods.baselines import BASELINES, score_scale
from engine.methods.catalog import method_kind
from engine.retrieval.context import SPACES, Retrieval
from engine.retrieval.corrections import (
    Correction,
    append_correction,
    apply_corrections,
    decided_pairs,
    decision_action,
    read_corrections,
)
from engine.retrieval.hero import hero_images
from engine.retrieval.query import ParsedQuery, parse_query
from engine.retrieval.recommend import GroupMatch, recommend_groups
from engine.retrieval.records import SearchHit, SearchResult
from engine.retrieval.report import SpaceQuality, retrieval_quality
from engine.retrieval.search import restrict_rows, row_of, search_text, similar_images
from engine.retrieval.space import Space
from engine.retrieval.suspects import KINDS as SUSPECT_KINDS
from engine.retrieval.suspects import METHODS as SUSPECT_METHODS
from engine.retrieval.suspects import Suspect, SuspectQueue, suspect_queue

if TYPE_CHECKING:
    from engine.graph.knowledge import KnowledgeGraph

__all__ = [
    # errors and progress
    "MMKGError", "DataError", "ConfigError", "ModelUnavailableError", "Cancelled", "Problem",
    "StageProgress", "TrainProgress", "ProgressCallback",
    # data and features
    "Dataset", "default_data_path", "load_dataset", "Features", "ClipConfig", "EmbedStats",
    "compute_features", "compute_features_with_stats", "human_number", "dataset_fingerprint",
    # graph
    "build_graph", "summary",
    # experiments, methods, metrics, runs
    "ExperimentConfig", "ExperimentDone", "RunResult", "iter_experiment", "run_experiment",
    "BASELINES", "score_scale", "threshold_metrics", "per_keyword_metrics",
    "default_run_dir", "last_run_for", "load_run", "save_run", "atomic_write_text",
    "warm_up",
    # bad input (issue 8): device check, labels needing text vectors, image header check
    "check_device", "ImageCheck", "check_image_files", "TextLabels", "text_labels", "names_preview",
    # score scales and method kinds (issue 10)
    "SCORE_SCALES", "method_kind", "reliability_curve", "roc_points", "EDGE_WEIGHTS", "CONVS",
    "operating_thresholds", "THRESHOLD_MODES",
    # retrieval: search, similar images, hero images, recommendations, label-error queue
    "Retrieval", "SPACES", "Space", "SearchHit", "SearchResult", "search_text", "similar_images", "restrict_rows",
    "row_of", "parse_query", "ParsedQuery", "hero_images", "recommend_groups", "GroupMatch",
    "Suspect", "SuspectQueue", "suspect_queue", "SUSPECT_KINDS", "SUSPECT_METHODS",
    "Correction", "append_correction", "apply_corrections", "read_corrections", "decided_pairs", "decision_action",
    "retrieval_quality", "SpaceQuality",
    "warm_up", "strategy_descriptions", "RunInfo", "list_runs",
    # faults: output paths checked up front, SIGTERM as Ctrl-C, disk errors
    "StorageError", "check_can_create", "Terminated", "terminate_as_interrupt", "check_json_target",
    "check_run_folder", "check_run_target", "runs_root", "write_metrics_json",
    # thread policy (engine.core.thread)
    "TRAIN_THREADS_ENV", "training_threads", "wait_policy_status",
    # DistDGL (engine.distributed)
    "partition_dataset", "PartitionMeta", "run_distributed", "read_ip_config", "read_hosts", "Host", "SshHost", "DistributedJobError",
]

# Modules training imports on first use (torch, DGL, scikit-learn's metrics and
# torch._dynamo, which torch.optim.Adam pulls in). The app imports them in a
# background worker once its main screen is up, so training does not freeze the UI.
TRAINING_MODULES = (
    "engine.experiment.pipeline", "engine.learn.train", "engine.learn.model", "engine.learn.sampling",
    "engine.graph.homogeneous", "engine.graph.split", "engine.graph.reconnect", "engine.graph.knowledge",
    "sklearn.metrics", "torch.optim", "torch._dynamo",
)


def load_dataset(path: str | Path | None = None, *, strict: bool = False, embeddings: str | Path | None = None,
                 allow_outside: bool = False, corrections: str | Path | None = None) -> Dataset:
    """Load a dataset (None = the bundled demo). ``allow_outside``: accept relative image
    paths that lead out of the dataset folder; ``corrections``: a corrections CSV
    (engine.retrieval.corrections) whose adds and removes are applied to the tags."""
    dataset = _load_dataset(path, strict=strict, embeddings=embeddings, allow_outside=allow_outside)
    if corrections is not None:
        dataset = apply_corrections(dataset, corrections)
    return dataset


def warm_up() -> None:
    """Import everything an experiment needs (seconds; call from a worker thread)."""
    import importlib

    for name in TRAINING_MODULES:
        importlib.import_module(name)


@dataclass
class RunInfo:
    """What a run folder says about itself without loading its arrays (run browser)."""

    path: str
    created: str
    methods: list[str]
    metrics: dict[str, Any]  # method -> metric dict, as in run.json
    config: dict[str, Any]  # ExperimentConfig.to_dict()


def _run_info(folder: Path, fingerprint: str) -> RunInfo | None:
    try:
        meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # incomplete or broken: the browser lists what can be opened
    if (meta.get("dataset") or {}).get("fingerprint") != fingerprint:
        return None
    return RunInfo(str(folder), str(meta.get("created", "")), list(meta.get("methods", [])),
                   dict(meta.get("metrics", {})), dict(config))


def list_runs(dataset: Dataset, extra: Iterable[str | Path] = ()) -> list[RunInfo]:
    """Every complete run of ``dataset``: its runs folder plus ``extra`` folders (e.g.
    ``--out`` folders the app opened), newest first, each folder once."""
    fingerprint = dataset_fingerprint(dataset)
    folder = runs_root() / fingerprint
    candidates = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")] if folder.is_dir() else []
    candidates += [Path(p) for p in extra]
    seen: set[str] = set()
    out = []
    for path in candidates:
        key = str(path.resolve())
        if key in seen or not path.is_dir() or not is_complete(path):
            continue
        seen.add(key)
        info = _run_info(path, fingerprint)
        if info is not None:
            out.append(info)
    return sorted(out, key=lambda r: (r.created, r.path), reverse=True)


def strategy_descriptions() -> dict[str, str]:
    """Every registered reconnection strategy (engine.graph.reconnect's registry) ->
    the first line of its docstring; imports torch (call it off the event loop)."""
    from engine.graph.reconnect import STRATEGIES

    return {name: (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "" for name, fn in STRATEGIES.items()}


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

