"""The reliability curve of one method on the run's test images (UI-free): calibrated
probability per bin against the fraction of positives, with the run's Brier score and
expected calibration error (means over seeds) for the title."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import api
from mmkg_tui.present.operating import RunScales
from mmkg_tui.present.tables import metric_mean


@dataclass
class Reliability:
    method: str
    mean_p: np.ndarray  # (B,) mean calibrated probability of each non-empty bin
    frac: np.ndarray  # (B,) fraction of positive pairs in the bin
    pairs: np.ndarray  # (B,) (image, keyword) pairs in the bin
    brier: float | None
    ece: float | None
    seeds: int
    note: str = ""  # why there is no curve

    def title(self) -> str:
        if self.note:
            return f"reliability {self.method}: {self.note}"
        over = f", mean of {self.seeds} seeds" if self.seeds > 1 else ""
        return (f"reliability {self.method} (test): Brier {_f(self.brier)} ECE {_f(self.ece)}{over}")


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def reliability(scaled: RunScales, method: str) -> Reliability:
    """The curve of ``method`` on test images (first seed's calibrator) of ``scaled.run``."""
    run = scaled.run
    cal = (run.metrics.get(method) or {}).get("calibration") or {}
    brier, ece = metric_mean(cal, "brier"), metric_mean(cal, "ece")
    seeds = max(len(run.seeds), 1)
    if "calibrated" not in scaled.scales():
        empty = np.zeros(0)
        return Reliability(method, empty, empty, empty, brier, ece, seeds, note="the run keeps no calibrated scores")
    test = np.asarray(run.test_mask(), dtype=bool)
    probs = scaled.scores(method, "calibrated")[test]
    mean_p, frac, pairs = api.reliability_curve(probs, run.labels[test])
    return Reliability(method, np.asarray(mean_p), np.asarray(frac), np.asarray(pairs), brier, ece, seeds)
