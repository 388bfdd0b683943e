"""Progress reporting and cancellation shared by every long-running stage.

Stages take ``progress: ProgressCallback | None`` and ``cancel: threading.Event | None``.
They call ``progress(StageProgress(...))`` now and then and ``check_cancel(cancel)`` often
enough to stop within a second. The CLI turns events into rich progress bars; the app's
workers turn them into (coalesced) Textual messages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from engine.core.errors import Cancelled


@dataclass(frozen=True)
class StageProgress:
    """A stage of long work advanced: ``done`` of ``total`` (None: unknown)."""

    stage: str  # e.g. "decode+embed images", "split", "reconnect cosine", "evaluate"
    done: int
    total: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


@dataclass(frozen=True)
class TrainProgress:
    seed: int
    seed_index: int
    n_seeds: int
    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based within the epoch
    steps_per_epoch: int
    loss: float  # running mean loss of the current epoch
    examples_per_s: float
    elapsed_s: float
    eta_s: float | None


ProgressCallback = Callable[[StageProgress], None]


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def report(progress: ProgressCallback | None, *args, **kwargs) -> None:
    if progress is not None:
        progress(StageProgress(*args, **kwargs))
