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
SKIPPED_NOTE = "not checked (--no-image-check): images are only checked when features are computed"
IMAGE_CHECK_NOTE = ("headers checked (PIL open + verify; JPEGs missing their end marker decoded); "
                    "other damage is found when features are computed")


def configure(parser: argparse.ArgumentParser) -> None:
    from mmkg_tui.cli.main import add_data_arguments

    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--no-image-check", dest="image_check", action="store_false",
                        help="do not read image headers (about 0.3 ms per image; images are then only "
                             "checked when features are computed)")
    parser.add_argument("--labels", action="store_true",
                        help="print every label that needs a text vector (keywords, scenes, attribute bins), "
                             "one per line, and which of them the embeddings file lacks")


def load(args: argparse.Namespace):
    from engine import api

    return api.load_dataset(args.data, strict=args.strict, embeddings=args.embeddings,
                            allow_outside=getattr(args, "allow_outside", False),
                            corrections=getattr(args, "corrections", None))


def collect(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from engine import api

    ds = load(args)
    check = api.check_image_files(ds) if getattr(args, "image_check", True) else api.ImageCheck()
    ds.problems.extend(check.problems(ds))
    kg = api.build_graph(ds, None)
    info = api.summary(ds, kg, None)
    if info.get("embedding_source") is None and ds.embeddings is not None:
        info["embedding_source"] = ds.embeddings.source
    info["numeric_ranges"] = {name: _range(ds.numeric[name]) for name in sorted(ds.numeric)}
    info["image_check"] = {"checked": check.checked, "unreadable": len(check.bad),
                           "note": IMAGE_CHECK_NOTE if getattr(args, "image_check", True) else SKIPPED_NOTE}
    outside = ds.images_outside_root()
    info["images_outside_folder"] = {"count": len(outside), "folder": ds.root,
                                     "ids": [ds.ids[i] for i in outside[:10]]}
    return ds, info


def _range(values) -> dict[str, float | int | None]:
    import numpy as np

    ok = values[np.isfinite(values)]
    if not len(ok):
        return {"min": None, "max": None, "missing": len(values)}
    return {"min": float(ok.min()), "max": float(ok.max()), "missing": int(len(values) - len(ok))}


def print_labels(args: argparse.Namespace) -> int:
    """`info --labels`: every label needing a text vector on stdout (one per line, or JSON);
    counts, and the labels the embeddings file lacks, on stderr."""
    from engine import api

    ds = load(args)
    labels = api.text_labels(ds)
    have = ds.embeddings.text if ds.embeddings is not None else None
    missing = [lab for lab in labels.all if have is not None and lab not in have]
    if args.json:
        rows = [{"kind": k, "label": lab, "has_vector": None if have is None else lab in have}
                for k, lab in labels.kinds()]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("".join(lab + "\n" for lab in labels.all))
    note = (f"{len(labels.all)} labels need a text vector: {len(labels.keywords)} keywords, "
            f"{len(labels.scenes)} scenes, {len(labels.attributes)} attribute bins")
    if have is not None:
        note += (f"; {len(missing)} have no text vector in {ds.embeddings.path}"
                 + (f": {api.names_preview(missing, quote=True)}" if missing else ""))
    sys.stderr.write(note + "\n")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.labels:
        return print_labels(args)
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

    _render_attributes(con, info)
    _render_files(con, info)
    _render_problems(con, info)


def _render_attributes(con, info: dict[str, Any]) -> None:
    from rich.table import Table

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


def _render_problems(con, info: dict[str, Any]) -> None:
    if info["problems"]:
        con.print(f"[bold yellow]{len(info['problems'])} problem(s):[/]")
        for p in info["problems"][:MAX_PROBLEMS]:
            con.print(f"  - {p}", highlight=False, markup=False)
        if len(info["problems"]) > MAX_PROBLEMS:
            con.print(f"  ... and {len(info['problems']) - MAX_PROBLEMS} more (see --json)", highlight=False)


def _render_files(con, info: dict[str, Any]) -> None:
    check, outside = info["image_check"], info["images_outside_folder"]
    con.print(f"image files: {check['checked']:,} checked, {check['unreadable']:,} unreadable "
              f"({check['note']})", highlight=False)
    if outside["count"]:
        con.print(f"{outside['count']:,} image(s) live outside the dataset folder {outside['folder']} "
                  f"(e.g. {', '.join(outside['ids'][:3])})", highlight=False, markup=False)
