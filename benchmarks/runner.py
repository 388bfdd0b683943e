"""Run the selected stages, collect rows, render the table and the JSON report."""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.context import Context, offline_env
from benchmarks.harness import (
    Row,
    machine_info,
    peak_rss_mb,
    render_table,
    report_dict,
    unavailable,
)

# stage name -> module (each has run(ctx) -> list[Row]); table order
STAGES: dict[str, str] = {
    "clip": "benchmarks.stage_clip",
    "graph": "benchmarks.stage_graph",
    "train": "benchmarks.stage_train",
    "infer": "benchmarks.stage_infer",
    "eval": "benchmarks.stage_eval",
    "app": "benchmarks.stage_app",
    "scale": "benchmarks.stage_scale",
    "retrieval": "benchmarks.stage_retrieval",
    "threads": "benchmarks.stage_threads",
    "imports": "benchmarks.stage_imports",
    "e2e": "benchmarks.bare_run",
    "errors": "benchmarks.stage_errors",
}


def parse_only(only: str | None) -> list[str]:
    if not only:
        return list(STAGES)
    names = [s.strip() for s in only.split(",") if s.strip()]
    bad = [n for n in names if n not in STAGES]
    if bad:
        raise SystemExit(f"unknown stage(s) {bad}; choose from {', '.join(STAGES)}")
    return names


def run_stage(name: str, runner: Callable[[Context], list[Row]], ctx: Context) -> list[Row]:
    """Run one stage; a crash becomes a visible row, never a silent gap."""
    try:
        return list(runner(ctx))
    except Exception as exc:  # report, keep going with the other stages
        ctx.log(traceback.format_exc())
        row = unavailable(name, "stage crashed", f"{type(exc).__name__}: {exc}")
        row.met = False
        return [row]


def load_stage(name: str) -> Callable[[Context], list[Row]]:
    return importlib.import_module(STAGES[name]).run


def run_suite(
    names: list[str],
    *,
    quick: bool,
    log: Callable[[str], None] | None = None,
    stages: dict[str, Callable[[Context], list[Row]]] | None = None,
) -> tuple[list[Row], float]:
    offline_env()
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    rows: list[Row] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mmkg-bench-") as tmp:
        ctx = Context(quick=quick, tmp=Path(tmp), log=log)
        for name in names:
            runner = (stages or {}).get(name) or load_stage(name)
            ts = time.perf_counter()
            log(f"[bench] stage {name} ...")
            got = run_stage(name, runner, ctx)
            log(f"[bench] stage {name} done in {time.perf_counter() - ts:.1f} s (peak RSS {peak_rss_mb():.0f} MiB)")
            rows.extend(got)
    return rows, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, < 3 minutes on 2 cores")
    p.add_argument("--json", metavar="FILE", help="write machine info + rows as JSON")
    p.add_argument("--only", metavar="STAGE,...", help=f"subset of: {','.join(STAGES)}")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch intra-op threads (default: torch's own choice, recorded in the JSON)")
    args = p.parse_args(argv)
    names = parse_only(args.only)
    if args.threads:
        import os

        import torch

        torch.set_num_threads(args.threads)
        os.environ["MMKG_BENCH_THREADS"] = str(args.threads)  # scale subprocesses follow
    rows, elapsed = run_suite(names, quick=args.quick)
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(render_table(rows))
    console.print(f"total {elapsed:.1f} s, peak RSS of this process {peak_rss_mb():.0f} MiB "
                  f"({'quick' if args.quick else 'full'})")
    report: dict[str, Any] = report_dict(rows, machine=machine_info(),
                                         args={"quick": args.quick, "only": names, "threads": args.threads}, elapsed_s=elapsed)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=float))
        console.print(f"wrote {args.json}")
    return 0
