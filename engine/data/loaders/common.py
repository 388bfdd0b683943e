"""Helpers shared by the manifest and COCO loaders: vocabularies, image paths,
aggregated problems."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.core.errors import DataError, Problem
from engine.data.dataset import Dataset, csr_from_lists
from engine.data.file_errors import os_error, stat_error  # noqa: F401  (re-exported for the loaders)

SCENES_FILE = "scenes.txt"


@dataclass
class LoadResult:
    """A parsed dataset plus the image files that were not found. Whether those
    are fatal depends on precomputed embeddings; engine.loaders decides."""

    dataset: Dataset
    missing_images: list[tuple[int, int | None, str]] = field(default_factory=list)  # (row, line, as written)
    image_hint: str = ""  # where images were looked for (for the error message)


def default_scene_vocabulary() -> list[str]:
    """The scene list shipped with the package (engine/data/scenes.txt)."""
    return read_scene_vocabulary(Path(__file__).resolve().parents[1] / SCENES_FILE)


def read_scene_vocabulary(path: str | Path) -> list[str]:
    """One scene per line; blank lines and '#' comments ignored; order kept, duplicates dropped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise os_error(exc, path, "the scene vocabulary") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read the scene vocabulary: {exc}", path=path,
                        hint="a UTF-8 text file with one scene per line") from None
    scenes: list[str] = []
    for raw in text.splitlines():
        s = raw.split("#", 1)[0].strip()
        if s and s not in scenes:
            scenes.append(s)
    if not scenes:
        raise DataError("the scene vocabulary is empty", path=path, hint="list one scene per line")
    return scenes


def keyword_csr(per_row: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Sorted vocabulary + CSR (indptr, indices) from per-row keyword name lists."""
    vocab = sorted({k for row in per_row for k in row})
    index = {k: i for i, k in enumerate(vocab)}
    indptr, indices = csr_from_lists([[index[k] for k in row] for row in per_row])
    return vocab, indptr, indices


def normalise_space(text: str) -> str:
    """Surrounding whitespace removed, inner runs of whitespace made one space."""
    return " ".join(text.split())


def clean_keywords(items: Iterable[str]) -> list[str]:
    """Whitespace normalised, empties dropped, deduped keeping the first occurrence."""
    out: list[str] = []
    seen: set[str] = set()
    for k in items:
        k = normalise_space(k)
        if k and k not in seen:
            seen.add(k)
            out.append(k)
    return out


def merge_case_variants(per_row: list[list[str]], where: list, path: str | Path, field: str, *,
                        strict: bool, label: str = "lines") -> tuple[list[list[str]], list[Problem]]:
    """Keywords that differ only by case become one keyword (the most frequent spelling,
    ties: the first seen). Each merge is a Problem naming the spellings and where they
    appear; with ``strict`` the first one is a DataError instead. ``where[i]`` is the
    line (or id) of row i."""
    count: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, row in enumerate(per_row):
        for k in row:
            count[k] = count.get(k, 0) + 1
            first.setdefault(k, i)
    groups: dict[str, list[str]] = {}
    for k in count:
        groups.setdefault(k.casefold(), []).append(k)
    groups = {g: ks for g, ks in groups.items() if len(ks) > 1}
    if not groups:
        return per_row, []
    rows_of: dict[str, list] = {k: [] for ks in groups.values() for k in ks}
    for i, row in enumerate(per_row):
        for k in row:
            if k in rows_of:
                rows_of[k].append(where[i])
    canon: dict[str, str] = {}
    problems: list[Problem] = []
    for ks in groups.values():
        ks.sort(key=lambda k: (-count[k], first[k]))
        for k in ks[1:]:
            canon[k] = ks[0]
        spelled = "; ".join(f"'{k}' ({label} {lines_preview(rows_of[k], 3)})" for k in ks)
        if strict:
            other = ks[1]
            raise DataError(f"keywords differ only by case: {spelled}", path=path,
                            line=rows_of[other][0] if label == "lines" else None, field=field,
                            hint="spell each keyword one way, or drop --strict to merge them "
                                 f"into '{ks[0]}' (the most frequent spelling)")
        problems.append(Problem(f"keywords differ only by case, merged into '{ks[0]}': {spelled}",
                                path=str(path), field=field))
    merged = [list(dict.fromkeys(canon.get(k, k) for k in row)) for row in per_row]
    return merged, problems


class FileIndex:
    """Answers 'does this file exist' with one directory listing per folder
    (fast for 100k images in a few folders)."""

    def __init__(self) -> None:
        self._dirs: dict[str, set[str] | None] = {}

    def exists(self, path: str) -> bool:
        folder, name = os.path.split(path)
        names = self._dirs.get(folder, False)
        if names is False:
            try:
                names = {e.name for e in os.scandir(folder) if not e.is_dir()}
            except OSError:
                names = None
            self._dirs[folder] = names
        return names is not None and name in names


def resolve_image(base: Path, value: str) -> str:
    """An image path from a manifest/annotation: absolute paths kept, relative ones
    taken relative to ``base``; made absolute and normalised, symlinks not resolved."""
    p = os.path.expanduser(value)  # os.path, not Path objects: called once per image
    if not os.path.isabs(p):
        p = os.path.join(base, p)
    return os.path.abspath(p)


HINT_OUTSIDE = ("keep images inside the dataset folder, use an absolute path, "
                "or pass --allow-outside if this is intended")


def escapes(base: Path, value: str) -> bool:
    """A relative path whose '..' parts lead out of ``base`` (absolute paths never escape)."""
    if not value or os.path.isabs(os.path.expanduser(value)):
        return False
    return not is_inside(os.path.normpath(os.path.join(os.path.abspath(base), value)), base)


def is_inside(path: str, root: str | Path) -> bool:
    root = os.path.abspath(root)
    try:
        return os.path.commonpath([os.path.abspath(path), root]) == root
    except ValueError:  # different drives
        return False


def lines_preview(lines: list[int], n: int = 5) -> str:
    shown = ", ".join(str(x) for x in lines[:n])
    return shown + (f", ... ({len(lines)} in all)" if len(lines) > n else "")


def counted_problem(what: str, where: list, path: str | Path | None, field: str | None = None,
                    label: str = "lines") -> Problem:
    """One Problem standing for many rows: '<count> <what> (lines 3, 7, ...)'."""
    return Problem(f"{len(where)} {what} ({label} {lines_preview(where)})",
                   path=str(path) if path is not None else None, field=field)
