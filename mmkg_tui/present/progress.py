"""Training progress as the UI shows it: the snapshot a worker builds from the
engine's typed events, and the rate limiter (with an injectable clock) that keeps
messages and redraws to a few a second."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine import api


@dataclass
class TrainingSnapshot:
    """The state of a training run as the UI shows it (built in the worker)."""

    stage: str = ""  # "train", a StageProgress stage, or "" before the first event
    seed_index: int = 0
    n_seeds: int = 1
    epoch: int = 0  # 1-based, as engine.train reports it (0 = not started)
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    loss: float | None = None
    eta_s: float | None = None
    examples_per_s: float | None = None
    message: str = ""
    losses: list[tuple[float, float]] = field(default_factory=list)  # (fractional epoch, loss)

    @property
    def fraction(self) -> float:
        """Overall progress over seeds and epochs, in [0, 1]."""
        if not self.epochs or not self.n_seeds:
            return 0.0
        per_seed = epoch_position(self.epoch, self.step, self.steps_per_epoch) / self.epochs
        return min(1.0, (self.seed_index + min(per_seed, 1.0)) / self.n_seeds)


def epoch_position(epoch: int, step: int, steps_per_epoch: int) -> float:
    """Epochs done as a real number: epoch 1 of 1-based epochs, half its steps -> 0.5."""
    if epoch <= 0:
        return 0.0
    return (epoch - 1) + (step / steps_per_epoch if steps_per_epoch else 1.0)


class Coalescer:
    """Lets a message through at most every ``interval`` seconds, except ones marked
    ``force`` (epoch ends, stage changes), so a fast loop cannot flood the UI."""

    def __init__(self, interval: float = 0.1, clock=time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last = float("-inf")

    def ready(self, force: bool = False) -> bool:
        now = self.clock()
        if force or now - self._last >= self.interval:
            self._last = now
            return True
        return False


class SnapshotBuilder:
    """Folds the engine's progress events (TrainProgress / StageProgress, matched by
    their fields) into one TrainingSnapshot; says when an event must not be dropped."""

    def __init__(self) -> None:
        self.snap = TrainingSnapshot()
        self._epoch_key: tuple[int, int] | None = None

    def update(self, event: api.StageProgress | api.TrainProgress) -> bool:
        """Apply ``event``; True when it should be shown even if the rate limit says no."""
        s = self.snap
        if isinstance(event, api.TrainProgress):
            force = s.stage != "train" or event.step >= event.steps_per_epoch
            s.stage = "train"
            s.seed_index, s.n_seeds = event.seed_index, event.n_seeds
            s.epoch, s.epochs = event.epoch, event.epochs
            s.step, s.steps_per_epoch = event.step, event.steps_per_epoch
            s.loss, s.eta_s = float(event.loss), event.eta_s
            s.examples_per_s = event.examples_per_s
            if event.seed_index == 0:  # the curve follows the first seed, like loss_history
                x = epoch_position(event.epoch, event.step, event.steps_per_epoch)
                s.losses = [p for p in s.losses if p[0] < x] + [(x, float(event.loss))]
            return force
        if isinstance(event, api.StageProgress):
            force = s.stage != event.stage
            s.stage, s.message = event.stage, event.message or ""
            return force
        return True

    def copy(self) -> TrainingSnapshot:
        s = self.snap
        return TrainingSnapshot(**{**s.__dict__, "losses": list(s.losses)})
