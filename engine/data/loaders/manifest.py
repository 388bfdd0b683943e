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

import csv
import json
import math
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.errors import DataError
from engine.data.dataset import Dataset
from engine.data.loaders.common import (
    SCENES_FILE,
    FileIndex,
    LoadResult,
    clean_keywords,
    counted_problem,
    keyword_csr,
    lines_preview,
    os_error,
    read_scene_vocabulary,
    resolve_image,
)

REQUIRED = ("id", "image", "keywords")
RESERVED = REQUIRED + ("scene",)
METADATA_FILE = "dataset.json"
MISSING_TOKENS = {"", "na", "n/a", "nan", "null", "none"}


@dataclass
class Columns:
    """Raw columns of a manifest: name -> values (str for CSV, any JSON value for JSONL)."""

    names: list[str]
    values: dict[str, list[Any]]
    lines: list[int]  # line number of every row (1-based, header = line 1 in CSV)


# ------------------------------------------------------------------ reading
def read_csv_columns(path: Path) -> Columns:
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise os_error(exc, path, "the manifest") from None
    with fh:
        reader = csv.reader(fh, strict=True)
        try:
            start = 0
            header = next(reader, None)
            if header is None:
                raise DataError("the manifest is empty", path=path, line=1,
                                hint=f"the first line must be a header with columns {', '.join(REQUIRED)}")
            header = [h.strip() for h in header]
            _check_header(path, header)
            values: dict[str, list[str]] = {h: [] for h in header}
            cols = [values[h] for h in header]
            lines: list[int] = []
            width = len(header)
            start = reader.line_num
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    start = reader.line_num
                    continue
                line = start + 1
                start = reader.line_num
                if len(row) != width:
                    raise DataError(f"expected {width} fields ({', '.join(header)}), found {len(row)}",
                                    path=path, line=line,
                                    hint="quote values that contain commas, e.g. \"a, b\"")
                for col, v in zip(cols, row):
                    col.append(v)
                lines.append(line)
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise _field_limit_error(path, start + 1) from None
            raise DataError(f"malformed CSV: {exc}", path=path, line=reader.line_num,
                            hint="check quoting on this line") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text: {exc.reason}", path=path,
                            hint="save the manifest as UTF-8") from None
    return Columns(header, values, lines)


_LIMIT_LOCK = threading.Lock()


def _field_limit_error(path: Path, line: int) -> DataError:
    """The row starting on ``line`` holds a value over csv's field limit: name its column."""
    limit = csv.field_size_limit()
    column = None
    with _LIMIT_LOCK:
        csv.field_size_limit(sys.maxsize)
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                header = [h.strip() for h in next(reader, [])]
                row_start = reader.line_num
                for row in reader:
                    if row_start + 1 >= line:
                        big = [i for i, v in enumerate(row) if len(v) > limit]
                        if big:
                            column = header[big[0]] if big[0] < len(header) else f"column {big[0] + 1}"
                        break
                    row_start = reader.line_num
        except (OSError, csv.Error, UnicodeDecodeError):
            pass
        finally:
            csv.field_size_limit(limit)
    return DataError(f"a value is longer than the CSV field limit ({limit:,} characters)", path=path,
                     line=line, field=column,
                     hint='usually an unclosed quote (") swallows the lines after it: close the quote; '
                          "keep long text out of the manifest")


def _check_header(path: Path, header: list[str]) -> None:
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(header, 1):
        positions.setdefault(h, []).append(i)
    dupes = [(h, pos) for h, pos in positions.items() if len(pos) > 1 and h]
    if dupes:
        shown = "; ".join(f"'{h}' (columns {', '.join(map(str, pos))})" for h, pos in dupes[:10])
        more = f" and {len(dupes) - 10} more" if len(dupes) > 10 else ""
        raise DataError(f"{len(dupes)} column name(s) appear more than once in the header: {shown}{more}",
                        path=path, line=1, field=dupes[0][0],
                        hint="rename or remove the repeated columns so every column name is unique")
    seen = set(positions)
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        raise DataError(f"missing required column(s): {', '.join(missing)} (found: {', '.join(header)})",
                        path=path, line=1, field=missing[0],
                        hint=f"a manifest needs the columns {', '.join(REQUIRED)}; 'scene' and others are optional")


class _DuplicateKeys(ValueError):
    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        super().__init__(", ".join(f"'{k}'" for k in keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else ""))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dupes = [k for k, _ in pairs if k in seen or seen.add(k)]
        raise _DuplicateKeys(list(dict.fromkeys(dupes)))
    return obj


def read_jsonl_columns(path: Path) -> Columns:
    values: dict[str, list[Any]] = {}
    lines: list[int] = []
    try:
        fh = open(path, encoding="utf-8-sig")
    except OSError as exc:
        raise os_error(exc, path, "the manifest") from None
    with fh:
        lineno = 0
        try:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw, object_pairs_hook=_unique_keys)
                except _DuplicateKeys as exc:
                    raise DataError(f"key(s) appear more than once in this object: {exc}", path=path,
                                    line=lineno, field=exc.keys[0],
                                    hint="give every field once per line") from None
                except json.JSONDecodeError as exc:
                    raise DataError(f"malformed JSON: {exc.msg} (column {exc.colno})", path=path, line=lineno,
                                    hint="each line must be one JSON object") from None
                if not isinstance(obj, dict):
                    raise DataError(f"expected a JSON object, found {type(obj).__name__}", path=path,
                                    line=lineno, hint='each line must look like {"id": ..., "image": ..., "keywords": [...]}')
                i = len(lines)
                for k, v in obj.items():
                    col = values.get(k)
                    if col is None:
                        col = values[k] = []
                    if len(col) < i:
                        col.extend([None] * (i - len(col)))
                    col.append(v)
                lines.append(lineno)
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text: {exc.reason}", path=path, line=lineno + 1,
                            hint="save the manifest as UTF-8") from None
    n = len(lines)
    for col in values.values():
        if len(col) < n:
            col.extend([None] * (n - len(col)))
    if n:
        missing = [c for c in REQUIRED if c not in values]
        if missing:
            raise DataError(f"no row has the required field(s): {', '.join(missing)}", path=path,
                            field=missing[0], hint=f"every line needs {', '.join(REQUIRED)}")
    return Columns(list(values), values, lines)


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
                  scene_vocabulary: str | Path | None = None) -> LoadResult:
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
    per_row = parse_keywords(path, cols)
    problems = []
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

    image_paths, missing = resolve_images(folder, cols)
    meta = read_metadata(folder)
    name = str(meta.get("name") or (folder.name if path.stem == "manifest" else path.stem))
    ds = Dataset(
        name=name, ids=ids, image_paths=image_paths, keywords=keywords, kw_indptr=indptr,
        kw_indices=indices, scenes=scenes, image_scene=image_scene, numeric=numeric, text=text,
        source_path=str(path), kind="manifest", synthetic=bool(meta.get("synthetic", False)),
        scene_source=scene_source, problems=problems,
    )
    return LoadResult(ds, missing)


def resolve_images(folder: Path, cols: Columns) -> tuple[list[str], list[tuple[int, int, str]]]:
    files = FileIndex()
    paths: list[str] = []
    missing: list[tuple[int, int, str]] = []
    for row, (v, line) in enumerate(zip(cols.values["image"], cols.lines)):
        s = _as_text(v).strip()
        if not s:
            paths.append("")
            missing.append((row, line, s))
            continue
        p = resolve_image(folder, s)
        paths.append(p)
        if not files.exists(p):
            missing.append((row, line, s))
    return paths, missing
