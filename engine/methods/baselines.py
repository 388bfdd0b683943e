"""Reference baselines for keyword prediction on unseen images.

Why they exist: GraphSAGE is compared with zero-shot CLIP, but GraphSAGE is
*trained* on the training images' keywords while zero-shot CLIP never sees a
label. Much of a trained model's advantage can come from simply learning which
keywords are common (label priors), overall or per scene, or from any supervised
read-out of the CLIP image features. These baselines measure exactly that, so the
GNN's numbers can be read honestly next to them:

* ``prior``       -- the keyword's prevalence among TRAINING images, the same for
  every image: what "learning the label distribution" alone scores. Its ranking
  inside a keyword is constant, so its macro AUC is 0.5 by construction.
* ``scene_prior`` -- P(keyword | scene) counted on TRAINING images (add-one
  smoothing toward the global prior): what knowing the scene node alone gives,
  i.e. the information the ``scene`` reconnection strategy hands the GNN.
* ``clip_probe``  -- a linear ridge-regression probe on the CLIP image features of
  TRAINING images (one closed-form solve for all keywords), its regularisation
  chosen on VALIDATION micro AUC: the simplest supervised use of the same
  features GraphSAGE starts from.
* ``knn``         -- label transfer: the fraction of the k most CLIP-similar TRAINING
  images that carry the keyword, k chosen on VALIDATION mAP from ``KNN_GRID``.
* ``scene_probe`` -- w * scene_prior + (1 - w) * clip_probe (the probe clipped to
  [0, 1]), the weight w chosen on VALIDATION mAP from ``BLEND_GRID``.

``NEEDS[name]`` says what a baseline needs from the dataset ("scenes"); the
experiment leaves it out, with the reason, when the dataset lacks it.

A baseline is a pure function ``fn(inp: BaselineInput) -> (M, K) float32`` scoring
``inp.eval_rows`` x every keyword. It may read labels of ``inp.train_rows`` (to
fit) and ``inp.val_rows`` (to choose hyper-parameters) and nothing else; the
labels of test rows are never touched. Register a new one in one place with
``@register("name", scale="...")``; the experiment, the CLI, the JSON and the app
then list it as a method.

Score scale: every baseline returns scores in [-1, 1] through a documented,
strictly monotone map (so AUCs, average precision and best-F1 thresholds are
exactly those of the underlying estimate), letting the one user threshold in
[-1, 1] apply to every method. The maps are in ``SCALES``; for the priors a
probability p becomes ``2p - 1`` (threshold t <=> p >= (t + 1) / 2, e.g. 0.7 <=>
p >= 0.85); for the probe the raw ridge prediction y (a least-squares estimate
of P(keyword), usually in [0, 1] but unbounded) becomes ``tanh(2y - 1)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.core.columns import column_ap
from engine.core.errors import ConfigError

__all__ = [
    "BaselineInput", "BASELINES", "SCALES", "LAMBDA_GRID", "RidgeProbe", "register", "get_baseline",
    "baseline_scores", "score_scale", "train_prevalence", "scene_conditional", "fit_ridge_probe",
    "probability_to_score", "probe_to_score", "NEEDS", "KNN_GRID", "BLEND_GRID", "knn_probabilities",
    "mean_average_precision", "choose_on_validation",
]


@dataclass(frozen=True)
class BaselineInput:
    """What a baseline may look at for one split (one seed)."""

    dataset: object  # engine.dataset.Dataset
    features: object  # engine.features.Features
    train_rows: np.ndarray  # dataset rows used to fit
    val_rows: np.ndarray  # dataset rows used only to choose hyper-parameters
    eval_rows: np.ndarray  # dataset rows to score (validation then test)

    def labels(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), K) float64 0/1 labels of these dataset rows."""
        return self.dataset.label_matrix()[np.asarray(rows, dtype=np.int64)].toarray().astype(np.float64)


BaselineFn = Callable[[BaselineInput], np.ndarray]
BASELINES: dict[str, BaselineFn] = {}
SCALES: dict[str, str] = {}  # method -> how its scores map into [-1, 1]
EMBEDDING_SCALE = "cosine similarity of image and keyword embeddings"


NEEDS: dict[str, tuple[str, ...]] = {}  # method -> what the dataset must have (engine.methods.catalog)


def register(name: str, *, scale: str, needs: tuple[str, ...] = ()) -> Callable[[BaselineFn], BaselineFn]:
    def deco(fn: BaselineFn) -> BaselineFn:
        BASELINES[name] = fn
        SCALES[name] = scale
        NEEDS[name] = tuple(needs)
        return fn

    return deco


def get_baseline(name: str) -> BaselineFn:
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline '{name}'", field="baselines",
                          hint=f"choose from {', '.join(BASELINES)}")
    return BASELINES[name]


def score_scale(method: str) -> str:
    """A one-line description of ``method``'s score scale (all lie in [-1, 1])."""
    return SCALES.get(method, EMBEDDING_SCALE)


def baseline_scores(name: str, inp: BaselineInput) -> np.ndarray:
    """(len(eval_rows), K) float32 scores of baseline ``name``, checked to lie in [-1, 1]."""
    s = np.asarray(get_baseline(name)(inp), dtype=np.float32)
    want = (len(inp.eval_rows), inp.dataset.n_keywords)
    if s.shape != want:
        raise ValueError(f"baseline {name!r} returned shape {s.shape}, expected {want}")
    if not (np.isfinite(s).all() and s.min(initial=0.0) >= -1.0 and s.max(initial=0.0) <= 1.0):
        raise ValueError(f"baseline {name!r} returned scores outside [-1, 1]")
    return s


# ------------------------------------------------------------------ score maps
def probability_to_score(p: np.ndarray) -> np.ndarray:
    """p in [0, 1] -> 2p - 1 in [-1, 1] (0.5 -> 0)."""
    return (2.0 * np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0) - 1.0).astype(np.float32)


def probe_to_score(y: np.ndarray) -> np.ndarray:
    """Raw ridge prediction y -> tanh(2y - 1) in (-1, 1): strictly monotone, y = 0.5 -> 0."""
    return np.tanh(2.0 * np.asarray(y, dtype=np.float64) - 1.0).astype(np.float32)


# ---------------------------------------------------------------------- priors
def train_prevalence(labels_train: np.ndarray) -> np.ndarray:
    """(K,) fraction of training images carrying each keyword (0 if no image)."""
    y = np.asarray(labels_train, dtype=np.float64)
    return y.mean(axis=0) if len(y) else np.zeros(y.shape[1])


def scene_conditional(labels_train: np.ndarray, scene_train: np.ndarray, n_scenes: int,
                      alpha: float = 1.0) -> np.ndarray:
    """(S, K) P(keyword | scene) = (count(scene, keyword) + alpha * p) / (n(scene) + alpha).

    ``p`` is the training prevalence; ``alpha`` = 1 pseudo-image distributed as the
    global prior (add-one smoothing toward it). A scene with no training image gets p.
    Training images without a scene (-1) count only toward p.
    """
    y = np.asarray(labels_train, dtype=np.float64)
    sc = np.asarray(scene_train, dtype=np.int64)
    p = train_prevalence(y)
    has = sc >= 0
    onehot = np.zeros((n_scenes, len(sc)))
    onehot[sc[has], np.nonzero(has)[0]] = 1.0
    counts = onehot @ y  # (S, K)
    n = onehot.sum(axis=1, keepdims=True)  # (S, 1)
    return (counts + alpha * p) / (n + alpha)


@register("prior", scale="2p - 1, p = the keyword's prevalence among training images")
def prior(inp: BaselineInput) -> np.ndarray:
    """Every image gets the keyword's training prevalence."""
    p = train_prevalence(inp.labels(inp.train_rows))
    return np.broadcast_to(probability_to_score(p), (len(inp.eval_rows), len(p))).copy()


def scene_probabilities(inp: BaselineInput, rows: np.ndarray) -> np.ndarray:
    """(len(rows), K) P(keyword | the row's scene) from training images; no scene -> the global prior."""
    ds = inp.dataset
    train = np.asarray(inp.train_rows, dtype=np.int64)
    y = inp.labels(train)
    table = scene_conditional(y, ds.image_scene[train], ds.n_scenes)
    p = train_prevalence(y)
    sc = ds.image_scene[np.asarray(rows, dtype=np.int64)].astype(np.int64)
    out = np.tile(p, (len(sc), 1))
    has = sc >= 0
    out[has] = table[sc[has]]
    return out


@register("scene_prior", scale="2p - 1, p = P(keyword | scene) on training images (add-one smoothed)",
          needs=("scenes",))
def scene_prior(inp: BaselineInput) -> np.ndarray:
    """P(keyword | the image's scene) from training images; no scene -> the global prior."""
    return probability_to_score(scene_probabilities(inp, inp.eval_rows))


# ------------------------------------------------------------------ ridge probe
# Candidate ridge penalties, as multiples of the mean eigenvalue of the centred
# training Gram matrix X^T X (trace / D), so the grid does not depend on the number
# of training images or the feature scale.
LAMBDA_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


@dataclass
class RidgeProbe:
    mean_x: np.ndarray  # (D,)
    mean_y: np.ndarray  # (K,)
    weights: np.ndarray  # (D, K)
    lam: float  # chosen penalty (absolute)
    lam_factor: float  # chosen multiple of the mean eigenvalue (an entry of the grid)
    val_auc: dict[float, float]  # grid factor -> validation micro AUC

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, K) raw ridge predictions (least-squares estimates of P(keyword))."""
        return (np.asarray(x, dtype=np.float64) - self.mean_x) @ self.weights + self.mean_y


def _micro_auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=bool).ravel()
    if not y.any() or y.all():
        return float("nan")
    return float(roc_auc_score(y, np.asarray(s).ravel()))


def fit_ridge_probe(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                    grid=LAMBDA_GRID) -> RidgeProbe:
    """W = (Xc^T Xc + lam I)^-1 Xc^T Yc for every lam of the grid from ONE eigendecomposition
    (Xc, Yc: training features and labels centred on their training means, so the
    intercept is the training prevalence and is not penalised); keeps the lam with the
    best micro ROC AUC on the validation rows. Ties and a validation set without both
    classes: the strongest penalty among the best (all, if none can be scored)."""
    x = np.asarray(x_train, dtype=np.float64)
    y = np.asarray(y_train, dtype=np.float64)
    mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
    xc = x - mean_x
    evals, evecs = np.linalg.eigh(xc.T @ xc)
    evals = np.maximum(evals, 0.0)
    proj = evecs.T @ (xc.T @ (y - mean_y))  # (D, K) in the eigenbasis
    scale = float(evals.sum()) / max(x.shape[1], 1) or 1.0
    xv = np.asarray(x_val, dtype=np.float64) - mean_x
    best = None
    aucs: dict[float, float] = {}
    for factor in sorted(float(f) for f in grid):
        w = evecs @ (proj / (evals + factor * scale)[:, None])
        auc = _micro_auc(y_val, xv @ w)
        aucs[factor] = auc
        key = auc if np.isfinite(auc) else -np.inf
        if best is None or key >= best[0]:  # >=: ties go to the stronger penalty
            best = (key, factor, w)
    _, factor, w = best
    return RidgeProbe(mean_x, mean_y, w, factor * scale, factor, aucs)


@register("clip_probe", scale="tanh(2y - 1), y = ridge prediction of a linear probe on CLIP image features")
def clip_probe(inp: BaselineInput) -> np.ndarray:
    """Ridge probe fitted on training images, penalty chosen on validation images."""
    img = inp.features.image
    probe = fit_ridge_probe(img[inp.train_rows], inp.labels(inp.train_rows),
                            img[inp.val_rows], inp.labels(inp.val_rows))
    return probe_to_score(probe.predict(img[np.asarray(inp.eval_rows, dtype=np.int64)]))


# ------------------------------------------------------------ nearest neighbours
KNN_GRID = (5, 10, 20, 50)  # k candidates, chosen on validation mAP
BLEND_GRID = tuple(i / 10 for i in range(11))  # scene-prior weight candidates, chosen on validation mAP


def mean_average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Mean over keyword columns with a positive of the average precision (scikit-learn's
    definition, all columns at once: engine.core.columns); NaN if none."""
    aps = column_ap(s, y)
    return float(np.nanmean(aps)) if np.isfinite(aps).any() else float("nan")


def choose_on_validation(candidates, score_of) -> tuple[object, dict]:
    """The candidate with the best finite ``score_of(candidate)`` (first on ties; the first
    candidate if none scores), and every candidate's score."""
    scores = {c: score_of(c) for c in candidates}
    best = None
    for c, v in scores.items():
        if np.isfinite(v) and (best is None or v > scores[best]):
            best = c
    return (candidates[0] if best is None else best), scores


def _top_k(sim: np.ndarray, k: int) -> np.ndarray:
    """(B, k) column indices of the k largest entries per row, most similar first
    (argpartition, then a stable sort of those k: equal similarities keep the lower index
    first among the selected)."""
    if k < sim.shape[1]:
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        part.sort(axis=1)
    else:
        part = np.broadcast_to(np.arange(sim.shape[1]), sim.shape).copy()
    order = np.argsort(-np.take_along_axis(sim, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def knn_probabilities(x_train: np.ndarray, y_train: np.ndarray, x_query: np.ndarray, ks,
                      budget: int = 1 << 24) -> dict[int, np.ndarray]:
    """k -> (Q, K) fraction of the query's k most cosine-similar training images carrying
    each keyword, for every k in ``ks``."""
    from engine.core.vectors import l2_normalize

    xt = l2_normalize(np.asarray(x_train, dtype=np.float32))
    xq = l2_normalize(np.asarray(x_query, dtype=np.float32))
    y = np.asarray(y_train, dtype=np.float64)
    kmax = min(max(ks), len(xt))
    out = {k: np.zeros((len(xq), y.shape[1])) for k in ks}
    block = max(1, budget // max(kmax * y.shape[1], 1))  # (block, kmax, K) neighbour labels at a time
    for lo in range(0, len(xq), block):
        sim = xq[lo:lo + block] @ xt.T
        top = _top_k(sim, kmax)
        cum = np.cumsum(y[top], axis=1)  # (B, kmax, K)
        for k in ks:
            kk = min(k, kmax)
            out[k][lo:lo + block] = cum[:, kk - 1] / kk
    return out


@register("knn", scale="2p - 1, p = fraction of the k most CLIP-similar training images with the keyword")
def knn(inp: BaselineInput) -> np.ndarray:
    """Label transfer from the k nearest training images in CLIP space, k chosen on validation mAP."""
    img = inp.features.image
    x_train, y_train = img[inp.train_rows], inp.labels(inp.train_rows)
    val = knn_probabilities(x_train, y_train, img[inp.val_rows], KNN_GRID)
    y_val = inp.labels(inp.val_rows)
    k, _ = choose_on_validation(KNN_GRID, lambda k: mean_average_precision(y_val, val[k]))
    p = knn_probabilities(x_train, y_train, img[np.asarray(inp.eval_rows, dtype=np.int64)], (k,))[k]
    return probability_to_score(p)


@register("scene_probe", scale="2p - 1, p = w * scene_prior + (1 - w) * clip_probe (clipped to [0, 1]), "
                               "w chosen on validation", needs=("scenes",))
def scene_probe(inp: BaselineInput) -> np.ndarray:
    """Blend of the scene prior and the CLIP probe, the weight chosen on validation mAP."""
    img = inp.features.image
    probe = fit_ridge_probe(img[inp.train_rows], inp.labels(inp.train_rows),
                            img[inp.val_rows], inp.labels(inp.val_rows))
    y_val = inp.labels(inp.val_rows)
    scene_val = scene_probabilities(inp, inp.val_rows)
    probe_val = np.clip(probe.predict(img[inp.val_rows]), 0.0, 1.0)
    w, _ = choose_on_validation(BLEND_GRID, lambda w: mean_average_precision(y_val, w * scene_val + (1 - w) * probe_val))
    rows = np.asarray(inp.eval_rows, dtype=np.int64)
    p = w * scene_probabilities(inp, rows) + (1 - w) * np.clip(probe.predict(img[rows]), 0.0, 1.0)
    return probability_to_score(p)
