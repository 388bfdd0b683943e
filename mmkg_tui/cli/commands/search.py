"""`mmkg-tui search QUERY [--k 10] [--space clip|learned] [--run DIR] [--json]`:
images for a text query, understood as known labels (keywords, scenes, attribute
ranges; `-term` subtracts), with scores. `--eval` prints the retrieval quality of
every space on the run's test images instead (nDCG@10, recall@10, MRR, image ->
image precision@10)."""

from __future__ import annotations

import argparse

from engine import api
from mmkg_tui.cli.commands.retrieval_common import (
    add_common_arguments,
    add_filter_arguments,
    check_k,
    clip_config,
    console,
    hits_table,
    open_retrieval,
    print_json,
    print_notes,
    rows_allowed,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="?", default=None,
                        help="e.g. fireplace, 'granite kitchen', 'pool -exterior' (quote it)")
    add_common_arguments(parser)
    add_filter_arguments(parser)
    parser.add_argument("--diversity", type=float, default=0.0,
                        help="0..1: re-rank by maximal marginal relevance so results are not near-copies (default 0)")
    parser.add_argument("--text-tower", action="store_true",
                        help="embed the free text with the CLIP text tower (needs its weights, and images "
                             "embedded by the same model) instead of matching known labels")
    parser.add_argument("--eval", action="store_true",
                        help="report retrieval quality per space on the run's test images (needs a run)")


def run(args: argparse.Namespace) -> int:
    check_k(args)
    if not args.eval and not (args.query or "").strip():
        raise api.ConfigError("no query given", field="query", hint="e.g. mmkg-tui search fireplace (or --eval)")
    if not 0.0 <= args.diversity <= 1.0:
        raise api.ConfigError(f"--diversity must lie in [0, 1], got {args.diversity}", field="diversity",
                              hint="0 = by score only, 0.3 = some diversity")
    ctx, notes = open_retrieval(args)
    if args.eval:
        return _report(ctx, notes, args)
    space = ctx.space(args.space, args.method)
    tower = (clip_config(args) or api.ClipConfig()) if args.text_tower else None
    result = api.search_text(space, ctx.dataset, args.query, args.k, rows_allowed=rows_allowed(ctx, args),
                             diversity=args.diversity, clip=tower, features=ctx.features)
    result.notes = [*notes, *result.notes]
    if args.json:
        print_json(result.to_json())
        return 0
    con = console()
    print_notes(con, result.notes)
    con.print("query understood as: " + ("; ".join(result.understood) or "-"), highlight=False)
    if result.unmatched:
        con.print(f"[yellow]not matched (ignored):[/] {', '.join(result.unmatched)}", highlight=False)
    wanted = {lab for lab in result.query_labels if not lab.startswith("-")}
    con.print(hits_table(f"{len(result.hits)} images in the {result.space} space", result.hits, wanted))
    return 0


def _report(ctx, notes: list[str], args: argparse.Namespace) -> int:
    quality = api.retrieval_quality(ctx, k=10)
    if args.json:
        print_json({"notes": notes, "spaces": [q.to_json() for q in quality]})
        return 0
    from rich.table import Table

    con = console()
    print_notes(con, notes)
    t = Table(title=f"Retrieval on the run's {quality[0].queries.images} test images "
                    f"(each keyword a query; {quality[0].queries.queries} keywords with a relevant image)",
              title_justify="left", show_edge=False)
    for col in ("space", "nDCG@10", "recall@10", "MRR", "image→image P@10"):
        t.add_column(col, justify="left" if col == "space" else "right")
    for q in quality:
        t.add_row(q.space, f"{q.queries.ndcg:.3f}", f"{q.queries.recall:.3f}", f"{q.queries.mrr:.3f}",
                  f"{q.neighbour_precision:.3f}")
    con.print(t)
    return 0
