"""Rich renderables rendered once per width, for ``Static.update``.

Textual wraps a rich renderable given to a Static in a ``RichVisual``, which measures
it and renders it whole again on every layout pass (its height is counted by
rendering it) and once more to draw it; rich measures nested tables cell by cell, so
the Overview's tables cost ~0.3 s of start-up on the demo. ``CachedRich`` renders each
width once, without the widget's base style, and applies that style to the kept lines
(what Textual's own wrapper does to the segments); a new content is a new
``CachedRich``, so nothing stale survives an update.

``show_rich`` puts one on a Static and asks for a layout pass only when the content's
height at the Static's width changes: moving to the next image redraws its facts and
keywords without laying out the whole screen (the width comes from the container).
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.strip import Strip
from textual.visual import RichVisual

MAX_SIZES = 8  # widths (and styles) kept per content; a resize renders at a new width


class CachedRich(RichVisual):
    def __init__(self, widget: Any, renderable: Any) -> None:
        super().__init__(widget, renderable)
        self.widget, self.renderable = widget, renderable
        self.renders = 0  # full renders so far (tests check that layout passes reuse them)
        self._widths: dict[int, int] = {}
        self._lines: dict[int, list[Strip]] = {}
        self._styled: dict[tuple, list[Strip]] = {}

    def __rich_console__(self, console, options):  # printing it prints the content (tests, exports)
        yield self.renderable

    def get_optimal_width(self, rules, container_width: int) -> int:
        if container_width not in self._widths:
            _bounded(self._widths)[container_width] = super().get_optimal_width(rules, container_width)
        return self._widths[container_width]

    def lines(self, width: int) -> list[Strip]:
        """The content at ``width``, unstyled (rendered on the first call only)."""
        if width not in self._lines:
            self.renders += 1
            app = self.widget.app
            options = app.console_options.update(highlight=False, width=width)
            segments = app.console.render(self.renderable, options)
            _bounded(self._lines)[width] = [
                Strip(line) for line in Segment.split_and_crop_lines(segments, width, include_new_lines=False,
                                                                      pad=False)]
        return self._lines[width]

    def get_height(self, rules, width: int) -> int:
        return len(self.lines(width))

    def render_strips(self, width: int, height: int | None, style, options) -> list[Strip]:
        key = (width, style.rich_style)
        if key not in self._styled:
            base = style.rich_style
            _bounded(self._styled)[key] = [strip.apply_style(base) for strip in self.lines(width)]
        return self._styled[key][:height]


def show_rich(static: Any, renderable: Any) -> CachedRich:
    """``static.update(CachedRich(static, renderable))``, with a layout pass only when the
    height at the current content width changes (or the Static was never laid out)."""
    new = CachedRich(static, renderable)
    old, width = static.content, static.content_size.width
    same = isinstance(old, CachedRich) and width > 0 and old.get_height(None, width) == new.get_height(None, width)
    static.update(new, layout=not same)
    return new


def _bounded(cache: dict) -> dict:
    if len(cache) >= MAX_SIZES:
        cache.clear()
    return cache
