"""A cheap check of image files without decoding them (for `mmkg-tui info`).

``Image.open`` reads the header (a zero-byte file, a text file named .png and a
decompression-bomb header fail here, bounded by PIL's pixel limit); ``verify()``
walks PNG chunks and their checksums. A JPEG whose last bytes are not its end
marker is decoded once to confirm it is truncated (no false alarms). Damage
that only a full decode finds in other formats is found when features are computed.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image

from engine.core.errors import Problem
from engine.data.dataset import Dataset
from engine.data.labels import names_preview

JPEG_END = b"\xff\xd9"
TAIL_BYTES = 64  # trailing padding after the end marker is tolerated


def describe_image_error(exc: BaseException) -> str:
    """The user-facing reason an image could not be read (shared with the CLIP decoder)."""
    if isinstance(exc, FileNotFoundError):
        return "image file not found"
    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large ({exc})"
    if isinstance(exc, PermissionError):
        return "cannot read the image: permission denied (check the file's permissions)"
    if getattr(exc, "errno", None) == errno.ELOOP:
        return "symbolic link loop (the link points back at itself; replace it with the real file)"
    reason = str(exc) or type(exc).__name__
    return f"unreadable or corrupt image ({reason})"


IMAGE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def _jpeg_looks_truncated(path: str) -> bool:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - TAIL_BYTES))
        return JPEG_END not in fh.read()


def header_problem(path: str) -> str | None:
    """Why ``path`` is not a readable image, or None when its header (and, for a
    suspicious JPEG, its full decode) is fine."""
    try:
        with Image.open(path) as im:
            fmt = im.format
            im.verify()
        if fmt == "JPEG" and _jpeg_looks_truncated(path):
            with Image.open(path) as im:
                im.load()
    except IMAGE_ERRORS as exc:
        return describe_image_error(exc)
    return None


@dataclass
class ImageCheck:
    checked: int = 0  # files whose header was read
    bad: dict[int, str] = field(default_factory=dict)  # row -> reason

    def problems(self, dataset: Dataset) -> list[Problem]:
        """A counted summary ('3 images look corrupt: a, b, c'), then one Problem per image."""
        if not self.bad:
            return []
        rows = sorted(self.bad)
        n = len(rows)
        head = Problem(f"{n} image{'s' if n != 1 else ''} unreadable (header check; they will be skipped "
                       f"when features are computed): {names_preview([dataset.ids[r] for r in rows], 3)}",
                       path=dataset.source_path, field="image")
        return [head] + [Problem(f"image '{dataset.ids[r]}': {self.bad[r]}", path=dataset.image_paths[r])
                         for r in rows]


def check_image_files(dataset: Dataset, rows: Sequence[int] | None = None) -> ImageCheck:
    """Header-check every image file of ``dataset`` (or ``rows``); rows without a file are skipped."""
    out = ImageCheck()
    for r in (range(dataset.n_images) if rows is None else rows):
        path = dataset.image_paths[r]
        if not path:
            continue
        out.checked += 1
        why = header_problem(path)
        if why is not None:
            out.bad[r] = why
    return out
