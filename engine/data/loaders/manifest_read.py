"""Reading a manifest's raw columns: CSV (csv module, strict quoting) or JSONL (one
object per line). Every problem names the file, the line and the field."""

from __future__ import annotations

import csv
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.errors import DataError
from engine.data.loaders.common import os_error

REQUIRED = ("id", "image", "keywords")


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
