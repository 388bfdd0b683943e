"""Stage 3: training throughput. engine.train.train_model (progress events, seeding,
deterministic algorithms, cancel checks) vs a minimal DGL loop written here with the
same sampler (engine.sampling.edge_sampler), model (engine.train.build_model) and
loss (engine.loss.sage_loss), for the same fixed number of minibatches."""

from __future__ import annotations

from benchmarks import learning
from benchmarks.context import Context
from benchmarks.harness import Row, alternate, pair_row, unavailable

TARGET = 1.1


def run(ctx: Context) -> list[Row]:
    n = ctx.pick(3000, 10_000)
    what = f"train, {n:,}-image world"
    try:
        p = learning.prepare(ctx.world(n), ctx.features(n), epochs=1)
        steps = min(learning.steps_per_epoch(p), ctx.pick(6, 30))
        seen = {}

        def ours():
            seen["ours"] = learning.ours_train(p, steps)[1]

        def ref():
            seen["ref"] = learning.reference_train(p, steps)[1]

        pt = alternate(ours, ref, repeats=ctx.pick(2, 5), warmup=1)
    except learning.NotAvailable as exc:
        return [unavailable("train", what, str(exc), f"ratio <= {TARGET}")]
    eps_ours, eps_ref = seen["ours"] / pt.a.median, seen["ref"] / pt.b.median
    row = pair_row("train", f"{what}: {steps} steps x {p.config.batch_size} positive edges", pt,
                   max_ratio=TARGET,
                   note=f"{eps_ours:,.0f} vs {eps_ref:,.0f} positive edges/s (ours vs minimal DGL loop)")
    row.extra.update(positives_ours=seen["ours"], positives_ref=seen["ref"], edges_per_s_ours=eps_ours,
                     edges_per_s_ref=eps_ref, steps=steps)
    return [row]
