"""Plotext plots for views that follow the threshold.

``MarkerPlot``: the static part (curves, axes, title) is built once and markers are
drawn over it, so moving them (the operating point, the per-keyword P/R scatter when
the threshold changes) costs a few strip slices instead of a plotext build (5-45 ms).
``StripPlot``: a plotext plot handed to Textual as ready strips."""

from __future__ import annotations

import builtins
import math
from itertools import islice
from typing import Callable

from rich.ansi import AnsiDecoder
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.strip import Strip
from textual.visual import Visual
from textual_plotext import PlotextPlot

SENTINEL = "◙"  # calibration marker: never drawn by the static figure


def find_sentinels(lines: list[Text]) -> list[tuple[int, int]]:
    """(line, column) of each calibration marker in a built figure, top to bottom."""
    found = []
    for row, line in enumerate(text.plain for text in lines):
        col = line.find(SENTINEL)
        while col >= 0:
            found.append((row, col))
            col = line.find(SENTINEL, col + 1)
    return found


def overlay(strips: list[Strip], cells: list[tuple[int, int, str, str]]) -> list[Strip]:
    """``strips`` with each (row, col, char, color) cell replaced by ``char`` in ``color``
    (keeping the cell's background); a later cell wins where two coincide."""
    by_row: dict[int, dict[int, tuple[str, str]]] = {}
    for row, col, char, color in cells:
        if 0 <= row < len(strips) and 0 <= col < strips[row].cell_length:
            by_row.setdefault(row, {})[col] = (char, color)
    out = list(strips)
    for row, marks in by_row.items():
        cols = sorted(marks)
        cuts = [c for col in cols for c in (col, col + 1)] + [strips[row].cell_length]
        pieces = strips[row].divide(cuts)  # before, cell, between, cell, ..., after
        joined = [pieces[0]]
        for i, col in enumerate(cols):
            char, color = marks[col]
            base = next((seg.style for seg in pieces[2 * i + 1] if seg.style is not None), None)
            joined.append(Strip([Segment(char, (base or Style()) + Style(color=color))], 1))
            joined.append(pieces[2 * i + 2])
        out[row] = Strip.join(joined)
    return out


def ansi_lines(ansi: str) -> list[Text]:
    """A built plotext figure (ANSI) as one rich Text per line (``Text.from_ansi``
    joins the lines and splitting them again costs ~15 ms on a busy scatter)."""
    decoder = AnsiDecoder()
    return [decoder.decode_line(line) for line in ansi.split("\n")]


def lines_to_strips(lines: list[Text], width: int, console) -> list[Strip]:
    """Rich lines as Textual strips, cropped to ``width`` (no wrapping)."""
    strips = []
    for line in lines:
        strip = Strip(list(line.render(console, end="")))
        strips.append(strip.crop(0, width) if strip.cell_length > width else strip)
    return strips


def _cells(value: float, lo: float, hi: float, span: int) -> int:
    """Cells from the ``lo`` edge to ``value``, rounded as plotext does (halves up)."""
    if hi == lo:
        return 0
    return math.floor(builtins.round(0.5 + span * (value - lo) / (hi - lo), 8))


class StripsVisual(Visual):
    """Lines rendered already: Textual shows them as they are."""

    def __init__(self, strips: list[Strip]) -> None:
        self.strips = strips

    def render_strips(self, width, height, style, options) -> list[Strip]:
        return list(islice(self.strips, None, height))

    def get_optimal_width(self, rules, container_width: int) -> int:
        return max((s.cell_length for s in self.strips), default=0)

    def get_height(self, rules, width: int) -> int:
        return len(self.strips)


class StripPlot(PlotextPlot):
    """A PlotextPlot that hands Textual ready strips (the stock widget's rich Text is
    converted style by style on every render, ~30 ms for a scatter plot)."""

    builds = 0  # plotext builds so far (tests check that updates are coalesced)

    def build_lines(self) -> list[Text]:
        """Build the figure at the widget's size and theme (as PlotextPlot.render)."""
        w, h = self.size.width, self.size.height
        self.plt.plotsize(w, h)
        self.plt._set_size(w, h)  # as textual-plotext's own render does
        self.plt.theme(self._get_plotext_theme_name(self.app.theme))
        self.builds += 1
        return ansi_lines(self.plt.build())

    def render(self) -> RenderResult:
        return StripsVisual(lines_to_strips(self.build_lines(), self.size.width, self.app.console))


class MarkerPlot(StripPlot):
    """``set_static(draw, xlim, ylim)`` sets what the figure shows (``draw(plt)`` is
    called on a cleared plotext figure, which must fix these limits); ``set_marker(x, y)``
    moves the one marker, ``set_markers([(x, y, char, color), ...])`` sets many (a
    scatter that follows the threshold). The static figure is rebuilt only when
    ``set_static`` is called again, the size or the theme changes."""

    def __init__(self, *, marker: str = "●", color: str = "red", **kwargs) -> None:
        super().__init__(**kwargs)
        self.marker_char, self.marker_color = marker, color
        self._draw: Callable | None = None
        self._limits = ((0.0, 1.0), (0.0, 1.0))
        self._version = 0
        self._key: tuple | None = None
        self._strips: list[Strip] = []
        self._corners: tuple[tuple[int, int], tuple[int, int]] | None = None
        self.markers: list[tuple[float, float, str, str]] = []

    def set_static(self, draw: Callable, xlim=(0.0, 1.0), ylim=(0.0, 1.0)) -> None:
        self._draw, self._limits = draw, (tuple(xlim), tuple(ylim))
        self._version += 1
        self.refresh()

    @property
    def has_static(self) -> bool:
        return self._draw is not None

    def set_marker(self, x: float | None, y: float | None) -> None:
        self.set_markers([] if x is None or y is None else [(x, y, self.marker_char, self.marker_color)])

    def set_markers(self, markers: list[tuple[float, float, str, str]]) -> None:
        markers = [(float(x), float(y), c, col) for x, y, c, col in markers]
        if markers != self.markers:
            self.markers = markers
            self.refresh()

    # ----------------------------------------------------------- building
    def _build(self, calibrate: bool) -> list[Text]:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self._draw(plt)
        if calibrate:
            (x0, x1), (y0, y1) = self._limits
            plt.scatter([x0, x1], [y0, y1], marker=SENTINEL)
        return self.build_lines()

    def _rebuild(self, key: tuple) -> None:
        self._key = key
        self._strips = lines_to_strips(self._build(calibrate=False), self.size.width, self.app.console)
        corners = find_sentinels(self._build(calibrate=True))
        # two markers: (x1, y1) is on the top line, (x0, y0) on the bottom one
        self._corners = (corners[-1], corners[0]) if len(corners) == 2 else None

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """The (line, column) where the data point (x, y) is drawn, None if outside."""
        if self._corners is None:
            return None
        (r0, c0), (r1, c1) = self._corners  # (x0, y0) and (x1, y1)
        (x0, x1), (y0, y1) = self._limits
        if not (min(x0, x1) <= x <= max(x0, x1) and min(y0, y1) <= y <= max(y0, y1)):
            return None
        col = c0 + _cells(x, x0, x1, c1 - c0)
        row = r0 - _cells(y, y0, y1, r0 - r1)  # lines count downwards
        return row, col

    def render(self) -> RenderResult:
        if self._draw is None:
            return StripsVisual([])
        key = (self.size.width, self.size.height, self.app.theme, self._version)
        if key != self._key:
            self._rebuild(key)
        cells = []
        for x, y, char, color in self.markers:
            cell = self.cell_of(x, y)
            if cell is not None:
                cells.append((cell[0], cell[1], char, color))
        return StripsVisual(overlay(self._strips, cells) if cells else self._strips)
