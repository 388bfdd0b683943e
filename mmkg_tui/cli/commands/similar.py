"""`mmkg-tui similar IMAGE_ID [--k 10] [--space clip|learned] [--run DIR] [--json]`:
the images closest to one image, marked by whether they share one of its keywords;
`--groups` lists the groups (default: listings) closest to the image's group instead."""

from __future__ import annotations

import argparse

from engine import api
from mmkg_tui.cli.commands.retrieval_common import (
    add_common_arguments,
    add_filter_arguments,
    check_k,
    console,
    hits_table,
    open_retrieval,
    print_json,
    print_notes,
    rows_allowed,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE_ID", help="the id of an image (as in the manifest)")
    add_common_arguments(parser)
    add_filter_arguments(parser)
    parser.add_argument("--groups", action="store_true",
                        help="recommend the groups (see --group-by) closest to this image's group")
    parser.add_argument("--group-by", default="listing", help="text attribute that forms groups (default listing)")


def run(args: argparse.Namespace) -> int:
    check_k(args)
    ctx, notes = open_retrieval(args)
    ds = ctx.dataset
    row = api.row_of(ds, args.image)
    space = ctx.space(args.space, args.method)
    notes.append(space.note)
    if args.groups:
        return _groups(ctx, space, row, notes, args)
    hits = api.similar_images(space, ds, row, args.k, rows_allowed=rows_allowed(ctx, args))
    own = {ds.keywords[k] for k in ds.image_keywords(row)}
    if args.json:
        print_json({"query": args.image, "space": space.name, "query_labels": sorted(own), "notes": notes,
                    "results": [{**h.to_json(), "shares_keyword": bool(own & set(h.keywords))} for h in hits]})
        return 0
    con = console()
    print_notes(con, notes)
    con.print(f"[bold]{args.image}[/]: {', '.join(sorted(own)) or 'no keywords'}", highlight=False)
    con.print(hits_table(f"{len(hits)} most similar images in the {space.name} space", hits, own,
                         mark_label="shares a keyword"))
    return 0


def _groups(ctx, space, row: int, notes: list[str], args: argparse.Namespace) -> int:
    ds = ctx.dataset
    if args.group_by not in ds.text:
        raise api.ConfigError(f"no text attribute '{args.group_by}' to group images by", field="group-by",
                              hint=f"available: {', '.join(sorted(ds.text)) or 'none'}")
    group = ds.text[args.group_by][row]
    matches = api.recommend_groups(space, ds, group, args.k, attribute=args.group_by)
    if args.json:
        print_json({"query": group, "space": space.name, "query_labels": [group], "notes": notes,
                    "results": [m.to_json() for m in matches]})
        return 0
    from rich.table import Table

    con = console()
    print_notes(con, notes)
    t = Table(title=f"{len(matches)} {args.group_by} groups closest to {group}", title_justify="left", show_edge=False)
    for col in ("#", args.group_by, "score", "images", "closest image", "to our image", "cosine"):
        t.add_column(col, justify="right" if col in ("#", "score", "images", "cosine") else "left")
    for i, m in enumerate(matches, 1):
        t.add_row(str(i), m.group, f"{m.score:.3f}", str(m.images), m.best_id, m.best_match_id, f"{m.best_score:.3f}")
    con.print(t)
    return 0
