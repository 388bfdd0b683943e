"""``mmkg-tui partition``: partition the training graph for DistDGL.

What is partitioned is exactly the graph the single-machine path trains on for one
seed: the knowledge graph of the dataset, the split of ``seed`` (70/15/15 by default),
its training graph, as the homogeneous view (engine.graph.homogeneous). Node data:
``feat`` (CLIP features), ``ntype``; edge data: ``train_mask`` (the image->keyword
edges to predict). dgl.distributed.partition_graph relabels nodes and edges; with
``return_mapping=True`` we get the original ids and write, beside DGL's part config
``NAME.json``, one file ``NAME.mmkg.npz`` in the NEW id space:

- ``orig_nids``/``orig_eids``: new id -> id in the homogeneous training graph
- ``reverse_eids``: new id of each edge's reverse (DistDGL's exclude= is ignored in
  DGL 2.1.0, so the trainers exclude targets and reverses themselves)
- ``keyword_nids``: new ids of the keyword nodes (negatives are drawn among them)
- ``split``: the split assignment of every dataset image (0 train, 1 val, 2 test)

and ``NAME.mmkg.json`` (the dataset path, seed, split fractions, fingerprint) so a
distributed run can check it trains on what it evaluates.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from engine.core.atomic import atomic_dir, atomic_write_text
from engine.core.errors import ConfigError, DataError

GRAPH_NAME = "mmkg"


@dataclass
class PartitionMeta:
    graph_name: str
    parts: int
    data: str | None  # dataset path as given (None = the bundled demo)
    embeddings: str | None
    seed: int
    split: tuple[float, float, float]
    fingerprint: str
    num_nodes: int
    num_edges: int
    train_edges: int
    files: dict[str, int] = field(default_factory=dict)  # every file of the folder (relative path) -> bytes

    @classmethod
    def read(cls, part_config: str | Path) -> PartitionMeta:
        path = meta_path(part_config)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            d["split"] = tuple(d["split"])
            return cls(**d)
        except FileNotFoundError:
            raise DataError("not a partition written by mmkg-tui partition (metadata missing)", path=path,
                            hint="partition the dataset with: mmkg-tui partition --data PATH --parts N --out DIR") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise DataError(f"unreadable partition metadata ({exc})", path=path,
                            hint="re-run mmkg-tui partition into an empty folder") from None


def meta_path(part_config) -> Path:
    p = Path(part_config)
    return p.with_name(p.stem + ".mmkg.json")


def arrays_path(part_config) -> Path:
    p = Path(part_config)
    return p.with_name(p.stem + ".mmkg.npz")


def check_part_config(part_config) -> Path:
    p = Path(part_config)
    if not p.is_file():
        raise ConfigError(f"partition config {p} not found", field="--part-config",
                          hint="give the NAME.json that mmkg-tui partition wrote (e.g. parts/mmkg.json)")
    return p


def training_view(data, embeddings, seed: int, split=(0.7, 0.15, 0.15)):
    """(dataset, features, kg, split, hom) exactly as the single-machine path builds them."""
    from engine.data.loaders import load_dataset
    from engine.features.clip import compute_features
    from engine.graph.homogeneous import to_homogeneous
    from engine.graph.knowledge import build_graph
    from engine.graph.split import split_images, training_graph

    dataset, features = compute_features(load_dataset(data, embeddings=embeddings))
    kg = build_graph(dataset, features)
    sp = split_images(dataset.n_images, split, seed)
    hom = to_homogeneous(training_graph(kg.g, sp.train), sp.train)
    return dataset, features, kg, sp, hom


def new_id_arrays(hom, orig_nids: np.ndarray, orig_eids: np.ndarray) -> dict[str, np.ndarray]:
    """The trainers' arrays in the partitioned (new) id space."""
    inv_e = np.empty_like(orig_eids)
    inv_e[orig_eids] = np.arange(len(orig_eids))
    inv_n = np.empty_like(orig_nids)
    inv_n[orig_nids] = np.arange(len(orig_nids))
    rev_orig = hom.reverse_eids.numpy()
    lo, hi = hom.keyword_range
    return {
        "orig_nids": orig_nids, "orig_eids": orig_eids,
        "reverse_eids": inv_e[rev_orig[orig_eids]],
        "keyword_nids": np.sort(inv_n[np.arange(lo, hi)]),
    }


def partition_dataset(data, parts: int, out_dir, *, embeddings=None, seed: int = 0,
                      split=(0.7, 0.15, 0.15), method: str | None = None) -> Path:
    """Partition; returns the part config path (``out_dir/mmkg.json``). The folder is
    built under a temporary name and renamed into place when complete."""
    import torch

    os.environ.setdefault("DGLBACKEND", "pytorch")
    import dgl

    from engine.data.fingerprint import dataset_fingerprint

    if parts < 1:
        raise ConfigError(f"--parts {parts}: need at least one partition", field="--parts",
                          hint="one partition per machine, e.g. --parts 2 for two machines")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty", field="--out",
                          hint="give a new or empty folder (partitions are never written over)")
    dataset, _, _, sp, hom = training_view(data, embeddings, seed, split)
    g = hom.g
    mask = torch.zeros(g.num_edges(), dtype=torch.bool)
    mask[hom.train_eids] = True
    g.edata["train_mask"] = mask
    method = method or ("metis" if parts > 1 else "random")
    # DGL names its shared memory after the graph: a name of its own per partitioning keeps two
    # jobs on one host (two users, two test runs) apart; the config file keeps the fixed name
    graph_name = f"{GRAPH_NAME}-{uuid.uuid4().hex[:12]}"
    with atomic_dir(out) as tmp:  # complete or absent: Ctrl-C leaves no half partition
        orig_nids, orig_eids = dgl.distributed.partition_graph(
            g, graph_name, parts, str(tmp), part_method=method, return_mapping=True, balance_edges=True)
        (tmp / f"{graph_name}.json").rename(tmp / f"{GRAPH_NAME}.json")
        arrays = new_id_arrays(hom, orig_nids.numpy(), orig_eids.numpy())
        arrays["split"] = np.asarray(sp.assignment)
        arrays["n_ntypes"] = np.asarray(len(hom.ntypes))
        np.savez(arrays_path(tmp / f"{GRAPH_NAME}.json"), **arrays)
        meta = PartitionMeta(graph_name, parts, None if data is None else str(data),
                             None if embeddings is None else str(embeddings), int(seed), tuple(split),
                             dataset_fingerprint(dataset), int(g.num_nodes()), int(g.num_edges()),
                             int(hom.train_eids.numel()), file_sizes(tmp))
        atomic_write_text(meta_path(tmp / f"{GRAPH_NAME}.json"), json.dumps(asdict(meta), indent=2))
    return out / f"{GRAPH_NAME}.json"


def file_sizes(folder) -> dict[str, int]:
    """Relative path -> size in bytes of every file under ``folder`` (sorted)."""
    root = Path(folder)
    return {f.relative_to(root).as_posix(): f.stat().st_size for f in sorted(root.rglob("*")) if f.is_file()}


def check_files(part_config, meta: PartitionMeta) -> None:
    """DataError naming the first file of this machine's copy of the partition folder
    whose size is not the one written by ``mmkg-tui partition`` (a truncated or damaged
    copy: DGL 2.1.0 loads a truncated node_feat.dgl without an error). Files absent
    here are not checked (a machine may hold only its own part)."""
    root = Path(part_config).parent
    for rel, size in meta.files.items():
        path = root / rel
        if path.is_file() and (now := path.stat().st_size) != size:
            raise DataError(f"partition file is {now:,} bytes, {size:,} when it was partitioned", path=path,
                            hint="the copy is damaged or incomplete: copy the partition folder again, "
                                 "or re-run mmkg-tui partition")


def load_arrays(part_config) -> dict[str, np.ndarray]:
    path = arrays_path(part_config)
    if not path.is_file():
        raise DataError("partition id mapping missing", path=path,
                        hint="re-run mmkg-tui partition; every machine needs the whole partition folder")
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"partition id mapping unreadable ({type(exc).__name__}: {exc})", path=path,
                        hint="the partition folder is damaged: copy it again or re-run mmkg-tui partition") from None
