"""Stage 5: evaluation of 20,000 test images x 1,000 keywords (synthetic scores/labels):
engine.evaluate vs the same scikit-learn calls on precomputed arrays, and the
counting metrics behind the app's threshold slider."""

from __future__ import annotations

import numpy as np

from benchmarks import learning
from benchmarks.context import Context
from benchmarks.harness import Row, alternate, check_max, pair_row, unavailable


def sklearn_reference(scores: np.ndarray, labels: np.ndarray, val: np.ndarray, test: np.ndarray) -> dict:
    """The scikit-learn calls one method's evaluation needs, each made once: the
    validation PR curve (best-F1 threshold), micro ROC AUC, per-keyword ROC AUC and
    average precision, and the micro ROC curve, all on the test rows."""
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    precision_recall_curve(labels[val].ravel(), scores[val].ravel())
    s, y = scores[test], labels[test]
    out = {"micro_auc": roc_auc_score(y.ravel(), s.ravel())}
    aucs = [roc_auc_score(y[:, j], s[:, j]) for j in range(y.shape[1]) if y[:, j].any() and not y[:, j].all()]
    aps = [average_precision_score(y[:, j], s[:, j]) for j in range(y.shape[1]) if y[:, j].any()]
    out["macro_auc"], out["map"] = float(np.mean(aucs)), float(np.mean(aps))
    roc_curve(y.ravel(), s.ravel(), drop_intermediate=True)
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
    what = f"all metrics (evaluate_method), {n:,} test + {n:,} validation images x {k:,} keywords"
    # rows: first n validation, last n test (the best-F1 threshold is chosen on validation)
    scores2, labels2 = np.concatenate([scores, scores[::-1]]), np.concatenate([labels, labels[::-1]])
    val = np.zeros(2 * n, bool)
    val[:n] = True
    try:
        ours = learning.evaluate_all(scores2, labels2, val, ~val)
    except learning.NotAvailable as exc:
        rows.append(unavailable("eval", what, str(exc)))
        ours = None
    if ours is not None:
        pt = alternate(ours, lambda: sklearn_reference(scores2, labels2, val, ~val), repeats=1, warmup=0)
        rows.append(pair_row("eval", what, pt, note="ref = each scikit-learn call once on the same arrays"))
    n, k = 20_000, 1_000  # the slider's counting metrics: always the size
    scores, labels = scores_labels_cached(ctx, n, k)
    try:
        from engine.evaluation.metrics import per_keyword_metrics, threshold_metrics
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
