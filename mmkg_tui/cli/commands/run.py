"""`mmkg-tui run`: train GraphSAGE on a dataset and evaluate it against raw CLIP
and the reference baselines of engine.baselines (label priors, a CLIP linear probe;
``--no-baselines`` leaves them out).

Options are checked before any work (ConfigError -> a clear message, exit 2).
Progress bars go to stderr, the results table (then every dataset problem) to stdout.
The run folder (default under the user data dir, see engine.experiment.store) is
written first and can be reopened with ``mmkg-tui --run DIR``; then ``--json FILE``
gets the metrics JSON, atomically. Output paths are checked before any work: nothing
the user made is ever replaced (only earlier run folders and metrics files). Ctrl-C
and SIGTERM leave no half-written run folder or JSON file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine import api
from engine.api import ConfigError
from mmkg_tui.present.tables import results_table, score_scales_note


def configure(parser: argparse.ArgumentParser) -> None:
    from mmkg_tui.cli.main import add_data_arguments

    d = api.ExperimentConfig()
    add_data_arguments(parser)
    parser.add_argument("--strategies", default=",".join(d.strategies),
                        help=f"comma-separated reconnection strategies (default {','.join(d.strategies)})")
    parser.add_argument("--seeds", type=int, default=d.seeds, help="number of seeds (seed, seed+1, ...); metrics as mean ± std")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"first seed (default {d.seed})")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"training epochs (default {d.epochs})")
    parser.add_argument("--threshold", type=float, default=d.threshold,
                        help=f"user threshold (default {d.threshold}) on the --scores scale: a probability for "
                             "calibrated scores; for raw scores a value in [-1, 1]: cosine for clip and sage_*, "
                             "2p-1 for the priors and knn, tanh(2y-1) for clip_probe (engine/methods/baselines.py)")
    parser.add_argument("--scores", choices=api.SCORE_SCALES, default=d.score_scale,
                        help=f"scale the thresholds apply to (default {d.score_scale}): calibrated = P(keyword | image) "
                             "from Platt calibrators fitted on validation images; raw = each method's own score")
    parser.add_argument("--layers", type=int, default=d.layers, help=f"GraphSAGE layers (default {d.layers})")
    parser.add_argument("--fanout", default=None,
                        help="comma-separated sampled neighbours per layer (default 3 per layer)")
    parser.add_argument("--hidden", type=int, default=d.hidden, help=f"hidden and output size (default {d.hidden})")
    parser.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr})")
    parser.add_argument("--negatives", type=int, default=d.negatives, help=f"negatives per positive, Q (default {d.negatives})")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help=f"training edges per step (default {d.batch_size})")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help=f"leave out the reference baselines ({', '.join(api.BASELINES)})")
    parser.add_argument("--out", metavar="RUN_DIR", default=None, help="run folder to write (default: under the user data dir)")
    parser.add_argument("--json", metavar="FILE", default=None, help="write the metrics JSON to FILE")
    parser.add_argument("--distributed", action="store_true", help="train on DistDGL (see docs/SCALING.md)")
    parser.add_argument("--part-config", metavar="FILE", default=None, help="NAME.json written by mmkg-tui partition")
    parser.add_argument("--ip-config", metavar="FILE", default=None, help="DGL ip config: one 'IP PORT' line per machine")
    parser.add_argument("--trainers-per-machine", type=int, default=1, help="trainer processes per machine (default 1)")
    parser.add_argument("--hosts", metavar="FILE", default=None,
                        help="how to start processes on each ip-config machine, one line each: 'local', "
                             "'ssh ADDRESS [WORKDIR]' or 'prefix COMMAND...' (default: one local machine)")
    parser.add_argument("--objective", choices=("sage", "bce", "softmax", "symmetric"), default=d.objective,
                        help=f"sage: the poster's J with uniform negatives; bce/softmax: every keyword (default {d.objective})")
    parser.add_argument("--dropout", type=float, default=d.dropout, help=f"dropout on layer inputs (default {d.dropout})")
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay, help=f"AdamW weight decay (default {d.weight_decay})")
    parser.add_argument("--anchor", type=float, default=d.anchor, help=f"weight of the CLIP anchor term (default {d.anchor})")
    parser.add_argument("--train-as-test", action=argparse.BooleanOptionalAction, default=d.train_as_test,
                        help="embed training images without their own keyword edges, as unseen ones")
    parser.add_argument("--train-cosine-k", type=int, default=d.train_cosine_k,
                        help=f"training images also get edges from their k nearest training images (default {d.train_cosine_k}: off)")
    parser.add_argument("--select-metric", choices=("none", "map", "macro_auc", "micro_auc", "mean"), default=d.select_metric,
                        help=f"early stopping: keep the epoch best on this VALIDATION metric (default {d.select_metric})")
    parser.add_argument("--patience", type=int, default=d.patience, help=f"stop after this many epochs without validation gain (default {d.patience}; 0: never)")
    parser.add_argument("--blend", action=argparse.BooleanOptionalAction, default=d.blend,
                        help="blend sage scores with zero-shot CLIP, weight chosen on validation")
    parser.add_argument("--edge-weight", choices=api.EDGE_WEIGHTS, default=d.edge_weight,
                        help=f"cosine: neighbours weighted by the CLIP cosine of each edge's ends (default {d.edge_weight})")
    parser.add_argument("--conv", choices=api.CONVS, default=d.conv,
                        help=f"layer type: sage (SAGEConv) or gatv2 (GATv2Conv, learned attention) (default {d.conv})")
    parser.add_argument("--tune", type=int, default=d.tune, metavar="N",
                        help="try N seeded settings, scored on validation only, then evaluate the winner on test once")


def _int_list(text: str, field: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"not a comma-separated list of integers: {text!r}", field=field,
                          hint="e.g. --fanout 3,3") from None
    return values


def config_from_args(args: argparse.Namespace):

    strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    fanout = _int_list(args.fanout, "fanout") if args.fanout is not None else (3,) * max(args.layers, 1)
    cfg = api.ExperimentConfig(
        layers=args.layers, hidden=args.hidden, out_dim=args.hidden, fanout=fanout, epochs=args.epochs,
        lr=args.lr, negatives=args.negatives, batch_size=args.batch_size, seed=args.seed, seeds=args.seeds,
        strategies=strategies, threshold=args.threshold, baselines=args.baselines,
        score_scale=getattr(args, "scores", "calibrated"),
    )
    cfg.objective, cfg.dropout, cfg.weight_decay, cfg.anchor = args.objective, args.dropout, args.weight_decay, args.anchor
    cfg.train_as_test, cfg.train_cosine_k, cfg.select_metric = args.train_as_test, args.train_cosine_k, args.select_metric
    cfg.patience, cfg.blend, cfg.tune = args.patience, args.blend, args.tune
    cfg.edge_weight, cfg.conv = args.edge_weight, args.conv
    cfg.validate()
    return cfg


def _check_output_paths(args) -> None:
    """Before any work: --out may only be new, empty or an earlier run folder, --json
    only new or a metrics file mmkg-tui wrote, and both must be creatable."""
    if args.out is not None:
        api.check_run_target(args.out)
    else:
        api.check_can_create(api.runs_root() / "run", "run folder")
    if args.json is not None:
        api.check_json_target(args.json, run_dir=args.out)


class _Bars:
    """Rich progress bars fed by engine events (features, training, stages)."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=console,
                                 transient=False)
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def _task(self, key: str, total, info: str = ""):
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(key, total=total, info=info)
        return self.tasks[key]

    def feature(self, ev) -> None:  # engine.progress.Progress
        tid = self._task(ev.stage, ev.total)
        self.progress.update(tid, completed=ev.done, total=ev.total, info=ev.message)

    def __call__(self, ev) -> None:
        if isinstance(ev, api.TrainProgress):
            key = f"train seed {ev.seed}" if ev.n_seeds > 1 else "train"
            tid = self._task(key, ev.epochs * ev.steps_per_epoch)
            done = (ev.epoch - 1) * ev.steps_per_epoch + ev.step
            self.progress.update(tid, completed=done, info=f"epoch {ev.epoch}/{ev.epochs} loss {ev.loss:.4f}")
        elif isinstance(ev, api.StageProgress):
            key, _, detail = ev.stage.partition(" ")  # "reconnect cosine" -> one "reconnect" bar
            key = ev.stage if key == "train" else key
            tid = self._task(key, ev.total)
            info = " ".join(x for x in (detail, ev.message) if x)
            self.progress.update(tid, completed=ev.done, total=ev.total, info=info)


def run(args: argparse.Namespace) -> int:
    if args.distributed:  # SIGTERM unwinds like Ctrl-C here too (cli.main wraps every subcommand)
        return _run_distributed(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    config = config_from_args(args)  # every option checked before any work
    _check_output_paths(args)
    import sys

    out = Console() if sys.stdout.isatty() else Console(width=200)  # files/pipes: no wrapping
    err = Console(stderr=True)
    dataset = api.load_dataset(args.data, strict=args.strict, embeddings=args.embeddings, corrections=args.corrections,
                               allow_outside=args.allow_outside)
    clip = None
    if args.clip_model or args.clip_pretrained:
        kw = {}
        if args.clip_model:
            kw["model"] = args.clip_model
        if args.clip_pretrained:
            kw["pretrained"] = args.clip_pretrained
        clip = api.ClipConfig(**kw)
    with _Bars(err) as bars:
        dataset, features = api.compute_features(dataset, clip, progress=bars.feature, strict=args.strict)
        result = api.run_experiment(dataset, features, config, progress=bars)
    label = " [bold yellow](SYNTHETIC data)[/]" if dataset.synthetic and "SYNTHETIC" not in dataset.name else ""
    out.print(f"[bold]{dataset.name}[/]{label}: {dataset.n_images} images, {dataset.n_keywords} keywords; "
              f"features: {features.source}", highlight=False)
    out.print(results_table(result))
    out.print(score_scales_note(result), highlight=False)
    out.print(f"trained in {result.elapsed_s:.1f} s; strategies: {', '.join(config.strategies)}", highlight=False)
    _print_problems(out, result.problems)
    run_dir = Path(args.out) if args.out else api.default_run_dir(dataset)
    api.save_run(result, run_dir)  # first the run folder, complete; then the JSON
    out.print(f"run folder: {run_dir}  (reopen with: mmkg-tui --run {run_dir})", highlight=False)
    if args.json:
        api.write_metrics_json(result, args.json)
        out.print(f"metrics JSON: {args.json}", highlight=False)
    return 0


MAX_PROBLEMS_SHOWN = 5


def _print_problems(out, problems: list[str]) -> None:
    """Every dataset problem (skipped images, ...) under the results: the first few, then a count."""
    if not problems:
        return
    out.print(f"[bold yellow]{len(problems)} dataset problem(s)[/] (all of them are in the run folder's "
              "run.json and the --json file, field 'problems'):", highlight=False)
    for p in problems[:MAX_PROBLEMS_SHOWN]:
        out.print(f"  - {p}", highlight=False, markup=False)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        out.print(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more", highlight=False)

def _run_distributed(args: argparse.Namespace) -> int:
    """--distributed: this process is a DistDGL server/trainer (DGL_ROLE set, e.g. by
    DGL's tools/launch.py) or the one-machine launcher; trainer 0 writes the run folder."""
    if not args.part_config or not args.ip_config:
        raise ConfigError("--distributed needs --part-config and --ip-config", field="--part-config",
                          hint="mmkg-tui run --distributed --part-config parts/mmkg.json --ip-config ip_config.txt")
    config = config_from_args(args)
    hosts = api.read_hosts(args.hosts) if args.hosts else None
    code = api.run_distributed(args.part_config, args.ip_config, config, trainers=args.trainers_per_machine,
                               run_dir=args.out, json_path=args.json, hosts=hosts)
    if code == 0 and args.out:
        print(f"distributed run finished; run folder: {args.out}")
    elif code != 0:
        print(f"distributed run failed (exit {code}); see the trainers' messages above")
    return code
