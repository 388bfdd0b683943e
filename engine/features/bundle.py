"""The feature bundle: every node type's vectors in one (CLIP) space.

Produced by engine.clip (real open_clip towers, cached) or taken from precomputed
embeddings (bring-your-own, or the synthetic demo). Consumed by engine.graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.vectors import l2_normalize
from engine.data.attributes import AttributeBins

MISSING_LABELS_HINT = "`mmkg-tui info --labels` lists every label that needs a text vector"


@dataclass
class Features:
    image: np.ndarray  # (N, D) float32, rows L2-normalised
    keyword: np.ndarray  # (K, D)
    scene: np.ndarray  # (S, D)
    attribute: np.ndarray  # (A, D), rows aligned with bins.labels
    bins: AttributeBins
    source: str  # e.g. "open_clip ViT-B-32 / openai" or "synthetic demo (not CLIP)"

    @property
    def dim(self) -> int:
        return int(self.image.shape[1])


def precomputed_features(dataset, n_bins: int = 4) -> Features:
    """Features entirely from ``dataset.embeddings`` (no model needed).

    Raises DataError naming the labels that have no text vector; engine.clip
    fills those from a CLIP text tower instead.
    """
    from engine.core.errors import DataError
    from engine.data.labels import names_preview, text_labels

    emb = dataset.embeddings
    if emb is None:
        raise DataError("the dataset has no precomputed embeddings", path=dataset.source_path,
                        hint="compute CLIP features with `mmkg-tui embed`, or pass --embeddings FILE")
    need = text_labels(dataset, n_bins)
    bins, labels = need.bins, need.all
    missing = [lab for lab in labels if lab not in emb.text]
    if missing:
        raise DataError(
            f"no text vector for {len(missing)} of {len(labels)} label(s): {names_preview(missing, quote=True)}",
            path=emb.path, field="text_labels",
            hint=f"add them to the embeddings file ({MISSING_LABELS_HINT}) or let a CLIP text tower embed them",
        )
    K, S = dataset.n_keywords, dataset.n_scenes
    d = emb.dim

    def stack(names):
        return l2_normalize(np.stack([emb.text[n] for n in names])) if names else np.zeros((0, d), np.float32)

    return Features(
        image=l2_normalize(emb.image), keyword=stack(labels[:K]), scene=stack(labels[K:K + S]),
        attribute=stack(labels[K + S:]), bins=bins, source=emb.source,
    )
