"""Options and loading shared by `mmkg-tui search`, `similar` and `suspects`: the
dataset (with --corrections), its features, and a saved run when one exists
(--run DIR, else the last run of this dataset), all through engine.api."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine import api

SPLITS = {"train": 0, "val": 1, "test": 2}


def add_common_arguments(parser: argparse.ArgumentParser, *, k: int = 10, space: bool = True) -> None:
    from mmkg_tui.cli.main import add_data_arguments

    add_data_arguments(parser)
    parser.add_argument("--run", metavar="RUN_DIR", default=None,
                        help="a saved run folder (default: the last run of this dataset, if any)")
    parser.add_argument("--no-last-run", action="store_true", help="do not reopen the last run (CLIP space only)")
    parser.add_argument("--k", type=int, default=k, help=f"how many results (default {k})")
    parser.add_argument("--index", choices=("exact", "ivf", "auto"), default="exact",
                        help="search index: exact (default: one query at 1M images ~0.25 s, nothing to build), "
                             "ivf (faiss IVF: ~10 ms per query, but built first: minutes at 1M), auto (ivf from "
                             "200,000 images)")
    if space:
        parser.add_argument("--space", choices=api.SPACES, default="clip",
                            help="clip (every image) or learned (the run's GraphSAGE embeddings of its "
                                 "validation + test images); default clip")
        parser.add_argument("--with-training", action="store_true",
                            help="learned space: also embed the training images from the run's saved model")
        parser.add_argument("--method", default=None,
                            help="learned method of the run, e.g. sage_cosine (default: the best on validation images)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split", choices=sorted(SPLITS), default=None, help="only images of this split (needs a run)")
    parser.add_argument("--scene", default=None, help="only images of this scene")
    parser.add_argument("--keyword", default=None, help="only images tagged with this keyword")


def check_k(args: argparse.Namespace) -> None:
    if args.k < 1:
        raise api.ConfigError(f"--k must be at least 1, got {args.k}", field="k", hint="e.g. --k 10")


def open_retrieval(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """(api.Retrieval, notes for the user) from the shared options."""
    notes: list[str] = []
    run, run_dir = None, args.run
    if run_dir is not None:
        run = api.load_run(run_dir)
    data = args.data
    if data is None and run is not None:
        data = (run.dataset or {}).get("source")
    ds = api.load_dataset(data, strict=args.strict, embeddings=args.embeddings, corrections=args.corrections,
                          allow_outside=getattr(args, "allow_outside", False))
    if args.corrections:
        notes.append(f"corrections applied from {args.corrections}")
    ds, feats = api.compute_features(ds, clip_config(args), strict=args.strict)
    if run is None and not args.no_last_run:
        last = api.last_run_for(ds) if not args.corrections else None
        if last is not None:
            run, run_dir = api.load_run(last), str(last)
    if run is not None and list(run.image_ids) != list(ds.ids):
        raise api.DataError("the run was made on a different dataset than the one loaded", path=run_dir,
                            hint="pass the --data the run was trained on")
    if run is None:
        notes.append("no saved run for this dataset: CLIP space only (train one with `mmkg-tui run`)")
    else:
        notes.append(f"run: {run_dir}")
    ctx = api.Retrieval(ds, feats, run, str(run_dir) if run_dir else None,
                        with_training=bool(getattr(args, "with_training", False)), index_kind=args.index)
    return ctx, notes


def clip_config(args: argparse.Namespace):
    if not (args.clip_model or args.clip_pretrained):
        return None
    kw = {k: v for k, v in (("model", args.clip_model), ("pretrained", args.clip_pretrained)) if v}
    return api.ClipConfig(**kw)


def rows_allowed(ctx, args: argparse.Namespace):
    split = SPLITS[args.split] if getattr(args, "split", None) else None
    return api.restrict_rows(ctx.dataset, split=ctx.split, split_value=split, scene=getattr(args, "scene", None),
                             keyword=getattr(args, "keyword", None))


def print_json(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def console():
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def print_notes(con, notes: list[str]) -> None:
    for n in notes:
        if n:
            con.print(f"[dim]{n}[/]", highlight=False)


def hits_table(title: str, hits, marked: set[str] | None = None, *, mark_label: str = "holds"):
    """A rich table of SearchHits; ``marked``: labels whose presence is shown per hit."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_edge=False)
    t.add_column("#", justify="right")
    t.add_column("image")
    t.add_column("score", justify="right")
    t.add_column("scene")
    if marked is not None:
        t.add_column(mark_label)
    t.add_column("keywords")
    for i, h in enumerate(hits, 1):
        cells = [str(i), h.id, f"{h.score:.3f}", h.scene or "-"]
        if marked is not None:
            ok = any(m in h.keywords or m == h.scene for m in marked)
            cells.append("[green]✓[/]" if ok else "[red]✗[/]")
        cells.append(", ".join(h.keywords) or "-")
        t.add_row(*cells)
    return t
