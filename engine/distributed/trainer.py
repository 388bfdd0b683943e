"""One process of a DistDGL job, by DGL's conventions: ``DGL_ROLE=server`` serves its
machine's partition until the trainers finish; otherwise the process is a trainer
(rank ``RANK`` of ``WORLD_SIZE``, torch.distributed on gloo, MASTER_ADDR/PORT).

A trainer builds the single-machine model (engine.learn.train.build_model), samples
minibatches of the training edges of its share (dgl.distributed.edge_split) with a
DistEdgeDataLoader and our own exclusion (engine.distributed.sampling), and trains it
under DistributedDataParallel (``find_unused_parameters=True``: the layers of a node
type absent from a minibatch get no gradient). The per-trainer batch is
``batch_size / WORLD_SIZE``, so a global step sees as many edges as one
single-machine step. Rank 0 then evaluates and writes the run folder
(engine.distributed.evaluate). One OpenMP thread per process.
"""

from __future__ import annotations

import os
import sys
import time
import traceback

os.environ.setdefault("DGLBACKEND", "pytorch")
os.environ.setdefault("DGL_DIST_MAX_TRY_TIMES", "30")  # the default retries ~50 min when a server dies

import torch

from engine.distributed.trainer_job import DistJob

# A server's sampling seed is the job's seed + this + its id. Neighbours of nodes in a
# trainer's own partition are sampled in the trainer (seeded with seed + rank); those of
# another partition's nodes by that partition's server, which DGL seeds at random
# otherwise: two runs of a 2-machine job then differed (sage_self macro AUC 0.7269 vs
# 0.7188). With one trainer per machine each server then serves one remote trainer, in
# order; with several, the order their requests arrive in still varies.
SERVER_SEED_OFFSET = 1_000_003


class LinkModel(torch.nn.Module):
    """Forward = embeddings + positive and negative scores, so DDP sees every
    parameter use inside one forward (score's temperature included)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, blocks, x, nt, pos_edges, neg_edges):
        z = self.model(blocks, x, nt)
        return self.model.score(z, *pos_edges), self.model.score(z, *neg_edges)


def role() -> str:
    return os.environ.get("DGL_ROLE", "client")


def train_distributed(g, arrays, config, rank: int, world: int):
    """Train on the DistGraph ``g``; returns (SageModel, loss history)."""
    import dgl
    from torch.nn.parallel import DistributedDataParallel

    from engine.distributed.sampling import dist_loader
    from engine.learn.loss import sage_loss
    from engine.learn.model import SageModel
    from engine.learn.train import make_optimizer

    torch.manual_seed(config.seed)
    dgl.seed(config.seed + rank)
    in_dim = int(g.ndata["feat"].shape[1])
    n_types = int(arrays["n_ntypes"])
    model = SageModel(in_dim, config.hidden, config.out_dim, config.layers, n_types, aggregator=config.aggregator,
                      dropout=config.dropout, init_scale=config.temperature)  # as engine.learn.train.build_model
    ddp = DistributedDataParallel(LinkModel(model), find_unused_parameters=True)
    opt = make_optimizer(model, config)
    eids = dgl.distributed.edge_split(g.edata["train_mask"], g.get_partition_book(), force_even=True)
    batch = max(1, config.batch_size // world)
    history = []
    for _ in range(config.epochs):
        loader = dist_loader(g, eids, config.fanout, config.negatives, arrays["reverse_eids"], arrays["keyword_nids"],
                             batch_size=batch)
        total, steps = 0.0, 0
        for input_nodes, pair, neg, blocks in loader:
            pos_s, neg_s = ddp(blocks, g.ndata["feat"][input_nodes], g.ndata["ntype"][input_nodes],
                               pair.edges(), neg.edges())
            loss = sage_loss(pos_s, neg_s, config.negatives)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + float(loss.item()), steps + 1
        mean = torch.tensor([total / max(steps, 1)])
        torch.distributed.all_reduce(mean)
        history.append(float(mean) / world)
    model.eval()
    return model, history


def run_process(job: DistJob) -> int:
    """Entry of every process of the job (server or trainer); 0 when it succeeded. An
    exception is reported on stderr (the error, or its traceback for a bug) and ends this
    process at once with exit code 2 (an MMKGError) or 1: os._exit, because DGL's atexit
    ``exit_client`` would otherwise wait forever at a barrier for peers that wait for
    us. The launcher (or DGL's tools/launch.py) then ends the other processes."""
    from engine.core.errors import MMKGError

    try:
        return _serve_or_train(job)
    except MMKGError as exc:
        _die(f"error: {exc.format()}", 2)
    except Exception as exc:  # noqa: BLE001 - a bug: reported with its traceback, never swallowed
        first = (str(exc).strip().splitlines() or [""])[0]
        _die(f"{traceback.format_exc()}{_who()} failed: {type(exc).__name__}: {first}", 1)
    return 1  # not reached


def _who() -> str:
    return "server" if role() == "server" else f"trainer {os.environ.get('RANK', '?')}"


def _die(message: str, code: int) -> None:
    """``message`` on stderr, then end this process now with ``code`` (no atexit hooks)."""
    print(message, file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(code)


def _serve_or_train(job: DistJob) -> int:
    import dgl

    from engine.distributed.evaluate import load_view, write_result
    from engine.distributed.partition import PartitionMeta, check_files, load_arrays

    torch.set_num_threads(1)
    if role() == "server":  # it samples the neighbourhoods of its nodes for remote trainers
        dgl.seed(job.config.seed + SERVER_SEED_OFFSET + int(os.environ.get("DGL_SERVER_ID", "0")))
    meta = PartitionMeta.read(job.part_config)
    check_files(job.part_config, meta)
    dgl.distributed.initialize(job.ip_config)  # a server serves here, then exits the process (SystemExit)
    started = time.perf_counter()
    torch.distributed.init_process_group(backend="gloo")
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    arrays = load_arrays(job.part_config)
    view = load_view(meta) if rank == 0 else None  # before training: a changed dataset fails now
    g = dgl.distributed.DistGraph(meta.graph_name, part_config=job.part_config)
    model, history = train_distributed(g, arrays, job.config, rank, world)
    torch.distributed.barrier()
    if rank == 0:
        write_result(job, view, model, history, time.perf_counter() - started)
    torch.distributed.barrier()
    dgl.distributed.exit_client()
    return 0


if __name__ == "__main__":  # a process of a job started by engine.distributed.launch
    sys.exit(run_process(DistJob.read(sys.argv[1])))
