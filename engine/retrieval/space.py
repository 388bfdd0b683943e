"""An embedding space to search in: image rows, their vectors and label vectors.

* CLIP space (``clip_space``): every image of the dataset (``Features.image``) and
  every label the graph knows: keywords, scenes and attribute ranges such as
  ``price 500k-750k`` (``Features.keyword/scene/attribute``).
* Learned space (``learned_space``): the image embeddings a saved run holds for
  one GraphSAGE method. A run folder stores them for its EVALUATION rows only
  (validation + test: the images embedded without their own labels), and the
  keyword embeddings of the trained model; scenes and attribute ranges have no
  learned vector, so queries use them as filters there (``Space.filters``).
  Training images join only when asked (``training_space.py`` re-runs the saved
  model on the training graph).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from engine.core.errors import ConfigError, DataError
from engine.core.vectors import l2_normalize
from engine.retrieval.ann import IVFIndex, make_index
from engine.retrieval.index import ExactIndex

KEYWORD, SCENE, ATTRIBUTE = "keyword", "scene", "attribute"


@dataclass
class Space:
    name: str  # "clip" or the run's method, e.g. "sage_cosine"
    rows: np.ndarray  # (M,) dataset rows in this space, in index order
    image: np.ndarray  # (M, D) float32 rows L2-normalised
    label_kind: dict[str, str]  # every known label -> KEYWORD | SCENE | ATTRIBUTE
    label_vectors: dict[str, np.ndarray]  # labels WITH a vector here -> (D,)
    membership: dict[str, np.ndarray] = field(default_factory=dict)  # label without a vector -> (N,) bool
    note: str = ""
    n_dataset: int = 0
    index_kind: str = "auto"  # ann.make_index: "auto" (IVF from ann.AUTO_THRESHOLD images), "exact", "ivf"

    @property
    def learned(self) -> bool:
        return self.name != "clip"

    @cached_property
    def index(self) -> ExactIndex | IVFIndex:
        """``index_kind``: "auto" is exact search below ann.AUTO_THRESHOLD images and an IVF
        index above (built once, minutes at 1M: for long-lived sessions such as the app)."""
        return make_index(self.image, kind=self.index_kind, normalized=True)

    @cached_property
    def _pos(self) -> np.ndarray:
        pos = np.full(self.n_dataset, -1, dtype=np.int64)
        pos[self.rows] = np.arange(len(self.rows))
        return pos

    def position(self, row: int) -> int:
        """Index position of dataset ``row``, or -1 when the row is not in this space."""
        return int(self._pos[row]) if 0 <= row < self.n_dataset else -1

    def positions(self, rows: np.ndarray) -> np.ndarray:
        return self._pos[np.asarray(rows, dtype=np.int64)]

    def row_mask(self, rows_allowed: np.ndarray) -> np.ndarray:
        """(M,) bool over index positions from a (N,) bool over dataset rows."""
        return np.asarray(rows_allowed, dtype=bool)[self.rows]


def _memberships(dataset, features) -> dict[str, np.ndarray]:
    """(N,) bool per scene and attribute-range label: which images hold it."""
    out: dict[str, np.ndarray] = {}
    for s, name in enumerate(dataset.scenes):
        out[name] = dataset.image_scene == s
    bins = features.bins
    for a, name in enumerate(bins.labels):
        m = np.zeros(dataset.n_images, dtype=bool)
        m[bins.image_node[bins.attr_node == a]] = True
        out[name] = m
    return out


def _label_kinds(dataset, features) -> dict[str, str]:
    kinds = {k: KEYWORD for k in dataset.keywords}
    for s in dataset.scenes:
        kinds.setdefault(s, SCENE)
    for a in features.bins.labels:
        kinds.setdefault(a, ATTRIBUTE)
    return kinds


def clip_space(dataset, features) -> Space:
    """Every image and every label in the features' (CLIP or precomputed) space."""
    vectors: dict[str, np.ndarray] = {}
    for names, mat in ((features.bins.labels, features.attribute), (dataset.scenes, features.scene),
                       (dataset.keywords, features.keyword)):  # keywords last: they win a name clash
        for i, name in enumerate(names):
            vectors[name] = np.asarray(mat[i], dtype=np.float32)
    return Space("clip", np.arange(dataset.n_images, dtype=np.int64), l2_normalize(features.image),
                 _label_kinds(dataset, features), vectors, {}, f"CLIP space ({features.source})",
                 dataset.n_images)


def learned_methods(run) -> list[str]:
    """Methods of ``run`` with learned image embeddings (sage_*), in run order."""
    return [m for m in run.methods if m in run.image_embeddings and m != "clip"]


def learned_space(run, dataset, features, method: str | None = None, *,
                  training: tuple[np.ndarray, np.ndarray] | None = None) -> Space:
    """The learned space of ``method`` (default: the run's first GraphSAGE method);
    ``training``: (rows, embeddings) of the training images to add (training_space.py)."""
    methods = learned_methods(run)
    if not methods or "sage" not in run.keyword_embeddings:
        raise DataError("the run holds no learned embeddings", hint="train with `mmkg-tui run`, or use --space clip")
    method = method or methods[0]
    if method not in methods:
        raise ConfigError(f"the run has no learned method '{method}'", field="method",
                          hint=f"choose from {', '.join(methods)}")
    if list(run.image_ids) != list(dataset.ids):
        raise DataError("the run was made on a different dataset than the one loaded",
                        hint="pass the --data the run was trained on")
    kw = l2_normalize(run.keyword_embeddings["sage"])
    vectors = {name: kw[i] for i, name in enumerate(run.keywords)}
    kinds = _label_kinds(dataset, features)
    members = {lab: m for lab, m in _memberships(dataset, features).items() if lab not in vectors}
    rows = np.asarray(run.eval_rows, dtype=np.int64)
    image = l2_normalize(run.image_embeddings[method])
    note = (f"learned space of {method}: the run's {len(rows):,} validation + test images "
            "(training images are not embedded in a saved run); scenes and attribute ranges act as filters")
    if training is not None:
        rows = np.concatenate([training[0], rows])
        image = np.concatenate([l2_normalize(training[1]), image])
        note = (f"learned space of {method}: all {len(rows):,} images (training images re-embedded from the "
                "saved model); scenes and attribute ranges act as filters")
    return Space(method, rows, image, kinds, vectors, members, note, dataset.n_images)
