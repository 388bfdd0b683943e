"""One experiment: split, train GraphSAGE, reconnect unseen images, evaluate vs CLIP.

``iter_experiment`` is a generator of progress events (TrainProgress,
StageProgress) ending with ExperimentDone(result); ``run_experiment`` consumes it.
With several seeds (seed, seed+1, ...) each seed gets its own split and model;
every metric is then reported as mean, std and the per-seed runs, while the
arrays of the RunResult (split, scores, embeddings, per-keyword, ROC) are those of
the FIRST seed.

Methods, in this order: ``clip`` (raw CLIP image . keyword cosine), the reference
baselines of engine.baselines (``prior``, ``scene_prior``, ``clip_probe``; off with
``ExperimentConfig.baselines = False``) and ``sage_<strategy>`` for each
reconnection strategy (engine.reconnect). Keyword embeddings come from the model on
the training graph; unseen images are embedded in the enlarged graph with full
neighbourhoods. Baselines are fitted on training rows (hyper-parameters on
validation rows) and have no image embeddings, so ``image_embeddings`` and
``embedding_stats`` hold only clip and the sage methods. Every method's scores lie
in [-1, 1] (``score_scales`` in the JSON says how). Thresholds are chosen on
validation rows only; every reported metric is on test rows (engine.evaluate).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from engine.errors import Cancelled, ConfigError, DataError
from engine.train import TrainProgress, on_engine_thread

__all__ = [
    "METHODS", "AGGREGATORS", "ExperimentConfig", "TrainProgress", "StageProgress", "ExperimentDone",
    "RunResult", "iter_experiment", "run_experiment",
]

METHODS = ("clip", "prior", "scene_prior", "clip_probe", "sage_self", "sage_cosine", "sage_scene")
AGGREGATORS = ("mean", "pool", "gcn", "lstm")
DEFAULT_EPOCHS = 12  # chosen on VALIDATION images of the demo (6: worse, 20: +0.005 macro AUC but too slow)


@dataclass
class ExperimentConfig:
    layers: int = 2
    hidden: int = 512
    out_dim: int = 512
    fanout: tuple[int, ...] = (3, 3)
    aggregator: str = "mean"
    epochs: int = DEFAULT_EPOCHS
    lr: float = 1e-3
    negatives: int = 1
    batch_size: int = 512
    seed: int = 0
    seeds: int = 1
    strategies: tuple[str, ...] = ("self", "cosine", "scene")
    cosine_k: int = 3
    cosine_min_sim: float | None = None
    threshold: float = 0.7
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    # While training, images aggregate their other keywords (the full graph, as in the
    # poster). False removes keyword->image edges from message passing, so training
    # images look like unseen ones; on the demo's validation images it was slightly worse.
    keyword_to_image: bool = True
    # Reference baselines (engine.baselines: label priors and a CLIP linear probe)
    # reported beside the GNN methods; they take well under a second.
    baselines: bool = True

    def __post_init__(self) -> None:
        self.fanout = tuple(self.fanout)
        self.strategies = tuple(self.strategies)
        self.split = tuple(self.split)

    def validate(self) -> None:
        """ConfigError naming the field, before any work starts."""
        from engine.reconnect import STRATEGIES
        from engine.split import check_fractions

        def need(ok: bool, fld: str, msg: str, hint: str) -> None:
            if not ok:
                raise ConfigError(msg, field=fld, hint=hint)

        def is_int(v) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        need(is_int(self.layers) and self.layers >= 1, "layers", f"layers must be an integer >= 1, got {self.layers!r}", "e.g. --layers 2")
        need(is_int(self.hidden) and self.hidden >= 1, "hidden", f"hidden must be an integer >= 1, got {self.hidden!r}", "e.g. --hidden 512")
        need(is_int(self.out_dim) and self.out_dim >= 1, "out_dim", f"out_dim must be an integer >= 1, got {self.out_dim!r}", "e.g. 512")
        need(all(is_int(f) and (f >= 1 or f == -1) for f in self.fanout), "fanout",
             f"fan-outs must be integers >= 1 (or -1 for all neighbours), got {list(self.fanout)}", "e.g. --fanout 3,3")
        need(len(self.fanout) == self.layers, "fanout",
             f"{len(self.fanout)} fan-out(s) for {self.layers} layer(s): every layer needs its own sampled neighbourhood",
             f"give {self.layers} comma-separated fan-outs, e.g. --fanout {','.join(['3'] * self.layers)}")
        need(self.aggregator in AGGREGATORS, "aggregator", f"unknown aggregator {self.aggregator!r}", f"choose from {', '.join(AGGREGATORS)}")
        need(is_int(self.epochs) and self.epochs >= 0, "epochs", f"epochs must be an integer >= 0, got {self.epochs!r}", "e.g. --epochs 6")
        need(isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0, "lr", f"learning rate must be > 0, got {self.lr!r}", "e.g. --lr 0.001")
        need(is_int(self.negatives) and self.negatives >= 1, "negatives", f"negatives (Q) must be an integer >= 1, got {self.negatives!r}", "e.g. --negatives 1")
        need(is_int(self.batch_size) and self.batch_size >= 1, "batch_size", f"batch size must be an integer >= 1, got {self.batch_size!r}", "e.g. --batch-size 512")
        need(is_int(self.seed) and self.seed >= 0, "seed", f"seed must be an integer >= 0, got {self.seed!r}", "e.g. --seed 0")
        need(is_int(self.seeds) and self.seeds >= 1, "seeds", f"seeds must be an integer >= 1, got {self.seeds!r}", "e.g. --seeds 3")
        need(len(self.strategies) >= 1, "strategies", "no reconnection strategy given", f"choose from {', '.join(sorted(STRATEGIES))}")
        for s in self.strategies:
            need(s in STRATEGIES, "strategies", f"unknown reconnection strategy {s!r}", f"choose from {', '.join(sorted(STRATEGIES))}")
        need(len(set(self.strategies)) == len(self.strategies), "strategies", "a strategy is listed twice", "list each strategy once")
        need(is_int(self.cosine_k) and self.cosine_k >= 1, "cosine_k", f"cosine_k must be an integer >= 1, got {self.cosine_k!r}", "e.g. 3")
        need(self.cosine_min_sim is None or (isinstance(self.cosine_min_sim, (int, float)) and -1 <= self.cosine_min_sim <= 1),
             "cosine_min_sim", f"cosine_min_sim must be in [-1, 1], got {self.cosine_min_sim!r}", "a cosine similarity, e.g. 0.5")
        need(isinstance(self.baselines, (bool, np.bool_)), "baselines", f"baselines must be true or false, got {self.baselines!r}",
             "true reports the reference baselines, false leaves them out (--no-baselines)")
        need(isinstance(self.threshold, (int, float)) and math.isfinite(self.threshold) and -1 <= self.threshold <= 1,
             "threshold", f"threshold must be a score in [-1, 1] (every method's scores lie there), got {self.threshold!r}", "e.g. --threshold 0.7")
        check_fractions(self.split)

    @property
    def methods(self) -> list[str]:
        return ["clip"] + self.baseline_methods + [f"sage_{s}" for s in self.strategies]

    @property
    def baseline_methods(self) -> list[str]:
        from engine.baselines import BASELINES

        return list(BASELINES) if self.baselines else []

    @property
    def seed_list(self) -> list[int]:
        return [self.seed + i for i in range(self.seeds)]

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("fanout", "strategies", "split"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentConfig":
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        for k in ("fanout", "strategies", "split"):
            if k in kw:
                kw[k] = tuple(kw[k])
        return cls(**kw)


@dataclass(frozen=True)
class StageProgress:
    stage: str  # "split", "train graph", "inference", "reconnect <strategy>", "baselines", "evaluate"
    done: int
    total: int | None
    message: str = ""


@dataclass(frozen=True)
class ExperimentDone:
    result: "RunResult"


@dataclass
class RunResult:
    config: ExperimentConfig
    dataset: dict
    embedding_source: str
    image_ids: list[str]
    split: np.ndarray  # (N,) int8 0 train / 1 validation / 2 test (first seed)
    keywords: list[str]
    methods: list[str]
    eval_rows: np.ndarray  # (M,) validation rows then test rows
    labels: np.ndarray  # (M, K) bool
    scores: dict[str, np.ndarray]  # method -> (M, K) float32 in [-1, 1] (engine.baselines.score_scale)
    best_threshold: dict[str, float]
    metrics: dict[str, dict[str, Any]]
    per_keyword: dict[str, dict[str, np.ndarray]]
    roc: dict[str, tuple[np.ndarray, np.ndarray]]
    embedding_stats: dict[str, dict[str, float]]  # methods with image embeddings only (not baselines)
    loss_history: list[float]
    created: str
    # additions to the contract
    image_embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (M, D) of eval_rows
    keyword_embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # "clip"/"sage" -> (K, D)
    seeds: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0
    model_state: dict | None = field(default=None, repr=False, compare=False)  # first seed's weights

    def test_mask(self) -> np.ndarray:
        return self.split[self.eval_rows] == 2

    def val_mask(self) -> np.ndarray:
        return self.split[self.eval_rows] == 1

    def to_json(self) -> dict:
        return _json_safe({
            "methods": self.metrics,
            "config": self.config.to_dict(),
            "dataset": self.dataset,
            "embedding_source": self.embedding_source,
            "best_threshold": self.best_threshold,
            "embedding_stats": self.embedding_stats,
            "score_scales": {m: _score_scale(m) for m in self.methods},
            "seeds": self.seeds,
            "created": self.created,
        })


def _json_safe(x):
    """NaN/inf -> None, numpy scalars -> Python, tuples -> lists (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_json_safe(v) for v in x.tolist()]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    return x


def _score_scale(method: str) -> str:
    from engine.baselines import score_scale

    return score_scale(method)


# ---------------------------------------------------------------------------- pieces
def _cosine_scores(img: np.ndarray, kw: np.ndarray) -> np.ndarray:
    """(n_img, n_kw) float32 cosine similarities: one torch.mm of the raw image rows
    and the L2-normalised keyword rows, whose output rows are then divided by the
    image norms in place. Everything but the matmul is numpy on one thread: on a busy
    machine each extra torch parallel op waits for the cores (several ms each)."""
    import torch

    from engine.features import l2_normalize

    img = np.asarray(img, dtype=np.float32)
    kw_n = l2_normalize(kw)
    out = torch.mm(torch.from_numpy(img if img.flags.writeable else img.copy()),
                   torch.from_numpy(kw_n).T).numpy()
    norms = np.sqrt(np.einsum("ij,ij->i", img, img))
    out /= np.maximum(norms, 1e-12)[:, None]
    return out


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _run_seed(dataset, features, kg, config: ExperimentConfig, seed: int, seed_index: int, cancel):
    """Generator for one seed; returns a dict with this seed's results."""
    import torch

    from engine.evaluate import embedding_stats, evaluate_method
    from engine.model import full_inference
    from engine.reconnect import TrainGraphInfo, enlarged_graph, get_strategy
    from engine.sampling import to_homogeneous
    from engine.split import split_images, training_graph
    from engine.train import train_model

    yield StageProgress("split", 0, 1, f"seed {seed}")
    split = split_images(dataset.n_images, config.split, seed)
    train_rows, val_rows, test_rows = split.train, split.val, split.test
    tg = training_graph(kg.g, train_rows)
    if not config.keyword_to_image:
        import dgl

        tg = dgl.remove_edges(tg, torch.arange(tg.num_edges("keyword_of")), etype="keyword_of")
    hom = to_homogeneous(tg, train_rows)
    if hom.train_eids.numel() == 0:
        raise DataError("no training image has a keyword: nothing to learn", path=dataset.source_path,
                        hint="check the keyword column of the dataset")
    yield StageProgress("split", 1, 1, f"{len(train_rows)} train / {len(val_rows)} validation / {len(test_rows)} test images")
    _check(cancel)
    model, history = yield from train_model(hom, config, seed=seed, seed_index=seed_index,
                                            n_seeds=config.seeds, cancel=cancel)
    yield StageProgress("inference", 0, 1, "full-neighbourhood inference on the training graph")
    z_train = full_inference(model, hom.g, cancel=cancel)
    lo, hi = hom.keyword_range
    kw_emb = z_train[lo:hi].numpy()
    yield StageProgress("inference", 1, 1)

    eval_rows = np.concatenate([val_rows, test_rows])
    labels = dataset.label_matrix()[eval_rows].toarray().astype(bool)
    val_mask = np.zeros(len(eval_rows), bool)
    val_mask[: len(val_rows)] = True
    test_mask = ~val_mask
    scores = {"clip": _cosine_scores(features.image[eval_rows], features.keyword)}
    img_emb = {"clip": np.asarray(features.image[eval_rows], dtype=np.float32)}
    info = TrainGraphInfo.from_hom(hom)
    n = hom.num_nodes
    for i, strat in enumerate(config.strategies):
        yield StageProgress(f"reconnect {strat}", i, len(config.strategies))
        _check(cancel)
        src, dst = get_strategy(strat)(info, eval_rows, features, dataset, config)
        g2 = enlarged_graph(hom, eval_rows, features, src, dst)
        z = full_inference(model, g2, groups=[torch.arange(n), torch.arange(n, n + len(eval_rows))], cancel=cancel)
        emb = z[n:].numpy()
        img_emb[f"sage_{strat}"] = emb
        scores[f"sage_{strat}"] = _cosine_scores(emb, kw_emb)
        yield StageProgress(f"reconnect {strat}", i + 1, len(config.strategies), f"{len(src)} edges")
    scores = _in_method_order(scores, (yield from _baseline_scores(dataset, features, split, eval_rows, config, cancel)),
                              config.methods)
    yield StageProgress("evaluate", 0, len(scores))
    evals, stats = {}, {}
    for j, (method, s) in enumerate(scores.items()):
        _check(cancel)
        evals[method] = evaluate_method(s, labels, val_mask, test_mask, config.threshold)
        if method in img_emb:
            stats[method] = embedding_stats(img_emb[method], seed=seed)
        yield StageProgress("evaluate", j + 1, len(scores), method)
    return {
        "split": split.assignment, "eval_rows": eval_rows, "labels": labels, "scores": scores,
        "evals": evals, "stats": stats, "history": history, "image_embeddings": img_emb,
        "keyword_embeddings": {"clip": np.asarray(features.keyword, np.float32), "sage": kw_emb},
        "model_state": {k: v.detach().clone() for k, v in model.state_dict().items()},
    }


def _baseline_scores(dataset, features, split, eval_rows, config: ExperimentConfig, cancel):
    """Generator: (M, K) scores of every reference baseline on this seed's split."""
    from engine.baselines import BaselineInput, baseline_scores

    names = config.baseline_methods
    inp = BaselineInput(dataset, features, split.train, split.val, eval_rows)
    out = {}
    for i, name in enumerate(names):
        yield StageProgress("baselines", i, len(names), name)
        _check(cancel)
        out[name] = baseline_scores(name, inp)
    if names:
        yield StageProgress("baselines", len(names), len(names))
    return out


def _in_method_order(scores: dict, more: dict, order: list[str]) -> dict:
    """Both score dicts merged, keyed in ``order`` (config.methods)."""
    merged = {**scores, **more}
    return {m: merged[m] for m in order}


def dataset_info(dataset) -> dict:
    from engine.runs import dataset_fingerprint

    return {
        "name": dataset.name, "kind": dataset.kind, "synthetic": bool(dataset.synthetic),
        "source": dataset.source_path, "images": dataset.n_images, "keywords": dataset.n_keywords,
        "scenes": dataset.n_scenes, "fingerprint": dataset_fingerprint(dataset),
    }


def iter_experiment(dataset, features, config: ExperimentConfig, *,
                    cancel: threading.Event | None = None) -> Iterator[TrainProgress | StageProgress | ExperimentDone]:
    """Validate ``config`` now (ConfigError at call time, before any work), then
    return the generator of progress events; its last event is ExperimentDone."""
    config.validate()
    return on_engine_thread(_experiment_events(dataset, features, config, cancel))


def _experiment_events(dataset, features, config: ExperimentConfig, cancel):
    import time

    from engine.evaluate import aggregate
    from engine.graph import build_graph

    start = time.perf_counter()
    yield StageProgress("graph", 0, 1, "building the knowledge graph")
    kg = build_graph(dataset, features)
    yield StageProgress("graph", 1, 1)
    per_seed = []
    for i, seed in enumerate(config.seed_list):
        _check(cancel)
        per_seed.append((yield from _run_seed(dataset, features, kg, config, seed, i, cancel)))
    first = per_seed[0]
    methods = config.methods
    metrics = {m: aggregate([r["evals"][m]["metrics"] for r in per_seed]) for m in methods}
    stats = {m: {k: v["mean"] for k, v in aggregate([r["stats"][m] for r in per_seed]).items()}
             for m in methods if m in first["stats"]}
    result = RunResult(
        config=config, dataset=dataset_info(dataset), embedding_source=features.source,
        image_ids=list(dataset.ids), split=first["split"], keywords=list(dataset.keywords), methods=methods,
        eval_rows=first["eval_rows"], labels=first["labels"], scores=first["scores"],
        best_threshold={m: first["evals"][m]["best_threshold"] for m in methods},
        metrics=metrics, per_keyword={m: first["evals"][m]["per_keyword"] for m in methods},
        roc={m: first["evals"][m]["roc"] for m in methods}, embedding_stats=stats,
        loss_history=list(first["history"]), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        image_embeddings=first["image_embeddings"], keyword_embeddings=first["keyword_embeddings"],
        seeds=config.seed_list, elapsed_s=time.perf_counter() - start, model_state=first["model_state"],
    )
    yield ExperimentDone(result)


def run_experiment(dataset, features, config: ExperimentConfig, *, cancel: threading.Event | None = None,
                   progress: Callable[[Any], None] | None = None) -> RunResult:
    result = None
    for event in iter_experiment(dataset, features, config, cancel=cancel):
        if progress is not None:
            progress(event)
        if isinstance(event, ExperimentDone):
            result = event.result
    assert result is not None
    return result
