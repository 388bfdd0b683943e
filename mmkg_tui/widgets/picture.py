"""The selected image: a picture via textual-image (Kitty/Sixel where the terminal
supports it, half-blocks otherwise) or a placeholder when there is no file.

Moving in a list must not wait for pictures: :meth:`Picture.show` only records the
request; once the selection has settled for ``DELAY_S`` (a held-down ``j`` asks for
none of the pictures it passes), the file is decoded in a thread worker and the
result is put on screen by the event loop, without a layout pass when the new picture
has the pixel size of the one it replaces (the usual case in one dataset).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Callable

from PIL import Image as PILImage
from textual.app import ComposeResult
from textual.containers import Container
from textual.message import Message
from textual.widgets import Static
from textual_image.renderable import Image as AutoRenderable
from textual_image.widget import Image as TerminalImage
from textual_image.widget import SixelImage

from mmkg_tui.present.query import Debouncer

DELAY_S = 0.05  # a selection held this long gets its picture


def read_picture(path: str) -> PILImage.Image:
    """Decode the file (runs in a thread: PIL reads lazily, so load it here)."""
    image = PILImage.open(path)
    image.load()
    return image


class _SteadyImage(TerminalImage, Renderable=AutoRenderable):
    """textual-image's widget, which asks for a layout pass on every new picture;
    ``steady`` (set while swapping in a picture of the same pixel size) drops it."""

    steady = False

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose: bool = False):
        return super().refresh(*regions, repaint=repaint, layout=layout and not self.steady, recompose=recompose)


# Sixel terminals get textual-image's own Sixel widget (built differently): as it is
SteadyImage = TerminalImage if TerminalImage is SixelImage else _SteadyImage


class Picture(Container):
    class Loaded(Message, bubble=False):
        """A file read in the worker (``result`` is the image or the exception)."""

        def __init__(self, request: tuple[str, str], result: Any) -> None:
            super().__init__()
            self.request, self.result = request, result

    def __init__(self, *, id: str | None = None,  # noqa: A002
                 loader: Callable[[str], Any] = read_picture, delay: float = DELAY_S) -> None:
        super().__init__(id=id)
        self.loader = loader
        self.path: str | None = None  # the file whose picture is on screen (None: placeholder)
        self.wanted: tuple[str, str] | None = None  # (path, label) last asked for and not yet shown
        self.loads = 0  # files read so far: one per settled selection
        self.settle = Debouncer(self.set_timer, self._load_wanted, delay)
        self.pixel_size: tuple[int, int] | None = None  # pixel size of the picture on screen

    def compose(self) -> ComposeResult:
        yield Static("", id="picture-placeholder")
        image = SteadyImage(None, id="picture-image")
        image.display = False
        yield image

    def show(self, path: str | None, label: str = "", empty: str = "no image file") -> None:
        """Show the file at ``path`` once the selection settles; a placeholder at once
        when it is missing (``empty`` says why when there is no path at all)."""
        if path and Path(path).is_file():
            self.wanted = (path, label)
            self.settle()
            return
        self.wanted = None  # a load still in flight is dropped when it lands
        self._placeholder(label, empty if not path else f"missing file\n{Path(path).name}")

    def show_now(self) -> None:
        """Start reading the pending picture without waiting for the selection to settle."""
        self.settle.flush()

    def _load_wanted(self) -> None:
        if self.wanted is None or not self.is_attached:
            return
        self.loads += 1
        self.run_worker(partial(self._read, self.wanted), thread=True, exclusive=True, group="picture",
                        name="picture", exit_on_error=False)

    def _read(self, request: tuple[str, str]) -> None:
        try:
            result = self.loader(request[0])
        except Exception as exc:  # noqa: BLE001 - PIL cannot read it: shown instead of the picture
            result = exc
        self.post_message(self.Loaded(request, result))

    def on_picture_loaded(self, message: Loaded) -> None:
        if message.request != self.wanted:
            return  # the selection moved on; its own load follows
        self.wanted = None
        path, label = message.request
        if isinstance(message.result, Exception):
            self._placeholder(label, f"cannot read the image:\n{message.result}")
            return
        self._put(path, message.result)

    def _put(self, path: str, picture: Any) -> None:
        image = self.query_one("#picture-image", SteadyImage)
        size = getattr(picture, "size", None)
        image.steady = image.display and size is not None and size == self.pixel_size
        try:
            image.image = picture
        finally:
            image.steady = False
        self.path, self.pixel_size = path, size
        self.query_one("#picture-placeholder", Static).display, image.display = False, True

    def _placeholder(self, label: str, why: str) -> None:
        self.path, self.pixel_size = None, None
        placeholder = self.query_one("#picture-placeholder", Static)
        placeholder.update(f"\n[dim]{label}\n{why}[/dim]")
        placeholder.display = True
        self.query_one("#picture-image", SteadyImage).display = False
