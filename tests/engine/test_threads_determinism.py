"""Multi-threaded training and determinism: the same seed and the same
MMKG_TRAIN_THREADS in separate processes, competing with each other and with a busy
process for the CPU, give identical scores and losses. One thread (the default) is
also checked in test_determinism_processes.py. Two threads are reproducible because
DGL's random work (dgl.seed, sampling) runs on one OpenMP thread and only the dense
math on more (engine/core/thread.py ``sampling_thread``); the last test checks that
split directly."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# select_metric "none", blend off: the scores are the last epoch's model alone (with
# selection an untrained epoch 0 may win, and the blend may choose pure CLIP, either of
# which hides a difference in training); the loss is printed too
CODE = """
import hashlib, os
import numpy as np
from engine import api
from engine.data.synthetic.world import make_world
ds, f = api.compute_features(make_world(300, seed=1))
cfg = api.ExperimentConfig(hidden=32, out_dim=32, epochs=1, seed=0, strategies=("self",), baselines=False,
                           select_metric="none", blend=False)
r = api.run_experiment(ds, f, cfg)
print(hashlib.sha1(np.ascontiguousarray(r.scores["sage_self"]).tobytes()).hexdigest(), repr(r.loss_history))
"""

# the OpenMP thread count seen by the optimizer steps and by DGL's neighbour sampling
SPLIT_CODE = """
import torch, dgl
from engine import api
from engine.data.synthetic.world import make_world
dense, sampling = set(), set()
step = torch.optim.Adam.step
def counted_step(self, *a, **k):
    dense.add(torch.get_num_threads())
    return step(self, *a, **k)
torch.optim.Adam.step = counted_step
sample = dgl.dataloading.NeighborSampler.sample_blocks
def counted_sample(self, *a, **k):
    sampling.add(torch.get_num_threads())
    return sample(self, *a, **k)
dgl.dataloading.NeighborSampler.sample_blocks = counted_sample
ds, f = api.compute_features(make_world(200, seed=1))
api.run_experiment(ds, f, api.ExperimentConfig(hidden=16, out_dim=16, epochs=1, strategies=("self",),
                                              baselines=False, select_metric="none"))
print(sorted(dense), sorted(sampling))
"""

HOG = "while True: pass"


def _runs(threads: str, n: int) -> list[str]:
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE="1", MMKG_TRAIN_THREADS=threads)
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        procs = [subprocess.Popen([sys.executable, "-c", CODE], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(n)]
        outs = []
        try:
            for p in procs:
                out, err = p.communicate(timeout=400)
                assert p.returncode == 0, err[-2000:]
                outs.append(out.strip().splitlines()[-1])
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    finally:
        hog.kill()
        hog.wait()
    return outs


def test_two_threads_same_seed_same_scores_across_processes_under_load():
    outs = _runs("2", 4)
    assert len(set(outs)) == 1, outs


def test_train_threads_env_reaches_the_dense_math_and_sampling_stays_on_one_thread():
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE="1")
    for threads, dense in (("1", "[1]"), ("2", "[2]")):
        out = subprocess.run([sys.executable, "-c", SPLIT_CODE], env=dict(env, MMKG_TRAIN_THREADS=threads),
                             capture_output=True, text=True, timeout=400)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().splitlines()[-1] == f"{dense} [1]", (threads, out.stdout)
