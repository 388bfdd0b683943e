"""The label-error queue: likely MISSING tags (high score, not tagged) and likely
WRONG tags (tagged, low score), ranked over (image, keyword) pairs.

Scores must not have seen the label they judge, so they are out-of-fold:

* ``probe`` (default) -- a ridge probe on CLIP image features (the engine's
  ``fit_ridge_probe``), k-fold over the images: fold f is scored by a probe fitted
  on the other folds, its penalty chosen on fold f+1 (validation), never on f.
  Covers every image; no run needed.
* ``learned`` -- the same out-of-fold probe on a run's learned image embeddings;
  covers the run's validation + test images (those are embedded without their own
  labels; training images are not in a saved run).
* ``clip`` -- zero-shot CLIP cosine, standardised per keyword (no labels used).
* ``random`` -- a seeded random order (the floor to beat).

Missing suspects score ``s`` (higher = more likely missing), wrong suspects ``-s``.
The queue never edits the dataset: decisions go to the corrections file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.errors import ConfigError

KINDS = ("missing", "wrong")
METHODS = ("probe", "learned", "clip", "random")
FOLDS = 5


@dataclass
class Suspect:
    row: int
    id: str
    keyword: str
    kw: int  # keyword index
    kind: str  # "missing" | "wrong"
    score: float
    tagged: bool  # the image carries the keyword now

    def to_json(self) -> dict:
        return {"id": self.id, "keyword": self.keyword, "kind": self.kind, "score": round(self.score, 6),
                "row": self.row}


@dataclass
class SuspectQueue:
    kind: str
    method: str
    images: int  # images the scores cover
    note: str
    suspects: list[Suspect]

    def pairs(self) -> list[tuple[int, int]]:
        """(dataset row, keyword index) of each suspect, in queue order."""
        return [(s.row, s.kw) for s in self.suspects]

    def to_json(self) -> dict:
        return {"kind": self.kind, "method": self.method, "images": self.images, "note": self.note,
                "results": [s.to_json() for s in self.suspects]}


def fold_assignment(n: int, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """(n,) fold of each item: a seeded permutation cut into ``folds`` near-equal parts."""
    perm = np.random.default_rng([seed, 23]).permutation(n)
    out = np.empty(n, dtype=np.int64)
    out[perm] = np.arange(n) % folds
    return out


def out_of_fold_probe(x: np.ndarray, y: np.ndarray, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """(N, K) ridge-probe predictions, each row from a probe that never saw it."""
    from engine.methods.baselines import fit_ridge_probe

    n = len(x)
    if n < 3:
        raise ConfigError("too few images for out-of-fold scores", hint="suspects need at least 3 images")
    folds = max(3, min(folds, n))
    fold = fold_assignment(n, folds, seed)
    out = np.zeros(y.shape, dtype=np.float64)
    for f in range(folds):
        test, val = fold == f, fold == (f + 1) % folds
        train = ~test & ~val
        probe = fit_ridge_probe(x[train], y[train], x[val], y[val])
        out[test] = probe.predict(x[test])
    return out


def zero_shot_scores(x: np.ndarray, keyword_vectors: np.ndarray) -> np.ndarray:
    """Cosine of image and keyword vectors, standardised per keyword over the images."""
    from engine.core.vectors import l2_normalize

    s = l2_normalize(x).astype(np.float64) @ l2_normalize(keyword_vectors).T.astype(np.float64)
    return (s - s.mean(axis=0)) / np.maximum(s.std(axis=0), 1e-9)


def rank_pairs(scores: np.ndarray, labels: np.ndarray, kind: str, k: int | None = None, *,
               exclude: set[tuple[int, int]] | None = None, seed: int = 0,
               random_order: bool = False) -> list[tuple[int, int, float]]:
    """(position, keyword, suspicion) of the top pairs: untagged pairs by score for
    "missing", tagged pairs by -score for "wrong"; ``exclude`` drops decided pairs."""
    if kind not in KINDS:
        raise ConfigError(f"unknown suspect kind '{kind}'", field="kind", hint="missing or wrong")
    labels = np.asarray(labels, dtype=bool)
    cand = ~labels if kind == "missing" else labels
    r, c = np.nonzero(cand)
    if random_order:
        susp = np.random.default_rng([seed, 29]).random(len(r))
    else:
        s = np.asarray(scores, dtype=np.float64)[r, c]
        susp = s if kind == "missing" else -s
    order = np.lexsort((c, r, -susp))  # best first; ties by row then keyword
    out = []
    for j in order:
        pair = (int(r[j]), int(c[j]))
        if exclude and pair in exclude:
            continue
        out.append((pair[0], pair[1], float(susp[j])))
        if k is not None and len(out) >= k:
            break
    return out


def method_scores(method: str, dataset, features, run=None, *, learned_method: str | None = None,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """(dataset rows covered, (len(rows), K) scores, note) for one suspect method."""
    y = dataset.label_matrix().toarray() > 0
    if method in ("probe", "clip", "random"):
        rows = np.arange(dataset.n_images, dtype=np.int64)
        x = np.asarray(features.image, dtype=np.float64)
        if method == "probe":
            return rows, out_of_fold_probe(x, y.astype(np.float64), seed=seed), (
                f"out-of-fold ({FOLDS}-fold) ridge probe on CLIP image features, all {len(rows):,} images")
        if method == "clip":
            return rows, zero_shot_scores(x, features.keyword), "zero-shot CLIP cosine, standardised per keyword"
        return rows, np.zeros(y.shape), "random order (seeded)"
    if method == "learned":
        from engine.retrieval.space import learned_space

        if run is None:
            raise ConfigError("the learned suspect scores need a run", field="method",
                              hint="pass --run DIR (a folder written by `mmkg-tui run`) or use --method probe")
        space = learned_space(run, dataset, features, learned_method)
        x = np.asarray(space.image, dtype=np.float64)
        return space.rows, out_of_fold_probe(x, y[space.rows].astype(np.float64), seed=seed), (
            f"out-of-fold ({FOLDS}-fold) ridge probe on the learned embeddings of {space.name}, "
            f"the run's {len(space.rows):,} validation + test images")
    raise ConfigError(f"unknown suspect method '{method}'", field="method", hint=f"one of: {', '.join(METHODS)}")


def suspect_queue(dataset, features, *, kind: str = "missing", method: str = "probe", k: int | None = 100,
                  run=None, learned_method: str | None = None, decided: set[tuple[int, int]] | None = None,
                  seed: int = 0) -> SuspectQueue:
    """The top ``k`` suspects of ``kind``; ``decided`` (row, keyword) pairs are left out."""
    rows, scores, note = method_scores(method, dataset, features, run, learned_method=learned_method, seed=seed)
    y = dataset.label_matrix()[rows].toarray() > 0
    exclude = None
    if decided:
        pos = np.full(dataset.n_images, -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        exclude = {(int(pos[r]), kw) for r, kw in decided if pos[r] >= 0}
    ranked = rank_pairs(scores, y, kind, k, exclude=exclude, seed=seed, random_order=method == "random")
    out = [Suspect(int(rows[p]), dataset.ids[rows[p]], dataset.keywords[kw], kw, kind, s, kind == "wrong")
           for p, kw, s in ranked]
    return SuspectQueue(kind, method, len(rows), note, out)
