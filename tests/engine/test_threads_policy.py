"""Thread policy (engine.core.thread): OMP_WAIT_POLICY set before torch loads, the
training thread count read from MMKG_TRAIN_THREADS with a clear error."""

import os
import subprocess
import sys

import pytest

from engine.core.errors import ConfigError
from engine.core.thread import TRAIN_THREADS_ENV, training_threads

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _py(code: str, env_extra: dict | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(PYTHONPATH=ROOT, HF_HUB_OFFLINE="1", **(env_extra or {}))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_engine_api_sets_passive_before_torch_is_loaded():
    got = _py("import sys\nfrom engine import api\nimport os\n"
              "print('torch' in sys.modules, os.environ.get('OMP_WAIT_POLICY'), api.wait_policy_status())")
    assert got == "False PASSIVE OMP_WAIT_POLICY=PASSIVE"


def test_user_wait_policy_wins():
    got = _py("from engine import api\nimport os\nprint(os.environ['OMP_WAIT_POLICY'])", {"OMP_WAIT_POLICY": "ACTIVE"})
    assert got == "ACTIVE"


def test_status_says_when_torch_came_first():
    got = _py("import torch\nfrom engine.core import thread\nprint(thread.wait_policy_status())")
    assert got.startswith("libgomp default (torch was imported before")


def test_wait_policy_is_read_only_when_libgomp_loads():
    """The fact the policy rests on: ACTIVE set before torch makes idle OpenMP threads
    spin (CPU time while the main thread sleeps); set after torch it does nothing.
    Counted in CPU seconds burnt, not wall time."""
    code = ("import os, sys, time\n{before}\nimport torch\n{after}\ntorch.set_num_threads(2)\n"
            "a = torch.randn(300, 300)\nfor _ in range(20): a @ a\n"
            "c0, w0 = time.process_time(), time.monotonic()\n"
            # the main thread sleeps until the idle threads burnt 0.2 CPU s (a busy machine gives
            # them a smaller share, so it may take longer) or 0.4 s if they do not spin; 120 s bounds it
            "while time.process_time() - c0 < 0.2 and time.monotonic() - w0 < {wait}: time.sleep(0.05)\n"
            "print(time.process_time() - c0)")
    set_it = "os.environ['OMP_WAIT_POLICY'] = 'ACTIVE'"
    spun_before = float(_py(code.format(before=set_it, after="", wait=120)))
    spun_after = float(_py(code.format(before="", after=set_it, wait=0.4)))
    assert spun_after < 0.05  # 0.4 s of sleep burnt (almost) nothing: a busy machine only lowers it
    assert spun_before >= 0.2  # the spinning threads burnt CPU while the main thread slept


@pytest.mark.parametrize("raw,want", [("1", 1), ("2", 2), (" 3 ", 3)])
def test_training_threads_from_env(raw, want):
    assert training_threads({TRAIN_THREADS_ENV: raw}) == want


def test_training_threads_default_and_all():
    assert training_threads({}) == 1
    assert training_threads({TRAIN_THREADS_ENV: "all"}) == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("raw", ["0", "-2", "two", ""])
def test_training_threads_bad_value_names_the_variable(raw):
    with pytest.raises(ConfigError) as err:
        training_threads({TRAIN_THREADS_ENV: raw})
    assert err.value.field == TRAIN_THREADS_ENV
    assert "positive whole number" in err.value.hint
