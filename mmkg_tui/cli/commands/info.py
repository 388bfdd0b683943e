"""`mmkg-tui info [--data PATH] [--json]`: dataset and graph summary.

Builds only the graph structure (no CLIP model, no features), so it is fast and
works offline on any dataset.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

TOP_KEYWORDS = 20
BAR_WIDTH = 30
MAX_PROBLEMS = 10


def configure(parser: argparse.ArgumentParser) -> None:
    from mmkg_tui.cli.main import add_data_arguments

    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def collect(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from engine import api

    ds = api.load_dataset(args.data, strict=args.strict, embeddings=args.embeddings, corrections=args.corrections)
    kg = api.build_graph(ds, None)
    info = api.summary(ds, kg, None)
    if info.get("embedding_source") is None and ds.embeddings is not None:
        info["embedding_source"] = ds.embeddings.source
    info["numeric_ranges"] = {name: _range(ds.numeric[name]) for name in sorted(ds.numeric)}
    return ds, info


def _range(values) -> dict[str, float | int | None]:
    import numpy as np

    ok = values[np.isfinite(values)]
    if not len(ok):
        return {"min": None, "max": None, "missing": len(values)}
    return {"min": float(ok.min()), "max": float(ok.max()), "missing": int(len(values) - len(ok))}


def run(args: argparse.Namespace) -> int:
    ds, info = collect(args)
    if args.json:
        sys.stdout.write(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        return 0
    render(info)
    return 0


def _bar(fraction: float) -> str:
    full = fraction * BAR_WIDTH
    n = int(full)
    return "█" * n + ("▌" if full - n >= 0.5 else "")


def _num(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    from engine.api import human_number

    return human_number(x)


def render(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    title = info["name"] + ("  [bold yellow](SYNTHETIC data)[/]" if info["synthetic"] else "")
    con.print(f"[bold]{title}[/]", highlight=False)
    con.print(f"source: {info['source']}  ({info['kind']})", highlight=False)
    con.print(f"embeddings: {info['embedding_source'] or 'none precomputed (CLIP features needed: mmkg-tui embed)'}",
              highlight=False)

    counts = Table(title="Graph", show_edge=False)
    counts.add_column("node type")
    counts.add_column("nodes", justify="right")
    for nt, c in info["node_counts"].items():
        counts.add_row(nt, f"{c:,}")
    edges = Table(title="Edges", show_edge=False)
    edges.add_column("edge type")
    edges.add_column("edges", justify="right")
    for et, c in info["edge_counts"].items():
        edges.add_row(et, f"{c:,}")
    con.print(counts)
    con.print(edges)

    n = max(info["images"], 1)
    prev = sorted(info["keyword_prevalence"].items(), key=lambda kv: (-kv[1], kv[0]))
    kt = Table(title=f"Keyword prevalence (top {min(TOP_KEYWORDS, len(prev))} of {len(prev)})", show_edge=False)
    kt.add_column("keyword")
    kt.add_column("images", justify="right")
    kt.add_column("share", justify="right")
    kt.add_column("")
    top = prev[0][1] if prev else 1
    for kw, c in prev[:TOP_KEYWORDS]:
        kt.add_row(kw, f"{c:,}", f"{100 * c / n:.1f}%", _bar(c / max(top, 1)))
    con.print(kt)

    if info["scene_source"] == "zero-shot":
        con.print(f"scenes ({len(info['scene_counts'])}, assigned by CLIP zero-shot when features are computed): "
                  + ", ".join(info["scene_counts"]), highlight=False)
    elif info["scene_counts"]:
        st = Table(title=f"Scenes ({info['scene_source']})", show_edge=False)
        st.add_column("scene")
        st.add_column("images", justify="right")
        for s, c in info["scene_counts"].items():
            st.add_row(s, f"{c:,}")
        con.print(st)

    if info["numeric_ranges"]:
        at = Table(title="Numeric attributes", show_edge=False)
        for col in ("attribute", "min", "max", "missing", "graph nodes"):
            at.add_column(col, justify="left" if col == "attribute" else "right")
        labels = info["attribute_labels"]
        for name, r in info["numeric_ranges"].items():
            nodes = sum(1 for lab in labels if lab.startswith(name + " "))
            at.add_row(name, _num(r["min"]), _num(r["max"]), str(r["missing"]), str(nodes))
        con.print(at)
    if info["text_attributes"]:
        con.print(f"text attributes: {', '.join(info['text_attributes'])}", highlight=False)
    if info["problems"]:
        con.print(f"[bold yellow]{len(info['problems'])} problem(s):[/]")
        for p in info["problems"][:MAX_PROBLEMS]:
            con.print(f"  - {p}", highlight=False, markup=False)
        if len(info["problems"]) > MAX_PROBLEMS:
            con.print(f"  ... and {len(info['problems']) - MAX_PROBLEMS} more (see --json)", highlight=False)
