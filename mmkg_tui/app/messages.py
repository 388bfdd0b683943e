"""Messages the app's thread workers post back to the event loop (dataclasses).

Workers never touch widgets: they post these (``post_message`` is thread-safe) and
the handlers on the event loop update the session and the views.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from engine import api
from mmkg_tui.app.state import Session
from mmkg_tui.present.progress import TrainingSnapshot


@dataclass
class LoadStatus(Message):
    """A loading stage started (shown under the loading indicator / in the top bar)."""

    text: str


@dataclass
class SessionReady(Message):
    """Phase 1 done: the dataset and its features are loaded (no graph yet)."""

    session: Session


@dataclass
class EngineReady(Message):
    """Phase 2 done: the graph is built and the last run (if any) reopened, on a
    scratch session the handler merges into the live one (on the event loop)."""

    session: Session


@dataclass
class LoadFailed(Message):
    """Loading failed with a user-facing error (api.MMKGError)."""

    text: str


@dataclass
class TrainingProgress(Message):
    """Coalesced training progress (at most ~10 a second)."""

    snapshot: TrainingSnapshot


@dataclass
class TrainingLog(Message):
    text: str


@dataclass
class TrainingDone(Message):
    """Training finished and the run was saved (run_dir None if saving failed)."""

    result: api.RunResult
    run_dir: str | None
    save_error: str | None = None


@dataclass
class TrainingCancelled(Message):
    pass


@dataclass
class TrainingFailed(Message):
    """Training stopped on a user-facing error (bad settings, bad data)."""

    text: str
