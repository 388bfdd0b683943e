"""Dataset loading: one entry point for manifests, COCO files and folders.

``load_dataset(path)`` accepts a manifest (.csv/.jsonl), a COCO ``instances_*.json``,
or a folder holding one; ``None`` is the bundled synthetic demo. Precomputed
vectors are attached from ``embeddings=`` or, by default, an ``embeddings.npz``
next to the dataset file.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.core.errors import DataError
from engine.data.dataset import Dataset
from engine.data.embeddings_io import load_embeddings
from engine.data.labels import names_preview
from engine.data.loaders.common import (
    LoadResult,
    counted_problem,
    default_scene_vocabulary,
    os_error,
    read_scene_vocabulary,
    stat_error,
)

__all__ = [
    "load_dataset", "default_data_path", "resolve_dataset_path", "default_scene_vocabulary",
    "read_scene_vocabulary",
]

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson")
EMBEDDINGS_FILE = "embeddings.npz"
NOT_MANIFESTS = {"scenes.csv"}
HINT_KINDS = "pass a manifest (.csv/.jsonl), a COCO instances_*.json, or a folder holding exactly one"


def default_data_path() -> Path:
    """The bundled synthetic demo: <repo root>/sample_data/demo."""
    return Path(__file__).resolve().parents[3] / "sample_data" / "demo"


def resolve_dataset_path(path: str | Path | None) -> tuple[Path, str]:
    """(file, kind) for a user path; kind is 'manifest' or 'coco'."""
    if path is None:
        path = default_data_path()
        if not path.exists():
            raise DataError("the bundled demo is missing", path=path,
                            hint="regenerate it: python -m engine.demo --out sample_data/demo")
    p = Path(path).expanduser()
    err = stat_error(p)
    if err is not None:
        if isinstance(err, FileNotFoundError) and not os.path.lexists(p):
            raise DataError("no such file or folder", path=p, hint=HINT_KINDS)
        if isinstance(err, FileNotFoundError):
            raise DataError("this is a symbolic link to a file that does not exist", path=p,
                            hint=f"point the link at the dataset, or {HINT_KINDS}")
        raise os_error(err, p, "the dataset")
    if p.is_dir():
        try:
            return _from_folder(p)
        except OSError as exc:
            raise os_error(exc, p, "the dataset folder") from None
    return p, _kind_of_file(p)


def _kind_of_file(p: Path) -> str:
    name = p.name.lower()
    if name.endswith(MANIFEST_SUFFIXES):
        return "manifest"
    if name.endswith(".json"):
        if name.startswith("captions_"):
            raise DataError("this is a COCO captions file", path=p,
                            hint="pass the matching instances_*.json; captions beside it are read automatically")
        return "coco"
    if name.endswith((".npz", ".npy")):
        raise DataError("this is an embeddings file, not a dataset", path=p,
                        hint="pass the manifest with --data and this file with --embeddings")
    raise DataError(f"unknown dataset file type '{p.suffix}'", path=p, hint=HINT_KINDS)


def _from_folder(folder: Path) -> tuple[Path, str]:
    named = [folder / n for n in ("manifest.csv", "manifest.jsonl") if (folder / n).is_file()]
    if len(named) > 1:
        raise DataError(f"both {named[0].name} and {named[1].name} are here", path=folder,
                        hint="pass the one to use with --data FILE")
    if named:
        return named[0], "manifest"
    manifests = sorted(p for p in folder.iterdir()
                       if p.is_file() and p.name.lower().endswith(MANIFEST_SUFFIXES) and p.name not in NOT_MANIFESTS)
    if len(manifests) == 1:
        return manifests[0], "manifest"
    if len(manifests) > 1:
        raise DataError(f"several manifests found: {', '.join(p.name for p in manifests)}", path=folder,
                        hint="pass the one to use with --data FILE, or name it manifest.csv")
    coco = sorted(folder.glob("instances_*.json")) + sorted((folder / "annotations").glob("instances_*.json"))
    if len(coco) == 1:
        return coco[0], "coco"
    if len(coco) > 1:
        raise DataError(f"several COCO annotation files found: {', '.join(str(p.relative_to(folder)) for p in coco)}",
                        path=folder, hint="pass the one to use with --data FILE")
    found = sorted(p.name for p in folder.iterdir())[:10]
    raise DataError(f"no manifest or COCO annotations found (folder holds: {', '.join(found) or 'nothing'})",
                    path=folder, hint=HINT_KINDS)


def _default_embeddings(file: Path, given: Path | None, kind: str) -> Path | None:
    places = [file.parent]
    if kind == "coco":
        places.append(file.parent.parent)
    if given is not None and given.is_dir():
        places.insert(0, given)
    for d in places:
        if (d / EMBEDDINGS_FILE).is_file():
            return d / EMBEDDINGS_FILE
    return None


def check_images(result: LoadResult) -> None:
    """Missing image files: an error, unless precomputed vectors cover them."""
    ds, missing = result.dataset, result.missing_images
    if not missing:
        return
    where = [f"line {line}: {p or '(empty)'}" if line is not None else (p or "(empty)") for _, line, p in missing[:5]]
    if ds.embeddings is not None:
        for row, _, _ in missing:
            ds.image_paths[row] = ""
        lines = [line if line is not None else p for _, line, p in missing]
        problem = counted_problem("image file(s) not found; their precomputed vectors are used",
                                  lines, ds.source_path, "image",
                                  label="lines" if missing[0][1] is not None else "files")
        problem.message += f": {names_preview([ds.ids[row] for row, _, _ in missing], 3)}"
        ds.problems.append(problem)
        return
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    hint = result.image_hint or f"image paths are relative to the manifest folder {Path(ds.source_path).parent.resolve()}"
    raise DataError(f"{len(missing)} image file(s) not found: {'; '.join(where)}{more}",
                    path=ds.source_path, line=missing[0][1], field="image",
                    hint=f"{hint}; fix the paths, or pass --embeddings FILE with precomputed vectors")


def load_dataset(path: str | Path | None = None, *, strict: bool = False,
                 embeddings: str | Path | None = None, allow_outside: bool = False) -> Dataset:
    """Load a dataset from a manifest, COCO annotations or a folder (None = the demo).
    Relative image paths that lead out of the dataset folder ('../..') are refused
    unless ``allow_outside``; absolute paths are always accepted."""
    file, kind = resolve_dataset_path(path)
    if kind == "manifest":
        from engine.data.loaders.manifest import load_manifest

        result = load_manifest(file, strict=strict, allow_outside=allow_outside)
    else:
        from engine.data.loaders.coco import load_coco

        result = load_coco(file, strict=strict, allow_outside=allow_outside)
    given = Path(path).expanduser() if path is not None else default_data_path()
    emb_path = Path(embeddings).expanduser() if embeddings is not None else _default_embeddings(file, given, kind)
    if emb_path is not None:
        result.dataset.embeddings = load_embeddings(emb_path, result.dataset)
    check_images(result)
    return result.dataset

