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


SCALE_WORDS = {"calibrated": "calibrated probabilities (fitted on validation images)",
               "raw": "raw scores in [-1, 1]"}
FOOTER_FIRST = 10


def _cell(metrics: dict, *path: str) -> str:
    d = metrics
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return "-"
        d = d[key]
    return _fmt(d) if isinstance(d, dict) and "mean" in d else "-"


def results_table(result):
    """The results table; its caption says what the figures cannot show (footer_lines)."""
    from rich.table import Table

    seeds = len(result.seeds) or 1
    scale = getattr(result, "score_scale", "raw")
    thr = f"{result.config.threshold:g}"
    t = Table(title=f"keyword prediction on test images ({seeds} seed{'s' if seeds > 1 else ''}; thresholds on "
                    f"{SCALE_WORDS.get(scale, scale)}; best-F1 threshold chosen on validation)",
              caption="\n".join(footer_lines(result)) or None, caption_justify="left")
    t.add_column("method", style="bold", no_wrap=True)
    t.add_column("kind", no_wrap=True)
    columns = [("micro AUC", ("micro_auc",)), ("macro AUC", ("macro_auc",)), ("mAP", ("map",)),
               ("thr*", ("best_f1", "threshold")), ("P@thr*", ("best_f1", "precision")),
               ("R@thr*", ("best_f1", "recall")), ("F1@thr*", ("best_f1", "f1")),
               (f"P@{thr}", ("at_threshold", "precision")), (f"R@{thr}", ("at_threshold", "recall")),
               (f"F1@{thr}", ("at_threshold", "f1")), ("F1 kw-thr", ("per_keyword_threshold", "f1")),
               ("Brier", ("calibration", "brier")), ("ECE", ("calibration", "ece")),
               ("P@1", ("ranking", "p_at_1")), ("LRAP", ("ranking", "lrap")), ("MRR", ("ranking", "mrr"))]
    for name, _ in columns:
        t.add_column(name, justify="right")
    kinds = result.kinds() if hasattr(result, "kinds") else {}
    for m in result.methods:
        d = result.metrics[m]
        t.add_row(m, kinds.get(m, ""), *(_cell(d, *path) for _, path in columns))
    return t


def _listed(items: list[str], first: int = FOOTER_FIRST) -> str:
    more = len(items) - first
    return ", ".join(items[:first]) + (f" and {more} more" if more > 0 else "")


def footer_lines(result) -> list[str]:
    """Skipped methods, keywords left out of macro figures, warnings and the paired
    comparison of the best learned method with the strongest baseline."""
    lines = [f"not run: {m} ({why})" for m, why in result.skipped_methods.items()]
    if result.macro_excluded:
        items = [f"{k}: {why}" for k, why in result.macro_excluded.items()]
        lines.append(f"left out of macro AUC ({len(items)} keyword{'s' if len(items) != 1 else ''}; "
                     f"AUC undefined): {_listed(items)}")
    lines += [f"warning: {w}" for w in result.warnings]
    lines += comparison_lines(result)
    return lines


def comparison_lines(result) -> list[str]:
    comp = result.comparison() if hasattr(result, "comparison") else None
    if comp is None:
        return []
    out = [f"{comp.learned} (best learned) vs {comp.baseline} (strongest baseline), both chosen on "
           f"{comp.chosen_on}; paired test differences per seed:"]
    for p in comp.paired:
        diffs = ", ".join(f"{d:+.3f}" for d in p.differences)
        out.append(f"  {p.metric}: {p.mean:+.3f} ± {p.std:.3f} [{diffs}], won {p.wins} of {comp.seeds} seeds")
    return out


def score_scales_note(result) -> str:
    """How each method's scores map into [-1, 1] (thresholds are on these scales)."""
    scale = getattr(result, "score_scale", "raw")
    if scale == "calibrated":
        lines = ["thresholds apply to calibrated probabilities P(keyword | image): Platt scaling of each raw score, "
                 "fitted on validation images (--scores raw: the raw scores below); AUCs, mAP, P@1, LRAP and MRR "
                 "use the raw scores", "raw scores (all in [-1, 1]):"]
    else:
        lines = ["scores (all in [-1, 1]; thr* and the user threshold apply to them):"]
    seen: dict[str, list[str]] = {}
    for m in result.methods:
        seen.setdefault(api.score_scale(m), []).append(m)
    lines += [f"  {', '.join(ms)}: {scale}" for scale, ms in seen.items()]
    baselines = [m for m in result.methods if m in api.BASELINES]
    if baselines:
        lines.append(f"  {', '.join(baselines)}: reference baselines fitted on training images, no graph "
                     "(engine/methods/baselines.py)")
    return "\n".join(lines)
