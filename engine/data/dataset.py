"""The in-memory dataset model shared by every loader and every later stage.

Columnar on purpose: a million images are a handful of numpy arrays, not a
million Python objects. Image -> keywords is stored as CSR (indptr/indices).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.core.errors import Problem

if TYPE_CHECKING:
    import scipy.sparse


@dataclass
class PrecomputedEmbeddings:
    """Vectors that came with the dataset instead of from a CLIP model.

    ``image`` rows are aligned with ``Dataset.ids``. ``text`` maps a label
    (keyword, scene or attribute-bin label) to its vector; it may be empty, in
    which case text vectors must come from a CLIP text tower.
    """

    image: np.ndarray  # (N, D) float32
    text: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = "precomputed"  # shown to the user, e.g. "synthetic demo (not CLIP)"
    path: str | None = None

    @property
    def dim(self) -> int:
        return int(self.image.shape[1])


@dataclass
class Dataset:
    name: str
    ids: list[str]
    image_paths: list[str]  # absolute paths, or "" where the image has no file
    keywords: list[str]  # vocabulary, index = keyword id
    kw_indptr: np.ndarray  # (N+1,) int64
    kw_indices: np.ndarray  # (nnz,) int32, keyword ids per image
    scenes: list[str] = field(default_factory=list)  # vocabulary, index = scene id
    image_scene: np.ndarray | None = None  # (N,) int32, -1 = unknown
    numeric: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,) float64, NaN = missing
    text: dict[str, list[str]] = field(default_factory=dict)  # name -> N strings (captions, ...)
    source_path: str | None = None  # manifest / annotation file it came from
    kind: str = "manifest"  # "manifest" | "coco" | "synthetic"
    synthetic: bool = False
    scene_source: str = "column"  # "column" | "zero-shot" (to be assigned from CLIP) | "none"
    embeddings: PrecomputedEmbeddings | None = None
    problems: list[Problem] = field(default_factory=list)  # non-fatal, e.g. skipped rows
    root: str | None = None  # the dataset folder (image paths outside it are counted by `info`)

    def __post_init__(self) -> None:
        n = len(self.ids)
        self.kw_indptr = np.asarray(self.kw_indptr, dtype=np.int64)
        self.kw_indices = np.asarray(self.kw_indices, dtype=np.int32)
        if self.image_scene is None:
            self.image_scene = np.full(n, -1, dtype=np.int32)
        else:
            self.image_scene = np.asarray(self.image_scene, dtype=np.int32)
        assert self.kw_indptr.shape == (n + 1,), "kw_indptr must have N+1 entries"
        assert len(self.image_paths) == n
        assert self.image_scene.shape == (n,)

    # ------------------------------------------------------------------ sizes
    @property
    def n_images(self) -> int:
        return len(self.ids)

    @property
    def n_keywords(self) -> int:
        return len(self.keywords)

    @property
    def n_scenes(self) -> int:
        return len(self.scenes)

    # ---------------------------------------------------------------- access
    def image_keywords(self, i: int) -> np.ndarray:
        """Keyword ids of image ``i``."""
        return self.kw_indices[self.kw_indptr[i] : self.kw_indptr[i + 1]]

    def label_matrix(self) -> scipy.sparse.csr_matrix:
        """Sparse (N, K) 0/1 matrix of image -> keyword."""
        data = np.ones(len(self.kw_indices), dtype=np.float32)
        import scipy.sparse as sp  # here, not at import: 0.08-0.15 s of every launch

        return sp.csr_matrix(
            (data, self.kw_indices, self.kw_indptr), shape=(self.n_images, self.n_keywords)
        )

    def keyword_counts(self) -> np.ndarray:
        return np.bincount(self.kw_indices, minlength=self.n_keywords).astype(np.int64)

    def prevalence(self) -> np.ndarray:
        """Fraction of images that carry each keyword."""
        return self.keyword_counts() / max(self.n_images, 1)

    def scene_counts(self) -> np.ndarray:
        s = self.image_scene
        return np.bincount(s[s >= 0], minlength=self.n_scenes).astype(np.int64)

    def images_outside_root(self) -> list[int]:
        """Rows whose image file lies outside the dataset folder (absolute paths elsewhere,
        or '..' paths allowed with --allow-outside)."""
        if not self.root:
            return []
        root = os.path.join(os.path.abspath(self.root), "")
        return [i for i, p in enumerate(self.image_paths) if p and not os.path.abspath(p).startswith(root)]

    def index_of(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.ids)}

    def subset(self, rows: np.ndarray) -> "Dataset":
        """A new dataset holding only ``rows`` (keeps vocabularies)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.kw_indptr[rows], self.kw_indptr[rows + 1]
        lens = ends - starts
        indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        idx = np.concatenate([self.kw_indices[s:e] for s, e in zip(starts, ends)]) if len(rows) else np.zeros(0, np.int32)
        emb = None
        if self.embeddings is not None:
            emb = PrecomputedEmbeddings(self.embeddings.image[rows], self.embeddings.text,
                                        self.embeddings.source, self.embeddings.path)
        return Dataset(
            name=self.name, ids=[self.ids[i] for i in rows],
            image_paths=[self.image_paths[i] for i in rows], keywords=self.keywords,
            kw_indptr=indptr, kw_indices=idx, scenes=self.scenes,
            image_scene=self.image_scene[rows],
            numeric={k: v[rows] for k, v in self.numeric.items()},
            text={k: [v[i] for i in rows] for k, v in self.text.items()},
            source_path=self.source_path, kind=self.kind, synthetic=self.synthetic,
            scene_source=self.scene_source, embeddings=emb, problems=list(self.problems), root=self.root,
        )


def csr_from_lists(lists: list[list[int]] | list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices) from per-row lists of ids."""
    lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    if len(lists) and indptr[-1]:
        indices = np.concatenate([np.asarray(x, dtype=np.int32) for x in lists])
    else:
        indices = np.zeros(0, dtype=np.int32)
    return indptr, indices
