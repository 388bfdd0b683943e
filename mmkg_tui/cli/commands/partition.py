"""`mmkg-tui partition --data PATH --parts N --out DIR`: partition the training graph
(one seed's split) for DistDGL with dgl.distributed.partition_graph (features, node
types, the training-edge mask, the id mapping back to the original graph). Then
`mmkg-tui run --distributed --part-config DIR/mmkg.json --ip-config FILE`."""

from __future__ import annotations

import argparse

from engine import api


def configure(parser: argparse.ArgumentParser) -> None:
    from mmkg_tui.cli.main import add_data_arguments

    add_data_arguments(parser)
    parser.add_argument("--parts", type=int, required=True, help="number of partitions (one per machine)")
    parser.add_argument("--out", metavar="DIR", required=True, help="new or empty folder for the partitions")
    parser.add_argument("--seed", type=int, default=api.ExperimentConfig().seed,
                        help="seed of the split whose training graph is partitioned (default 0)")
    parser.add_argument("--method", choices=("metis", "random"), default=None,
                        help="partition method (default metis, random for one part)")


def run(args: argparse.Namespace) -> int:
    part_config = api.partition_dataset(args.data, args.parts, args.out, embeddings=args.embeddings,
                                        seed=args.seed, method=args.method)
    meta = api.PartitionMeta.read(part_config)
    print(f"{meta.parts} partition(s) of {meta.num_nodes:,} nodes / {meta.num_edges:,} edges "
          f"({meta.train_edges:,} training edges, split of seed {meta.seed}) in {args.out}")
    print(f"next: mmkg-tui run --distributed --part-config {part_config} --ip-config ip_config.txt")
    if meta.parts > 1:
        print(f"  ip_config.txt: one 'IP PORT' line per machine, {meta.parts} machines, machine i serves part i "
              "(docs/SCALING.md: a cluster, or two simulated by network namespaces)")
    return 0
