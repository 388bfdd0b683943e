"""A corrections file applied when the explorer loads a dataset (``--corrections
FILE``, written by the Suspects view): the corrected dataset, and how many tags the
file added and removed, counted on the tags themselves (before vs after), so a
line that repeats a tag already there, or a later line that undoes an earlier one,
is not counted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import api


@dataclass(frozen=True)
class CorrectionsApplied:
    path: str
    added: int  # (image, keyword) tags the file added
    removed: int  # tags it removed

    @property
    def total(self) -> int:
        return self.added + self.removed

    def line(self) -> str:
        """'3 corrections applied (2 added, 1 removed) from FILE'."""
        return (f"{self.total} correction{'s' if self.total != 1 else ''} applied "
                f"({self.added} added, {self.removed} removed) from {self.path}")


def tag_pairs(dataset) -> set[tuple[int, int]]:
    rows = np.repeat(np.arange(dataset.n_images), np.diff(dataset.kw_indptr))
    return set(zip(rows.tolist(), np.asarray(dataset.kw_indices).tolist()))


def apply_file(dataset, path: str | Path) -> tuple[object, CorrectionsApplied]:
    """The dataset with the file applied (api.apply_corrections: bad rows are a
    DataError naming the file, line and field) and what changed."""
    corrected = api.apply_corrections(dataset, path)
    before, after = tag_pairs(dataset), tag_pairs(corrected)
    return corrected, CorrectionsApplied(str(path), len(after - before), len(before - after))
