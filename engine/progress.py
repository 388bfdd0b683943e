"""Progress reporting and cancellation shared by every long-running stage.

Stages take ``progress: ProgressCallback | None`` and ``cancel: threading.Event | None``.
They call ``progress(Progress(...))`` now and then and ``check_cancel(cancel)`` often
enough to stop within a second. The CLI turns events into rich progress bars; the app's
workers turn them into (coalesced) Textual messages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    stage: str  # e.g. "decode+embed images", "train", "evaluate"
    done: int
    total: int | None = None
    message: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def report(progress: ProgressCallback | None, *args, **kwargs) -> None:
    if progress is not None:
        progress(Progress(*args, **kwargs))
