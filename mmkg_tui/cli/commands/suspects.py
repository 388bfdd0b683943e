"""`mmkg-tui suspects [--kind missing|wrong] [--k 100] [--method probe|learned|clip|random] [--json]`:
the label-error queue, likely missing tags or likely wrong tags, from out-of-fold
scores. Pairs already decided in the corrections file are left out; decisions are
made in the explorer's Suspects view (or by appending id,keyword,action rows)."""

from __future__ import annotations

import argparse

from engine import api
from mmkg_tui.cli.commands.retrieval_common import (
    add_common_arguments,
    check_k,
    console,
    open_retrieval,
    print_json,
    print_notes,
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, k=100, space=False)
    parser.add_argument("--kind", choices=api.SUSPECT_KINDS, default="missing",
                        help="missing: high score, not tagged; wrong: tagged, low score (default missing)")
    parser.add_argument("--method", choices=api.SUSPECT_METHODS, default="probe",
                        help="probe: out-of-fold ridge probe on CLIP features (every image, default); learned: the "
                             "same on the run's learned embeddings (validation + test images); clip: zero-shot; random")
    parser.add_argument("--learned-method", default=None, help="which learned method for --method learned")
    parser.add_argument("--decisions", metavar="FILE", default=None,
                        help="corrections file whose decided pairs are left out (default: next to the run)")


def run(args: argparse.Namespace) -> int:
    check_k(args)
    ctx, notes = open_retrieval(args)
    path = args.decisions or str(ctx.corrections_path())
    decided = set()
    from pathlib import Path

    if Path(path).is_file():
        decided = api.decided_pairs(api.read_corrections(path), ctx.dataset)
        notes.append(f"{len(decided)} decided pair(s) left out ({path})")
    queue = api.suspect_queue(ctx.dataset, ctx.features, kind=args.kind, method=args.method, k=args.k, run=ctx.run,
                              learned_method=args.learned_method, decided=decided)
    notes.append(queue.note)
    if args.json:
        payload = queue.to_json()
        payload.update({"notes": notes, "corrections_file": path, "query_labels": []})
        print_json(payload)
        return 0
    from rich.table import Table

    con = console()
    print_notes(con, notes)
    what = "tagged but probably not there" if args.kind == "wrong" else "not tagged but probably there"
    t = Table(title=f"{len(queue.suspects)} likely {args.kind} tags ({what})", title_justify="left", show_edge=False)
    for col in ("#", "image", "keyword", "suspicion", "scene", "tags now"):
        t.add_column(col, justify="right" if col in ("#", "suspicion") else "left")
    ds = ctx.dataset
    for i, s in enumerate(queue.suspects, 1):
        sc = int(ds.image_scene[s.row])
        tags = ", ".join(ds.keywords[k] for k in ds.image_keywords(s.row)) or "-"
        t.add_row(str(i), s.id, s.keyword, f"{s.score:.3f}", ds.scenes[sc] if sc >= 0 else "-", tags)
    con.print(t)
    con.print(f"corrections file: {path}", highlight=False)
    return 0
