"""Typed results of evaluating one method on one seed (engine.evaluation.metrics).

``MethodMetrics.to_dict()`` gives the nested floats the JSON contract names
(``methods[name]`` keys: micro_auc, macro_auc, map, best_f1, at_threshold);
``engine.evaluation.metrics.aggregate`` turns one such record per seed into
{"mean", "std", "runs"} leaves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from engine.evaluation.calibration import PlattCalibration


@dataclass(frozen=True)
class OperatingPoint:
    """Pooled (micro) precision, recall and F1 of test rows at one threshold."""

    threshold: float
    precision: float
    recall: float
    f1: float

    @classmethod
    def from_counts(cls, counts: dict) -> "OperatingPoint":
        return cls(counts["threshold"], counts["precision"], counts["recall"], counts["f1"])


@dataclass(frozen=True)
class CalibrationMetrics:
    """Calibrated probabilities vs test labels, every (image, keyword) pair (lower is better)."""

    brier: float
    ece: float


@dataclass(frozen=True)
class RankingMetrics:
    """engine.evaluation.ranking on test rows (raw scores)."""

    p_at_1: float
    p_at_3: float
    p_at_5: float
    r_at_1: float
    r_at_3: float
    r_at_5: float
    lrap: float
    coverage: float
    mrr: float
    hits_at_1: float
    hits_at_10: float


@dataclass(frozen=True)
class PerKeywordThresholdMetrics:
    """Test metrics with one best-F1 threshold per keyword, chosen on validation rows."""

    precision: float
    recall: float
    f1: float
    macro_f1: float


@dataclass(frozen=True)
class ValidationMetrics:
    """Ranking metrics on VALIDATION rows: what choices between methods are made on."""

    micro_auc: float
    map: float


@dataclass(frozen=True)
class MethodMetrics:
    """One method's test metrics for one seed. AUCs, mAP and ``ranking`` use the
    method's raw scores (calibration never changes them for zero-shot CLIP's sake);
    ``best_f1``, ``at_threshold`` and ``per_keyword_threshold`` use the scores on the
    run's scale (``ExperimentConfig.score_scale``)."""

    micro_auc: float
    macro_auc: float
    map: float
    best_f1: OperatingPoint  # at the best-F1 threshold chosen on validation rows
    at_threshold: OperatingPoint  # at the user threshold
    calibration: CalibrationMetrics
    ranking: RankingMetrics
    per_keyword_threshold: PerKeywordThresholdMetrics
    validation: ValidationMetrics

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MethodEvaluation:
    """Everything ``evaluate_method`` computes for one method and one seed."""

    metrics: MethodMetrics
    best_threshold: float  # chosen on validation rows, on the named scale
    per_keyword: dict[str, np.ndarray] = field(default_factory=dict)  # (K,) arrays on test rows
    roc: tuple[np.ndarray, np.ndarray] = field(default_factory=lambda: (np.zeros(0), np.zeros(0)))
    calibration: PlattCalibration | None = None  # fitted on validation rows
    best_thresholds: dict[str, float] = field(default_factory=dict)  # scale -> best-F1 threshold on validation
