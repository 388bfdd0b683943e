"""Numeric attributes -> labelled attribute-value nodes ('price 500k-750k').

Each numeric attribute is cut into ``n_bins`` quantile ranges; every range becomes
one attribute node whose label is embedded as text, so numeric attributes live in
the same CLIP space as keywords and scenes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.dataset import Dataset


@dataclass
class AttributeBins:
    labels: list[str]  # one per attribute node, e.g. "price 500k-750k"
    attribute: list[str]  # attribute name of each node
    edges: list[tuple[float, float]]  # (low, high) of each node
    image_node: np.ndarray  # (M,) int64 image index of each image->attribute edge
    attr_node: np.ndarray  # (M,) int64 attribute node of each edge

    @property
    def n_nodes(self) -> int:
        return len(self.labels)


def human_number(x: float) -> str:
    """Short human form: 1234567 -> '1.2M', 750000 -> '750k', 2.5 -> '2.5'."""
    ax = abs(x)
    if 1e3 <= ax < 1e4:  # years, square feet: '1975' reads better than '2.0k' (and stays distinct)
        return f"{x:.0f}"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if ax >= div:
            v = x / div
            return f"{v:.0f}{suffix}" if abs(v) >= 100 or v == int(v) else f"{v:.1f}{suffix}"
    if x == int(x):
        return str(int(x))
    return f"{x:.0f}" if ax >= 100 else f"{x:.3g}"  # never scientific notation (was 670.5 -> '6.7e+02')


def bin_attributes(dataset: Dataset, n_bins: int = 4) -> AttributeBins:
    labels: list[str] = []
    names: list[str] = []
    ranges: list[tuple[float, float]] = []
    img_parts: list[np.ndarray] = []
    node_parts: list[np.ndarray] = []
    for name in sorted(dataset.numeric):
        values = np.asarray(dataset.numeric[name], dtype=np.float64)
        ok = np.isfinite(values)
        if not ok.any():
            continue
        uniq = np.unique(values[ok])
        if len(uniq) <= n_bins:  # few distinct values (e.g. bedrooms): one node per value
            cuts = np.concatenate([uniq, [np.inf]])
            bounds = [(float(u), float(u)) for u in uniq]
        else:
            q = np.quantile(values[ok], np.linspace(0, 1, n_bins + 1))
            q = np.unique(q)
            cuts = q.copy()
            cuts[-1] = np.inf
            bounds = [(float(q[i]), float(q[i + 1])) for i in range(len(q) - 1)]
        base = len(labels)
        for lo, hi in bounds:
            if lo == hi:
                labels.append(f"{name} {human_number(lo)}")
            else:
                labels.append(f"{name} {human_number(lo)}-{human_number(hi)}")
            names.append(name)
            ranges.append((lo, hi))
        rows = np.nonzero(ok)[0]
        b = np.searchsorted(cuts, values[rows], side="right") - 1
        b = np.clip(b, 0, len(bounds) - 1)
        img_parts.append(rows.astype(np.int64))
        node_parts.append((base + b).astype(np.int64))
    if img_parts:
        image_node = np.concatenate(img_parts)
        attr_node = np.concatenate(node_parts)
    else:
        image_node = np.zeros(0, np.int64)
        attr_node = np.zeros(0, np.int64)
    # duplicate labels would make two nodes share one text; disambiguate
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if lab in seen:
            labels[i] = f"{lab} ({i})"
        seen[lab] = i
    return AttributeBins(labels, names, ranges, image_node, attr_node)
