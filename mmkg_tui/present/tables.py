"""Formatting of results shared by the CLI tables and the views."""

from __future__ import annotations

import math
from typing import Any

from engine import api


def metric_mean(metrics: dict[str, Any] | None, name: str) -> float | None:
    """``metrics[name]`` as a number, whether it is stored as {"mean": ...} or a float."""
    if not metrics or name not in metrics:
        return None
    value = metrics[name]
    if isinstance(value, dict):
        value = value.get("mean")
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _fmt(cell: dict, digits: int = 3) -> str:
    mean, std, runs = cell["mean"], cell["std"], cell["runs"]
    if mean is None or (isinstance(mean, float) and not math.isfinite(mean)):
        return "-"
    if len(runs) > 1:
        return f"{mean:.{digits}f} ± {std:.{digits}f}"
    return f"{mean:.{digits}f}"


def results_table(result):
    from rich.table import Table

    seeds = len(result.seeds) or 1
    t = Table(title=f"keyword prediction on test images ({seeds} seed{'s' if seeds > 1 else ''}; "
                    f"best-F1 threshold chosen on validation)")
    t.add_column("method", style="bold", no_wrap=True)
    for col in ("micro AUC", "macro AUC", "mAP", "thr*", "P@thr*", "R@thr*", "F1@thr*",
                f"P@{result.config.threshold:g}", f"R@{result.config.threshold:g}", f"F1@{result.config.threshold:g}"):
        t.add_column(col, justify="right")
    for m in result.methods:
        d = result.metrics[m]
        b, a = d["best_f1"], d["at_threshold"]
        t.add_row(m, _fmt(d["micro_auc"]), _fmt(d["macro_auc"]), _fmt(d["map"]), _fmt(b["threshold"]),
                  _fmt(b["precision"]), _fmt(b["recall"]), _fmt(b["f1"]),
                  _fmt(a["precision"]), _fmt(a["recall"]), _fmt(a["f1"]))
    return t


def score_scales_note(result) -> str:
    """How each method's scores map into [-1, 1] (thresholds are on these scales)."""
    lines = ["scores (all in [-1, 1]; thr* and the user threshold apply to them):"]
    seen: dict[str, list[str]] = {}
    for m in result.methods:
        seen.setdefault(api.score_scale(m), []).append(m)
    lines += [f"  {', '.join(ms)}: {scale}" for scale, ms in seen.items()]
    baselines = [m for m in result.methods if m in api.BASELINES]
    if baselines:
        lines.append(f"  {', '.join(baselines)}: reference baselines fitted on training images, no graph "
                     "(engine/baselines.py)")
    return "\n".join(lines)
