"""The Images search box's query language (UI-free):

    fireplace kitchen      words: each must appear in the id, the scene or a keyword
    split:test             train | val | test
    scene:kitchen          scenes whose name contains the text
    kw:pool  kw:"hardwood floors"   images holding a keyword whose name contains it
    errors                 images with a false positive or a missed keyword at the threshold

Parsing never raises: a bad term is reported in ``Query.problems`` and ignored.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

SPLIT_CODES = {"train": 0, "val": 1, "validation": 1, "test": 2}


@dataclass
class Query:
    words: list[str] = field(default_factory=list)
    split: int | None = None
    scenes: list[str] = field(default_factory=list)  # lowercase fragments
    keywords: list[str] = field(default_factory=list)  # lowercase fragments
    errors: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.scenes or self.keywords or self.errors) and self.split is None


def _terms(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unclosed quote while typing: split on spaces instead
        return text.replace('"', " ").replace("'", " ").split()


def parse_query(text: str) -> Query:
    q = Query()
    for term in _terms(text.strip().lower()):
        name, sep, value = term.partition(":")
        if not sep:
            if term == "errors":
                q.errors = True
            else:
                q.words.append(term)
            continue
        if not value:
            continue  # "split:" while typing
        if name == "split":
            if value in SPLIT_CODES:
                q.split = SPLIT_CODES[value]
            else:
                q.problems.append(f"unknown split '{value}': use split:train, split:val or split:test")
        elif name == "scene":
            q.scenes.append(value)
        elif name in ("kw", "keyword"):
            q.keywords.append(value)
        else:
            q.problems.append(f"unknown filter '{name}:': use split:, scene:, kw: or errors")
    return q


class Debouncer:
    """Runs ``callback`` once, ``delay`` seconds after the last of a burst of calls.

    ``schedule(delay, fn)`` starts a timer and returns a handle with ``stop()``
    (Textual's ``set_timer``; tests inject their own); a delay of 0 runs at once."""

    def __init__(self, schedule, callback, delay: float) -> None:
        self.schedule, self.callback, self.delay = schedule, callback, delay
        self._timer = None

    def __call__(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.delay <= 0:
            self.callback()
            return
        self._timer = self.schedule(self.delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.callback()

    def flush(self) -> None:
        """Run now if a call is pending (enter in the search box)."""
        if self._timer is not None:
            self._timer.stop()
            self._fire()
