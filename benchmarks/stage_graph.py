"""Stage 2: dataset -> DGL heterograph, vs dgl.heterograph on the same prepared arrays alone."""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.harness import Row, alternate, pair_row

TARGET = 1.5


def prepared_arrays(dataset, features) -> tuple[dict, dict]:
    """The exact data dict build_graph hands to DGL (forward + reverse tensors), built once."""
    import torch

    from engine.graph import REVERSE_ETYPES, edge_arrays

    data = {}
    for (s, e, d), (src, dst) in edge_arrays(dataset, features.bins).items():
        data[(s, e, d)] = (torch.from_numpy(src), torch.from_numpy(dst))
        data[(d, REVERSE_ETYPES[e], s)] = (torch.from_numpy(dst), torch.from_numpy(src))
    num_nodes = {"image": dataset.n_images, "keyword": dataset.n_keywords,
                 "scene": dataset.n_scenes, "attribute": features.bins.n_nodes}
    return data, num_nodes


def run(ctx: Context) -> list[Row]:
    import dgl
    import torch

    from engine.graph import build_graph

    rows = []
    for n in ctx.pick((3000, 10_000), (3000, 100_000)):
        ds, feats = ctx.world(n), ctx.features(n)
        data, num_nodes = prepared_arrays(ds, feats)
        pt = alternate(lambda: build_graph(ds, feats),
                       lambda: dgl.heterograph(data, num_nodes_dict=num_nodes, idtype=torch.int64),
                       repeats=21, warmup=2)
        n_edges = sum(len(v[0]) for v in data.values())
        rows.append(pair_row("graph", f"build_graph, {n:,} images ({n_edges:,} edges)", pt, max_ratio=TARGET,
                             note="ours includes edge arrays + features; ref = dgl.heterograph only"))
    return rows
