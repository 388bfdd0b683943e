"""Everything retrieval needs in one place: the dataset, its features, an optional
saved run, and the spaces built from them on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.core.errors import ConfigError
from engine.retrieval.space import Space, clip_space, learned_methods, learned_space

SPACES = ("clip", "learned")


@dataclass
class Retrieval:
    dataset: object
    features: object
    run: object | None = None
    run_dir: str | None = None
    _spaces: dict[str, Space] = field(default_factory=dict, repr=False)
    _default_method: str | None = field(default=None, repr=False)
    with_training: bool = False  # also embed the training images from the saved model (seconds)
    index_kind: str = "auto"  # every space's search index (engine.retrieval.ann.make_index)
    _training: tuple | None = field(default=None, repr=False)

    @property
    def has_learned(self) -> bool:
        return self.run is not None and bool(learned_methods(self.run)) and "sage" in self.run.keyword_embeddings

    def space(self, name: str = "clip", method: str | None = None) -> Space:
        """The CLIP space, or the learned space of ``method`` (default: chosen on validation)."""
        if name not in SPACES:
            raise ConfigError(f"unknown space '{name}'", field="space", hint="clip or learned")
        if name == "learned":
            if not self.has_learned:
                raise ConfigError("the learned space needs a saved run", field="space",
                                  hint="train with `mmkg-tui run` and pass --run DIR, or use --space clip")
            name = method or self.default_method()
        if name not in self._spaces:
            space = clip_space(self.dataset, self.features) if name == "clip" else self._learned(name)
            space.index_kind = self.index_kind
            self._spaces[name] = space
        return self._spaces[name]

    def _learned(self, method: str) -> Space:
        training = None
        if self.with_training:
            from engine.retrieval.training_space import training_embeddings

            if self._training is None:  # one model run serves every learned method
                self._training = training_embeddings(self.run, self.run_dir, self.dataset, self.features)
            training = self._training
        return learned_space(self.run, self.dataset, self.features, method, training=training)

    def default_method(self) -> str:
        """The learned method whose keyword queries rank VALIDATION images best (nDCG@10)."""
        if self._default_method is None:
            self._default_method = best_learned_method(self.run)
        return self._default_method

    @property
    def split(self) -> np.ndarray | None:
        return None if self.run is None else np.asarray(self.run.split)

    def corrections_path(self) -> Path:
        from engine.retrieval.corrections import default_corrections_path

        return default_corrections_path(self.run_dir, self.dataset)


def best_learned_method(run) -> str:
    """Among the run's learned methods, the best mean nDCG@10 of keyword queries over
    its validation images (ties: run order). Test images are not looked at."""
    from engine.retrieval.quality import keyword_query_quality

    methods = learned_methods(run)
    val = np.asarray(run.val_mask(), dtype=bool)
    best, best_score = methods[0], -np.inf
    for m in methods:
        q = keyword_query_quality(m, run.image_embeddings[m][val], run.keyword_embeddings["sage"],
                                  run.labels[val], run.keywords)
        score = q.ndcg if np.isfinite(q.ndcg) else -np.inf
        if score > best_score:
            best, best_score = m, score
    return best
