"""The truth behind a synthetic world's noisy labels (which tags were dropped or added)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LabelNoise"]


@dataclass
class LabelNoise:
    """The truth behind a world's noisy labels (what the generator knows and the data hides).

    ``true_indptr``/``true_indices``: CSR image -> TRUE keywords (before any noise),
    rows aligned with the dataset. ``dropped_rows``/``dropped_cols``: (image, keyword)
    pairs that are true but missing from the labels; ``added_rows``/``added_cols``:
    pairs in the labels that are not true. So labels = true - dropped + added.
    ``ids`` and ``keywords`` name the rows and the keyword ids (the generator's
    vocabulary; a loaded manifest may order or trim its own vocabulary differently,
    so map by name: ``for_dataset``).
    """

    true_indptr: np.ndarray  # (N+1,) int64
    true_indices: np.ndarray  # (nnz,) int32
    dropped_rows: np.ndarray  # int64
    dropped_cols: np.ndarray  # int32
    added_rows: np.ndarray  # int64
    added_cols: np.ndarray  # int32
    ids: np.ndarray  # (N,) str: image id of each row
    keywords: np.ndarray  # (K,) str: keyword of each column id

    def true_matrix(self, n_keywords: int):
        """(N, K) scipy CSR 0/1 matrix of the true keywords."""
        import scipy.sparse as sp

        n = len(self.true_indptr) - 1
        data = np.ones(len(self.true_indices), dtype=np.float32)
        return sp.csr_matrix((data, self.true_indices, self.true_indptr), shape=(n, n_keywords))

    def for_dataset(self, ds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(true, dropped, added) as (N, K) bool matrices in ``ds``'s own row and keyword
        order (matched by image id and keyword name; pairs ``ds`` lacks are left out)."""
        row = {str(i): r for r, i in enumerate(ds.ids)}
        col = {k: c for c, k in enumerate(ds.keywords)}
        rmap = np.array([row.get(str(i), -1) for i in self.ids], dtype=np.int64)
        cmap = np.array([col.get(str(k), -1) for k in self.keywords], dtype=np.int64)
        out = []
        counts = np.diff(self.true_indptr)
        true_rows = np.repeat(np.arange(len(counts)), counts)
        for rows, cols in ((true_rows, self.true_indices), (self.dropped_rows, self.dropped_cols),
                           (self.added_rows, self.added_cols)):
            m = np.zeros((ds.n_images, ds.n_keywords), dtype=bool)
            r, c = rmap[rows], cmap[cols]
            ok = (r >= 0) & (c >= 0)
            m[r[ok], c[ok]] = True
            out.append(m)
        return out[0], out[1], out[2]

    def save(self, path) -> None:
        """Write the arrays to an ``.npz`` (atomically)."""
        from engine.core.atomic import atomic_write_bytes

        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: getattr(self, k) for k in self.__dataclass_fields__})
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path) -> "LabelNoise":
        with np.load(path, allow_pickle=False) as z:
            return cls(**{k: z[k] for k in cls.__dataclass_fields__})
