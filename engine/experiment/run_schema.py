"""What a run folder must hold, checked on load: a damaged folder is a DataError naming
the file and the field, never a KeyError or AttributeError from deep inside.

``run.json`` is validated with a pydantic model, ``config.json`` must be an object of
valid ExperimentConfig options, and ``arrays.npz`` must hold every method's scores
and ROC points with shapes that agree with ``run.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from engine.core.errors import ConfigError, DataError

DAMAGED = "the run folder is damaged: delete it and run `mmkg-tui run` again"


class RunMeta(BaseModel):
    """``run.json`` (the fields load_run reads; unknown ones are ignored)."""

    model_config = ConfigDict(extra="ignore")

    format: int
    dataset: dict[str, Any]
    embedding_source: str
    image_ids: list[str]
    keywords: list[str]
    methods: list[str]
    best_threshold: dict[str, float]
    embedding_stats: dict[str, dict[str, float | None]]
    created: str
    metrics: dict[str, dict[str, Any]]
    seeds: list[int] = []
    elapsed_s: float = 0.0
    problems: list[str] = []
    warnings: list[str] = []
    macro_excluded: dict[str, str] = {}
    skipped_methods: dict[str, str] = {}
    score_scale: str = "raw"  # runs saved before calibration existed were on the raw scale
    best_thresholds: dict[str, dict[str, float]] = {}  # scale -> method -> threshold chosen on validation


def _field(loc: tuple) -> str:
    return ".".join(str(x) for x in loc)


def validate_meta(raw: Any, path: Path) -> RunMeta:
    if not isinstance(raw, dict):
        raise DataError(f"expected a JSON object, found {type(raw).__name__}", path=path, hint=DAMAGED)
    try:
        meta = RunMeta.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DataError(f"{first['msg']}, found {first.get('input')!r:.60}{more}", path=path,
                        field=_field(first["loc"]), hint=DAMAGED) from None
    for name in ("best_threshold", "metrics"):
        missing = [m for m in meta.methods if m not in getattr(meta, name)]
        if missing:
            raise DataError(f"no entry for method(s) {', '.join(missing)}", path=path,
                            field=f"{name}.{missing[0]}", hint=DAMAGED)
    return meta


def validate_config(raw: Any, path: Path):
    from engine.experiment.config import ExperimentConfig

    if not isinstance(raw, dict):
        raise DataError(f"expected a JSON object of options, found {type(raw).__name__}", path=path, hint=DAMAGED)
    try:
        config = ExperimentConfig.from_dict(raw)
        config.validate()
    except ConfigError as exc:
        raise DataError(exc.message, path=path, field=exc.field, hint=DAMAGED) from None
    except (TypeError, ValueError) as exc:
        raise DataError(f"invalid options ({exc})", path=path, hint=DAMAGED) from None
    return config


def required_arrays(methods: list[str]) -> list[str]:
    keys = ["split", "eval_rows", "labels", "loss_history"]
    for m in methods:
        keys += [f"scores/{m}", f"roc/{m}/fpr", f"roc/{m}/tpr"]
    return keys


def check_array_names(names, meta: RunMeta, path: Path) -> None:
    missing = [k for k in required_arrays(meta.methods) if k not in names]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"array missing from the arrays file{more}", path=path, field=missing[0], hint=DAMAGED)


def check_array_shapes(arr: dict[str, np.ndarray], meta: RunMeta, path: Path) -> None:
    n, k = len(meta.image_ids), len(meta.keywords)
    m = arr["eval_rows"].shape[0] if arr["eval_rows"].ndim == 1 else -1
    expected = {"split": (n,), "labels": (m, k), **{f"scores/{x}": (m, k) for x in meta.methods}}
    if m < 0:
        raise DataError(f"expected one row index per evaluated image, found shape {arr['eval_rows'].shape}",
                        path=path, field="eval_rows", hint=DAMAGED)
    for key, shape in expected.items():
        if arr[key].shape != shape:
            raise DataError(f"shape {arr[key].shape} does not match run.json (expected {shape})",
                            path=path, field=key, hint=DAMAGED)
    rows = arr["eval_rows"]
    if m and (not np.issubdtype(rows.dtype, np.integer) or rows.min() < 0 or rows.max() >= n):
        raise DataError(f"row indices outside the {n} images of run.json", path=path, field="eval_rows", hint=DAMAGED)
