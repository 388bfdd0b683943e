"""Synthetic score/label matrices and image files used by several stages (seeded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def scores_labels(n_images: int, n_keywords: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) float32 cosine-like scores and bool labels with Zipf prevalence;
    positives score higher on average, so AUCs are informative (~0.8)."""
    rng = np.random.default_rng(seed)
    prevalence = np.clip(0.3 / np.arange(1, n_keywords + 1) ** 0.8, 2e-4, 0.5)
    labels = rng.random((n_images, n_keywords), dtype=np.float32) < prevalence[None, :].astype(np.float32)
    scores = rng.normal(0.15, 0.05, size=(n_images, n_keywords)).astype(np.float32)
    scores += labels * np.float32(0.06)
    return scores, labels


def write_jpegs(folder: Path, n: int, size: int = 224, seed: int = 0) -> list[Path]:
    """``n`` real JPEG files (noisy gradients, so decoding is realistic), seeded."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    paths = []
    for i in range(n):
        base = np.stack([(xx * (i % 7 + 1)) % 256, (yy * (i % 5 + 1)) % 256, (xx + yy + 13 * i) % 256], -1)
        img = (base + rng.integers(0, 40, size=(size, size, 3))).clip(0, 255).astype(np.uint8)
        p = folder / f"img{i:05d}.jpg"
        Image.fromarray(img).save(p, quality=90)
        paths.append(p)
    return paths
