"""Run folders: a finished experiment on disk, reloadable without retraining.

Layout of ``<run_dir>`` (written with engine.core.atomic.atomic_dir, so a cancelled,
crashed or concurrent save leaves nothing half-written; ``run.json`` is the
completeness mark and carries ``"mmkg_tui": {"kind": "run"}``, the sign that
mmkg-tui wrote the folder and may replace it -- nothing else is ever replaced):

* ``config.json``  -- the ExperimentConfig
* ``metrics.json`` -- metrics_json(): RunResult.to_json() under ``"mmkg_tui": {"kind": "metrics"}``
  (the CLI's ``--json`` file; ``--json`` overwrites only a file with that mark)
* ``arrays.npz``   -- split, eval rows, labels, scores, per-keyword arrays, ROC
  points and the learned embeddings (first seed)
* ``model.pt``     -- the first seed's model weights (state dict)
* ``run.json``     -- everything else (dataset info, ids, keywords, thresholds, ...)

Default location: ``$MMKG_TUI_HOME/runs/<dataset fingerprint>/<timestamp>`` when
MMKG_TUI_HOME is set, else platformdirs' user data dir for "mmkg-tui". Loading
validates every file (engine.experiment.run_schema): a damaged folder is a DataError
naming the file and the field.
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from engine.core.atomic import atomic_dir, atomic_write_text, check_can_create
from engine.core.errors import DataError, StorageError
from engine.data.fingerprint import dataset_fingerprint

FORMAT = 1
FILES = ("config.json", "metrics.json", "arrays.npz", "run.json")


def runs_root() -> Path:
    home = os.environ.get("MMKG_TUI_HOME")
    if home:
        return Path(home) / "runs"
    from platformdirs import user_data_dir

    return Path(user_data_dir("mmkg-tui")) / "runs"


def _fingerprint_of(dataset) -> str:
    return dataset["fingerprint"] if isinstance(dataset, dict) else dataset_fingerprint(dataset)


def default_run_dir(dataset) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return runs_root() / _fingerprint_of(dataset) / stamp


def is_complete(run_dir: Path) -> bool:
    return all((run_dir / f).is_file() for f in FILES)


def last_run_for(dataset) -> Path | None:
    folder = runs_root() / _fingerprint_of(dataset)
    if not folder.is_dir():
        return None
    runs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and is_complete(p)]
    return max(runs, key=lambda p: p.name) if runs else None


def _arrays(result) -> dict[str, np.ndarray]:
    out = {"split": result.split, "eval_rows": result.eval_rows, "labels": result.labels}
    for m, s in result.scores.items():
        out[f"scores/{m}"] = s
    if result.score_scale != "raw":  # a raw run's scores are its raw scores
        for m, s in result.raw_scores.items():
            out[f"raw_scores/{m}"] = s
    for m, kw in result.per_keyword.items():
        for k, v in kw.items():
            out[f"per_keyword/{m}/{k}"] = np.asarray(v)
    for m, (fpr, tpr) in result.roc.items():
        out[f"roc/{m}/fpr"] = np.asarray(fpr)
        out[f"roc/{m}/tpr"] = np.asarray(tpr)
    for m, e in result.image_embeddings.items():
        out[f"image_embeddings/{m}"] = e
    for m, e in result.keyword_embeddings.items():
        out[f"keyword_embeddings/{m}"] = e
    for m, cal in result.calibration.items():
        out[f"calibration/{m}/slope"] = cal.slope
        out[f"calibration/{m}/intercept"] = cal.intercept
        out[f"calibration/{m}/per_keyword"] = cal.per_keyword
    for m, kw in result.per_keyword_runs.items():
        for k, v in kw.items():
            out[f"per_keyword_runs/{m}/{k}"] = np.asarray(v)
    out["loss_history"] = np.asarray(result.loss_history, dtype=np.float64)
    return out


def _calibration(arr: dict[str, np.ndarray], methods: list[str]) -> dict:
    from engine.evaluation.calibration import PlattCalibration

    return {m: PlattCalibration(arr[f"calibration/{m}/slope"], arr[f"calibration/{m}/intercept"],
                                arr[f"calibration/{m}/per_keyword"])
            for m in methods if f"calibration/{m}/slope" in arr}


def _nested(flat: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for k, v in flat.items():
        m, name = k.rsplit("/", 1)
        out.setdefault(m, {})[name] = v
    return out


RUN_MARK = {"kind": "run", "format": FORMAT}
METRICS_MARK = {"kind": "metrics", "format": FORMAT}
RUN_ENTRIES = frozenset(FILES) | {"model.pt"}
_OLD_METRICS_KEYS = ("methods", "config", "dataset", "embedding_source")  # metrics JSON before the mark
MAX_LISTED = 10


def _json_object(path: Path, max_bytes: int = 256 << 20) -> dict | None:
    try:
        if path.stat().st_size > max_bytes:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _marked(data: dict | None, kind: str) -> bool:
    mark = data.get("mmkg_tui") if data else None
    return isinstance(mark, dict) and mark.get("kind") == kind


def is_run_folder(path) -> bool:
    """True for a folder save_run wrote: its run.json or metrics.json carries the mmkg_tui
    mark (a damaged run keeps one of them); folders from before the mark: run.json's
    format field and method list."""
    path = Path(path)
    if not path.is_dir():
        return False
    meta = _json_object(path / "run.json")
    if _marked(meta, "run") or _marked(_json_object(path / "metrics.json"), "metrics"):
        return True
    return meta is not None and meta.get("format") == FORMAT and isinstance(meta.get("methods"), list)


def metrics_json(result) -> dict:
    """The metrics JSON (``--json`` and metrics.json): RunResult.to_json() under the mmkg_tui mark."""
    return {"mmkg_tui": dict(METRICS_MARK), **result.to_json()}


def is_metrics_json(path) -> bool:
    data = _json_object(Path(path))
    return data is not None and (_marked(data, "metrics") or all(k in data for k in _OLD_METRICS_KEYS))


def check_run_target(path) -> None:
    """Raise StorageError unless ``path`` may receive a run folder: a new path, an empty
    folder, or an earlier run folder holding only what save_run writes."""
    path = Path(path)
    if not os.path.lexists(path):
        check_can_create(path, "run folder")
        return
    if not path.is_dir():
        raise StorageError(f"{path} exists and is not a folder; mmkg-tui will not overwrite it",
                           hint="choose a new folder name for --out")
    if os.path.ismount(path):
        raise StorageError(f"{path} is a mount point and cannot be replaced",
                           hint=f"give a folder inside it, e.g. --out {path / 'run'}")
    entries = sorted(p.name for p in path.iterdir())
    if entries and not is_run_folder(path):
        what = f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}"
        raise StorageError(f"{path} holds {what} and is not a run folder written by mmkg-tui; "
                           "it will not be replaced", hint="choose a new or empty folder for --out")
    foreign = [e for e in entries if e not in RUN_ENTRIES]
    if foreign:
        raise StorageError(f"the run folder {path} also holds files mmkg-tui did not write "
                           f"({', '.join(foreign[:5])}); it will not be replaced",
                           hint="move those files out of it, or choose another folder for --out")
    check_can_create(path, "run folder")


def check_json_target(path, *, run_dir=None) -> None:
    """Raise StorageError unless ``path`` may receive the metrics JSON: a new file or one
    mmkg-tui wrote; never inside the run folder (which is replaced as a whole)."""
    path = Path(path)
    if run_dir is not None:
        rd = Path(os.path.abspath(run_dir))
        if Path(os.path.abspath(path)).is_relative_to(rd):
            raise StorageError(f"{path} is inside the run folder {run_dir}, which is replaced as a whole",
                               hint="the run folder already holds metrics.json; write --json elsewhere")
    if os.path.lexists(path):
        if path.is_dir():
            raise StorageError(f"{path} is a folder", hint="give a file name, e.g. --json out.json")
        if not is_metrics_json(path):
            raise StorageError(f"{path} exists and is not a metrics file written by mmkg-tui; "
                               "it will not be overwritten", hint="choose a new file name for --json")
    check_can_create(path, "metrics file")


def write_metrics_json(result, path) -> None:
    """The metrics JSON, atomically (temp file + rename), only over a file mmkg-tui wrote."""
    check_json_target(path)
    atomic_write_text(path, json.dumps(metrics_json(result), indent=2, allow_nan=False) + "\n")


def _model_bytes(state: dict) -> bytes:
    import io

    import torch

    buf = io.BytesIO()  # torch's own file writer hides ENOSPC in a RuntimeError: write through Python
    torch.save(state, buf)
    return buf.getvalue()


def save_run(result, run_dir, *, model_state: dict | None = None) -> Path:
    """Write ``result`` to ``run_dir`` atomically. An existing ``run_dir`` is replaced
    only if it is an earlier run folder (check_run_target, checked again under the lock)."""
    run_dir = Path(run_dir)
    check_run_target(run_dir)
    state = model_state if model_state is not None else result.model_state
    with atomic_dir(run_dir, guard=check_run_target) as tmp:
        (tmp / "config.json").write_text(json.dumps(result.config.to_dict(), indent=2), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(metrics_json(result), indent=2), encoding="utf-8")
        np.savez_compressed(tmp / "arrays.npz", **_arrays(result))
        if state is not None:
            (tmp / "model.pt").write_bytes(_model_bytes(state))
        meta = {
            "mmkg_tui": dict(RUN_MARK),
            "format": FORMAT, "dataset": result.dataset, "embedding_source": result.embedding_source,
            "image_ids": result.image_ids, "keywords": result.keywords, "methods": result.methods,
            "best_threshold": result.best_threshold, "embedding_stats": result.embedding_stats,
            "created": result.created, "seeds": result.seeds, "elapsed_s": result.elapsed_s,
            "metrics": result.metrics, "problems": result.problems, "warnings": result.warnings,
            "macro_excluded": result.macro_excluded, "skipped_methods": result.skipped_methods,
            "score_scale": result.score_scale, "best_thresholds": result.best_thresholds,
        }
        (tmp / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    return run_dir


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("file missing from the run folder", path=path,
                        hint="the run is incomplete; run `mmkg-tui run` again") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"corrupt JSON ({exc})", path=path, hint="delete the run folder and run again") from None


def find_runs(folder, limit: int = MAX_LISTED) -> list[Path]:
    """Run folders up to three levels below ``folder`` (runs root / fingerprint / stamp), newest first."""
    folder = Path(folder)
    found = [p.parent for depth in ("*/", "*/*/", "*/*/*/") for p in folder.glob(depth + "run.json")
             if not any(part.startswith(".") for part in p.relative_to(folder).parts)]

    def mtime(p: Path) -> float:
        try:
            return (p / "run.json").stat().st_mtime
        except OSError:
            return 0.0

    return sorted((p for p in found if is_run_folder(p)), key=mtime, reverse=True)[:limit]


def _not_a_run_folder(run_dir: Path) -> DataError:
    runs = find_runs(run_dir, MAX_LISTED + 1)
    if not runs:
        return DataError(f"{run_dir} is not a run folder (it holds no run.json) and has no run folders inside",
                         hint="pass a folder written by `mmkg-tui run` (it prints `run folder: ...`)")
    more = " (the 10 newest)" if len(runs) > MAX_LISTED else ""
    listing = "\n".join(f"     {p}" for p in runs[:MAX_LISTED])
    return DataError(f"{run_dir} is not a run folder; run folders inside it, newest first{more}:\n{listing}",
                     hint=f"pass one of them, e.g. mmkg-tui --run {runs[0]}")


def read_run_header(run_dir):
    """(validated run.json, ExperimentConfig) of ``run_dir``; DataError naming file and field."""
    from engine.experiment.run_schema import (  # pydantic: on first use
        validate_config,
        validate_meta,
    )

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError("no such run folder", path=run_dir, hint="pass a folder written by `mmkg-tui run`")
    if not any((run_dir / f).exists() for f in FILES):
        raise _not_a_run_folder(run_dir)
    raw = _read_json(run_dir / "run.json")
    if isinstance(raw, dict) and raw.get("format") != FORMAT:
        raise DataError(f"unsupported run format {raw.get('format')!r}", path=run_dir / "run.json",
                        field="format", hint="re-run the experiment with this version")
    meta = validate_meta(raw, run_dir / "run.json")
    config_json = _read_json(run_dir / "config.json")
    config = validate_config(config_json, run_dir / "config.json")
    if "baselines" not in config_json:  # a run saved before baselines existed: say what it holds
        from engine.methods.baselines import BASELINES

        config.baselines = any(m in BASELINES for m in meta.methods)
    for marker, before in SETTINGS_BEFORE:
        if marker not in config_json:  # saved before that option existed: what it meant then
            for name, value in before.items():
                setattr(config, name, value)
    return meta, config


# config.json without the marker field: saved before those options; the run used these values
SETTINGS_BEFORE: tuple[tuple[str, dict], ...] = (
    ("score_scale", {"score_scale": "raw"}),  # before calibration: raw thresholds
    ("objective", {"objective": "sage", "train_as_test": False, "select_metric": "none", "patience": 0,
                   "blend": False}),  # before the learner options: the poster's J, every epoch, no blend
    ("edge_weight", {"edge_weight": "none", "conv": "sage"}),  # before edge weights: unweighted SAGE
)


def _read_arrays(npz_path: Path, meta) -> dict[str, np.ndarray]:
    from engine.experiment.run_schema import check_array_names, check_array_shapes

    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            check_array_names(npz.files, meta, npz_path)
            arr = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise DataError("file missing from the run folder", path=npz_path, hint="run `mmkg-tui run` again") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"corrupt arrays file ({exc})", path=npz_path, hint="delete the run folder and run again") from None
    check_array_shapes(arr, meta, npz_path)
    return arr


def check_run_folder(run_dir) -> None:
    """Cheap check before opening ``run_dir`` (headers and array names, no array data)."""
    from engine.experiment.run_schema import check_array_names

    run_dir = Path(run_dir)
    meta, _ = read_run_header(run_dir)
    npz_path = run_dir / "arrays.npz"
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            check_array_names(npz.files, meta, npz_path)
    except FileNotFoundError:
        raise DataError("file missing from the run folder", path=npz_path, hint="run `mmkg-tui run` again") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"corrupt arrays file ({exc})", path=npz_path, hint="delete the run folder and run again") from None


def load_run(run_dir):
    """RunResult from a folder written by save_run (no retraining), validated on the way."""
    from engine.experiment.records import RunResult

    run_dir = Path(run_dir)
    meta, config = read_run_header(run_dir)
    arr = _read_arrays(run_dir / "arrays.npz", meta)

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix):]: v for k, v in arr.items() if k.startswith(prefix)}

    methods = list(meta.methods)
    per_keyword: dict[str, dict[str, np.ndarray]] = {m: {} for m in methods}
    for k, v in group("per_keyword/").items():
        m, name = k.rsplit("/", 1)
        per_keyword.setdefault(m, {})[name] = v
    return RunResult(
        config=config, dataset=meta.dataset, embedding_source=meta.embedding_source,
        image_ids=list(meta.image_ids), split=arr["split"], keywords=list(meta.keywords),
        methods=methods, eval_rows=arr["eval_rows"], labels=arr["labels"],
        scores={m: arr[f"scores/{m}"] for m in methods}, best_threshold={m: meta.best_threshold[m] for m in methods},
        metrics=_nan_back(meta.metrics), per_keyword=per_keyword,
        roc={m: (arr[f"roc/{m}/fpr"], arr[f"roc/{m}/tpr"]) for m in methods},
        embedding_stats=_nan_back(meta.embedding_stats), loss_history=[float(x) for x in arr["loss_history"]],
        created=meta.created, image_embeddings=group("image_embeddings/"),
        keyword_embeddings=group("keyword_embeddings/"), seeds=list(meta.seeds), elapsed_s=meta.elapsed_s,
        problems=list(meta.problems), warnings=list(meta.warnings),
        macro_excluded=dict(meta.macro_excluded), skipped_methods=dict(meta.skipped_methods),
        score_scale=meta.score_scale, calibration=_calibration(arr, methods),
        raw_scores=group("raw_scores/") or {m: arr[f"scores/{m}"] for m in methods},
        best_thresholds={sc: dict(d) for sc, d in meta.best_thresholds.items()},
        per_keyword_runs=_nested(group("per_keyword_runs/")),
    )


def _nan_back(x):
    if isinstance(x, dict):
        return {k: _nan_back(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_back(v) for v in x]
    return float("nan") if x is None else x


def load_model_state(run_dir) -> dict | None:
    import torch

    path = Path(run_dir) / "model.pt"
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu")
