"""The corrections file: decisions on label-error suspects, never edits of the data.

A CSV with the header ``id,keyword,action``; one row per decision, appended
atomically (the whole file is rewritten to a temporary file and renamed, so a
crash leaves the old file or the new one, never half a row). Actions:

* ``add``    -- the keyword was missing: the image has it (an accepted "missing" suspect)
* ``remove`` -- the tag was wrong: the image does not have it (an accepted "wrong" suspect)
* ``keep``   -- the label is right as it is (a rejected suspect of either kind)

``apply_corrections`` returns a new Dataset with the adds and removes applied (the
last decision on a pair wins); ``--corrections FILE`` does it at load time.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from engine.core.atomic import atomic_write_text
from engine.core.errors import DataError

HEADER = ("id", "keyword", "action")
ACTIONS = ("add", "remove", "keep")
FILE_NAME = "corrections.csv"


@dataclass(frozen=True)
class Correction:
    id: str
    keyword: str
    action: str  # one of ACTIONS
    line: int = 0  # line in the file (0 = not read from a file)


def decision_action(kind: str, accept: bool) -> str:
    """The action recorded when a suspect of ``kind`` is accepted or rejected."""
    if not accept:
        return "keep"
    return "add" if kind == "missing" else "remove"


def default_corrections_path(run_dir: str | Path | None, dataset) -> Path:
    """Next to the run (``<run_dir>/corrections.csv``), else next to the dataset's runs."""
    if run_dir is not None:
        return Path(run_dir) / FILE_NAME
    from engine.experiment.store import default_run_dir

    return default_run_dir(dataset).parent / FILE_NAME


def read_corrections(path: str | Path) -> list[Correction]:
    """Every row of the file, checked (DataError with the line and field otherwise)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("no such corrections file", path=path,
                        hint="pass a file written by the Suspects view or `mmkg-tui suspects`") from None
    except UnicodeDecodeError:
        raise DataError("the corrections file is not UTF-8 text", path=path, hint="save it as UTF-8 CSV") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip().lower() for c in rows[0]) != HEADER:
        raise DataError("the corrections file must start with the header id,keyword,action", path=path, line=1,
                        hint="add the header line `id,keyword,action`")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise DataError(f"expected 3 fields, found {len(row)}", path=path, line=n, hint="each row is id,keyword,action")
        id_, kw, action = (c.strip() for c in row)
        if action not in ACTIONS:
            raise DataError(f"unknown action '{action}'", path=path, line=n, field="action",
                            hint=f"use one of: {', '.join(ACTIONS)}")
        out.append(Correction(id_, kw, action, n))
    return out


def append_correction(path: str | Path, correction: Correction) -> Path:
    """Append one decision (creating the file with its header); atomic."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if not old:
        writer.writerow(HEADER)
    elif not old.endswith("\n"):
        buf.write("\n")
    writer.writerow((correction.id, correction.keyword, correction.action))
    atomic_write_text(path, old + buf.getvalue())
    return path


def decided_pairs(corrections: list[Correction], dataset) -> set[tuple[int, int]]:
    """(row, keyword index) of every decided pair that exists in ``dataset``."""
    row_of = dataset.index_of()
    kw_of = {k: i for i, k in enumerate(dataset.keywords)}
    return {(row_of[c.id], kw_of[c.keyword]) for c in corrections if c.id in row_of and c.keyword in kw_of}


def apply_corrections(dataset, path: str | Path):
    """A new Dataset with the file's adds and removes applied (the input is untouched)."""
    import dataclasses

    from engine.data.dataset import csr_from_lists

    corrections = read_corrections(path)
    row_of = dataset.index_of()
    kw_of = {k: i for i, k in enumerate(dataset.keywords)}
    final: dict[tuple[int, int], str] = {}
    for c in corrections:
        if c.id not in row_of:
            raise DataError(f"no image with id '{c.id}' in the dataset", path=path, line=c.line, field="id",
                            hint="the corrections belong to another dataset; pass the matching --data")
        if c.keyword not in kw_of:
            raise DataError(f"unknown keyword '{c.keyword}'", path=path, line=c.line, field="keyword",
                            hint="use a keyword of the dataset (`mmkg-tui info` lists them)")
        final[(row_of[c.id], kw_of[c.keyword])] = c.action
    tags = [set(dataset.image_keywords(i).tolist()) for i in range(dataset.n_images)]
    for (row, kw), action in final.items():
        if action == "add":
            tags[row].add(kw)
        elif action == "remove":
            tags[row].discard(kw)
    indptr, indices = csr_from_lists([sorted(t) for t in tags])
    # a shallow copy: ids, paths, attributes and embeddings are shared, only the tags differ
    return dataclasses.replace(dataset, kw_indptr=indptr, kw_indices=indices, problems=list(dataset.problems))
