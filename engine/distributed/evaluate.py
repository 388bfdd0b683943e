"""Rank 0 of a distributed run: the single-machine view of the partitioned data (checked
against the partition before training) and, after training, the single-machine
evaluation and result assembly (engine.experiment.pipeline.evaluate_trained: keyword
embeddings, reconnection by every strategy, baselines, blending, calibration,
evaluate_method, RunResult), saved as the same run folder by ``save_run``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class RankZeroView:
    """What rank 0 evaluates on: the dataset and features, the split and its training graph."""

    dataset: Any
    features: Any
    split: Any  # engine.graph.split.Split
    hom: Any  # engine.graph.homogeneous.HomGraph


def load_view(meta) -> RankZeroView:
    """The partition's dataset rebuilt as the single-machine path builds it; DataError
    when the dataset changed since it was partitioned."""
    from engine.core.errors import DataError
    from engine.data.fingerprint import dataset_fingerprint
    from engine.distributed.partition import training_view

    dataset, features, _, split, hom = training_view(meta.data, meta.embeddings, meta.seed, meta.split)
    if dataset_fingerprint(dataset) != meta.fingerprint:
        raise DataError("the dataset changed since it was partitioned", path=meta.data or "demo",
                        hint="partition it again (mmkg-tui partition) before a distributed run")
    return RankZeroView(dataset, features, split, hom)


def write_result(job, view: RankZeroView, model, history, elapsed_s: float) -> None:
    """Evaluate the trained ``model`` exactly as a single-machine seed; save the run folder
    (and the --json file)."""
    import json

    from engine.core.atomic import atomic_write_text
    from engine.experiment.pipeline import evaluate_trained
    from engine.experiment.store import default_run_dir, save_run

    result = evaluate_trained(view.dataset, view.features, job.config, view.split, view.hom, model, history,
                              elapsed_s=elapsed_s)
    save_run(result, job.run_dir or default_run_dir(view.dataset))
    if job.json_path:
        atomic_write_text(job.json_path, json.dumps(result.to_json(), indent=2))
