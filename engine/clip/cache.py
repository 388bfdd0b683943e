"""On-disk vector cache: per-entry keys, append-only shards, atomic writes.

A ``VectorStore`` is a folder of ``part-*.npz`` shards, each holding ``keys``
(hex digests, ``S32``), ``vectors`` (float32, (n, dim)) and ``meta`` (JSON: format
version, store identity, dim). New vectors are written as a new shard (atomically,
so Ctrl-C never leaves half a file); many shards are compacted into one. A shard
that is truncated, not a zip, or does not match (identity, dim, key count,
non-finite values) is reported as a Problem, deleted and recomputed -- never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import zipfile
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path
from engine.errors import Problem

FORMAT = 1
MAX_SHARDS = 16


def digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest().encode("ascii")


def image_key(path: str) -> bytes | None:
    """Content key of an image file (absolute path, size, mtime), None if it cannot be stat'ed."""
    if not path:
        return None
    try:
        p = os.path.abspath(path)
        st = os.stat(p)
    except OSError:
        return None
    return digest("img", p, str(st.st_size), str(st.st_mtime_ns))


def text_key(prompts: tuple[str, ...], label: str) -> bytes:
    return digest("txt", json.dumps(list(prompts)), label)


class VectorStore:
    def __init__(self, folder: Path, identity: str, dim: int) -> None:
        self.folder = Path(folder)
        self.identity = identity
        self.dim = int(dim)
        self.problems: list[Problem] = []
        self._keys: list[np.ndarray] = []
        self._vecs: list[np.ndarray] = []
        self._index: dict[bytes, tuple[int, int]] | None = None
        self._shards: list[Path] = []

    # ------------------------------------------------------------ reading
    def _check(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            keys, vecs = z["keys"], z["vectors"]
        if meta.get("format") != FORMAT or meta.get("identity") != self.identity:
            raise ValueError("written for another model or format")
        if vecs.ndim != 2 or vecs.shape[1] != self.dim or meta.get("dim") != self.dim:
            raise ValueError(f"vector dimension {vecs.shape[1:] } does not match {self.dim}")
        if keys.ndim != 1 or keys.shape[0] != vecs.shape[0] or meta.get("count") != len(keys):
            raise ValueError(f"{keys.shape[0]} keys for {vecs.shape[0]} vectors")
        if keys.dtype != np.dtype("S32") or vecs.dtype != np.float32:
            raise ValueError("unexpected array types")
        if not np.isfinite(vecs).all():
            raise ValueError("non-finite values")
        return keys, vecs

    def load(self) -> "VectorStore":
        self._keys, self._vecs, self._shards, self._index = [], [], [], None
        if not self.folder.is_dir():
            return self
        for path in sorted(self.folder.glob("part-*.npz")):
            try:
                keys, vecs = self._check(path)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
                self.problems.append(Problem(
                    f"feature cache file was damaged or did not match ({exc}); it was deleted "
                    f"and its vectors will be recomputed", path=str(path)))
                path.unlink(missing_ok=True)
                continue
            self._keys.append(keys)
            self._vecs.append(vecs)
            self._shards.append(path)
        return self

    def _build_index(self) -> dict[bytes, tuple[int, int]]:
        if self._index is None:
            index: dict[bytes, tuple[int, int]] = {}
            for s, keys in enumerate(self._keys):
                index.update(zip(keys.tolist(), ((s, r) for r in range(len(keys)))))
            self._index = index
        return self._index

    def __len__(self) -> int:
        return len(self._build_index())

    def lookup(self, keys: list[bytes | None]) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, (n, dim) vectors; zero rows where not found)."""
        index = self._build_index()
        out = np.zeros((len(keys), self.dim), np.float32)
        found = np.zeros(len(keys), bool)
        rows_by_shard: dict[int, tuple[list[int], list[int]]] = {}
        for i, k in enumerate(keys):
            hit = index.get(k) if k is not None else None
            if hit is not None:
                dst, src = rows_by_shard.setdefault(hit[0], ([], []))
                dst.append(i)
                src.append(hit[1])
        for s, (dst, src) in rows_by_shard.items():
            out[dst] = self._vecs[s][src]
            found[dst] = True
        return found, out

    # ------------------------------------------------------------ writing
    def _write(self, path: Path, keys: np.ndarray, vecs: np.ndarray) -> None:
        meta = json.dumps({"format": FORMAT, "identity": self.identity, "dim": self.dim,
                           "count": int(len(keys))})
        with atomic_path(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=keys, vectors=vecs, meta=np.array(meta))
                fh.flush()
                os.fsync(fh.fileno())

    def add(self, keys: list[bytes], vecs: np.ndarray) -> None:
        """Persist new entries as one new shard (atomic); compacts when shards pile up."""
        if not keys:
            return
        k = np.asarray(keys, dtype="S32")
        v = np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(keys), self.dim)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"part-{uuid.uuid4().hex}.npz"
        self._write(path, k, v)
        self._keys.append(k)
        self._vecs.append(v)
        self._shards.append(path)
        self._index = None
        if len(self._shards) > MAX_SHARDS:
            self.compact()

    def compact(self) -> None:
        """Rewrite all shards as one (deduplicated); old shards are removed afterwards."""
        if len(self._shards) <= 1:
            return
        items = list(self._build_index().items())
        keys = np.array([k for k, _ in items], dtype="S32")
        shard = np.fromiter((s for _, (s, _r) in items), np.int64, len(items))
        rows = np.fromiter((r for _, (_s, r) in items), np.int64, len(items))
        vecs = np.empty((len(items), self.dim), np.float32)
        for s, shard_vecs in enumerate(self._vecs):
            m = shard == s
            vecs[m] = shard_vecs[rows[m]]
        path = self.folder / f"part-{uuid.uuid4().hex}.npz"
        self._write(path, keys, vecs)
        old = self._shards
        self._keys, self._vecs, self._shards, self._index = [keys], [vecs], [path], None
        for p in old:
            p.unlink(missing_ok=True)


class FailureLog:
    """Images known to be unreadable, keyed like the vectors (a changed file is retried).

    Lets a second run skip corrupt files without decoding them or loading a model.
    Stored as one small JSON file, written atomically; a damaged one is ignored.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.reasons: dict[str, str] = {}
        self._dirty = False

    def load(self) -> "FailureLog":
        try:
            data = json.loads(self.path.read_text("utf-8"))
            if isinstance(data, dict) and data.get("format") == FORMAT:
                self.reasons = {str(k): str(v) for k, v in data.get("failed", {}).items()}
        except (OSError, ValueError):
            self.reasons = {}
        return self

    def get(self, key: bytes | None) -> str | None:
        return self.reasons.get(key.decode()) if key is not None else None

    def add(self, key: bytes, reason: str) -> None:
        self.reasons[key.decode()] = reason
        self._dirty = True

    def save(self) -> None:
        if self._dirty:
            from engine.atomic import atomic_write_text

            atomic_write_text(self.path, json.dumps({"format": FORMAT, "failed": self.reasons}))
            self._dirty = False
