"""The bare reference for a default ``mmkg-tui run``: the same job written as a plain
DGL / torch / scikit-learn script, for the paired row "end to end vs bare".

Same job: load the demo with its precomputed CLIP embeddings, build the knowledge
graph, split 70/15/15, train a 2-layer GraphSAGE (512, fanout 3,3, Adam 1e-3, batch
512, 1 negative, the default epochs) with the contrastive link loss, embed keywords
on the training graph, reconnect unseen images (self, cosine, scene) and embed them,
score the reference baselines, choose the best-F1 threshold on validation rows and
report macro AUC and F1 on test rows. The domain pieces (loader, graph builder,
reconnection strategies, model class, loss, baselines) are the engine's own
functions, so both sides compute the same thing; what is bare is everything around
them: a plain DGL DataLoader loop (no progress events, cancel checks, engine thread,
deterministic-algorithm switch), scikit-learn metrics, no typed records, no run
folder, no rich output. Usage: ``python -m benchmarks.bare_run [--epochs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("DGLBACKEND", "pytorch")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # the same policy as the CLI


def train(hom, cfg):
    import dgl
    import torch

    from engine.learn.loss import sage_loss
    from engine.learn.model import SageModel
    from engine.learn.sampling import edge_sampler

    torch.manual_seed(cfg.seed)
    dgl.seed(cfg.seed)
    torch.set_num_threads(1)
    feat, ntype = hom.g.ndata["feat"], hom.g.ndata["ntype"]
    model = SageModel(int(feat.shape[1]), cfg.hidden, cfg.out_dim, cfg.layers, len(hom.ntypes))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sampler = edge_sampler(hom, cfg.fanout, cfg.negatives)
    for _ in range(cfg.epochs):
        loader = dgl.dataloading.DataLoader(hom.g, hom.train_eids, sampler, batch_size=cfg.batch_size,
                                            shuffle=True, num_workers=0)
        for input_nodes, pair, neg, blocks in loader:
            z = model(blocks, feat[input_nodes], ntype[input_nodes])
            loss = sage_loss(model.score(z, *pair.edges()), model.score(z, *neg.edges()), cfg.negatives)
            opt.zero_grad()
            loss.backward()
            opt.step()
    torch.set_num_threads(os.cpu_count() or 1)
    model.eval()
    return model


def metrics(scores, labels, n_val):
    """Best-F1 threshold on validation rows (one precision_recall_curve), macro AUC and
    F1 on test rows: the plain scikit-learn way (a grid of f1_score calls was 6 of this
    script's 24 s, which made the reference slow rather than bare)."""
    import numpy as np
    from sklearn.metrics import f1_score, precision_recall_curve, roc_auc_score

    sv, yv, st, yt = scores[:n_val], labels[:n_val], scores[n_val:], labels[n_val:]
    p, r, t = precision_recall_curve(yv.ravel(), sv.ravel())
    f1 = np.where(p[:-1] + r[:-1] > 0, 2 * p[:-1] * r[:-1] / np.maximum(p[:-1] + r[:-1], 1e-12), 0.0)
    thr = float(t[int(np.argmax(f1))])
    keep = (yt.sum(0) > 0) & (yt.sum(0) < len(yt))
    auc = float(roc_auc_score(yt[:, keep], st[:, keep], average="macro"))
    return {"macro_auc": auc, "f1": float(f1_score(yt.ravel(), st.ravel() >= thr, zero_division=0))}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    import numpy as np
    import torch

    from engine.data.loaders import load_dataset
    from engine.experiment.config import ExperimentConfig
    from engine.features.clip import compute_features
    from engine.graph.homogeneous import to_homogeneous
    from engine.graph.knowledge import build_graph
    from engine.graph.reconnect import TrainGraphInfo, enlarged_graph, get_strategy
    from engine.graph.split import split_images, training_graph
    from engine.learn.model import full_inference, unseen_inference
    from engine.methods.baselines import BaselineInput, baseline_scores
    from engine.methods.scoring import cosine_scores

    cfg = ExperimentConfig() if args.epochs is None else ExperimentConfig(epochs=args.epochs)
    ds, features = compute_features(load_dataset(None))
    kg = build_graph(ds, features)
    split = split_images(ds.n_images, cfg.split, cfg.seed)
    hom = to_homogeneous(training_graph(kg.g, split.train), split.train)
    model = train(hom, cfg)
    with torch.no_grad():
        z, states = full_inference(model, hom.g, keep_states=True)
    lo, hi = hom.keyword_range
    kw = z[lo:hi].numpy()
    eval_rows = np.concatenate([split.val, split.test])
    labels = ds.label_matrix()[eval_rows].toarray().astype(bool)
    scores = {"clip": cosine_scores(features.image[eval_rows], features.keyword)}
    info, n = TrainGraphInfo.from_hom(hom), hom.num_nodes
    for strat in cfg.strategies:
        src, dst = get_strategy(strat)(info, eval_rows, features, ds, cfg)
        g2 = enlarged_graph(hom, eval_rows, features, src, dst)
        scores[f"sage_{strat}"] = cosine_scores(unseen_inference(model, g2, n, states).numpy(), kw)
    inp = BaselineInput(ds, features, split.train, split.val, eval_rows)
    for name in cfg.baseline_methods:
        scores[name] = baseline_scores(name, inp)
    out = {m: metrics(s, labels, len(split.val)) for m, s in scores.items()}
    out["_elapsed_s"] = time.perf_counter() - t0
    return out


# ------------------------------------------------------------- the paired benchmark row
def _wall(argv: list[str], timeout: float = 1200) -> float:
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(PYTHONPATH=str(root), HF_HUB_OFFLINE="1")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *argv], cwd=root, env=env, capture_output=True, text=True, check=False, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[:3]}: exit {out.returncode}: {out.stderr.strip()[-300:]}")
    return time.perf_counter() - t0


def run(ctx):
    """Stage 'e2e': a default ``mmkg-tui run`` on the demo vs this script, each a fresh
    process (imports included), alternated (ours, bare, bare, ours, ...)."""
    import statistics

    from benchmarks.harness import Row, check_ratio

    pairs = ctx.pick(1, 3)
    ours_argv = ["-m", "mmkg_tui", "run", "--out", str(ctx.subdir("e2e") / "run"), "--json", str(ctx.tmp / "e2e.json")]
    bare_argv = ["-m", "benchmarks.bare_run"]
    ours, bare = [], []
    for i in range(pairs):
        first, second = (ours_argv, bare_argv) if i % 2 == 0 else (bare_argv, ours_argv)
        a, b = _wall(first), _wall(second)
        (ours.append(a), bare.append(b)) if i % 2 == 0 else (bare.append(a), ours.append(b))
    o, r = statistics.median(ours), statistics.median(bare)
    row = Row("e2e", f"default mmkg-tui run on the demo vs benchmarks/bare_run.py ({pairs} alternated pair(s))",
              ours=o, reference=r, ratio=o / r, note=f"ours {o:.1f} s, bare {r:.1f} s (fresh processes, imports included)",
              extra={"ours_s": ours, "bare_s": bare})
    return [check_ratio(row, 1.1)]


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(main(sys.argv[1:]), indent=1))
