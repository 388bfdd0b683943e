"""Is the learned method better than the strongest baseline? Paired, per seed.

Both sides are chosen on VALIDATION images: the learned method (kind "learned") and
the baseline (kind "baseline"; zero-shot CLIP if no baseline was run) with the best
mean validation mAP over seeds. Then for each test metric the per-seed differences
learned - baseline (the same split for both in each seed) and the seeds it won.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.methods.catalog import method_kind

COMPARED = ("micro_auc", "macro_auc", "map")
CHOSEN_ON = "map"  # the validation metric both sides are chosen by


@dataclass(frozen=True)
class PairedDifference:
    metric: str
    differences: tuple[float, ...]  # per seed, learned - baseline
    wins: int  # seeds where the learned method scored strictly higher
    mean: float
    std: float


@dataclass(frozen=True)
class Comparison:
    learned: str
    baseline: str
    seeds: int
    chosen_on: str  # "validation map"
    paired: tuple[PairedDifference, ...]

    def to_json(self) -> dict:
        return {
            "learned": self.learned, "baseline": self.baseline, "seeds": self.seeds, "chosen_on": self.chosen_on,
            "paired": {p.metric: {"differences": list(p.differences), "wins": p.wins, "mean": p.mean, "std": p.std}
                       for p in self.paired},
        }


def _validation_map(metrics: dict, method: str) -> float:
    value = metrics[method].get("validation", {}).get(CHOSEN_ON, {}).get("mean", float("nan"))
    return float(value) if value is not None and math.isfinite(value) else -math.inf


def _best(metrics: dict, methods: list[str]) -> str | None:
    return max(methods, key=lambda m: _validation_map(metrics, m)) if methods else None


def compare(metrics: dict, methods: list[str]) -> Comparison | None:
    """Paired comparison from aggregated metrics (``RunResult.metrics``); None without a learned method."""
    learned = _best(metrics, [m for m in methods if method_kind(m) == "learned"])
    baseline = _best(metrics, [m for m in methods if method_kind(m) == "baseline"]) or \
        _best(metrics, [m for m in methods if method_kind(m) == "zero_shot"])
    if learned is None or baseline is None:
        return None
    paired = []
    for name in COMPARED:
        a, b = metrics[learned][name]["runs"], metrics[baseline][name]["runs"]
        diff = tuple(float(x) - float(y) for x, y in zip(a, b))
        finite = [d for d in diff if math.isfinite(d)]
        mean = float(np.mean(finite)) if finite else float("nan")
        std = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
        paired.append(PairedDifference(name, diff, sum(d > 0 for d in finite), mean, std))
    return Comparison(learned, baseline, len(paired[0].differences), f"validation {CHOSEN_ON}", tuple(paired))
