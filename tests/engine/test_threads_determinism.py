"""Multi-threaded training and determinism: the same seed and the same
MMKG_TRAIN_THREADS in separate processes, competing with each other and with a busy
process for the CPU. One thread (the default) is checked in
test_determinism_processes.py; two threads are NOT reproducible under load with DGL
2.1.0 (see engine/core/thread.py), kept here as an expected failure so a fix shows."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CODE = """
import hashlib, os
import numpy as np
from engine import api
from engine.data.synthetic.world import make_world
ds, f = api.compute_features(make_world(300, seed=1))
cfg = api.ExperimentConfig(hidden=32, out_dim=32, epochs=1, seed=0, strategies=("self",), baselines=False)
r = api.run_experiment(ds, f, cfg)
print(hashlib.sha1(np.ascontiguousarray(r.scores["sage_self"]).tobytes()).hexdigest(), repr(r.loss_history))
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


@pytest.mark.xfail(reason="DGL 2.1.0 CPU sampling with 2 OpenMP threads depends on scheduling: measured 1 of 3 "
                          "processes under load sampled differently (engine/core/thread.py)", strict=False)
def test_two_threads_same_seed_same_scores_across_processes_under_load():
    outs = _runs("2", 3)
    assert len(set(outs)) == 1, outs


def test_train_threads_env_reaches_training():
    """MMKG_TRAIN_THREADS changes how training runs (2 threads sample differently from
    1), so the variable is honoured by engine.learn.train through the policy."""
    one, two = _runs("1", 1)[0], _runs("2", 1)[0]
    assert one != two
