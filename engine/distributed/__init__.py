"""Training beyond one machine on DGL's own distributed engine (DistDGL).

partition.py  ``mmkg-tui partition``: the training graph of one seed's split,
              partitioned with dgl.distributed.partition_graph (+ our metadata)
sampling.py   link-prediction sampling on a DistGraph that excludes each minibatch's
              target edges and their reverses itself (DGL 2.1.0 ignores exclude=)
trainer.py    one process of a DistDGL job (server or trainer, by DGL_ROLE)
evaluate.py   rank 0: the single-machine evaluation of the trained model -> run folder
launch.py     launcher around DGL's conventions (DGL_ROLE, DGL_IP_CONFIG...): 1 server +
              K trainers on every machine of the ip config
hosts.py      how a process is started on machine X (here, a command prefix, ssh)
namespaces.py two machines simulated by network namespaces (root), for tests/benchmarks

Nothing here is imported by engine.api at import time (DGL is heavy).
"""
