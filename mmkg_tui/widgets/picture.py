"""The selected image: a picture via textual-image (Kitty/Sixel where the terminal
supports it, half-blocks otherwise) or a placeholder when there is no file."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Static
from textual_image.widget import Image as TerminalImage


class Picture(Container):
    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.path: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="picture-placeholder")
        image = TerminalImage(None, id="picture-image")
        image.display = False
        yield image

    def show(self, path: str | None, label: str = "", empty: str = "no image file") -> None:
        """Show the file at ``path``; a placeholder when it is missing or unreadable
        (``empty`` says why when there is no path at all)."""
        image = self.query_one("#picture-image", TerminalImage)
        placeholder = self.query_one("#picture-placeholder", Static)
        self.path = path if path and Path(path).is_file() else None
        if self.path is None:
            why = empty if not path else f"missing file\n{Path(path).name}"
            placeholder.update(f"\n[dim]{label}\n{why}[/dim]")
            placeholder.display, image.display = True, False
            return
        try:
            image.image = self.path
        except Exception as exc:  # PIL cannot read it: say so instead of crashing
            self.path = None
            placeholder.update(f"\n[dim]{label}\ncannot read the image:\n{exc}[/dim]")
            placeholder.display, image.display = True, False
            return
        placeholder.display, image.display = False, True
