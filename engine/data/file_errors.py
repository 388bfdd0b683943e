"""Errors for files that cannot be read: each names the cause and one thing to do."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from engine.core.errors import DataError

HINT_PERMISSION = "check the file's permissions (chmod) or run as its owner"
HINT_LOOP = "a symbolic link on this path points (through other links) back at itself; replace it with the real file"


def os_error(exc: OSError, path: str | Path, what: str, hint: str | None = None) -> DataError:
    """A DataError for a failed open/read/stat that names the cause and one thing to do."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return DataError(f"cannot read {what}: permission denied", path=path, hint=HINT_PERMISSION)
    if code == errno.ELOOP:
        return DataError(f"cannot read {what}: symbolic link loop", path=path, hint=HINT_LOOP)
    if isinstance(exc, IsADirectoryError) or code == errno.EISDIR:
        return DataError(f"cannot read {what}: it is a folder", path=path, hint=hint or "give the file itself")
    if isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        return DataError(f"cannot read {what}: no such file", path=path, hint=hint or "check the path")
    reason = exc.strerror or str(exc) or type(exc).__name__
    return DataError(f"cannot read {what}: {reason}", path=path, hint=hint)


def stat_error(path: str | Path) -> OSError | None:
    """The OSError os.stat raises for ``path`` (follows links), or None when it can be stat'ed."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc
    return None
