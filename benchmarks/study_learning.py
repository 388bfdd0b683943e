"""Side-by-side study of the learning options on two SYNTHETIC worlds.

    python -m benchmarks.study_learning [--n 1500] [--seeds 3] [--test-seeds 5] [--out FILE]

1. Every variant of ``VARIANTS`` runs on the demo world and on the second world
   (engine.data.synthetic.world.NOISY_WORLD: no scenes, caption-like noise) for
   ``--seeds`` seeds; each is scored on VALIDATION images only (mean of micro AUC,
   macro AUC and mAP of its best sage strategy, itself chosen on validation).
2. The variant with the best validation score averaged over both worlds is the
   chosen default; only it is then evaluated on TEST images, with
   ``--test-seeds`` seeds, against the strongest baseline of each world (the
   baseline with the best validation score), counting the seeds it wins on all
   three metrics.
Prints two tables and writes JSON (``--out``, default benchmarks/results/study_learning.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
METRICS = ("micro_auc", "macro_auc", "map")

#: the poster's settings, spelled out so the study does not depend on the current defaults
POSTER = {"objective": "sage", "train_as_test": False, "select_metric": "none", "epochs": 12, "patience": 0,
          "blend": False, "anchor": 0.0, "dropout": 0.0, "weight_decay": 0.0, "train_cosine_k": 0}
_SOFTMAX = {**POSTER, "objective": "softmax", "train_as_test": True, "select_metric": "map", "epochs": 20, "patience": 3}

#: variant name -> ExperimentConfig overrides (every learning setting given)
VARIANTS: dict[str, dict] = {
    "poster_J": dict(POSTER),
    "J_early_stop": {**POSTER, "select_metric": "map", "patience": 3},
    "J_train_as_test": {**POSTER, "train_as_test": True, "select_metric": "map", "patience": 3},
    "softmax": dict(_SOFTMAX),
    "softmax_anchor": {**_SOFTMAX, "anchor": 0.5},
    "softmax_cosine_ctx": {**_SOFTMAX, "train_cosine_k": 3},
    "softmax_dropout_wd": {**_SOFTMAX, "dropout": 0.2, "weight_decay": 0.01},
    "softmax_blend": {**_SOFTMAX, "blend": True},
    "bce": {**_SOFTMAX, "objective": "bce", "epochs": 12},
    "symmetric_blend": {**_SOFTMAX, "objective": "symmetric", "blend": True},
    "softmax_blend_mean": {**_SOFTMAX, "blend": True, "select_metric": "mean"},
    "symmetric_blend_mean": {**_SOFTMAX, "objective": "symmetric", "blend": True, "select_metric": "mean"},
}


@dataclass
class Row:
    world: str
    variant: str
    seed: int
    val: dict[str, dict[str, float]]  # method -> metric -> value (validation images)
    test: dict[str, dict[str, float]]  # method -> metric -> value (test images)
    chosen_epoch: float | None = None
    extra: dict = field(default_factory=dict)


DEMO_FOLDER = "sample_data/demo"


def worlds(n: int):
    """The demo world and the second world with ``n`` images; n = 3000 loads the bundled
    demo itself (sample_data/demo, its float16 vectors) instead of regenerating it."""
    from engine.data.synthetic.world import make_noisy_world, make_world

    if n == 3000 and os.path.exists(os.path.join(DEMO_FOLDER, "manifest.csv")):
        from engine.data.loaders import load_dataset

        demo = load_dataset(os.path.join(DEMO_FOLDER, "manifest.csv"))
    else:
        demo = make_world(n, seed=0)
    return {"demo": demo, "noisy": make_noisy_world(n, seed=0)[0]}


def run_one(ds, world: str, variant: str, overrides: dict, seed: int) -> Row:
    from engine.evaluation.metrics import ranking_metrics
    from engine.experiment.config import ExperimentConfig
    from engine.experiment.pipeline import run_experiment
    from engine.features.bundle import precomputed_features

    strategies = ("self", "cosine", "scene") if ds.n_scenes else ("self", "cosine")
    cfg = ExperimentConfig(seed=seed, seeds=1, strategies=strategies, **overrides)
    r = run_experiment(ds, precomputed_features(ds), cfg)
    vm = r.val_mask()
    val = {m: ranking_metrics(r.scores[m][vm], r.labels[vm]) for m in r.methods}
    test = {m: {k: float(r.metrics[m][k]["mean"]) for k in METRICS} for m in r.methods}
    epochs = [r.metrics[m]["chosen_epoch"]["mean"] for m in r.methods if "chosen_epoch" in r.metrics[m]]
    return Row(world, variant, seed, val, test, epochs[0] if epochs else None)


def mean3(d: dict[str, float]) -> float:
    return float(np.mean([d[k] for k in METRICS]))


def best_sage(row: Row) -> str:
    """The sage strategy with the best validation score of this run."""
    return max((m for m in row.val if m.startswith("sage_")), key=lambda m: mean3(row.val[m]))


def strongest_baseline(rows: list[Row]) -> str:
    """The baseline (or zero-shot clip) with the best mean validation score."""
    names = [m for m in rows[0].val if not m.startswith("sage_") and m != "prior"]
    return max(names, key=lambda m: np.mean([mean3(r.val[m]) for r in rows]))


def validation_phase(n: int, seeds: int, variants: dict[str, dict]) -> dict:
    data = worlds(n)
    rows = [run_one(ds, w, v, o, s) for w, ds in data.items() for v, o in variants.items() for s in range(seeds)]
    val_table = {}
    for v in variants:
        val_table[v] = {w: float(np.mean([mean3(r.val[best_sage(r)]) for r in rows if r.world == w and r.variant == v]))
                        for w in data}
    chosen = max(variants, key=lambda v: np.mean(list(val_table[v].values())))
    report = {"n_images": n, "validation_seeds": seeds, "validation": val_table, "chosen": chosen,
              "chosen_config": variants[chosen]}
    print_validation(report)
    return report


def test_phase(report: dict, test_seeds: int, test_n: int, only_worlds=None) -> dict:
    """The chosen variant on TEST images (never used for any choice)."""
    chosen = report["chosen"]
    report.update({"test_seeds": test_seeds, "test_n_images": test_n})
    report.setdefault("test", {})
    for w, ds in worlds(test_n).items():
        if only_worlds and w not in only_worlds:
            continue
        trs = []
        for s in range(test_seeds):
            trs.append(run_one(ds, w, chosen, report["chosen_config"], s))
            print(f"[test] {w} seed {s}: " + json.dumps(trs[-1].test), file=sys.stderr, flush=True)
        base = strongest_baseline(trs)
        per_seed = []
        for r in trs:
            m = best_sage(r)
            diff = {k: r.test[m][k] - r.test[base][k] for k in METRICS}
            # stricter: against the best of ALL baselines on each metric separately
            others = [b for b in r.test if not b.startswith("sage_") and b != "clip"]
            best_each = {k: max(r.test[b][k] for b in others) for k in METRICS}
            per_seed.append({"seed": r.seed, "method": m, "learned": r.test[m], "baseline": r.test[base],
                             "diff": diff, "won_all": all(d > 0 for d in diff.values()),
                             "best_each": best_each,
                             "won_all_vs_best_each": all(r.test[m][k] > best_each[k] for k in METRICS),
                             "chosen_epoch": r.chosen_epoch})
        report["test"][w] = {"strongest_baseline": base, "seeds": per_seed,
                             "seeds_won": int(sum(p["won_all"] for p in per_seed)),
                             "seeds_won_vs_best_each": int(sum(p["won_all_vs_best_each"] for p in per_seed))}
    return report


def print_validation(rep: dict) -> None:
    worlds_ = list(next(iter(rep["validation"].values())))
    print(f"VALIDATION (mean of micro AUC, macro AUC, mAP of the best sage strategy; {rep['validation_seeds']} seeds, "
          f"{rep['n_images']} images)")
    print("| variant | " + " | ".join(worlds_) + " |")
    print("|---|" + "---|" * len(worlds_))
    for v, d in rep["validation"].items():
        mark = " (chosen)" if v == rep["chosen"] else ""
        print(f"| {v}{mark} | " + " | ".join(f"{d[w]:.4f}" for w in worlds_) + " |", flush=True)


def print_report(rep: dict) -> None:
    """The test table (the validation table is printed when it is made)."""
    print(f"\nTEST of the chosen variant '{rep['chosen']}' ({rep['test_seeds']} seeds, {rep['test_n_images']} images) "
          "vs the strongest baseline (chosen on validation)")
    print("| world | seed | method | micro AUC | macro AUC | mAP | baseline | b micro | b macro | b mAP | won all 3 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for w, t in rep["test"].items():
        for p in t["seeds"]:
            lm, bm = p["learned"], p["baseline"]
            print(f"| {w} | {p['seed']} | {p['method']} | {lm['micro_auc']:.3f} | {lm['macro_auc']:.3f} | "
                  f"{lm['map']:.3f} | {t['strongest_baseline']} | {bm['micro_auc']:.3f} | {bm['macro_auc']:.3f} | "
                  f"{bm['map']:.3f} | {'yes' if p['won_all'] else 'no'} |")
        print(f"| {w} | seeds won: {t['seeds_won']} / {len(t['seeds'])}; against the best baseline on EACH metric: "
              f"{t['seeds_won_vs_best_each']} / {len(t['seeds'])} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.study_learning", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1500, help="images per world")
    p.add_argument("--seeds", type=int, default=2, help="seeds per variant (validation)")
    p.add_argument("--test-seeds", type=int, default=5, help="seeds of the chosen variant (test)")
    p.add_argument("--test-n", type=int, default=3000, help="images per world for the test phase (3000: the bundled demo)")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of the variants")
    p.add_argument("--out", default="benchmarks/results/study_learning.json")
    p.add_argument("--validation-json", default=None,
                   help="reuse the validation phase (and its choice) of an earlier run's JSON; run only the test phase")
    p.add_argument("--worlds", default=None, help="test phase only on these worlds (comma-separated: demo,noisy)")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    variants = {v: VARIANTS[v] for v in args.variants.split(",")}
    if args.validation_json:
        with open(args.validation_json, encoding="utf-8") as fh:
            rep = {k: v for k, v in json.load(fh).items() if k not in ("test", "test_seeds", "test_n_images")}
        print_validation(rep)
    else:
        rep = validation_phase(args.n, args.seeds, variants)
    only = args.worlds.split(",") if args.worlds else None
    if args.test_seeds > 0:
        rep = test_phase(rep, args.test_seeds, args.test_n, only)
        print_report(rep)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    from engine.core.atomic import atomic_write_text

    atomic_write_text(args.out, json.dumps(rep, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
