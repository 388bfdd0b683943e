"""Stage 7: scale. The synthetic world at 10k, 100k (and, full only, 1M) images, each
size in its own subprocess (benchmarks.scale_worker) so peak RSS is per size.
Growth exponent between consecutive sizes = log(time ratio) / log(size ratio)
(1 = linear); for training, per step (a fixed number of steps is run)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from benchmarks.context import Context
from benchmarks.harness import Row, fmt_value

RSS_LIMIT_MB = 24 * 1024


def run_point(ctx: Context, n: int, train_steps: int, timeout: float) -> dict:
    out = ctx.tmp / f"scale-{n}.json"
    cmd = [sys.executable, "-m", "benchmarks.scale_worker", str(n), str(out), "--train-steps", str(train_steps)]
    root = Path(__file__).resolve().parents[1]
    try:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"n_images": n, "steps": [], "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        return {"n_images": n, "steps": [], "error": f"exit {proc.returncode}: {' | '.join(tail)}"}
    return json.loads(out.read_text())


def per_unit(step: dict) -> float:
    """Seconds, or seconds per step for the fixed-steps training."""
    return step["seconds"] / step["count"] if step.get("count") else step["seconds"]


def growth(t1: float, t2: float, n1: int, n2: int) -> float | None:
    if t1 <= 0 or t2 <= 0 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def rows_for(points: list[dict]) -> list[Row]:
    rows: list[Row] = []
    prev: dict | None = None
    for pt in points:
        n = pt["n_images"]
        by = {s["step"]: s for s in pt["steps"]}
        for s in pt["steps"]:
            note = [f"peak RSS {s['peak_rss_mb']:,.0f} MiB"]
            if s.get("note"):
                note.append(s["note"])
            extra = dict(s)
            if prev is not None and s["step"] in prev["by"]:
                e = growth(per_unit(prev["by"][s["step"]]), per_unit(s), prev["n"], n)
                if e is not None:
                    note.append(f"growth exp. {e:.2f} vs {prev['n']:,}" + (" (per step)" if s.get("count") else ""))
                    extra["growth_exponent"] = e
            rows.append(Row("scale", f"{n:,} images: {s['step']}", ours=s["seconds"], note="; ".join(note), extra=extra))
        peak = max((s["peak_rss_mb"] for s in pt["steps"]), default=None)
        total = Row("scale", f"{n:,} images: peak RSS (whole process)", ours=peak, unit="MiB",
                    target=f"< {RSS_LIMIT_MB // 1024} GiB" if n >= 1_000_000 else "")
        if n >= 1_000_000:
            total.met = None if peak is None or pt.get("error") else bool(peak < RSS_LIMIT_MB)
        if pt.get("error"):
            total.note = f"stopped: {pt['error']}"
            total.available = False
        rows.append(total)
        prev = {"n": n, "by": by}
    return rows


def run(ctx: Context) -> list[Row]:
    sizes = ctx.pick((10_000, 100_000), (10_000, 100_000, 1_000_000))
    train_steps = ctx.pick(3, 10)
    points = []
    for n in sizes:
        ctx.log(f"[bench] scale point {n:,} images ...")
        pt = run_point(ctx, n, train_steps, timeout=ctx.pick(240, 1200))
        ctx.log(f"[bench]   {n:,}: " + ", ".join(f"{s['step']} {fmt_value(s['seconds'], 's')}" for s in pt["steps"])
                + (f" ERROR {pt['error']}" if pt.get("error") else ""))
        points.append(pt)
    return rows_for(points)
