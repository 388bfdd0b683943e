"""Operating thresholds of a finished run: what the app predicts with.

Both kinds are chosen on the first seed's VALIDATION rows (engine.evaluation.metrics
.evaluate_method), never on test rows:

* ``"global"``: one best-F1 threshold for every keyword (``RunResult.best_thresholds``);
* ``"per_keyword"``: the best-F1 threshold of each keyword column
  (engine.evaluation.thresholds.per_keyword_thresholds, the global one where a keyword
  has no validation positive). On the run's own scale it is the vector saved in
  arrays.npz (``per_keyword/<method>/threshold``); on the other scale it is
  recomputed by the same function from the same validation rows.
"""

from __future__ import annotations

import math

import numpy as np

from engine.core.errors import ConfigError
from engine.evaluation.thresholds import per_keyword_thresholds

MODES = ("global", "per_keyword")


def global_threshold(result, method: str, scale: str) -> float:
    """The validation best-F1 threshold of ``method`` on ``scale``."""
    by_scale = result.best_thresholds.get(scale, {})
    if method in by_scale:
        return float(by_scale[method])
    if scale == result.score_scale and method in result.best_threshold:  # runs saved before best_thresholds
        return float(result.best_threshold[method])
    raise ConfigError(f"the run has no {scale!r} threshold for method {method!r}", field="scale",
                      hint=f"use the run's own scale {result.score_scale!r}")


def keyword_thresholds(result, method: str, scale: str) -> np.ndarray:
    """(K,) per-keyword thresholds of ``method`` on ``scale``."""
    stored = result.per_keyword.get(method, {}).get("threshold")
    if scale == result.score_scale and stored is not None and len(stored) == len(result.keywords):
        return np.asarray(stored, dtype=np.float64)
    try:
        scores = result.scores_on(method, scale)
    except KeyError:
        raise ConfigError(f"the run has no {scale!r} scores for method {method!r}", field="scale",
                          hint=f"use the run's own scale {result.score_scale!r}") from None
    val = result.val_mask()
    return per_keyword_thresholds(scores[val], result.labels[val], global_threshold(result, method, scale))


def operating_thresholds(result, method: str, mode: str, *, scale: str | None = None) -> np.ndarray:
    """(K,) thresholds, one per keyword of ``result.keywords``, of ``method`` on ``scale``
    (default: the run's scale, that of ``result.scores``); ``mode`` "global" repeats the
    single threshold, "per_keyword" gives each keyword its own."""
    if method not in result.methods:
        raise ConfigError(f"unknown method {method!r} for this run", field="method",
                          hint=f"choose from {', '.join(result.methods)}")
    if mode not in MODES:
        raise ConfigError(f"unknown threshold mode {mode!r}", field="mode", hint=f"choose from {', '.join(MODES)}")
    scale = scale or result.score_scale
    if mode == "global":
        thr = global_threshold(result, method, scale)
        return np.full(len(result.keywords), thr if math.isfinite(thr) else result.config.threshold)
    return keyword_thresholds(result, method, scale)
