"""Stage: thread policy. Each measurement runs in its own subprocess, because libgomp
reads OMP_WAIT_POLICY once, when torch loads it (engine/core/thread.py).

Rows:
- under load (one competing busy process): median training step (2 OpenMP threads)
  and median ``to_homogeneous``, libgomp's default wait policy vs PASSIVE;
- idle: training steps/s on 1 thread (the default) vs 2 threads for the dense math
  (MMKG_TRAIN_THREADS=2; sampling stays on one thread, so both are reproducible).

Run alone: ``python -m benchmarks.stage_threads [--quick]`` (prints JSON); the suite
runs it as ``--only threads``."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.context import Context
from benchmarks.harness import Row

ROOT = Path(__file__).resolve().parents[1]
HOG = "while True: pass"


def worker(n_images: int, steps: int, threads: int) -> dict:
    """In the subprocess: time ``steps`` training steps and 5 to_homogeneous calls."""
    from benchmarks import learning
    from engine.data.synthetic.world import make_world
    from engine.features.bundle import precomputed_features
    from engine.graph.homogeneous import to_homogeneous
    from engine.graph.split import training_graph

    world = make_world(n_images, seed=0)
    p = learning.prepare(world, precomputed_features(world), epochs=1)
    tg = training_graph(p.kg.g, p.split.train)
    homs = []
    for _ in range(6):
        t0 = time.perf_counter()
        to_homogeneous(tg, p.split.train)
        homs.append(time.perf_counter() - t0)
    os.environ["MMKG_TRAIN_THREADS"] = str(threads)
    it = learning.ours_step_iter(p)
    next(it)  # warm-up step
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        next(it)
        times.append(time.perf_counter() - t0)
    it.close()
    return {"step_s": statistics.median(times), "to_homogeneous_s": statistics.median(homs[1:]),
            "policy": os.environ.get("OMP_WAIT_POLICY", "default")}


def measure(n_images: int, steps: int, threads: int, policy: str | None, busy: bool, timeout: float = 600) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(ROOT)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    # torch must see the policy (or its absence) at import: the worker imports torch
    # before engine.core.thread could set PASSIVE, so the default case stays default
    code = ("import torch, json, sys; torch.set_num_threads(2)\n"
            "from benchmarks.stage_threads import worker\n"
            f"print(json.dumps(worker({n_images}, {steps}, {threads})))")
    hog = subprocess.Popen([sys.executable, "-c", HOG]) if busy else None
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                             timeout=timeout)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(ctx: Context) -> list[Row]:
    n, steps = ctx.pick(3000, 10_000), ctx.pick(8, 20)
    default = measure(n, steps, 2, None, busy=True)
    passive = measure(n, steps, 2, "PASSIVE", busy=True)
    rows = [
        Row("threads", f"train step, 2 threads, {n:,} images, 1 busy process: default vs PASSIVE",
            ours=passive["step_s"], reference=default["step_s"], ratio=passive["step_s"] / default["step_s"],
            note=f"default {default['step_s'] * 1e3:.0f} ms, PASSIVE {passive['step_s'] * 1e3:.0f} ms (median of {steps})",
            extra={"default": default, "passive": passive}),
        Row("threads", f"to_homogeneous, {n:,} images, 1 busy process: default vs PASSIVE",
            ours=passive["to_homogeneous_s"], reference=default["to_homogeneous_s"],
            ratio=passive["to_homogeneous_s"] / default["to_homogeneous_s"],
            note=f"default {default['to_homogeneous_s'] * 1e3:.1f} ms, PASSIVE {passive['to_homogeneous_s'] * 1e3:.1f} ms"),
    ]
    one = measure(n, steps, 1, "PASSIVE", busy=False)
    two = measure(n, steps, 2, "PASSIVE", busy=False)
    rows.append(Row("threads", f"train steps/s, {n:,} images, idle: 2 threads vs 1 (MMKG_TRAIN_THREADS)",
                    ours=1 / two["step_s"], reference=1 / one["step_s"], unit="steps/s",
                    ratio=one["step_s"] / two["step_s"],
                    note=f"1 thread {1 / one['step_s']:.1f} steps/s, 2 threads {1 / two['step_s']:.1f} steps/s "
                         "(both reproducible: DGL's seeding and sampling stay on one thread, only the dense "
                         "math uses two); idle only if nobody else is running"))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import tempfile

    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        got = run(Context(quick=quick, tmp=Path(tmp)))
    print(json.dumps([r.to_dict() for r in got], indent=1))
