"""Stage 4: full-neighbourhood inference (engine.model.full_inference, minibatched
layer by layer) vs one whole-graph forward per layer; and the test-images x keywords
cosine scores (engine.experiment's scoring) vs one torch.mm of the same shapes."""

from __future__ import annotations

import numpy as np

from benchmarks import learning
from benchmarks.context import Context
from benchmarks.harness import Row, alternate, pair_row, unavailable

TARGET = 2.0


def inference_row(ctx: Context, n: int) -> Row:
    what = f"full-neighbourhood inference, {n:,}-image training graph"
    try:
        p = learning.prepare(ctx.world(n), ctx.features(n), epochs=1)
        build_model = learning._get("engine.learn.train", "build_model")
        import torch

        torch.manual_seed(0)
        model = build_model(p.hom, p.config).eval()
        g = p.hom.g
        pt = alternate(lambda: learning.ours_inference(model, g), lambda: learning.reference_inference(model, g),
                       repeats=ctx.pick(3, 5), warmup=1)
    except learning.NotAvailable as exc:
        return unavailable("infer", what, str(exc), f"ratio <= {TARGET}")
    return pair_row("infer", f"{what} ({g.num_nodes():,} nodes, {g.num_edges():,} edges)", pt, max_ratio=TARGET,
                    note="ref = each SAGE layer on the whole graph at once")


def scoring_row(ctx: Context, n_img: int, n_kw: int, dim: int = 512) -> Row:
    what = f"cosine scores {n_img:,} images x {n_kw:,} keywords"
    try:
        score = learning.cosine_scores()
    except learning.NotAvailable as exc:
        return unavailable("infer", what, str(exc), f"ratio <= {TARGET}")
    import torch

    rng = np.random.default_rng(0)
    img = rng.standard_normal((n_img, dim), dtype=np.float32)
    kw = rng.standard_normal((n_kw, dim), dtype=np.float32)
    ti, tk = torch.from_numpy(img), torch.from_numpy(kw)
    pt = alternate(lambda: score(img, kw), lambda: torch.mm(ti, tk.T), repeats=ctx.pick(5, 11), warmup=1)
    return pair_row("infer", what, pt, max_ratio=TARGET, note="ref = one torch.mm of the same shapes")


def run(ctx: Context) -> list[Row]:
    n = ctx.pick(3000, 10_000)
    rows = [inference_row(ctx, n)]
    w = ctx.world(n)
    n_eval = int(round(0.15 * n))
    rows.append(scoring_row(ctx, n_eval, w.n_keywords))
    rows.append(scoring_row(ctx, 20_000, 1_000))
    return rows
