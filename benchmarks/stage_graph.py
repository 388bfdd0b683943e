"""Stage 2: loading a 100k-row manifest (vs csv.reader alone), and dataset -> DGL
heterograph vs dgl.heterograph on the same prepared arrays alone."""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.harness import Row, alternate, check_max, pair_row

TARGET = 1.5


def prepared_arrays(dataset, features) -> tuple[dict, dict]:
    """The exact data dict build_graph hands to DGL (forward + reverse tensors), built once."""
    import torch

    from engine.graph.knowledge import REVERSE_ETYPES, edge_arrays

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

    from engine.graph.knowledge import build_graph

    rows = [manifest_100k(ctx)]
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


def manifest_100k(ctx: Context, n: int = 100_000) -> Row:
    """engine's manifest loader (validation, keyword vocabulary, attributes) on a 100k-row
    CSV vs csv.reader over the same file; the target (< 6 s) was a timed test before."""
    import csv

    from engine.data.loaders import load_dataset

    folder = ctx.subdir("manifest-100k")
    from PIL import Image

    Image.new("RGB", (4, 4)).save(folder / "img.png")
    kws = ["pool", "patio", "deck", "lawn", "fireplace"]
    lines = ["id,image,keywords,scene,price,city"]
    lines += [f"r{i},img.png,{kws[i % 5]}|{kws[(i * 7) % 5]},s{i % 3},{i},c{i % 11}" for i in range(n)]
    path = folder / "big.csv"
    path.write_text("\n".join(lines) + "\n")

    def reference():
        with open(path, newline="") as fh:
            return sum(1 for _ in csv.reader(fh))

    pt = alternate(lambda: load_dataset(path), reference, repeats=3, warmup=1)
    return check_max(pair_row("graph", f"load a {n:,}-row manifest", pt, note="ref = csv.reader over the file"), 6.0)
