"""Image decoding: colour modes, alpha on white, EXIF orientation, corrupt files."""

from __future__ import annotations

import numpy as np
import pytest
from clip_helpers import (
    pattern,
    write_exif_rotated_pair,
    write_image,
    write_truncated_jpeg,
)
from PIL import Image

from engine.features.clip.images import decode_one, iter_batches, open_rgb, to_rgb


def test_alpha_is_composited_on_white():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 200  # red channel, but...
    rgba[0, 0, 3] = 255  # ...only one opaque pixel
    out = np.asarray(to_rgb(Image.fromarray(rgba, "RGBA")))
    assert out.shape == (4, 5, 3)
    assert tuple(out[0, 0]) == (200, 0, 0)
    assert (out[1:] == 255).all()
    half = rgba.copy()
    half[..., 3] = 128
    mid = np.asarray(to_rgb(Image.fromarray(half, "RGBA")))[2, 2]
    assert abs(int(mid[0]) - (200 * 128 + 255 * 127) // 255) <= 1
    assert abs(int(mid[1]) - 127) <= 1


def test_palette_with_transparency_and_la():
    p = Image.new("P", (3, 3), 0)
    p.putpalette([10, 20, 30] + [0] * 765)
    p.info["transparency"] = 0
    assert (np.asarray(to_rgb(p)) == 255).all()
    la = Image.fromarray(np.dstack([np.full((2, 2), 50, np.uint8), np.full((2, 2), 255, np.uint8)]), "LA")
    assert (np.asarray(to_rgb(la)) == 50).all()


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "I;16", "1"])
def test_modes_become_rgb(mode, tmp_path):
    arr = pattern(3)
    img = Image.fromarray(arr, "RGB").convert("L" if mode == "I;16" else mode)
    if mode == "I;16":
        img = Image.fromarray(np.asarray(img).astype(np.uint16) * 257)
        assert img.mode.startswith("I;16")
    out = to_rgb(img)
    assert out.mode == "RGB" and out.size == img.size
    if mode in ("L", "I;16"):
        gray = np.asarray(Image.fromarray(arr, "RGB").convert("L")).astype(int)
        assert np.abs(np.asarray(out)[..., 0].astype(int) - gray).max() <= 1


def test_cmyk_jpeg_file_decodes_to_similar_colours(tmp_path):
    arr = pattern(4)
    path = write_image(tmp_path / "c.jpg", arr, "CMYK", quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
    out = np.asarray(open_rgb(str(path))).astype(int)
    assert np.abs(out - arr.astype(int)).mean() < 12


def test_exif_orientation_applied(tmp_path):
    jpg, manual, raw = write_exif_rotated_pair(tmp_path)
    a = np.asarray(open_rgb(str(jpg)))
    b = np.asarray(open_rgb(str(manual)))
    assert a.shape == b.shape == (40, 28, 3)  # the (w=40, h=28) picture now stands upright
    assert np.array_equal(a, b)
    assert np.asarray(open_rgb(str(raw))).shape == (28, 40, 3)


def test_corrupt_and_missing_files_are_reported(tmp_path):
    bad = write_truncated_jpeg(tmp_path / "trunc.jpg")
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    ident = lambda im: np.asarray(im)  # noqa: E731
    assert "truncated" in decode_one(0, str(bad), ident).error
    assert "unreadable" in decode_one(0, str(junk), ident).error
    assert decode_one(0, str(tmp_path / "nope.jpg"), ident).error == "image file not found"
    assert decode_one(0, "", ident).error == "no image file for this row"
    ok = decode_one(3, str(write_image(tmp_path / "ok.png", pattern(1))), ident)
    assert ok.error is None and ok.index == 3 and ok.tensor.shape == (28, 40, 3)


@pytest.mark.parametrize("workers", [0, 2])
def test_iter_batches_keeps_order_and_batches(tmp_path, workers):
    paths = [str(write_image(tmp_path / f"{i}.png", pattern(i))) for i in range(7)]
    first_pixel = lambda im: int(np.asarray(im)[0, 0, 2])  # noqa: E731
    batches = list(iter_batches(paths, [6, 0, 2, 3, 5], first_pixel, 2, workers))
    assert [len(b) for b in batches] == [2, 2, 1]
    flat = [d for b in batches for d in b]
    assert [d.index for d in flat] == [6, 0, 2, 3, 5]
    assert [d.tensor for d in flat] == [int(pattern(i)[0, 0, 2]) for i in [6, 0, 2, 3, 5]]
