"""Typed records of an experiment: its progress events and its result."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.evaluation.calibration import PlattCalibration
from engine.evaluation.results import MethodEvaluation, MethodMetrics, OperatingPoint
from engine.experiment.comparison import Comparison, compare
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
    scores: dict[str, np.ndarray]  # method -> (M, K) float32 on the run's ``score_scale`` (see below)
    best_threshold: dict[str, float]  # validation best-F1 threshold on the run's score_scale (first seed)
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
    # Score scales (engine.evaluation.calibration). ``scores``, ``best_threshold``,
    # ``per_keyword`` and ``metrics[m]["best_f1"|"at_threshold"|"per_keyword_threshold"]``
    # are on the scale ``score_scale`` names: "calibrated" (P(keyword | image) in [0, 1])
    # or "raw" (each method's own score in [-1, 1], engine.methods.baselines.score_scale).
    # ``raw_scores`` always holds the raw scores (the same arrays as ``scores`` for a raw
    # run). To switch scales live (the app): ``scores_on(m, scale)`` gives a method's
    # scores on either scale (calibrated = ``calibration[m].apply(raw_scores[m])``, Platt
    # parameters fitted on the FIRST seed's validation images) and
    # ``best_thresholds[scale][m]`` the validation best-F1 threshold on that scale.
    # AUCs, mAP and ranking metrics come from the raw scores on either scale.
    score_scale: str = "raw"
    raw_scores: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (M, K) float32 raw scores
    calibration: dict[str, PlattCalibration] = field(default_factory=dict)  # method -> first seed's calibrator
    best_thresholds: dict[str, dict[str, float]] = field(default_factory=dict)  # scale -> method -> threshold
    # Per-keyword test metrics of EVERY seed: method -> metric -> (seeds, K) array
    # (``per_keyword`` holds the first seed's arrays, what the app shows per image).
    per_keyword_runs: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def scores_on(self, method: str, scale: str | None = None) -> np.ndarray:
        """(M, K) scores of ``method`` on ``scale`` (default: the run's scale)."""
        scale = scale or self.score_scale
        if scale == self.score_scale:
            return self.scores[method]
        raw = self.raw_scores.get(method, self.scores[method] if self.score_scale == "raw" else None)
        if scale == "raw" and raw is not None:
            return raw
        if scale == "calibrated" and raw is not None and method in self.calibration:
            return self.calibration[method].apply(raw)
        raise KeyError(f"no {scale!r} scores for method {method!r}")

    def kinds(self) -> dict[str, str]:
        from engine.methods.catalog import method_kind

        return {m: method_kind(m) for m in self.methods}

    def comparison(self) -> Comparison | None:
        """Best learned method vs strongest baseline, both chosen on validation, paired per seed."""
        return compare(self.metrics, self.methods)

    def per_keyword_summary(self) -> dict[str, dict[str, dict[str, list]]]:
        """method -> metric -> {"mean", "std"}: (K,) lists over seeds (NaN-ignoring; std ddof=1)."""
        out: dict = {}
        for m, metrics in self.per_keyword_runs.items():
            out[m] = {}
            for name, runs in metrics.items():
                runs = np.asarray(runs, dtype=np.float64)
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nanmean(runs, axis=0)
                    std = np.nanstd(runs, axis=0, ddof=1) if len(runs) > 1 else np.zeros(runs.shape[1])
                out[m][name] = {"mean": mean, "std": std}
        return out
    tuning: list[dict] = field(default_factory=list)  # --tune trials: overrides, validation score (engine.experiment.tune)

    def test_mask(self) -> np.ndarray:
        return self.split[self.eval_rows] == 2

    def val_mask(self) -> np.ndarray:
        return self.split[self.eval_rows] == 1

    def to_json(self) -> dict:
        kinds = self.kinds()
        comparison = self.comparison()
        return _json_safe({
            "methods": {m: {**self.metrics[m], "kind": kinds.get(m)} for m in self.metrics},
            "score_scale": self.score_scale,
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
            "comparison": comparison.to_json() if comparison is not None else None,
            "per_keyword": {"keywords": self.keywords, "methods": self.per_keyword_summary()},
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
