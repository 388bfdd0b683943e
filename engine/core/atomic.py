"""Atomic writes: files and folders are built under a temporary name next to their
target and renamed into place only when complete, so every instant leaves either the
previous content or the new one, never half of it.

* ``atomic_path`` / ``atomic_write_*``: one file (temp file + ``os.replace``).
* ``atomic_dir``: one folder. The swap (old folder aside, new one in, old one deleted)
  runs under an exclusive ``fcntl.flock`` on ``.NAME.lock`` next to the target, so
  concurrent writers take turns and each leaves a whole folder, and with SIGINT and
  SIGTERM held (engine.core.signals), so Ctrl-C cannot stop it between the renames.
  ``guard(path)`` runs under the lock before an existing target is replaced and may
  refuse (raise) -- the run store uses it to replace only folders it wrote.
* Every OSError while writing becomes a :class:`StorageError` naming the path
  ("no space left on PATH", "cannot write PATH (Permission denied)").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.core.errors import MMKGError, StorageError
from engine.core.signals import signals_held

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def storage_error(exc: OSError, path: str | Path) -> StorageError:
    """The user-facing error for an OSError raised while writing ``path``."""
    # numpy's tofile reports a short write as "N requested and M written" with no errno
    if exc.errno in NO_SPACE or (exc.errno is None and "requested and" in str(exc)):
        return StorageError(f"no space left on {path}",
                            hint="free some space on that disk, or write somewhere else "
                                 "(--out, --json, MMKG_TUI_HOME, MMKG_TUI_CACHE)")
    reason = exc.strerror or str(exc)
    return StorageError(f"cannot write {path} ({reason})",
                        hint="choose a folder you can write to, or fix its permissions")


@contextlib.contextmanager
def storage_errors(path: str | Path) -> Iterator[None]:
    """Turn an OSError raised inside the block into a StorageError naming ``path``."""
    try:
        yield
    except MMKGError:
        raise
    except OSError as exc:
        raise storage_error(exc, path) from None


def existing_ancestor(path: Path) -> Path:
    p = Path(os.path.abspath(path))
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_can_create(path: str | Path, what: str = "output") -> None:
    """Raise StorageError now if ``path`` (or its missing parents) cannot be created."""
    path = Path(path)
    anc = existing_ancestor(path.parent)
    if not anc.is_dir():
        raise StorageError(f"cannot create the {what} {path}: {anc} is a file, not a folder",
                           hint="choose another location")
    try:  # a real probe: permission, read-only or pseudo file systems (/proc) all show here
        os.rmdir(tempfile.mkdtemp(prefix=".mmkg-probe-", dir=anc))
    except OSError as exc:
        raise StorageError(f"cannot create the {what} {path}: no folder can be made in {anc} "
                           f"({exc.strerror or exc})", hint="choose a folder you can write to") from None


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        with storage_errors(path):
            yield tmp_path
            os.replace(tmp_path, path)
    except BaseException:
        with signals_held(), contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def path_lock(path: str | Path) -> Iterator[None]:
    """Exclusive lock on ``.NAME.lock`` next to ``path`` (blocking ``fcntl.flock``).

    The lock file is removed on release; a waiter that then holds a removed file
    notices (its inode is no longer the one on disk) and locks the new one instead.
    """
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            mine = os.fstat(fd)
            try:
                now = os.stat(lock)
            except FileNotFoundError:
                now = None
        except BaseException:
            os.close(fd)
            raise
        if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _swap(tmp: Path, path: Path, guard: Callable[[Path], None] | None) -> None:
    """Put ``tmp`` in place of ``path`` (caller holds the lock and the signals)."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.old-*"):
        _remove(stale)  # left by a swap killed outright (SIGKILL): only ever made under this lock
    if os.path.lexists(path):
        if guard is not None:
            guard(path)
        old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:12]}")
        os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(old, path)  # put the previous folder back
            raise
        _remove(old)
    else:
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, guard: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place on success.

    If ``path`` exists it is replaced only after the new folder is complete (and only
    if ``guard(path)``, called under the lock, does not raise); on failure (including
    KeyboardInterrupt) the partial folder is deleted and ``path`` is untouched.
    """
    path = Path(path)
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    swapped = False
    try:
        with storage_errors(path):
            yield tmp
            with path_lock(path):
                with signals_held():
                    _swap(tmp, path, guard)
                    swapped = True
    except BaseException:
        if not swapped:
            with signals_held():
                shutil.rmtree(tmp, ignore_errors=True)
        raise
