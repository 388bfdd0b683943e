"""User-facing errors. Every problem with user input is raised as one of these.

They carry *where* (file, line, field) and *what to do*, so the CLI and the app can
show a clear message instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class MMKGError(Exception):
    """Base class of all errors meant for the user (never a bug)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self.format())

    def location(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)

    def format(self) -> str:
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f"\n  -> {self.hint}"
        return text


class DataError(MMKGError):
    """A dataset, manifest, annotation or embedding file is wrong."""


class ConfigError(MMKGError):
    """An option or setting is invalid."""


class StorageError(MMKGError, OSError):
    """Writing to disk failed (no space left, read-only, permission denied) or an
    output path is not one mmkg-tui may write (it would destroy the user's file).
    Also an OSError, so code that handled the raw OSError still does."""


class ModelUnavailableError(MMKGError):
    """CLIP weights are neither cached nor reachable."""


class Cancelled(Exception):
    """Work was cancelled by the user (threading.Event set or Ctrl-C)."""


@dataclass
class Problem:
    """A non-fatal problem found while loading (e.g. a corrupt image that was skipped)."""

    message: str
    path: str | None = None
    line: int | None = None
    field: str | None = None

    def format(self) -> str:
        loc = ", ".join(
            p for p in (self.path, f"line {self.line}" if self.line is not None else None,
                        f"field '{self.field}'" if self.field else None) if p
        )
        return f"{loc}: {self.message}" if loc else self.message
