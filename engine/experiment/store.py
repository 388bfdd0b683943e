"""Run folders: a finished experiment on disk, reloadable without retraining.

Layout of ``<run_dir>`` (written with engine.atomic.atomic_dir, so a cancelled or
crashed save leaves nothing half-written; ``run.json`` is the completeness mark):

* ``config.json``  -- the ExperimentConfig
* ``metrics.json`` -- RunResult.to_json() (the CLI's JSON: methods/config/dataset)
* ``arrays.npz``   -- split, eval rows, labels, scores, per-keyword arrays, ROC
  points and the learned embeddings (first seed)
* ``model.pt``     -- the first seed's model weights (state dict)
* ``run.json``     -- everything else (dataset info, ids, keywords, thresholds, ...)

Default location: ``$MMKG_TUI_HOME/runs/<dataset fingerprint>/<timestamp>`` when
MMKG_TUI_HOME is set, else platformdirs' user data dir for "mmkg-tui".
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from engine.core.atomic import atomic_dir
from engine.core.errors import DataError
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


def save_run(result, run_dir, *, model_state: dict | None = None) -> Path:
    """Write ``result`` to ``run_dir`` atomically (replacing an existing folder)."""
    import torch

    run_dir = Path(run_dir)
    state = model_state if model_state is not None else result.model_state
    with atomic_dir(run_dir) as tmp:
        (tmp / "config.json").write_text(json.dumps(result.config.to_dict(), indent=2), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
        np.savez_compressed(tmp / "arrays.npz", **_arrays(result))
        if state is not None:
            torch.save(state, tmp / "model.pt")
        meta = {
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


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("file missing from the run folder", path=path,
                        hint="the run is incomplete; run `mmkg-tui run` again") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"corrupt JSON ({exc})", path=path, hint="delete the run folder and run again") from None


def load_run(run_dir):
    """RunResult from a folder written by save_run (no retraining)."""
    from engine.experiment.config import ExperimentConfig
    from engine.experiment.records import RunResult

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError("no such run folder", path=run_dir, hint="pass a folder written by `mmkg-tui run`")
    meta = _read_json(run_dir / "run.json")
    if meta.get("format") != FORMAT:
        raise DataError(f"unsupported run format {meta.get('format')!r}", path=run_dir / "run.json",
                        hint="re-run the experiment with this version")
    config_json = _read_json(run_dir / "config.json")
    config = ExperimentConfig.from_dict(config_json)
    if "score_scale" not in config_json:  # saved before calibration existed: its thresholds are raw
        config.score_scale = "raw"
    npz_path = run_dir / "arrays.npz"
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arr = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise DataError("file missing from the run folder", path=npz_path, hint="run `mmkg-tui run` again") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"corrupt arrays file ({exc})", path=npz_path, hint="delete the run folder and run again") from None

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix):]: v for k, v in arr.items() if k.startswith(prefix)}

    try:
        methods = list(meta["methods"])
        if "baselines" not in config_json:  # a run saved before baselines existed: say what it holds
            from engine.methods.baselines import BASELINES

            config.baselines = any(m in BASELINES for m in methods)
        per_keyword: dict[str, dict[str, np.ndarray]] = {m: {} for m in methods}
        for k, v in group("per_keyword/").items():
            m, name = k.rsplit("/", 1)
            per_keyword.setdefault(m, {})[name] = v
        roc = {m: (arr[f"roc/{m}/fpr"], arr[f"roc/{m}/tpr"]) for m in methods}
        return RunResult(
            config=config, dataset=meta["dataset"], embedding_source=meta["embedding_source"],
            image_ids=list(meta["image_ids"]), split=arr["split"], keywords=list(meta["keywords"]),
            methods=methods, eval_rows=arr["eval_rows"], labels=arr["labels"],
            scores=group("scores/"), best_threshold={k: float(v) for k, v in meta["best_threshold"].items()},
            metrics=_nan_back(meta["metrics"]), per_keyword=per_keyword, roc=roc,
            embedding_stats=_nan_back(meta["embedding_stats"]), loss_history=[float(x) for x in arr["loss_history"]],
            created=meta["created"], image_embeddings=group("image_embeddings/"),
            keyword_embeddings=group("keyword_embeddings/"), seeds=list(meta.get("seeds", [])),
            elapsed_s=float(meta.get("elapsed_s", 0.0)),
            problems=list(meta.get("problems", [])), warnings=list(meta.get("warnings", [])),
            macro_excluded=dict(meta.get("macro_excluded", {})), skipped_methods=dict(meta.get("skipped_methods", {})),
            score_scale=str(meta.get("score_scale", "raw")), calibration=_calibration(arr, methods),
            raw_scores=group("raw_scores/") or group("scores/"),
            best_thresholds={sc: {k: float(v) for k, v in d.items()} for sc, d in meta.get("best_thresholds", {}).items()},
            per_keyword_runs=_nested(group("per_keyword_runs/")),
        )
    except KeyError as exc:
        raise DataError(f"run folder is missing {exc}", path=run_dir, hint="delete the run folder and run again") from None


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
