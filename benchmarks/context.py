"""Shared state handed to every stage: quick/full sizes, a temp folder, cached worlds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Context:
    quick: bool
    tmp: Path
    log: Any = print  # callable(str): progress lines on stderr
    _worlds: dict[tuple[int, int], Any] = field(default_factory=dict)

    def pick(self, quick_value, full_value):
        return quick_value if self.quick else full_value

    def world(self, n_images: int, seed: int = 0):
        """A synthetic world (dataset with precomputed embeddings), cached per size."""
        key = (n_images, seed)
        if key not in self._worlds:
            from engine.data.synthetic.world import make_world

            self._worlds[key] = make_world(n_images, seed=seed)
        return self._worlds[key]

    def features(self, n_images: int, seed: int = 0):
        key = ("features", n_images, seed)
        if key not in self._worlds:
            from engine.features.bundle import precomputed_features

            self._worlds[key] = precomputed_features(self.world(n_images, seed))
        return self._worlds[key]

    def subdir(self, name: str) -> Path:
        p = self.tmp / name
        p.mkdir(parents=True, exist_ok=True)
        return p


def offline_env() -> None:
    """The suite never touches the network."""
    import warnings

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("DGLBACKEND", "pytorch")
    warnings.filterwarnings("ignore", message=".*CPU affinity.*")  # DGL's per-DataLoader nag
