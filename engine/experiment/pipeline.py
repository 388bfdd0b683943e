"""One experiment: split, train GraphSAGE, reconnect unseen images, evaluate vs CLIP.

``iter_experiment`` is a generator of progress events (TrainProgress,
StageProgress) ending with ExperimentDone(result); ``run_experiment`` consumes it.
With several seeds (seed, seed+1, ...) each seed gets its own split and model;
every metric is then reported as mean, std and the per-seed runs, while the
arrays of the RunResult (split, scores, embeddings, per-keyword, ROC) are those of
the FIRST seed (``per_keyword_runs`` holds every seed's per-keyword metrics).

One seed (``_run_seed``, each step a small generator returning a typed record):
``_train`` (``_split_and_graph``, train_model, keyword embeddings) -> ``_eval_rows``
-> ``_sage_scores`` (reconnect + embed per strategy) -> ``_baseline_scores`` ->
``_evaluate`` (engine.evaluation.metrics.evaluate_method per method) -> SeedResult
(everything after ``_train`` is ``_score_trained``). ``_run_result`` aggregates the
seeds into the RunResult. ``evaluate_trained`` is the same for a model trained
elsewhere (engine.distributed: the DistDGL trainers).

Methods, in this order: ``clip`` (raw CLIP image . keyword cosine, "zero_shot"),
the reference baselines of engine.methods.baselines ("baseline"; off with
``ExperimentConfig.baselines = False``) and ``sage_<strategy>`` for each
reconnection strategy ("learned"). Methods that need something the dataset lacks
(scenes: engine.methods.catalog) are not run and are listed in
``RunResult.skipped_methods`` with the reason. Keyword embeddings come from the
model on the training graph; unseen images are embedded in the enlarged graph with
full neighbourhoods. Baselines are fitted on training rows (hyper-parameters on
validation rows). Every choice (calibrators, best-F1 and per-keyword thresholds,
baseline hyper-parameters, which method is compared with which) is made on
validation rows only; every reported metric is on test rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from engine.core.errors import ConfigError, DataError
from engine.core.progress import StageProgress, TrainProgress, check_cancel
from engine.core.thread import on_engine_thread
from engine.experiment.config import SCORE_SCALES, ExperimentConfig
from engine.experiment.records import EvalRows, ExperimentDone, RunResult, SeedResult
from engine.methods.scoring import cosine_scores

__all__ = ["dataset_info", "evaluate_trained", "iter_experiment", "run_experiment"]


# ---------------------------------------------------------------------------- pieces
@dataclass
class _Trained:
    """One seed's training graph, model and learned keyword embeddings."""

    split: Any  # engine.graph.split.Split
    hom: Any  # engine.graph.homogeneous.HomGraph
    model: Any
    history: list[float]
    keyword_embeddings: np.ndarray  # (K, D) from the training graph
    states: list = field(default_factory=list)  # the training graph's layer states (engine.learn.model.unseen_inference)
    best_epoch: int | None = None  # the epoch chosen on validation (None: no selection)
    blend_weights: dict[str, float] = field(default_factory=dict)  # sage method -> CLIP weight chosen on validation


def _split_and_graph(dataset, features, kg, config: ExperimentConfig, seed: int):
    """Generator: this seed's split and homogeneous training graph (returns both)."""
    import torch

    from engine.graph.homogeneous import to_homogeneous
    from engine.graph.split import split_images, training_graph

    yield StageProgress("split", 0, 1, f"seed {seed}")
    split = split_images(dataset.n_images, config.split, seed)
    tg = training_graph(kg.g, split.train)
    if not config.keyword_to_image:
        import dgl

        tg = dgl.remove_edges(tg, torch.arange(tg.num_edges("keyword_of")), etype="keyword_of")
    hom = to_homogeneous(tg, split.train)
    if config.train_cosine_k:
        from engine.graph.context import add_image_neighbours

        hom = add_image_neighbours(hom, features.image, config.train_cosine_k)
    if hom.train_eids.numel() == 0:
        raise DataError("no training image has a keyword: nothing to learn", path=dataset.source_path,
                        hint="check the keyword column of the dataset")
    yield StageProgress("split", 1, 1, f"{len(split.train)} train / {len(split.val)} validation / "
                                       f"{len(split.test)} test images")
    return split, hom


def _train(dataset, features, kg, config: ExperimentConfig, seed: int, seed_index: int, cancel):
    """Generator: split, train GraphSAGE, embed the keywords (returns _Trained)."""
    from engine.experiment.validation import EpochScorer
    from engine.learn.train import train_model

    split, hom = yield from _split_and_graph(dataset, features, kg, config, seed)
    check_cancel(cancel)
    scorer = EpochScorer(dataset, features, config, hom, split.val) if config.select_metric != "none" else None
    res = yield from train_model(hom, config, seed=seed, seed_index=seed_index,
                                 n_seeds=config.seeds, cancel=cancel, on_epoch_end=scorer)
    model, history = res.model, res.history
    yield StageProgress("inference", 0, 1, "full-neighbourhood inference on the training graph")
    keyword_embeddings, states = _keyword_embeddings(model, hom, cancel)
    yield StageProgress("inference", 1, 1)
    return _Trained(split, hom, model, history, keyword_embeddings, states, res.best_epoch)


def _keyword_embeddings(model, hom, cancel=None) -> tuple[np.ndarray, list]:
    """((K, D) keyword embeddings of ``model`` by full inference on the training graph,
    the graph's layer states for embedding unseen images)."""
    from engine.learn.model import full_inference

    z_train, states = full_inference(model, hom.g, cancel=cancel, keep_states=True)
    lo, hi = hom.keyword_range
    return z_train[lo:hi].numpy(), states


def _eval_rows(dataset, split) -> EvalRows:
    rows = np.concatenate([split.val, split.test])
    val_mask = np.zeros(len(rows), bool)
    val_mask[: len(split.val)] = True
    return EvalRows(rows, dataset.label_matrix()[rows].toarray().astype(bool), val_mask, ~val_mask)


@dataclass(frozen=True)
class _Plan:
    """What this dataset lets the experiment run: config.methods minus the skipped ones."""

    methods: list[str]
    strategies: tuple[str, ...]
    baselines: list[str]
    skipped: dict[str, str]  # method -> why it is not run


def _plan(dataset, config: ExperimentConfig) -> _Plan:
    """ConfigError when no learned method can run on this dataset."""
    from engine.methods.catalog import skipped_methods

    skipped = skipped_methods(dataset, config.methods)
    strategies = tuple(s for s in config.strategies if f"sage_{s}" not in skipped)
    if not strategies:
        why = "; ".join(sorted(set(skipped.values())))
        raise ConfigError(f"no reconnection strategy can run on this dataset ({why})", field="strategies",
                          hint="choose strategies the dataset supports, e.g. --strategies self,cosine")
    return _Plan([m for m in config.methods if m not in skipped], strategies,
                 [b for b in config.baseline_methods if b not in skipped], skipped)


def _sage_scores(dataset, features, strategies: tuple[str, ...], config: ExperimentConfig, trained: _Trained,
                 rows: np.ndarray, cancel):
    """Generator: reconnect the unseen rows per strategy and embed them in the enlarged
    graph; returns (scores, image embeddings) keyed ``sage_<strategy>``."""
    from engine.graph.reconnect import TrainGraphInfo, enlarged_graph, get_strategy
    from engine.learn.model import unseen_inference

    hom = trained.hom
    info = TrainGraphInfo.from_hom(hom)
    n = hom.num_nodes
    scores, img_emb = {}, {}
    for i, strat in enumerate(strategies):
        yield StageProgress(f"reconnect {strat}", i, len(strategies))
        check_cancel(cancel)
        src, dst = get_strategy(strat)(info, rows, features, dataset, config)
        g2 = enlarged_graph(hom, rows, features, src, dst)
        emb = unseen_inference(trained.model, g2, n, trained.states, cancel=cancel).numpy()
        img_emb[f"sage_{strat}"] = emb
        scores[f"sage_{strat}"] = cosine_scores(emb, trained.keyword_embeddings)
        if config.blend:
            from engine.experiment.validation import blend_with_clip

            n_val = len(trained.split.val)
            clip = cosine_scores(features.image[rows], features.keyword)
            labels_val = dataset.label_matrix()[rows[:n_val]].toarray().astype(bool)
            scores[f"sage_{strat}"], trained.blend_weights[f"sage_{strat}"] = blend_with_clip(
                scores[f"sage_{strat}"], clip, n_val, labels_val, config.select_metric)
        yield StageProgress(f"reconnect {strat}", i + 1, len(strategies), f"{len(src)} edges")
    return scores, img_emb


def _evaluate(scores: dict, img_emb: dict, ev: EvalRows, config: ExperimentConfig, seed: int, cancel):
    """Generator: every method's test metrics and embedding statistics (returns both)."""
    from engine.evaluation.metrics import embedding_stats, evaluate_method

    yield StageProgress("evaluate", 0, len(scores))
    evals, stats = {}, {}
    for j, (method, s) in enumerate(scores.items()):
        check_cancel(cancel)
        evals[method] = evaluate_method(s, ev.labels, ev.val_mask, ev.test_mask, config.threshold,
                                        scale=config.score_scale)
        if method in img_emb:
            stats[method] = embedding_stats(img_emb[method], seed=seed)
        yield StageProgress("evaluate", j + 1, len(scores), method)
    return evals, stats


def _run_seed(dataset, features, kg, config: ExperimentConfig, plan: _Plan, seed: int, seed_index: int, cancel):
    """Generator for one seed: train, score every method, evaluate (returns SeedResult)."""
    trained = yield from _train(dataset, features, kg, config, seed, seed_index, cancel)
    return (yield from _score_trained(dataset, features, config, plan, trained, seed, cancel))


def _score_trained(dataset, features, config: ExperimentConfig, plan: _Plan, trained: _Trained, seed: int, cancel):
    """Generator: score every method with the trained model, evaluate (returns SeedResult)."""
    ev = _eval_rows(dataset, trained.split)
    scores = {"clip": cosine_scores(features.image[ev.rows], features.keyword)}
    img_emb = {"clip": np.asarray(features.image[ev.rows], dtype=np.float32)}
    sage, sage_emb = yield from _sage_scores(dataset, features, plan.strategies, config, trained, ev.rows, cancel)
    scores.update(sage)
    img_emb.update(sage_emb)
    scores = _in_method_order(scores, (yield from _baseline_scores(dataset, features, trained.split, ev.rows,
                                                                   plan.baselines, cancel)), plan.methods)
    evals, stats = yield from _evaluate(scores, img_emb, ev, config, seed, cancel)
    return SeedResult(
        split=trained.split.assignment, eval=ev, scores=scores, evaluations=evals, embedding_stats=stats,
        loss_history=list(trained.history), image_embeddings=img_emb,
        keyword_embeddings={"clip": np.asarray(features.keyword, np.float32), "sage": trained.keyword_embeddings},
        model_state={k: v.detach().clone() for k, v in trained.model.state_dict().items()},
        best_epoch=trained.best_epoch, blend_weights=dict(trained.blend_weights),
    )


def _baseline_scores(dataset, features, split, eval_rows, names: list[str], cancel):
    """Generator: (M, K) scores of the reference baselines ``names`` on this seed's split."""
    from engine.methods.baselines import BaselineInput, baseline_scores

    inp = BaselineInput(dataset, features, split.train, split.val, eval_rows)
    out = {}
    for i, name in enumerate(names):
        yield StageProgress("baselines", i, len(names), name)
        check_cancel(cancel)
        out[name] = baseline_scores(name, inp)
    if names:
        yield StageProgress("baselines", len(names), len(names))
    return out


def _in_method_order(scores: dict, more: dict, order: list[str]) -> dict:
    """Both score dicts merged, keyed in ``order`` (config.methods)."""
    merged = {**scores, **more}
    return {m: merged[m] for m in order}


def dataset_info(dataset) -> dict:
    from engine.data.fingerprint import dataset_fingerprint

    return {
        "name": dataset.name, "kind": dataset.kind, "synthetic": bool(dataset.synthetic),
        "source": dataset.source_path, "images": dataset.n_images, "keywords": dataset.n_keywords,
        "scenes": dataset.n_scenes, "fingerprint": dataset_fingerprint(dataset),
    }


def iter_experiment(dataset, features, config: ExperimentConfig, *,
                    cancel: threading.Event | None = None) -> Iterator[TrainProgress | StageProgress | ExperimentDone]:
    """Validate ``config`` against ``dataset`` now (ConfigError at call time, before any
    work), then return the generator of progress events; its last event is ExperimentDone."""
    config.validate()
    plan = _plan(dataset, config)
    return on_engine_thread(_experiment_events(dataset, features, config, plan, cancel))


def _experiment_events(dataset, features, config: ExperimentConfig, plan: _Plan, cancel):
    import time

    from engine.graph.knowledge import build_graph

    start = time.perf_counter()
    yield StageProgress("graph", 0, 1, "building the knowledge graph")
    kg = build_graph(dataset, features)
    yield StageProgress("graph", 1, 1)
    trials = []
    if config.tune:
        from engine.experiment.tune import tune

        def run_seed(dataset, features, kg, cfg, seed, seed_index, cancel):  # the plan stays: tune keeps strategies
            return _run_seed(dataset, features, kg, cfg, plan, seed, seed_index, cancel)

        config, trials = yield from tune(dataset, features, kg, config, run_seed, cancel)
    per_seed = []
    for i, seed in enumerate(config.seed_list):
        check_cancel(cancel)
        per_seed.append((yield from _run_seed(dataset, features, kg, config, plan, seed, i, cancel)))
    result = _run_result(dataset, features, config, plan, per_seed, time.perf_counter() - start)
    result.tuning = [t.to_json() for t in trials]
    yield ExperimentDone(result)


def _caveats(dataset, config: ExperimentConfig, per_seed: list[SeedResult]) -> tuple[dict[str, str], list[str]]:
    """(macro_excluded, warnings) from every seed's test labels (engine.evaluation.caveats)."""
    from engine.evaluation.caveats import evaluation_warnings, macro_exclusions

    test_labels = [r.eval.labels[r.eval.test_mask] for r in per_seed]
    keywords = list(dataset.keywords)
    return macro_exclusions(test_labels, keywords, config.seed_list), evaluation_warnings(test_labels, keywords)


def _per_keyword_runs(methods: list[str], per_seed: list[SeedResult]) -> dict[str, dict[str, np.ndarray]]:
    names = per_seed[0].evaluations[methods[0]].per_keyword if methods else {}
    return {m: {k: np.stack([np.asarray(r.evaluations[m].per_keyword[k], dtype=np.float64) for r in per_seed])
                for k in names} for m in methods}


def _on_scale(seed: SeedResult, scale: str) -> dict[str, np.ndarray]:
    if scale == "raw":
        return seed.scores
    return {m: seed.evaluations[m].calibration.apply(s) for m, s in seed.scores.items()}


def _run_result(dataset, features, config: ExperimentConfig, plan: _Plan, per_seed: list[SeedResult],
                elapsed_s: float) -> RunResult:
    """Metrics aggregated over seeds; arrays of the first seed."""
    from engine.evaluation.metrics import aggregate

    first = per_seed[0]
    methods = plan.methods
    macro_excluded, warnings = _caveats(dataset, config, per_seed)
    metrics = {m: aggregate([r.evaluations[m].metrics for r in per_seed]) for m in methods}
    _add_selection(metrics, per_seed, config)
    stats = {m: {k: v["mean"] for k, v in aggregate([r.embedding_stats[m] for r in per_seed]).items()}
             for m in methods if m in first.embedding_stats}
    evals = first.evaluations
    return RunResult(
        config=config, dataset=dataset_info(dataset), embedding_source=features.source,
        image_ids=list(dataset.ids), split=first.split, keywords=list(dataset.keywords), methods=methods,
        eval_rows=first.eval.rows, labels=first.eval.labels, scores=_on_scale(first, config.score_scale),
        raw_scores=first.scores,
        best_threshold={m: evals[m].best_threshold for m in methods},
        metrics=metrics, per_keyword={m: evals[m].per_keyword for m in methods},
        roc={m: evals[m].roc for m in methods}, embedding_stats=stats,
        loss_history=list(first.loss_history), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        image_embeddings=first.image_embeddings, keyword_embeddings=first.keyword_embeddings,
        seeds=config.seed_list, elapsed_s=elapsed_s, model_state=first.model_state,
        warnings=warnings, macro_excluded=macro_excluded, skipped_methods=dict(plan.skipped),
        score_scale=config.score_scale, calibration={m: evals[m].calibration for m in methods},
        best_thresholds={scale: {m: evals[m].best_thresholds[scale] for m in methods} for scale in SCORE_SCALES},
        per_keyword_runs=_per_keyword_runs(methods, per_seed),
        problems=[p.format() for p in dataset.problems],  # loaders' and CLIP's, to the CLI, JSON and run folder
    )


def _add_selection(metrics: dict, per_seed: list[SeedResult], config: ExperimentConfig) -> None:
    """Validation choices beside each sage method's metrics: ``chosen_epoch`` (early
    stopping) and ``blend_weight`` (CLIP's share), each {"mean", "std", "runs"}."""
    from engine.evaluation.metrics import aggregate

    def entry(vals):
        return aggregate([{"v": float(x)} for x in vals])["v"]

    for m in metrics:
        if not m.startswith("sage_"):
            continue
        if config.select_metric != "none":
            metrics[m]["chosen_epoch"] = entry([r.best_epoch for r in per_seed])
        if config.blend:
            metrics[m]["blend_weight"] = entry([r.blend_weights[m] for r in per_seed])


def evaluate_trained(dataset, features, config: ExperimentConfig, split, hom, model, history: list[float], *,
                     elapsed_s: float) -> RunResult:
    """The RunResult of a model trained elsewhere (the DistDGL trainers) on the split
    ``split`` of ``config.seed`` and its training graph ``hom``: the same keyword
    embeddings, reconnection, baselines, evaluation and assembly as one seed here."""
    config.validate()
    plan = _plan(dataset, config)
    model.eval()
    trained = _Trained(split, hom, model, list(history), *_keyword_embeddings(model, hom))
    events = _score_trained(dataset, features, config, plan, trained, config.seed, None)
    while True:
        try:
            next(events)
        except StopIteration as done:
            return _run_result(dataset, features, config, plan, [done.value], elapsed_s)


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
