"""Opening a session in two phases, so the main screen comes up before torch and DGL
are imported:

1. :func:`open_dataset` (no torch): the run folder (if any), the dataset and its
   features. Everything the Overview counts, the image list, the pictures and the
   keyword list need.
2. :func:`attach_engine` (imports torch and DGL, seconds): the knowledge graph, its
   summary, the reconnection strategies, and the last run of the dataset reopened.

Both run in thread workers (app/app.py); each raises ``api.MMKGError`` subclasses for
user problems. :func:`open_session` does both in a row (tests, scripts).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from engine import api
from mmkg_tui.app.state import Session, check_run_matches
from mmkg_tui.app.store import remember_run_dir
from mmkg_tui.present.corrections import apply_file

ProgressFn = Callable[[str], None]


@dataclass
class LoadRequest:
    """What to open: a data path (None = bundled demo), a run folder, or objects
    already in memory (tests, benchmarks)."""

    data: str | None = None
    run_dir: str | None = None
    dataset: Any = None
    run: Any = None
    reopen_last: bool = True
    embeddings: str | None = None  # precomputed image embeddings file (--embeddings)
    strict: bool = False  # fail on corrupt images instead of skipping them (--strict)
    clip_model: str | None = None
    clip_pretrained: str | None = None
    corrections: str | None = None  # a corrections CSV applied to the tags (--corrections FILE)

    def clip_config(self) -> Any:
        """An engine ClipConfig when the user chose a model or weights, else None (defaults)."""
        if self.clip_model is None and self.clip_pretrained is None:
            return None
        kwargs = {k: v for k, v in (("model", self.clip_model), ("pretrained", self.clip_pretrained)) if v}
        return api.ClipConfig(**kwargs)


def describe_progress(event: api.StageProgress) -> str:
    """An engine StageProgress as one status line: 'decode+embed images 120/3000'."""
    total = f"/{event.total:,}" if event.total else ""
    message = f"  {event.message}" if event.message else ""
    return f"{event.stage} {event.done:,}{total}{message}"


def open_dataset(request: LoadRequest, *, say: ProgressFn | None = None,
                 cancel: threading.Event | None = None, threshold: float | None = None) -> Session:
    """Phase 1 (no torch): the run folder, the dataset and its features."""
    say = say or (lambda _m: None)
    run, run_dir = request.run, None
    if request.run_dir is not None:
        say(f"opening run {request.run_dir}")
        run, run_dir = api.load_run(request.run_dir), request.run_dir
    dataset = request.dataset
    if dataset is None:
        path = request.data
        if path is None and run is not None:
            path = (getattr(run, "dataset", None) or {}).get("source")
        say(f"loading dataset {path or '(bundled demo)'}")
        dataset = api.load_dataset(path, strict=request.strict, embeddings=request.embeddings)
    applied = None
    if request.corrections is not None:
        say(f"applying corrections {request.corrections}")
        dataset, applied = apply_file(dataset, request.corrections)
    say("computing features")
    dataset, features = api.compute_features(dataset, request.clip_config(), cancel=cancel, strict=request.strict,
                                             progress=lambda ev: say(describe_progress(ev)))
    if run is not None:
        check_run_matches(run, dataset)
    session = Session(dataset, features, threshold=_threshold_for(threshold, run), run=run, run_dir=run_dir,
                      corrections=applied)
    if run_dir is not None:
        remember_run_dir(run_dir)
    return session


def attach_engine(session: Session, *, reopen_last: bool, say: ProgressFn | None = None) -> None:
    """Phase 2 (imports torch and DGL): graph, summary, strategies and the last run."""
    say = say or (lambda _m: None)
    say("building the graph")
    kg = api.build_graph(session.dataset, session.features)
    session.set_graph(kg, api.summary(session.dataset, kg, session.features), api.strategy_descriptions())
    if session.run is None and reopen_last:
        run, run_dir = reopen_last_run(session.dataset, session.notes, say)
        if run is not None:
            session.set_run(run, run_dir)


def open_session(request: LoadRequest, *, say: ProgressFn | None = None,
                 cancel: threading.Event | None = None, threshold: float | None = None) -> Session:
    """Both phases in a row (slow: call it from a thread worker)."""
    session = open_dataset(request, say=say, cancel=cancel, threshold=threshold)
    attach_engine(session, reopen_last=request.reopen_last, say=say)
    return session


def _threshold_for(threshold: float | None, run: Any) -> float:
    if threshold is not None:
        return threshold
    return run.config.threshold if run is not None else 0.7


def reopen_last_run(dataset: api.Dataset, notes: list[str], say: ProgressFn) -> tuple[Any, str | None]:
    last = api.last_run_for(dataset)
    if last is None:
        return None, None
    say(f"reopening the last run {last}")
    try:
        run = api.load_run(last)
        check_run_matches(run, dataset)
    except api.MMKGError as exc:
        notes.append(f"could not reopen the last run: {exc.format()}")
        return None, None
    notes.append(f"reopened the last run {last}")
    return run, str(last)
