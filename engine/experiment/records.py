"""Typed records of an experiment: its progress events and its result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.evaluation.results import MethodEvaluation, MethodMetrics, OperatingPoint
from engine.experiment.config import ExperimentConfig

__all__ = ["ExperimentDone", "RunResult", "SeedResult", "EvalRows", "MethodEvaluation", "MethodMetrics",
           "OperatingPoint"]


@dataclass(frozen=True)
class ExperimentDone:
    result: "RunResult"


@dataclass(frozen=True)
class EvalRows:
    """The rows one seed scores: its validation images, then its test images."""

    rows: np.ndarray  # (M,) dataset rows, validation then test
    labels: np.ndarray  # (M, K) bool
    val_mask: np.ndarray  # (M,) bool
    test_mask: np.ndarray  # (M,) bool


@dataclass
class SeedResult:
    """Everything one seed of an experiment produced (engine.experiment.pipeline)."""

    split: np.ndarray  # (N,) int8 0 train / 1 validation / 2 test
    eval: EvalRows
    scores: dict[str, np.ndarray]  # method -> (M, K) float32, in config.methods order
    evaluations: dict[str, MethodEvaluation]  # method -> its test metrics
    embedding_stats: dict[str, dict[str, float]]  # methods with image embeddings only
    loss_history: list[float]
    image_embeddings: dict[str, np.ndarray]  # method -> (M, D)
    keyword_embeddings: dict[str, np.ndarray]  # "clip" / "sage" -> (K, D)
    model_state: dict = field(repr=False)
    best_epoch: int | None = None  # epoch chosen on validation (ExperimentConfig.select_metric); None: none
    blend_weights: dict[str, float] = field(default_factory=dict)  # sage method -> CLIP weight (ExperimentConfig.blend)


@dataclass
class RunResult:
    config: ExperimentConfig
    dataset: dict
    embedding_source: str
    image_ids: list[str]
    split: np.ndarray  # (N,) int8 0 train / 1 validation / 2 test (first seed)
    keywords: list[str]
    methods: list[str]
    eval_rows: np.ndarray  # (M,) validation rows then test rows
    labels: np.ndarray  # (M, K) bool
    scores: dict[str, np.ndarray]  # method -> (M, K) float32 in [-1, 1] (engine.baselines.score_scale)
    best_threshold: dict[str, float]
    metrics: dict[str, dict[str, Any]]
    per_keyword: dict[str, dict[str, np.ndarray]]
    roc: dict[str, tuple[np.ndarray, np.ndarray]]
    embedding_stats: dict[str, dict[str, float]]  # methods with image embeddings only (not baselines)
    loss_history: list[float]
    created: str
    # additions to the contract
    image_embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (M, D) of eval_rows
    keyword_embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # "clip"/"sage" -> (K, D)
    seeds: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0
    model_state: dict | None = field(default=None, repr=False, compare=False)  # first seed's weights
    # What the user must know to read the figures (shown by the CLI, the JSON and the app):
    problems: list[str] = field(default_factory=list)  # dataset problems (skipped images, merged keywords, ...)
    warnings: list[str] = field(default_factory=list)  # cautions about the evaluation (few test images, ...)
    macro_excluded: dict[str, str] = field(default_factory=dict)  # keyword -> why it is not in macro metrics
    skipped_methods: dict[str, str] = field(default_factory=dict)  # method -> why it was not run
    tuning: list[dict] = field(default_factory=list)  # --tune trials: overrides, validation score (engine.experiment.tune)

    def test_mask(self) -> np.ndarray:
        return self.split[self.eval_rows] == 2

    def val_mask(self) -> np.ndarray:
        return self.split[self.eval_rows] == 1

    def to_json(self) -> dict:
        return _json_safe({
            "methods": self.metrics,
            "config": self.config.to_dict(),
            "dataset": self.dataset,
            "embedding_source": self.embedding_source,
            "best_threshold": self.best_threshold,
            "embedding_stats": self.embedding_stats,
            "score_scales": {m: _score_scale(m) for m in self.methods},
            "seeds": self.seeds,
            "created": self.created,
            "problems": self.problems,
            "warnings": self.warnings,
            "macro_excluded": self.macro_excluded,
            "skipped_methods": self.skipped_methods,
            "tuning": self.tuning,
        })


def _json_safe(x):
    """NaN/inf -> None, numpy scalars -> Python, tuples -> lists (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_json_safe(v) for v in x.tolist()]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    return x


def _score_scale(method: str) -> str:
    from engine.methods.baselines import score_scale

    return score_scale(method)
