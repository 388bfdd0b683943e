"""Precomputed embedding files: bring-your-own vectors and the bundled demo.

Formats:

* ``.npz`` with ``ids`` (N,) strings and ``vectors`` (N, D); optional
  ``text_labels`` (T,) and ``text_vectors`` (T, D) for keyword / scene /
  attribute-range labels, and ``source`` (a string shown to the user).
  Extra ids are ignored; ids of the dataset missing from the file are an error.
* ``.npy`` (N, D), rows aligned with the manifest order.

On load every vector is checked (finite, non-zero), L2-normalised and stored as
float32. Writing is atomic; float16 storage is allowed to keep files small.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from engine.core.atomic import atomic_path
from engine.core.errors import DataError
from engine.core.vectors import l2_normalize
from engine.data.dataset import Dataset, PrecomputedEmbeddings
from engine.data.file_errors import os_error, stat_error

HINT_FORMAT = ("an .npz with arrays 'ids' (N,) and 'vectors' (N, D), or an .npy (N, D) "
               "with rows in manifest order; see engine.embeddings_io.save_embeddings")


def load_embeddings(path: str | Path, dataset: Dataset) -> PrecomputedEmbeddings:
    """Vectors for every image of ``dataset`` (rows aligned with ``dataset.ids``)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir() if p.suffix.lower() in (".npz", ".npy"))[:3] \
            if os.access(path, os.R_OK | os.X_OK) else []
        example = f", e.g. {path / found[0]}" if found else ""
        raise DataError("is a folder; give the .npz/.npy file", path=path, field="embeddings",
                        hint=f"pass --embeddings FILE with the embeddings file itself{example}")
    if not path.is_file():
        err = stat_error(path)
        if err is not None and not isinstance(err, FileNotFoundError):
            raise os_error(err, path, "the embeddings")
        raise DataError("embedding file not found", path=path, hint=HINT_FORMAT)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _load_npy(path, dataset)
    if suffix == ".npz":
        return _load_npz(path, dataset)
    raise DataError(f"unknown embedding file type '{suffix}'", path=path, hint=HINT_FORMAT)


def _open(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        msg = str(exc)
        if "pickle" in msg.lower():
            msg = "it stores Python objects (e.g. ids as an object array)"
        raise DataError(f"cannot read embeddings: {msg}", path=path,
                        hint="save ids as a string array, e.g. np.asarray(ids, dtype=str)") from None
    except (PermissionError, IsADirectoryError) as exc:
        raise os_error(exc, path, "the embeddings") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read embeddings (truncated or not a numpy file): {exc}", path=path,
                        hint=HINT_FORMAT) from None


def _load_npy(path: Path, dataset: Dataset) -> PrecomputedEmbeddings:
    arr = _open(path)
    if not isinstance(arr, np.ndarray):
        raise DataError("expected a single array", path=path, hint=HINT_FORMAT)
    _check_matrix(path, "array", arr)
    if arr.shape[0] != dataset.n_images:
        raise DataError(f"{arr.shape[0]} rows but the dataset has {dataset.n_images} images", path=path,
                        hint="an .npy must have one row per manifest row, in the same order; "
                             "use an .npz with ids to match by id")
    image = _normalised(path, arr, dataset.ids, "image")
    return PrecomputedEmbeddings(image=image, text={}, source=f"precomputed ({path.name})", path=str(path))


def _load_npz(path: Path, dataset: Dataset) -> PrecomputedEmbeddings:
    try:
        with _open(path) as z:
            keys = set(z.files)
            for k in ("ids", "vectors"):
                if k not in keys:
                    raise DataError(f"missing array '{k}' (found: {', '.join(sorted(keys)) or 'none'})",
                                    path=path, field=k, hint=HINT_FORMAT)
            ids = z["ids"]
            vectors = z["vectors"]
            labels = z["text_labels"] if "text_labels" in keys else None
            tvec = z["text_vectors"] if "text_vectors" in keys else None
            source = str(z["source"]) if "source" in keys else f"precomputed ({path.name})"
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError("cannot read embeddings: an array holds Python objects", path=path,
                            hint="save ids as a string array, e.g. np.asarray(ids, dtype=str)") from None
        raise DataError(f"cannot read embeddings (truncated or corrupt): {exc}", path=path,
                        hint=HINT_FORMAT) from None
    except (PermissionError, IsADirectoryError) as exc:
        raise os_error(exc, path, "the embeddings") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read embeddings (truncated or corrupt): {exc}", path=path,
                        hint=HINT_FORMAT) from None
    if ids.ndim != 1 or ids.dtype.kind not in "USi":
        raise DataError(f"'ids' must be a 1-d array of strings, found shape {ids.shape} dtype {ids.dtype}",
                        path=path, field="ids", hint=HINT_FORMAT)
    _check_matrix(path, "vectors", vectors)
    if len(ids) != vectors.shape[0]:
        raise DataError(f"{len(ids)} ids but {vectors.shape[0]} vectors", path=path, field="vectors",
                        hint="'ids' and 'vectors' must have the same length")
    file_ids = [str(x) for x in ids.tolist()]
    row_of: dict[str, int] = {}
    for i, k in enumerate(file_ids):
        if k in row_of:
            raise DataError(f"duplicate id '{k}' (rows {row_of[k]} and {i})", path=path, field="ids",
                            hint="each id may appear once")
        row_of[k] = i
    missing = [k for k in dataset.ids if k not in row_of]
    if missing:
        shown = ", ".join(repr(k) for k in missing[:5])
        raise DataError(f"{len(missing)} of {dataset.n_images} image ids have no vector (e.g. {shown})",
                        path=path, field="ids",
                        hint="compute vectors for every image of the dataset, or remove those rows")
    rows = np.fromiter((row_of[k] for k in dataset.ids), dtype=np.int64, count=dataset.n_images)
    image = _normalised(path, vectors[rows], dataset.ids, "vectors")
    text = _text_vectors(path, labels, tvec, image.shape[1])
    return PrecomputedEmbeddings(image=image, text=text, source=source, path=str(path))


def _text_vectors(path: Path, labels, tvec, dim: int) -> dict[str, np.ndarray]:
    if labels is None and tvec is None:
        return {}
    if labels is None or tvec is None:
        raise DataError("'text_labels' and 'text_vectors' must be given together", path=path,
                        field="text_labels" if labels is None else "text_vectors")
    _check_matrix(path, "text_vectors", tvec)
    if labels.ndim != 1 or labels.shape[0] != tvec.shape[0]:
        raise DataError(f"{labels.shape} text labels but {tvec.shape[0]} text vectors", path=path,
                        field="text_labels")
    if tvec.shape[1] != dim:
        raise DataError(f"text vectors have dimension {tvec.shape[1]} but image vectors {dim}", path=path,
                        field="text_vectors", hint="image and text vectors must come from one embedding space")
    names = [str(x) for x in labels.tolist()]
    t = _normalised(path, tvec, names, "text_vectors")
    return {lab: t[i] for i, lab in enumerate(names)}


def _check_matrix(path: Path, name: str, arr: np.ndarray) -> None:
    if arr.ndim != 2 or arr.shape[1] == 0 or arr.dtype.kind not in "fiu":
        raise DataError(f"'{name}' must be a 2-d numeric array (N, D), found shape {arr.shape} dtype {arr.dtype}",
                        path=path, field=name, hint=HINT_FORMAT)


def _normalised(path: Path, arr: np.ndarray, names: Sequence[str], field: str) -> np.ndarray:
    x = np.asarray(arr, dtype=np.float32)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        i = int(np.argmin(finite))
        raise DataError(f"NaN or infinite value in the vector of '{names[i]}' (row {i}); "
                        f"{int((~finite).sum())} bad row(s) in all", path=path, field=field,
                        hint="recompute those vectors")
    norms = np.linalg.norm(x, axis=1)
    if (norms == 0).any():
        i = int(np.argmin(norms))
        raise DataError(f"all-zero vector for '{names[i]}' (row {i})", path=path, field=field,
                        hint="recompute that vector")
    return l2_normalize(x)


def save_embeddings(path: str | Path, ids: Sequence[str], vectors: np.ndarray,
                    text: Mapping[str, np.ndarray] | None = None, *, source: str = "precomputed",
                    dtype=np.float16) -> Path:
    """Write an .npz that load_embeddings reads (atomically; float16 by default)."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise ValueError("save_embeddings writes .npz files")
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != len(ids):
        raise ValueError(f"vectors must be (len(ids), D), got {vectors.shape} for {len(ids)} ids")
    arrays = {
        "ids": np.asarray([str(i) for i in ids], dtype=str),
        "vectors": l2_normalize(vectors).astype(dtype),
        "source": np.asarray(source, dtype=str),
    }
    if text:
        labels = list(text)
        arrays["text_labels"] = np.asarray(labels, dtype=str)
        arrays["text_vectors"] = l2_normalize(np.stack([np.asarray(text[k]) for k in labels])).astype(dtype)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return path
