"""Rank 0 of a distributed run: evaluate the trained model exactly as the
single-machine path does (engine.experiment.pipeline: keyword embeddings from full
inference on the training graph, reconnection of unseen images by every strategy,
the reference baselines, evaluate_method on validation/test rows) and build the same
RunResult, so ``save_run`` writes the same run folder.

The steps after training are the public functions of engine.graph / learn / methods /
evaluation, called in the pipeline's order; the pipeline takes no trained model from
outside, so this module repeats its ~30 lines of assembly (see the report: a
``train_fn`` hook in pipeline._run_seed would remove the copy)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np


def sage_scores(model, hom, dataset, features, eval_rows, config):
    """{'sage_<strategy>': scores}, image embeddings and the keyword embeddings."""
    import torch

    from engine.graph.reconnect import TrainGraphInfo, enlarged_graph, get_strategy
    from engine.learn.model import full_inference
    from engine.methods.scoring import cosine_scores

    z_train = full_inference(model, hom.g)
    lo, hi = hom.keyword_range
    kw_emb = z_train[lo:hi].numpy()
    info, n = TrainGraphInfo.from_hom(hom), hom.num_nodes
    scores, img_emb = {}, {}
    for strat in config.strategies:
        src, dst = get_strategy(strat)(info, eval_rows, features, dataset, config)
        g2 = enlarged_graph(hom, eval_rows, features, src, dst)
        z = full_inference(model, g2, groups=[torch.arange(n), torch.arange(n, n + len(eval_rows))])
        img_emb[f"sage_{strat}"] = z[n:].numpy()
        scores[f"sage_{strat}"] = cosine_scores(img_emb[f"sage_{strat}"], kw_emb)
    return scores, img_emb, kw_emb


def evaluate_trained(model, history, dataset, features, hom, split, config, seed: int, started: float):
    """RunResult of one distributed seed (the trained ``model`` on ``split``)."""
    from engine.evaluation.metrics import aggregate, embedding_stats, evaluate_method
    from engine.experiment.pipeline import dataset_info
    from engine.experiment.records import RunResult
    from engine.methods.baselines import BaselineInput, baseline_scores
    from engine.methods.scoring import cosine_scores

    model.eval()
    eval_rows = np.concatenate([split.val, split.test])
    labels = dataset.label_matrix()[eval_rows].toarray().astype(bool)
    val_mask = np.zeros(len(eval_rows), bool)
    val_mask[: len(split.val)] = True
    scores = {"clip": cosine_scores(features.image[eval_rows], features.keyword)}
    img_emb = {"clip": np.asarray(features.image[eval_rows], dtype=np.float32)}
    sage, sage_emb, kw_emb = sage_scores(model, hom, dataset, features, eval_rows, config)
    scores.update(sage)
    img_emb.update(sage_emb)
    inp = BaselineInput(dataset, features, split.train, split.val, eval_rows)
    scores.update({name: baseline_scores(name, inp) for name in config.baseline_methods})
    methods = config.methods
    evals = {m: evaluate_method(scores[m], labels, val_mask, ~val_mask, config.threshold) for m in methods}
    stats = {m: embedding_stats(img_emb[m], seed=seed) for m in methods if m in img_emb}
    return RunResult(
        config=config, dataset=dataset_info(dataset), embedding_source=features.source,
        image_ids=list(dataset.ids), split=split.assignment, keywords=list(dataset.keywords), methods=methods,
        eval_rows=eval_rows, labels=labels, scores={m: scores[m] for m in methods},
        best_threshold={m: evals[m]["best_threshold"] for m in methods},
        metrics={m: aggregate([evals[m]["metrics"]]) for m in methods},
        per_keyword={m: evals[m]["per_keyword"] for m in methods}, roc={m: evals[m]["roc"] for m in methods},
        embedding_stats={m: {k: v["mean"] for k, v in aggregate([stats[m]]).items()} for m in stats},
        loss_history=list(history), created=datetime.now(UTC).isoformat(timespec="seconds"),
        image_embeddings=img_emb, keyword_embeddings={"clip": np.asarray(features.keyword, np.float32), "sage": kw_emb},
        seeds=[seed], elapsed_s=time.perf_counter() - started,
        model_state={k: v.detach().clone() for k, v in model.state_dict().items()},
    )
