"""`mmkg-tui embed --data PATH [--clip-model M] [--clip-pretrained TAG_OR_FILE]`.

Computes the dataset's CLIP features (image and text towers, precomputed vectors
where the dataset has them) into the on-disk cache, with a progress bar. Cache
writes are atomic, so Ctrl-C keeps everything finished so far; the next run
continues where this one stopped.
"""

from __future__ import annotations

import argparse
from typing import Any

MAX_PROBLEMS_SHOWN = 10


def configure(parser: argparse.ArgumentParser) -> None:
    from mmkg_tui.cli.main import add_data_arguments

    add_data_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default 32)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N or mps (default cpu)")
    parser.add_argument("--workers", type=int, default=2, help="image decoding threads (default 2)")
    parser.add_argument("--prompt", action="append", default=None, metavar="TEMPLATE",
                        help="prompt template with '{}' for keywords/scenes (repeatable; "
                             "default: a small ensemble like 'a photo of a {}.')")
    parser.add_argument("--cache-dir", default=None,
                        help="feature cache folder (default $MMKG_TUI_CACHE or the user cache folder)")


def clip_config_from_args(args: argparse.Namespace):
    """ClipConfig from the shared --clip-* options (any command may call this)."""
    from engine.api import ClipConfig

    kw: dict[str, Any] = {}
    if getattr(args, "clip_model", None):
        kw["model"] = args.clip_model
    if getattr(args, "clip_pretrained", None):
        kw["pretrained"] = args.clip_pretrained
    for name, attr in (("batch_size", "batch_size"), ("device", "device"), ("num_workers", "workers"),
                       ("cache_dir", "cache_dir")):
        if getattr(args, attr, None) is not None:
            kw[name] = getattr(args, attr)
    if getattr(args, "prompt", None):
        kw["prompts"] = tuple(args.prompt)
    return ClipConfig(**kw)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from engine import api
    from engine.api import compute_features_with_stats

    console = Console()
    cfg = clip_config_from_args(args)
    api.check_device(cfg.device)  # before any work: 'cuda' without a GPU is an error now
    with console.status("loading dataset..."):
        ds = api.load_dataset(args.data, strict=args.strict, embeddings=args.embeddings,
                              allow_outside=args.allow_outside, corrections=args.corrections)
    console.print(f"[bold]{ds.name}[/]: {ds.n_images} images, {ds.n_keywords} keywords, "
                  f"{ds.n_scenes} scenes" + ("  [yellow](SYNTHETIC data)[/]" if ds.synthetic and "SYNTHETIC" not in ds.name else ""),
                  highlight=False)
    with _progress_bar(console) as on_progress:
        out_ds, feats, stats = compute_features_with_stats(ds, cfg, progress=on_progress, strict=args.strict)
    _report(console, out_ds, feats, stats)
    return 0


class _progress_bar:
    """Context manager: a rich progress bar with one task per stage; yields the callback."""

    def __enter__(self):
        return self._callback

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("{task.description:<13}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)
        self.tasks: dict[str, Any] = {}
        self.started = False

    def _callback(self, p) -> None:
        if not self.started:
            self.bar.start()
            self.started = True
        task = self.tasks.get(p.stage)
        if task is None:
            task = self.tasks[p.stage] = self.bar.add_task(p.stage, total=p.total)
        self.bar.update(task, completed=p.done, total=p.total)

    def __exit__(self, *exc) -> None:
        if self.started:
            self.bar.stop()


def _report(console, ds, feats, stats) -> None:
    from rich.table import Table

    t = Table(show_header=False, box=None, padding=(0, 2))
    t.add_row("images", f"{ds.n_images} with features"
              + (f", {stats.images_skipped} skipped" if stats.images_skipped else ""))
    if stats.images_precomputed:
        t.add_row("", f"{stats.images_precomputed} precomputed")
    else:
        t.add_row("", f"{stats.images_cached} from cache, {stats.images_computed} computed")
    t.add_row("text labels", f"{stats.texts_total} (keywords, scenes, attribute bins), "
                             f"{stats.texts_computed} computed")
    t.add_row("features", f"{feats.dim}-d, {feats.source}")
    if ds.scene_source == "zero-shot":
        t.add_row("scenes", "assigned by CLIP zero-shot")
    t.add_row("cache", str(stats.cache_dir) if stats.cache_dir else "not needed (all precomputed)")
    t.add_row("time", f"{stats.seconds:.1f} s")
    console.print(t)
    problems = ds.problems  # the dataset's (from loading) and the ones found here (skipped images, cache)
    if problems:
        console.print(f"[yellow]{len(problems)} problem(s):[/]")
        for p in problems[:MAX_PROBLEMS_SHOWN]:
            console.print(f"  {p.format()}", highlight=False, markup=False)
        if len(problems) > MAX_PROBLEMS_SHOWN:
            console.print(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
