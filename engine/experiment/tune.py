"""``--tune N``: a small seeded search over the learning settings, scored on VALIDATION only.

N configurations are drawn (seeded by ``config.seed``) from ``SEARCH_SPACE``; each
is trained and scored on the first seed's validation images (the selection
metric of its best ``sage_*`` method, validation rows only: a trial's test
metrics are computed by the shared seed runner but never read here). The winner's
settings replace the configured ones and the experiment then runs as usual, so
the test images are evaluated once, for the winner only. Every trial is recorded
(``RunResult.tuning``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.core.progress import StageProgress, check_cancel
from engine.experiment.validation import selection_score

#: setting -> candidate values (fanout follows layers: 3 sampled neighbours per layer)
SEARCH_SPACE: dict[str, tuple] = {
    "layers": (1, 2, 3),
    "lr": (3e-4, 1e-3, 3e-3),
    "temperature": (5.0, 10.0, 20.0),
    "dropout": (0.0, 0.1, 0.3),
    "epochs": (8, 12, 20),
    "cosine_k": (3, 5, 10),
    "anchor": (0.0, 0.5),
    "weight_decay": (0.0, 0.01),
    "edge_weight": ("none", "cosine"),
}


@dataclasses.dataclass(frozen=True)
class Trial:
    overrides: dict
    validation_score: float
    best_method: str

    def to_json(self) -> dict:
        return {"overrides": self.overrides, "validation_score": self.validation_score, "best_method": self.best_method}


def draw_candidates(n: int, seed: int, space: dict[str, tuple] | None = None) -> list[dict]:
    """``n`` distinct seeded settings; the first overrides nothing (the configured settings
    themselves), so tuning can only keep or improve the validation score."""
    space = SEARCH_SPACE if space is None else space
    rng = np.random.default_rng([int(seed), 7919])
    out: list[dict] = [{}]
    seen = {()}
    tries = 0
    while len(out) < n and tries < 100 * n:
        tries += 1
        cand = {k: v[int(rng.integers(len(v)))] for k, v in space.items()}
        key = tuple(sorted(cand.items()))
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out[:n]


def apply(config, overrides: dict):
    """``config`` with ``overrides`` (fanout follows layers)."""
    kw = dict(overrides)
    if "layers" in kw:
        kw["fanout"] = (3,) * int(kw["layers"])
    cfg = dataclasses.replace(config, **kw)
    if cfg.anchor and cfg.out_dim != cfg.hidden:
        cfg = dataclasses.replace(cfg, anchor=0.0)
    return cfg


def validation_score(seed_result, metric: str) -> tuple[float, str]:
    """(best validation score over the sage methods, that method) of one seed."""
    ev = seed_result.eval
    metric = "mean" if metric == "none" else metric
    best = None
    for m, s in seed_result.scores.items():
        if not m.startswith("sage_"):
            continue
        v = selection_score(s[ev.val_mask], ev.labels[ev.val_mask], metric)
        if best is None or v > best[0]:
            best = (v, m)
    return best


def tune(dataset, features, kg, config, run_seed, cancel):
    """Generator: the trials (one seed each); returns (winning config, trials)."""
    cands = draw_candidates(config.tune, config.seed)
    trials: list[Trial] = []
    for i, over in enumerate(cands):
        check_cancel(cancel)
        yield StageProgress("tune", i, len(cands), ", ".join(f"{k}={v}" for k, v in over.items()) or "defaults")
        cfg = apply(dataclasses.replace(config, seeds=1, tune=0), over)
        cfg.validate()
        sr = yield from run_seed(dataset, features, kg, cfg, cfg.seed, 0, cancel)
        score, method = validation_score(sr, config.select_metric)
        trials.append(Trial(dict(over), float(score), method))
    yield StageProgress("tune", len(cands), len(cands))
    best = max(range(len(trials)), key=lambda j: (trials[j].validation_score, -j))
    return apply(config, trials[best].overrides), trials
