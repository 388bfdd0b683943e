"""Stage 5: evaluation of 20,000 test images x 1,000 keywords (synthetic scores/labels):
engine.evaluate vs the same scikit-learn calls on precomputed arrays, and the
counting metrics behind the app's threshold slider."""

from __future__ import annotations

import numpy as np

from benchmarks import learning
from benchmarks.context import Context
from benchmarks.harness import Row, alternate, check_max, pair_row, unavailable


def sklearn_reference(scores: np.ndarray, labels: np.ndarray) -> dict:
    """The scikit-learn calls an evaluation of these arrays needs, nothing else:
    micro/macro ROC AUC, macro AP, micro ROC curve and micro PR curve (best F1)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    y, s = labels.ravel(), scores.ravel()
    both = (labels.any(0)) & (~labels.all(0))
    out = {
        "micro_auc": roc_auc_score(y, s),
        "macro_auc": roc_auc_score(labels[:, both], scores[:, both], average="macro"),
        "map": average_precision_score(labels[:, both], scores[:, both], average="macro"),
    }
    fpr, tpr, _ = roc_curve(y, s)
    p, r, _ = precision_recall_curve(y, s)
    f1 = 2 * p * r / np.maximum(p + r, 1e-12)
    out["best_f1"] = float(f1.max())
    return out


def numpy_threshold_reference(scores: np.ndarray, labels: np.ndarray, t: float) -> tuple[int, int, int]:
    pred = scores >= t
    tp = int(np.count_nonzero(pred & labels))
    return tp, int(np.count_nonzero(pred)) - tp, int(np.count_nonzero(labels)) - tp


def run(ctx: Context) -> list[Row]:
    # scikit-learn's macro AUC/AP cost ~30 ms per keyword column at 5k rows: the full
    # 20k x 1k size takes minutes per call, so quick uses a smaller matrix.
    n, k = ctx.pick((5_000, 200), (20_000, 1_000))
    scores, labels = scores_labels_cached(ctx, n, k)
    rows: list[Row] = []
    what = f"all metrics, {n:,} test images x {k:,} keywords"
    try:
        ours = learning.evaluate_all(scores, labels)
    except learning.NotAvailable as exc:
        rows.append(unavailable("eval", what, str(exc)))
        ours = None
    if ours is not None:
        pt = alternate(lambda: ours(), lambda: sklearn_reference(scores, labels),
                       repeats=1, warmup=0)
        rows.append(pair_row("eval", what, pt, note="ref = same sklearn calls on precomputed arrays"))
    try:
        from engine.evaluate import per_keyword_metrics, threshold_metrics
    except ImportError as exc:
        rows.append(unavailable("eval", "threshold_metrics", f"engine.evaluate: {exc}", "< 50 ms"))
        return rows
    pt = alternate(lambda: threshold_metrics(scores, labels, 0.2),
                   lambda: numpy_threshold_reference(scores, labels, 0.2), repeats=9, warmup=1)
    rows.append(check_max(pair_row("eval", f"threshold_metrics {n:,}x{k:,}", pt,
                                   note="ref = numpy count_nonzero tp/fp/fn"), 0.050))
    pt = alternate(lambda: per_keyword_metrics(scores, labels, 0.2),
                   lambda: numpy_threshold_reference(scores, labels, 0.2), repeats=5, warmup=1)
    rows.append(check_max(pair_row("eval", f"per_keyword_metrics {n:,}x{k:,}", pt,
                                   note="ref = numpy count_nonzero tp/fp/fn (micro)"), 0.050))
    return rows


def scores_labels_cached(ctx: Context, n: int, k: int):
    from benchmarks.workloads import scores_labels

    key = ("scores", n, k)
    if key not in ctx._worlds:
        ctx._worlds[key] = scores_labels(n, k)
    return ctx._worlds[key]
