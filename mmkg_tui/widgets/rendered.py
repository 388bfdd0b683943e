"""Rich renderables rendered once per size, for ``Static.update``.

Textual wraps a rich renderable given to a Static in a ``RichVisual``, which measures
it and renders it whole again on every layout pass (its height is counted by
rendering it) and once more to draw it. The Overview's tables were rendered 3-4 times
before the main screen's first frame (~0.3 s of start-up on the demo). ``CachedRich``
keeps each result for the width (and style) it was computed for; a new content is a
new ``CachedRich``, so nothing stale survives an update.
"""

from __future__ import annotations

from typing import Any

from textual.visual import RichVisual

MAX_SIZES = 8  # widths kept per content (a resize renders at a new width)


class CachedRich(RichVisual):
    def __init__(self, widget: Any, renderable: Any) -> None:
        super().__init__(widget, renderable)
        self.renderable = renderable
        self.renders = 0  # full renders so far (tests check that layout passes reuse them)
        self._widths: dict[int, int] = {}
        self._heights: dict[int, int] = {}
        self._strips: dict[tuple, list] = {}

    def __rich_console__(self, console, options):  # printing it prints the content (tests, exports)
        yield self.renderable

    def get_optimal_width(self, rules, container_width: int) -> int:
        if container_width not in self._widths:
            _bounded(self._widths)[container_width] = super().get_optimal_width(rules, container_width)
        return self._widths[container_width]

    def get_height(self, rules, width: int) -> int:
        if width not in self._heights:
            self.renders += 1
            _bounded(self._heights)[width] = super().get_height(rules, width)
        return self._heights[width]

    def render_strips(self, width: int, height: int | None, style, options) -> list:
        key = (width, height, style.rich_style)
        if key not in self._strips:
            self.renders += 1
            _bounded(self._strips)[key] = super().render_strips(width, height, style, options)
        return list(self._strips[key])


def _bounded(cache: dict) -> dict:
    if len(cache) >= MAX_SIZES:
        cache.clear()
    return cache
