"""Learned embeddings of a run's TRAINING images, re-computed from its saved model.

A run folder keeps learned image embeddings for its validation + test images only.
This rebuilds the first seed's training graph exactly as the experiment did (the
same split, the training graph, the homogeneous view), loads ``model.pt`` and runs
full-neighbourhood inference once. The keyword embeddings it yields must equal the
run's saved ones, else the data or the code changed since training and the result
is refused (no silently different space). Training images saw their own keywords
in the graph, so these vectors are for browsing (similar images), never for
measuring quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.core.errors import DataError

TOLERANCE = 1e-4


def training_embeddings(run, run_dir, dataset, features) -> tuple[np.ndarray, np.ndarray]:
    """(dataset rows of the training images, (n_train, D) learned embeddings)."""
    import torch

    from engine.experiment.store import load_model_state
    from engine.graph.homogeneous import to_homogeneous
    from engine.graph.knowledge import build_graph
    from engine.graph.split import split_images, training_graph
    from engine.learn.model import full_inference
    from engine.learn.train import build_model

    state = load_model_state(run_dir) if run_dir is not None else None
    if state is None:
        raise DataError("the run has no saved model weights", path=Path(run_dir or ".") / "model.pt",
                        hint="training images need the model: re-run `mmkg-tui run`, or use --space clip")
    cfg = run.config
    split = split_images(dataset.n_images, cfg.split, run.seeds[0] if run.seeds else cfg.seed)
    if not np.array_equal(split.assignment, run.split):
        raise DataError("the run's split cannot be reproduced on this dataset", path=run_dir,
                        hint="open the run with the dataset it was trained on")
    tg = training_graph(build_graph(dataset, features).g, split.train)
    if not cfg.keyword_to_image:
        import dgl

        tg = dgl.remove_edges(tg, torch.arange(tg.num_edges("keyword_of")), etype="keyword_of")
    hom = to_homogeneous(tg, split.train)
    model = build_model(hom, cfg)
    model.load_state_dict(state)
    model.eval()
    z = full_inference(model, hom.g).numpy()
    lo, hi = hom.keyword_range
    if not np.allclose(z[lo:hi], run.keyword_embeddings["sage"], atol=TOLERANCE):
        raise DataError("the saved model does not reproduce the run's keyword embeddings on this data",
                        path=run_dir, hint="the labels or the code changed since training (e.g. --corrections); "
                                           "train a new run")
    n = hom.counts["image"]
    return np.asarray(hom.image_rows, dtype=np.int64), z[hom.node_id("image", np.arange(n))]
