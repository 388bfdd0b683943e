"""Messages the app's thread workers post back to the event loop.

Workers never touch widgets: they post these (``App.post_message`` is thread-safe)
and the handlers on the event loop update the views.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from mmkg_tui.present.progress import TrainingSnapshot


class LoadStatus(Message):
    """A loading stage started (shown under the loading indicator)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SessionReady(Message):
    """Dataset, features and graph are loaded (and maybe a run reopened)."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session


class LoadFailed(Message):
    """Loading failed with a user-facing error (engine.errors.MMKGError)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class TrainingProgress(Message):
    """Coalesced training progress (at most ~10 a second)."""

    def __init__(self, snapshot: TrainingSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class TrainingLog(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class TrainingDone(Message):
    """Training finished and the run was saved (run_dir None if saving failed)."""

    def __init__(self, result: Any, run_dir: str | None, save_error: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.run_dir = run_dir
        self.save_error = save_error


class TrainingCancelled(Message):
    pass


class TrainingFailed(Message):
    """Training stopped on a user-facing error (bad settings, bad data)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
