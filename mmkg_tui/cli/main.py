"""Command line entry point: `mmkg-tui [--data PATH | --run DIR]` launches the explorer;
`mmkg-tui info|embed|run ...` are headless subcommands (one module each in
mmkg_tui/commands/). Bad input is reported as a message, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

os.environ.setdefault("DGLBACKEND", "pytorch")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # libgomp reads it only when it loads: before torch (engine/core/thread.py)
# DGL advises CPU-affinity tuning on every DataLoader; it is noise for users here.
warnings.filterwarnings("ignore", message=".*CPU affinity opt is not enabled.*")

SUBCOMMANDS = {
    "info": "dataset and graph summary",
    "embed": "compute and cache CLIP features",
    "run": "train GraphSAGE and evaluate against CLIP",
    "search": "images for a text query (known labels), with scores",
    "similar": "images (or listings) closest to one image",
    "suspects": "likely missing or wrong tags (label-error queue)",
    "serve": "the explorer in a web browser (textual-serve, loopback by default)",
    "partition": "partition the training graph for distributed training (DistDGL)",
}


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that loads a dataset."""
    p.add_argument("--data", metavar="PATH", default=None,
                   help="manifest (.csv/.jsonl), COCO instances_*.json, or a folder holding one "
                        "(default: the bundled synthetic demo)")
    p.add_argument("--embeddings", metavar="FILE", default=None,
                   help="precomputed image embeddings (.npz with ids+vectors, or .npy aligned with the manifest)")
    p.add_argument("--clip-model", default=None, help="open_clip model name (default ViT-B-32)")
    p.add_argument("--clip-pretrained", default=None,
                   help="pretrained tag (default openai) or a local checkpoint file")
    p.add_argument("--strict", action="store_true", help="fail on corrupt images instead of skipping them")
    p.add_argument("--allow-outside", action="store_true",
                   help="accept relative image paths that lead out of the dataset folder ('../')")
    p.add_argument("--corrections", metavar="FILE", default=None,
                   help="apply a corrections CSV (id,keyword,action: add/remove/keep) to the tags when loading")


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help already names it or
    there is none to show (flags, no value)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or default in (None, False, argparse.SUPPRESS)
                or not action.option_strings or action.nargs == 0):
            return text
        return f"{text} (default: {default})"


def subcommands_help() -> str:
    """The subcommands, one line each (from SUBCOMMANDS: a new command adds its entry)."""
    width = max(len(name) for name in SUBCOMMANDS)
    lines = [f"  {name:<{width}}  {what}" for name, what in SUBCOMMANDS.items()]
    return "subcommands (mmkg-tui COMMAND --help for its options):\n" + "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmkg-tui", description="Terminal explorer for multi-modal knowledge graphs. Without a subcommand, "
                                     "opens the explorer.",
        epilog=subcommands_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(p)
    p.add_argument("--run", metavar="RUN_DIR", default=None, help="reopen a saved run folder")
    p.add_argument("--version", action="version", version="mmkg-tui 0.1.0")
    return p


def main(argv: list[str] | None = None) -> int:
    """The `mmkg-tui` and `python -m mmkg_tui` entry point: the exit code."""
    from mmkg_tui.app.terminal import is_explorer_launch, start_probe, wait_probe

    argv = list(sys.argv[1:] if argv is None else argv)
    if is_explorer_launch(argv, SUBCOMMANDS):
        start_probe()  # the terminal answers textual_image's queries while the imports below run
    try:
        return _dispatch(argv)
    finally:
        wait_probe()  # an early error (a bad --run) can come before the probe is done


def _dispatch(argv: list[str]) -> int:
    from engine.api import MMKGError, terminate_as_interrupt

    try:
        if argv and argv[0] in SUBCOMMANDS:
            name = argv[0]
            mod = importlib.import_module(f"mmkg_tui.cli.commands.{name}")
            sub = argparse.ArgumentParser(prog=f"mmkg-tui {name}", description=SUBCOMMANDS[name],
                                          formatter_class=DefaultsHelpFormatter)
            mod.configure(sub)
            args = sub.parse_args(argv[1:])
            with terminate_as_interrupt():  # SIGTERM unwinds like Ctrl-C: nothing half-written
                return int(mod.run(args) or 0)
        args = build_parser().parse_args(argv)
        from mmkg_tui.cli.commands import launch

        return int(launch.run(args) or 0)
    except MMKGError as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {exc.format()}", highlight=False, markup=True)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
