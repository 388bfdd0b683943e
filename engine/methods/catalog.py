"""Every method an experiment can report: its kind and what it needs from the dataset.

* ``clip`` is "zero_shot" (no label seen), the registered baselines
  (engine.methods.baselines) are "baseline", ``sage_<strategy>`` are "learned".
* A method that needs something the dataset lacks is not run: the baselines declare
  it when they register (``needs=("scenes",)``), the reconnection strategies here in
  ``STRATEGY_NEEDS``. ``skipped_methods`` says which and why.
"""

from __future__ import annotations

import numpy as np

from engine.methods.baselines import BASELINES, NEEDS

KINDS = ("zero_shot", "baseline", "learned")
STRATEGY_NEEDS: dict[str, tuple[str, ...]] = {"scene": ("scenes",)}  # strategy -> needs
WHY = {"scenes": "the dataset has no scenes"}


def method_kind(method: str) -> str:
    if method == "clip":
        return "zero_shot"
    return "baseline" if method in BASELINES else "learned"


def method_needs(method: str) -> tuple[str, ...]:
    if method in NEEDS:
        return NEEDS[method]
    if method.startswith("sage_"):
        return STRATEGY_NEEDS.get(method[len("sage_"):], ())
    return ()


def dataset_has(dataset, need: str) -> bool:
    if need == "scenes":
        return dataset.n_scenes > 0 and bool((np.asarray(dataset.image_scene) >= 0).any())
    raise ValueError(f"unknown need {need!r}")


def skipped_methods(dataset, methods: list[str]) -> dict[str, str]:
    """method -> why it is not run on this dataset (methods whose needs are all met are absent)."""
    out = {}
    for m in methods:
        missing = [n for n in method_needs(m) if not dataset_has(dataset, n)]
        if missing:
            out[m] = "; ".join(WHY[n] for n in missing)
    return out
