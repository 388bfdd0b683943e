"""One scale point in its own process (so peak RSS is per size):
`python -m benchmarks.scale_worker N OUT.json [--train-steps S]`.

Steps: generate the synthetic world, precomputed features, graph build, split +
training graph, a fixed number of training steps (an epoch is too long at 1M),
full-neighbourhood inference on the training graph, cosine scores of the
evaluation images and evaluate_method. After each step: wall time and the
process's peak RSS so far (ru_maxrss is a high-water mark, so it only grows).
"""

from __future__ import annotations

import json
import sys
import time
import traceback

from benchmarks.context import offline_env
from benchmarks.harness import peak_rss_mb


def run_point(n: int, train_steps: int) -> dict:
    import os

    offline_env()
    if os.environ.get("MMKG_BENCH_THREADS"):
        import torch

        torch.set_num_threads(int(os.environ["MMKG_BENCH_THREADS"]))
    steps: list[dict] = []

    def step(name: str, fn, note: str = "", count: int | None = None):
        t0 = time.perf_counter()
        out = fn()
        steps.append({"step": name, "seconds": time.perf_counter() - t0, "peak_rss_mb": peak_rss_mb(),
                      "note": note, "count": count})
        return out

    from engine.data.synthetic.world import make_world
    from engine.features.bundle import precomputed_features
    from engine.graph.knowledge import build_graph

    _warm_up()  # first-call costs (DGL/torch kernels, lazy imports) are not growth
    ds = step("generate", lambda: make_world(n, seed=0))
    feats = step("features", lambda: precomputed_features(ds))
    kg = step("graph build", lambda: build_graph(ds, feats))
    result = {"n_images": n, "steps": steps, "error": None}
    try:
        _learning_steps(ds, feats, kg, train_steps, step)
    except Exception as exc:  # report what ran; the stage shows the reason
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    return result


def _warm_up() -> None:
    from engine.data.synthetic.world import make_world
    from engine.features.bundle import precomputed_features

    ds = make_world(300, seed=1)
    feats = precomputed_features(ds)
    try:
        _learning_steps(ds, feats, None, 2, lambda name, fn, note="", count=None: fn())
    except Exception:  # the real point reports any failure
        pass


def _learning_steps(ds, feats, kg, train_steps: int, step) -> None:
    import numpy as np
    import torch

    from benchmarks import learning

    p = step("split + training graph", lambda: learning.prepare(ds, feats, kg=kg, epochs=1))
    per_epoch = learning.steps_per_epoch(p)
    s = min(per_epoch, train_steps)
    note = "full epoch" if s == per_epoch else f"{s} of {per_epoch} steps of an epoch"
    step("train", lambda: learning.ours_train(p, s), note=f"{note} x {p.config.batch_size} edges", count=s)
    build_model = learning._get("engine.learn.train", "build_model")
    torch.manual_seed(0)
    model = build_model(p.hom, p.config).eval()
    z = step("inference", lambda: learning.ours_inference(model, p.hom.g),
             note=f"{p.hom.g.num_nodes():,} nodes, {p.hom.g.num_edges():,} edges")
    eval_rows = np.concatenate([p.split.val, p.split.test])
    labels = ds.label_matrix()[eval_rows].toarray().astype(bool)
    lo, hi = p.hom.keyword_range
    score = learning.cosine_scores()
    scores = step("scores", lambda: score(feats.image[eval_rows], z[lo:hi].numpy()),
                  note=f"{len(eval_rows):,} x {hi - lo}")
    val = np.zeros(len(eval_rows), bool)
    val[: len(p.split.val)] = True
    step("evaluate", learning.evaluate_all(scores, labels, val, ~val), note="evaluate_method, one method")


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.scale_worker")
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--train-steps", type=int, default=20)
    a = ap.parse_args(argv)
    res = run_point(a.n, a.train_steps)
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
