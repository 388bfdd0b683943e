"""Cosine scoring of images against keywords (zero-shot CLIP and every learned space)."""

from __future__ import annotations

import numpy as np

from engine.core.vectors import l2_normalize


def cosine_scores(img: np.ndarray, kw: np.ndarray) -> np.ndarray:
    """(n_img, n_kw) float32 cosine similarities: one torch.mm of the raw image rows
    and the L2-normalised keyword rows, whose output rows are then divided by the
    image norms in place. Everything but the matmul is numpy on one thread: on a busy
    machine each extra torch parallel op waits for the cores (several ms each)."""
    import torch

    img = np.asarray(img, dtype=np.float32)
    kw_n = l2_normalize(kw)
    out = torch.mm(torch.from_numpy(img if img.flags.writeable else img.copy()),
                   torch.from_numpy(kw_n).T).numpy()
    norms = np.sqrt(np.einsum("ij,ij->i", img, img))
    out /= np.maximum(norms, 1e-12)[:, None]
    return out
