"""COCO loader: ``instances_<split>.json`` (+ ``captions_<split>.json`` beside it).

* keywords = category names of each image's annotations (vocabulary: the
  categories that are used, sorted); images without annotations are kept with no
  keywords and counted as a problem;
* captions -> text attribute ``caption`` (several joined with ' | ');
* images: the first of ``images/``, ``<split>/``, ``images/<split>/`` next to the
  annotations folder (or inside it), or the annotations folder itself, that holds
  the files; absolute ``file_name`` paths are kept;
* scenes: from ``scenes.csv`` beside the annotations (columns ``image`` = file_name
  or id, ``scene``), else ``scene_source="zero-shot"`` over ``scenes.txt`` beside
  the annotations or the default vocabulary (engine/data/scenes.txt); the CLIP
  stage assigns them.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.errors import DataError, Problem
from engine.data.dataset import Dataset
from engine.data.loaders.common import (
    HINT_OUTSIDE,
    SCENES_FILE,
    FileIndex,
    LoadResult,
    counted_problem,
    default_scene_vocabulary,
    escapes,
    keyword_csr,
    merge_case_variants,
    normalise_space,
    os_error,
    read_scene_vocabulary,
    resolve_image,
)

SCENE_COLUMN_FILE = "scenes.csv"
HINT_SHAPE = "a COCO instances file is a JSON object with lists 'images', 'annotations' and 'categories'"


def split_name(path: Path) -> str:
    stem = path.stem
    return stem[len("instances_"):] if stem.startswith("instances_") else stem


def read_json(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return json.load(fh)
    except OSError as exc:
        raise os_error(exc, path, "the COCO file") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno,
                        hint="the file may be truncated; download or export it again") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 JSON: {exc.reason}", path=path) from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_name(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


# field -> (check, what it must be)
CHECKS = {
    "id": (_is_int, "an integer"), "image_id": (_is_int, "an integer"), "category_id": (_is_int, "an integer"),
    "file_name": (_is_name, "a non-empty string"), "name": (_is_name, "a non-empty string"),
    "caption": (lambda v: isinstance(v, str), "a string"),
}


def _list_of_dicts(path: Path, doc: dict, key: str, required: tuple[str, ...]) -> list[dict]:
    """``doc[key]`` as a list of objects whose ``required`` fields exist and have the right type."""
    items = doc.get(key)
    if items is None:
        raise DataError(f"missing '{key}'", path=path, field=key, hint=HINT_SHAPE)
    if not isinstance(items, list):
        raise DataError(f"'{key}' must be a list, found {type(items).__name__}", path=path, field=key,
                        hint=HINT_SHAPE)
    for i, it in enumerate(items):
        if not isinstance(it, dict):
            raise DataError(f"expected an object, found {it!r:.60}", path=path, field=f"{key}[{i}]", hint=HINT_SHAPE)
        for r in required:
            if r not in it:
                raise DataError(f"missing '{r}'", path=path, field=f"{key}[{i}]", hint=HINT_SHAPE)
            ok, what = CHECKS[r]
            if not ok(it[r]):
                raise DataError(f"'{r}' must be {what}, found {json.dumps(it[r])[:60]}", path=path,
                                field=f"{key}[{i}].{r}", hint=f"fix entry {i} of '{key}' ({HINT_SHAPE})")
    return items


def read_instances(path: Path) -> tuple[list[dict], list[dict], list[dict]]:
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise DataError(f"expected a JSON object, found {type(doc).__name__}", path=path, hint=HINT_SHAPE)
    images = _list_of_dicts(path, doc, "images", ("id", "file_name"))
    anns = _list_of_dicts(path, doc, "annotations", ("image_id", "category_id"))
    cats = _list_of_dicts(path, doc, "categories", ("id", "name"))
    return images, anns, cats


def _category_names(path: Path, cats: list[dict], strict: bool) -> dict[int, str]:
    """Category id -> name (whitespace normalised); duplicate ids refused; with ``strict``
    names that differ only by case are refused too (otherwise merged later)."""
    names: dict[int, str] = {}
    pos: dict[int, int] = {}
    by_fold: dict[str, tuple[int, str]] = {}
    for k, c in enumerate(cats):
        if c["id"] in pos:
            raise DataError(f"duplicate category id {c['id']} (also categories[{pos[c['id']]}])", path=path,
                            field=f"categories[{k}].id", hint="category ids must be unique")
        name = normalise_space(c["name"])
        prev = by_fold.setdefault(name.casefold(), (k, name))
        if strict and prev[1] != name:
            raise DataError(f"category names differ only by case: '{prev[1]}' (categories[{prev[0]}]) and "
                            f"'{name}' (categories[{k}])", path=path, field=f"categories[{k}].name",
                            hint="spell each category one way, or drop --strict to merge them")
        pos[c["id"]] = k
        names[c["id"]] = name
    return names


def image_keywords(path: Path, images: list[dict], anns: list[dict], cats: list[dict],
                   strict: bool = False) -> list[list[str]]:
    row_of: dict[Any, int] = {}
    for i, im in enumerate(images):
        if im["id"] in row_of:
            raise DataError(f"duplicate image id {im['id']!r} (also images[{row_of[im['id']]}])", path=path,
                            field=f"images[{i}].id", hint="image ids must be unique")
        row_of[im["id"]] = i
    cat_name = _category_names(path, cats, strict)
    per_row: list[list[str]] = [[] for _ in images]
    for j, a in enumerate(anns):
        row = row_of.get(a["image_id"])
        if row is None:
            raise DataError(f"annotation points at unknown image id {a['image_id']!r}", path=path,
                            field=f"annotations[{j}].image_id", hint="every image_id must be listed in 'images'")
        name = cat_name.get(a["category_id"])
        if name is None:
            raise DataError(f"annotation points at unknown category id {a['category_id']!r}", path=path,
                            field=f"annotations[{j}].category_id",
                            hint="every category_id must be listed in 'categories'")
        kws = per_row[row]
        if name not in kws:
            kws.append(name)
    return per_row


def read_captions(path: Path, images: list[dict]) -> tuple[list[str], int]:
    """Captions per image row, and how many captions named an unknown image."""
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise DataError("expected a JSON object with 'annotations'", path=path)
    anns = _list_of_dicts(path, doc, "annotations", ("image_id", "caption"))
    row_of = {im["id"]: i for i, im in enumerate(images)}
    parts: list[list[str]] = [[] for _ in images]
    unknown = 0
    for a in anns:
        row = row_of.get(a["image_id"])
        if row is None:
            unknown += 1
            continue
        c = str(a["caption"]).strip()
        if c:
            parts[row].append(c)
    return [" | ".join(p) for p in parts], unknown


def image_folder(ann_path: Path, file_names: list[str]) -> tuple[Path, list[Path]]:
    """The candidate folder holding most of a sample of the images (first wins ties)."""
    ann_dir = ann_path.parent
    split = split_name(ann_path)
    cands: list[Path] = []
    for root in (ann_dir.parent, ann_dir):
        for c in (root / "images", root / split, root / "images" / split):
            if c not in cands:
                cands.append(c)
    cands += [c for c in (ann_dir.parent, ann_dir) if c not in cands]
    sample = [f for f in file_names[:200] if not os.path.isabs(f)]
    best, best_hits = None, -1
    files = FileIndex()
    for c in cands:
        if not c.is_dir():
            continue
        hits = sum(files.exists(resolve_image(c, f)) for f in sample)
        if hits > best_hits:
            best, best_hits = c, hits
    return (best if best is not None else ann_dir.parent / "images"), cands


def read_scene_column(path: Path, images: list[dict], vocabulary: list[str] | None,
                      vocab_path: Path | None) -> tuple[list[str], np.ndarray, list[str]]:
    """(scene vocabulary, image_scene, ids of images without a scene) from scenes.csv."""
    by_key: dict[str, int] = {}
    for i, im in enumerate(images):
        by_key[str(im["file_name"])] = i
        by_key[os.path.basename(str(im["file_name"]))] = i
    for i, im in enumerate(images):
        by_key[str(im["id"])] = i
    assigned: dict[int, tuple[str, int]] = {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, strict=True)
            header = [h.strip() for h in (reader.fieldnames or [])]
            reader.fieldnames = header
            for col in ("image", "scene"):
                if col not in header:
                    raise DataError(f"missing column '{col}' (found: {', '.join(header) or 'nothing'})", path=path,
                                    line=1, field=col, hint="scenes.csv needs the columns image (file_name or id) and scene")
            start = reader.line_num
            for rec in reader:
                line, start = start + 1, reader.line_num
                key = (rec.get("image") or "").strip()
                scene = (rec.get("scene") or "").strip()
                if not key:
                    continue
                row = by_key.get(key)
                if row is None:
                    raise DataError(f"unknown image '{key}'", path=path, line=line, field="image",
                                    hint="use a file_name or image id from the instances file")
                if vocabulary is not None and scene and scene not in vocabulary:
                    raise DataError(f"unknown scene '{scene}'", path=path, line=line, field="scene",
                                    hint=f"fix the value or add it to {vocab_path}")
                prev = assigned.get(row)
                if prev is not None and prev[0] != scene:
                    raise DataError(f"image '{key}' already has scene '{prev[0]}' (line {prev[1]})", path=path,
                                    line=line, field="scene", hint="give each image one scene")
                if scene:
                    assigned[row] = (scene, line)
    except OSError as exc:
        raise os_error(exc, path, "the scene table") from None
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path=path, hint="check quoting on this line") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text: {exc.reason}", path=path) from None
    vocab = list(vocabulary) if vocabulary is not None else sorted({s for s, _ in assigned.values()})
    index = {s: i for i, s in enumerate(vocab)}
    image_scene = np.full(len(images), -1, np.int32)
    for row, (s, _) in assigned.items():
        image_scene[row] = index[s]
    unassigned = [str(images[i]["id"]) for i in range(len(images)) if image_scene[i] < 0]
    return vocab, image_scene, unassigned


def load_coco(path: str | Path, *, strict: bool = False, allow_outside: bool = False) -> LoadResult:
    path = Path(path)
    images, anns, cats = read_instances(path)
    if not images:
        raise DataError("the file lists no images", path=path, field="images", hint=HINT_SHAPE)
    ids = [str(im["id"]) for im in images]
    per_row, problems = merge_case_variants(image_keywords(path, images, anns, cats, strict), ids, path,
                                            "categories", strict=strict, label="images")
    empty = [ids[i] for i, k in enumerate(per_row) if not k]
    if empty:
        problems.append(counted_problem("image(s) have no annotations (kept without keywords)", empty, path,
                                        "annotations", label="ids"))
    keywords, indptr, indices = keyword_csr(per_row)

    ann_dir = path.parent
    split = split_name(path)
    text: dict[str, list[str]] = {}
    cap_path = ann_dir / f"captions_{split}.json"
    if cap_path.is_file():
        text["caption"], unknown = read_captions(cap_path, images)
        if unknown:
            problems.append(Problem(f"{unknown} caption(s) name an image that is not in the instances file "
                                    "(ignored)", path=str(cap_path), field="annotations"))

    vocab_path = ann_dir / SCENES_FILE if (ann_dir / SCENES_FILE).is_file() else None
    vocabulary = read_scene_vocabulary(vocab_path) if vocab_path else None
    scene_csv = ann_dir / SCENE_COLUMN_FILE
    if scene_csv.is_file():
        scenes, image_scene, unassigned = read_scene_column(scene_csv, images, vocabulary, vocab_path)
        scene_source = "column"
        if unassigned:
            problems.append(counted_problem("image(s) have no scene in scenes.csv", unassigned, scene_csv,
                                            "scene", label="ids"))
    else:
        scenes = vocabulary if vocabulary is not None else default_scene_vocabulary()
        image_scene = np.full(len(images), -1, np.int32)
        scene_source = "zero-shot"

    names = [str(im["file_name"]) for im in images]
    folder, tried = image_folder(path, names)
    files = FileIndex()
    image_paths: list[str] = []
    missing: list[tuple[int, int | None, str]] = []
    for row, f in enumerate(names):
        if not allow_outside and escapes(folder, f):
            raise DataError(f"file_name '{f}' leads out of the image folder {folder}", path=path,
                            field=f"images[{row}].file_name", hint=HINT_OUTSIDE)
        p = resolve_image(folder, f)
        image_paths.append(p)
        if not files.exists(p):
            missing.append((row, None, f))
    ds = Dataset(
        name=f"{ann_dir.parent.name or 'coco'} {split}".strip(), ids=ids, image_paths=image_paths,
        keywords=keywords, kw_indptr=indptr, kw_indices=indices, scenes=list(scenes), image_scene=image_scene,
        text=text, source_path=str(path), kind="coco", scene_source=scene_source, problems=problems,
        root=os.path.commonpath([os.path.abspath(ann_dir), os.path.abspath(folder)]),
    )
    hint = f"images are looked up in {folder} (also tried: {', '.join(str(c) for c in tried if c != folder)})"
    return LoadResult(ds, missing, image_hint=hint)
