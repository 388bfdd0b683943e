"""The dataset fingerprint: which runs belong to which dataset."""

from __future__ import annotations

import hashlib

import numpy as np


def dataset_fingerprint(dataset) -> str:
    """Stable hash of image ids, keyword vocabulary and image -> keyword labels."""
    h = hashlib.sha256()
    h.update("\x1f".join(dataset.ids).encode("utf-8"))
    h.update(b"\x1e")
    h.update("\x1f".join(dataset.keywords).encode("utf-8"))
    h.update(np.ascontiguousarray(dataset.kw_indptr, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(dataset.kw_indices, dtype=np.int32).tobytes())
    return h.hexdigest()[:16]
