"""Manifest loader: a CSV or JSONL file with one image per row.

Columns: ``id``, ``image`` (path relative to the manifest; absolute paths kept),
``keywords`` (``|``-separated in CSV, a JSON list in JSONL), optional ``scene``.
Every other column becomes a numeric attribute when all its non-empty values are
numbers, otherwise a text attribute (a column that is *mostly* numbers with a few
bad values is an error, naming the line). Optional files beside the manifest:
``scenes.txt`` (allowed scene values; without a scene column it is the vocabulary
for CLIP zero-shot scenes) and ``dataset.json`` (``{"name": ..., "synthetic": bool}``).

Parsing is columnar (csv/json modules, plain lists, numpy at the end) so 100k rows
load in well under a second plus one directory listing per image folder.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.errors import DataError
from engine.data.dataset import Dataset
from engine.data.loaders.common import (
    HINT_OUTSIDE,
    SCENES_FILE,
    FileIndex,
    LoadResult,
    clean_keywords,
    counted_problem,
    escapes,
    keyword_csr,
    lines_preview,
    merge_case_variants,
    os_error,
    read_scene_vocabulary,
    resolve_image,
)
from engine.data.loaders.manifest_read import (
    REQUIRED,
    Columns,
    read_csv_columns,
    read_jsonl_columns,
)

RESERVED = REQUIRED + ("scene",)
METADATA_FILE = "dataset.json"
MISSING_TOKENS = {"", "na", "n/a", "nan", "null", "none"}


# ------------------------------------------------------------- conversion
def _as_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def parse_ids(path: Path, cols: Columns) -> list[str]:
    ids: list[str] = []
    first_line: dict[str, int] = {}
    for v, line in zip(cols.values["id"], cols.lines):
        if isinstance(v, bool) or isinstance(v, float) or isinstance(v, (list, dict)):
            raise DataError(f"id must be a string or an integer, found {v!r}", path=path, line=line, field="id")
        s = _as_text(v).strip()
        if not s:
            raise DataError("empty id", path=path, line=line, field="id", hint="every row needs a unique id")
        prev = first_line.get(s)
        if prev is not None:
            raise DataError(f"duplicate id '{s}' (also on line {prev})", path=path, line=line, field="id",
                            hint="ids must be unique; rename or remove one of the two rows")
        first_line[s] = line
        ids.append(s)
    return ids


def _split_keywords(v: str, path: Path, line: int) -> list[str]:
    """'a|b|c', or a JSON list written into a CSV cell ('["a", "b"]')."""
    t = v.strip()
    if t.startswith("[") and t.endswith("]"):
        try:
            items = json.loads(t)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list) and all(isinstance(x, str) for x in items):
            return items
    return v.split("|")


def parse_keywords(path: Path, cols: Columns) -> list[list[str]]:
    out: list[list[str]] = []
    for v, line in zip(cols.values["keywords"], cols.lines):
        if v is None:
            items: list[str] = []
        elif isinstance(v, str):
            items = _split_keywords(v, path, line)
        elif isinstance(v, list):
            bad = [x for x in v if not isinstance(x, str)]
            if bad:
                raise DataError(f"keywords must be strings, found {bad[0]!r}", path=path, line=line,
                                field="keywords", hint='write keywords as a JSON list of strings, e.g. ["pool", "patio"]')
            items = v
        else:
            raise DataError(f"keywords must be a list, found {v!r}", path=path, line=line, field="keywords",
                            hint='a JSON list of strings in JSONL, "a|b|c" in CSV')
        out.append(clean_keywords(items))
    return out


def parse_scenes(path: Path, cols: Columns, vocabulary: list[str] | None,
                 vocab_path: Path | None) -> tuple[list[str], np.ndarray, str]:
    n = len(cols.lines)
    if "scene" not in cols.values:
        if vocabulary:
            return list(vocabulary), np.full(n, -1, np.int32), "zero-shot"
        return [], np.full(n, -1, np.int32), "none"
    raw = [_as_text(v).strip() for v in cols.values["scene"]]
    if vocabulary is not None:
        allowed = set(vocabulary)
        for s, line in zip(raw, cols.lines):
            if s and s not in allowed:
                shown = ", ".join(vocabulary[:8]) + (", ..." if len(vocabulary) > 8 else "")
                raise DataError(f"unknown scene '{s}' (allowed: {shown})", path=path, line=line, field="scene",
                                hint=f"fix the value or add it to {vocab_path}")
        vocab = list(vocabulary)
    else:
        vocab = sorted({s for s in raw if s})
    index = {s: i for i, s in enumerate(vocab)}
    scene = np.fromiter((index.get(s, -1) for s in raw), dtype=np.int32, count=n)
    return vocab, scene, "column"


def _parse_number(v: Any) -> float | None:
    """float, None for missing; raises ValueError for a non-number."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, (int, float)):
        x = float(v)
    elif isinstance(v, str):
        s = v.strip()
        if s.lower() in MISSING_TOKENS:
            return None
        x = float(s)
    else:
        raise ValueError
    if not math.isfinite(x):
        raise ValueError
    return x


def classify_column(path: Path, name: str, values: list[Any], lines: list[int]) -> tuple[str, Any]:
    """('numeric', float64 array with NaN for missing) or ('text', list[str])."""
    nums = np.full(len(values), np.nan)
    bad: list[int] = []
    ok = 0
    for i, v in enumerate(values):
        try:
            x = _parse_number(v)
        except (ValueError, TypeError):
            bad.append(i)
            if len(bad) > len(values) // 2 + 1:  # clearly a text column
                break
            continue
        if x is not None:
            nums[i] = x
            ok += 1
    if ok and not bad:
        return "numeric", nums
    if ok > len(bad) and bad:
        i = bad[0]
        more = f"; other bad values on lines {lines_preview([lines[j] for j in bad[1:]])}" if len(bad) > 1 else ""
        raise DataError(f"non-numeric value {_as_text(values[i])!r} in numeric column '{name}'{more}",
                        path=path, line=lines[i], field=name,
                        hint=f"{ok} values of '{name}' are numbers: fix this one, or leave it empty for 'missing'")
    return "text", [_as_text(v) for v in values]


def read_metadata(folder: Path) -> dict[str, Any]:
    p = folder / METADATA_FILE
    if not p.is_file():
        return {}
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise os_error(exc, p, "dataset metadata") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read dataset metadata: {exc}", path=p,
                        hint='a JSON object such as {"name": "my photos"}, or delete the file') from None
    if not isinstance(meta, dict):
        raise DataError("dataset metadata must be a JSON object", path=p)
    return meta


# -------------------------------------------------------------------- load
def load_manifest(path: str | Path, *, strict: bool = False,
                  scene_vocabulary: str | Path | None = None, allow_outside: bool = False) -> LoadResult:
    """Parse a manifest into a Dataset. Missing image files are returned, not
    raised: whether they are fatal depends on precomputed embeddings (the caller
    decides, see engine.loaders.check_images)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        cols = read_csv_columns(path)
    elif suffix in (".jsonl", ".ndjson"):
        cols = read_jsonl_columns(path)
    else:
        raise DataError(f"unknown manifest type '{suffix}'", path=path, hint="use a .csv or .jsonl manifest")
    if not cols.lines:
        raise DataError("the manifest has no rows", path=path,
                        hint="add one line per image with id, image and keywords")
    folder = path.parent
    if scene_vocabulary is None and (folder / SCENES_FILE).is_file():
        scene_vocabulary = folder / SCENES_FILE
    vocab_list = read_scene_vocabulary(scene_vocabulary) if scene_vocabulary is not None else None

    ids = parse_ids(path, cols)
    per_row, problems = merge_case_variants(parse_keywords(path, cols), cols.lines, path, "keywords",
                                            strict=strict)
    empty = [line for kws, line in zip(per_row, cols.lines) if not kws]
    if empty:
        if strict:
            raise DataError("empty keyword list", path=path, line=empty[0], field="keywords",
                            hint="give every image at least one keyword, or drop --strict to keep it untagged")
        problems.append(counted_problem("image(s) have no keywords", empty, path, "keywords"))
    keywords, indptr, indices = keyword_csr(per_row)
    scenes, image_scene, scene_source = parse_scenes(path, cols, vocab_list, scene_vocabulary and Path(scene_vocabulary))

    numeric: dict[str, np.ndarray] = {}
    text: dict[str, list[str]] = {}
    for pos, name in enumerate(cols.names):
        if name in RESERVED:
            continue
        if not name:  # e.g. a trailing comma in the header
            if all(not _as_text(v).strip() for v in cols.values[name]):
                continue
            raise DataError(f"column {pos + 1} has values but no name", path=path, line=1,
                            hint="give every column a name in the header line")
        kind, vals = classify_column(path, name, cols.values[name], cols.lines)
        (numeric if kind == "numeric" else text)[name] = vals

    image_paths, missing = resolve_images(path, cols, allow_outside)
    meta = read_metadata(folder)
    name = str(meta.get("name") or (folder.name if path.stem == "manifest" else path.stem))
    ds = Dataset(
        name=name, ids=ids, image_paths=image_paths, keywords=keywords, kw_indptr=indptr,
        kw_indices=indices, scenes=scenes, image_scene=image_scene, numeric=numeric, text=text,
        source_path=str(path), kind="manifest", synthetic=bool(meta.get("synthetic", False)),
        scene_source=scene_source, problems=problems, root=os.path.abspath(folder),
    )
    return LoadResult(ds, missing)


def resolve_images(path: Path, cols: Columns, allow_outside: bool = False
                   ) -> tuple[list[str], list[tuple[int, int, str]]]:
    folder = path.parent
    files = FileIndex()
    paths: list[str] = []
    missing: list[tuple[int, int, str]] = []
    for row, (v, line) in enumerate(zip(cols.values["image"], cols.lines)):
        s = _as_text(v).strip()
        if not s:
            paths.append("")
            missing.append((row, line, s))
            continue
        if not allow_outside and escapes(folder, s):
            raise DataError(f"image path '{s}' leads out of the dataset folder {folder.resolve()}", path=path,
                            line=line, field="image", hint=HINT_OUTSIDE)
        p = resolve_image(folder, s)
        paths.append(p)
        if not files.exists(p):
            missing.append((row, line, s))
    return paths, missing
