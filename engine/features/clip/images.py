"""Image decoding: any PIL-readable file -> upright RGB -> the model's preprocess tensor.

``iter_batches`` decodes on a thread pool (PIL releases the GIL while decoding) and
keeps a few batches in flight, so decoding overlaps with model inference in the
caller's thread. Unreadable images come back as problems, not exceptions.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from engine.core.progress import check_cancel
from engine.data.image_check import IMAGE_ERRORS, describe_image_error

WHITE = (255, 255, 255)


def to_rgb(img: Image.Image) -> Image.Image:
    """Upright RGB: EXIF orientation applied; alpha composited on white; L/CMYK/P/I/F converted."""
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(bg, rgba).convert("RGB")
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / hi * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode != "RGB":
        return img.convert("RGB")
    return img


def open_rgb(path: str) -> Image.Image:
    """Decode ``path`` fully (so truncation is detected here) into upright RGB."""
    with Image.open(path) as im:
        im.load()
        return to_rgb(im)


@dataclass
class Decoded:
    index: int  # position in the caller's list
    tensor: object | None  # preprocessed (3, H, W) tensor, None on failure
    error: str | None = None


def decode_one(index: int, path: str, preprocess: Callable) -> Decoded:
    if not path:
        return Decoded(index, None, "no image file for this row")
    try:
        return Decoded(index, preprocess(open_rgb(path)))
    except IMAGE_ERRORS as exc:
        return Decoded(index, None, describe_image_error(exc))


def iter_batches(
    paths: Sequence[str],
    indices: Sequence[int],
    preprocess: Callable,
    batch_size: int,
    num_workers: int,
    cancel: threading.Event | None = None,
    prefetch: int = 2,
) -> Iterator[list[Decoded]]:
    """Yield lists of Decoded for ``indices`` in order, ``batch_size`` at a time."""
    chunks = [list(indices[i:i + batch_size]) for i in range(0, len(indices), batch_size)]
    if num_workers <= 0:
        for chunk in chunks:
            check_cancel(cancel)
            yield [decode_one(i, paths[i], preprocess) for i in chunk]
        return
    pool = ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="mmkg-decode")
    pending: deque[list[Future]] = deque()
    try:
        it = iter(chunks)
        for chunk in it:
            pending.append([pool.submit(decode_one, i, paths[i], preprocess) for i in chunk])
            if len(pending) > prefetch:
                break
        while pending:
            check_cancel(cancel)
            batch = [f.result() for f in pending.popleft()]
            nxt = next(it, None)
            if nxt is not None:
                pending.append([pool.submit(decode_one, i, paths[i], preprocess) for i in nxt])
            yield batch
    finally:
        for futs in pending:
            for f in futs:
                f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
