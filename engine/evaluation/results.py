"""Typed results of evaluating one method on one seed (engine.evaluation.metrics).

``MethodMetrics.to_dict()`` gives the nested floats the JSON contract names
(``methods[name]`` keys: micro_auc, macro_auc, map, best_f1, at_threshold);
``engine.evaluation.metrics.aggregate`` turns one such record per seed into
{"mean", "std", "runs"} leaves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


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
class MethodMetrics:
    """One method's test metrics for one seed."""

    micro_auc: float
    macro_auc: float
    map: float
    best_f1: OperatingPoint  # at the best-F1 threshold chosen on validation rows
    at_threshold: OperatingPoint  # at the user threshold

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MethodEvaluation:
    """Everything ``evaluate_method`` computes for one method and one seed."""

    metrics: MethodMetrics
    best_threshold: float  # chosen on validation rows
    per_keyword: dict[str, np.ndarray] = field(default_factory=dict)  # (K,) arrays on test rows
    roc: tuple[np.ndarray, np.ndarray] = field(default_factory=lambda: (np.zeros(0), np.zeros(0)))
