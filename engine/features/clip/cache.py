"""On-disk vector cache: per-entry keys, append-only shards, atomic writes.

A ``VectorStore`` is a folder of shards. A shard is two files: ``part-<id>.npy``
(float32 vectors, (n, dim), loaded with one contiguous read) and
``part-<id>.keys.npz`` (``keys``: hex digests ``S32``; ``meta``: JSON with format
version, store identity, dim, count). The vectors file is written first and the
keys file last, each atomically, so a shard exists only once complete and Ctrl-C
never leaves half a file. Many shards are compacted into one. A shard that is
truncated, not a zip, or does not match (identity, dim, key count, non-finite
values) is reported as a Problem, deleted and recomputed -- never trusted. A file
where one of the cache's own folders belongs is moved aside (``NAME.damaged-<n>``)
and the store rebuilt; a cache root that is a file is refused (DataError naming it).
A write that fails (no space left, ...) is a StorageError naming the path, and
leaves the shards already there as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import zipfile
from pathlib import Path

import numpy as np

from engine.core.atomic import atomic_path, storage_errors
from engine.core.errors import DataError, Problem
from engine.core.signals import signals_held

FORMAT = 1
MAX_SHARDS = 16
OWNED_LEVELS = 3  # <cache root>/clip/<model>/<store>: the folders mmkg-tui makes below the root


def move_aside(path: Path) -> Path:
    """Rename a damaged cache entry to ``NAME.damaged-<n>`` (first free n); its new path."""
    n = 1
    while os.path.lexists(path.with_name(f"{path.name}.damaged-{n}")):
        n += 1
    dest = path.with_name(f"{path.name}.damaged-{n}")
    with storage_errors(path):
        os.replace(path, dest)
    return dest


def prepare_folder(folder: Path, problems: list[Problem]) -> None:
    """Make sure ``folder`` can exist. A stray file where one of the cache's own folders
    belongs is moved aside (reported in ``problems``) so the store is rebuilt; a file at
    or above the cache root (the user's setting) is refused with a DataError."""
    folder = Path(os.path.abspath(folder))
    owned = {folder, *list(folder.parents)[: OWNED_LEVELS - 1]}
    for p in reversed([folder, *folder.parents]):
        if not os.path.lexists(p):
            return
        if p.is_dir():
            continue
        if p not in owned:
            raise DataError(f"is a file, not a folder, so the feature cache {folder} cannot be made there",
                            path=p, field="MMKG_TUI_CACHE" if os.environ.get("MMKG_TUI_CACHE") else None,
                            hint="point MMKG_TUI_CACHE (or --cache-dir) at a folder, or move that file away")
        dest = move_aside(p)
        problems.append(Problem(f"the feature cache had a file where its folder belongs; it was moved to "
                                f"{dest} and the cache is rebuilt", path=str(p)))
        return


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
        self._shards: list[Path] = []
        self._sorted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @staticmethod
    def vectors_path(keys_path: Path) -> Path:
        return keys_path.with_name(keys_path.name[: -len(".keys.npz")] + ".npy")

    # ------------------------------------------------------------ reading
    def _check(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            keys = z["keys"]
        if meta.get("format") != FORMAT or meta.get("identity") != self.identity:
            raise ValueError("written for another model or format")
        vecs = np.load(self.vectors_path(path), allow_pickle=False)
        if vecs.ndim != 2 or vecs.shape[1] != self.dim or meta.get("dim") != self.dim:
            raise ValueError(f"vector shape {vecs.shape} does not match dimension {self.dim}")
        if keys.ndim != 1 or keys.shape[0] != vecs.shape[0] or meta.get("count") != len(keys):
            raise ValueError(f"{keys.shape[0]} keys for {vecs.shape[0]} vectors")
        if keys.dtype != np.dtype("S32") or vecs.dtype != np.float32:
            raise ValueError("unexpected array types")
        if not np.isfinite(vecs).all():
            raise ValueError("non-finite values")
        return keys, vecs

    def _drop(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.vectors_path(path).unlink(missing_ok=True)

    def load(self) -> "VectorStore":
        self._keys, self._vecs, self._shards, self._sorted = [], [], [], None
        prepare_folder(self.folder, self.problems)
        if not self.folder.is_dir():
            return self
        for path in sorted(self.folder.glob("part-*.keys.npz")):
            try:
                keys, vecs = self._check(path)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                self.problems.append(Problem(
                    f"feature cache file was damaged or did not match ({exc}); it was deleted "
                    f"and its vectors will be recomputed", path=str(path)))
                self._drop(path)
                continue
            self._keys.append(keys)
            self._vecs.append(vecs)
            self._shards.append(path)
        return self

    def _index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sorted keys, shard of each, row of each): vectorised lookups, no Python dict."""
        if self._sorted is None:
            if self._keys:
                keys = np.concatenate(self._keys)
                shard = np.repeat(np.arange(len(self._keys)), [len(k) for k in self._keys])
                row = np.concatenate([np.arange(len(k)) for k in self._keys])
                order = np.argsort(keys, kind="stable")
                self._sorted = (keys[order], shard[order], row[order])
            else:
                self._sorted = (np.zeros(0, "S32"), np.zeros(0, np.int64), np.zeros(0, np.int64))
        return self._sorted

    def __len__(self) -> int:
        return int(len(np.unique(self._index()[0])))

    def lookup(self, keys: list[bytes | None]) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, (n, dim) vectors; zero rows where not found)."""
        out = np.zeros((len(keys), self.dim), np.float32)
        skeys, shard, row = self._index()
        if not len(keys) or not len(skeys):
            return np.zeros(len(keys), bool), out
        q = np.array([k if k is not None else b"" for k in keys], dtype="S32")
        pos = np.minimum(np.searchsorted(skeys, q), len(skeys) - 1)
        found = skeys[pos] == q
        if found.all() and len(self._vecs) == 1:  # the common case: one gather, or none
            rows, vecs = row[pos], self._vecs[0]
            if len(rows) == len(vecs) and np.array_equal(rows, np.arange(len(rows))):
                return found, vecs
            return found, np.take(vecs, rows, axis=0)
        hit = np.nonzero(found)[0]
        for s, vecs in enumerate(self._vecs):
            m = shard[pos[hit]] == s
            out[hit[m]] = vecs[row[pos[hit[m]]]]
        return found, out

    # ------------------------------------------------------------ writing
    def _write(self, keys: np.ndarray, vecs: np.ndarray) -> Path:
        path = self.folder / f"part-{uuid.uuid4().hex}.keys.npz"
        meta = json.dumps({"format": FORMAT, "identity": self.identity, "dim": self.dim,
                           "count": int(len(keys))})
        try:
            for target, write in ((self.vectors_path(path), lambda fh: np.save(fh, vecs)),
                                  (path, lambda fh: np.savez(fh, keys=keys, meta=np.array(meta)))):
                with atomic_path(target, suffix=target.suffix) as tmp:
                    # numpy's tofile turns a KeyboardInterrupt raised in its flush of ``fh`` into
                    # "TypeError: expected str, bytes or os.PathLike object, not BufferedWriter"
                    # (seen when Ctrl-C landed there under load): Ctrl-C waits for the write
                    with open(tmp, "wb") as fh, signals_held():
                        write(fh)
                        fh.flush()
                        os.fsync(fh.fileno())
        except BaseException:  # e.g. no space left: no vectors file without its keys
            self.vectors_path(path).unlink(missing_ok=True)
            raise
        return path

    def add(self, keys: list[bytes], vecs: np.ndarray) -> None:
        """Persist new entries as one new shard (atomic); compacts when shards pile up."""
        if not keys:
            return
        k = np.asarray(keys, dtype="S32")
        v = np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(keys), self.dim)
        prepare_folder(self.folder, self.problems)
        with storage_errors(self.folder):
            self.folder.mkdir(parents=True, exist_ok=True)
        self._shards.append(self._write(k, v))
        self._keys.append(k)
        self._vecs.append(v)
        self._sorted = None
        if len(self._shards) > MAX_SHARDS:
            self.compact()

    def compact(self) -> None:
        """Rewrite all shards as one (deduplicated); old shards are removed afterwards."""
        if len(self._shards) <= 1:
            return
        skeys, shard, row = self._index()
        first = np.ones(len(skeys), bool)
        first[1:] = skeys[1:] != skeys[:-1]
        keys, shard, row = skeys[first], shard[first], row[first]
        vecs = np.empty((len(keys), self.dim), np.float32)
        for s, shard_vecs in enumerate(self._vecs):
            m = shard == s
            vecs[m] = shard_vecs[row[m]]
        path = self._write(keys, vecs)
        old = self._shards
        self._keys, self._vecs, self._shards, self._sorted = [keys], [vecs], [path], None
        for p in old:
            self._drop(p)


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
            from engine.core.atomic import atomic_write_text

            if self.path.is_dir():  # a folder where the log belongs: not ours to keep in the way
                move_aside(self.path)
            atomic_write_text(self.path, json.dumps({"format": FORMAT, "failed": self.reasons}))
            self._dirty = False
