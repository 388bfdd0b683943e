"""Fixtures for the CLIP tests: a tiny open_clip architecture registered from a JSON
file, its seeded random weights saved as a local checkpoint, real image files, and
small Dataset objects built directly (no loaders needed)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.dataset import Dataset, csr_from_lists
from engine.features.clip.cluster import ShardEncoder

TINY = "mmkg-test-tiny-clip"
TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
EXIF_ORIENTATION = 0x0112


def register_tiny(folder: Path) -> str:
    """Write the tiny config as ``<TINY>.json`` and add it to open_clip's registry."""
    import open_clip

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TINY}.json"
    path.write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(path)
    assert TINY in open_clip.list_models()
    return TINY


def save_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    import open_clip
    import torch

    torch.manual_seed(seed)
    model = open_clip.create_model(TINY, pretrained=None)
    torch.save(model.state_dict(), path)
    return path


def pattern(seed: int, size=(40, 28)) -> np.ndarray:
    """A seeded, asymmetric RGB uint8 picture (w, h) = size."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], -1)
    blobs = rng.integers(0, 255, (h // 4 + 1, w // 4 + 1, 3)).repeat(4, 0).repeat(4, 1)[:h, :w]
    return ((base + blobs) / 2).astype(np.uint8)


def write_image(path: Path, arr: np.ndarray, mode: str = "RGB", fmt: str | None = None, **save) -> Path:
    img = Image.fromarray(arr, "RGB")
    if mode != "RGB":
        img = img.convert(mode)
    img.save(path, format=fmt, **save)
    return path


def write_exif_rotated_pair(folder: Path, seed: int = 7) -> tuple[Path, Path, Path]:
    """(JPEG with EXIF orientation 6, PNG of its pixels rotated by hand, PNG of the raw pixels)."""
    jpg = folder / "exif6.jpg"
    img = Image.fromarray(pattern(seed), "RGB")
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # display = rotate 90 degrees clockwise
    img.save(jpg, quality=95, exif=exif.tobytes())
    with Image.open(jpg) as raw:
        raw.load()
        pixels = raw.convert("RGB")
    manual = folder / "exif6_manual.png"
    pixels.transpose(Image.Transpose.ROTATE_270).save(manual)
    unrotated = folder / "exif6_raw.png"
    pixels.save(unrotated)
    return jpg, manual, unrotated


def write_truncated_jpeg(path: Path, seed: int = 99) -> Path:
    buf = io.BytesIO()
    Image.fromarray(pattern(seed, (64, 64)), "RGB").save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_dataset(paths: list[Path | str], *, keywords=("pool", "fireplace", "lawn"),
                 scenes=("kitchen", "exterior"), scene_source="column", numeric=True,
                 name="clip test") -> Dataset:
    n = len(paths)
    rng = np.random.default_rng(0)
    kws = [sorted(set(rng.integers(0, len(keywords), 2).tolist())) for _ in range(n)]
    indptr, indices = csr_from_lists(kws)
    num = {"price": np.linspace(100_000, 900_000, n)} if numeric else {}
    return Dataset(
        name=name, ids=[f"img{i}" for i in range(n)], image_paths=[str(p) for p in paths],
        keywords=list(keywords), kw_indptr=indptr, kw_indices=indices, scenes=list(scenes),
        image_scene=np.full(n, -1 if scene_source != "column" else 0, np.int32),
        numeric=num, scene_source=scene_source,
    )


# ------------------------------------------------------------------ pytest fixtures
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> tuple[str, Path]:
    """(model name, checkpoint path) of the registered tiny CLIP with seeded random weights."""
    root = tmp_path_factory.mktemp("tiny_clip")
    name = register_tiny(root / "configs")
    return name, save_tiny_checkpoint(root / "tiny.pt")


@pytest.fixture
def clip_cache(tmp_path, monkeypatch) -> Path:
    """A private MMKG_TUI_CACHE for one test."""
    cache = tmp_path / "mmkg-cache"
    monkeypatch.setenv("MMKG_TUI_CACHE", str(cache))
    return cache


@pytest.fixture
def tiny_cfg(tiny_clip, clip_cache):
    from engine.features.clip import ClipConfig

    name, ckpt = tiny_clip
    return ClipConfig(model=name, pretrained=str(ckpt), batch_size=4, num_workers=2)


@pytest.fixture
def photos(tmp_path) -> dict[str, Path]:
    """Real image files of several kinds: name -> path."""
    d = tmp_path / "photos"
    d.mkdir()
    out = {f"rgb{i}": write_image(d / f"rgb{i}.jpg", pattern(i), quality=92) for i in range(4)}
    out["gray"] = write_image(d / "gray.jpg", pattern(10), "L")
    out["cmyk"] = write_image(d / "cmyk.jpg", pattern(11), "CMYK")
    out["png"] = write_image(d / "plain.png", pattern(12))
    rgba = np.dstack([pattern(13), np.full(pattern(13).shape[:2], 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(d / "alpha.png")
    out["alpha"] = d / "alpha.png"
    return out


CRASH_ENV = "MMKG_TEST_CRASH_SHARD"  # "N:MARKER", read by CrashOnceEncoder on the Ray workers


class CrashOnceEncoder(ShardEncoder):
    """Kills its worker process (os._exit, as a machine failure would) the first time it
    starts shard N; the marker file makes it happen once. Ray workers import it from
    this module (the test puts tests/ on their PYTHONPATH)."""

    def __call__(self, batch: dict) -> dict:
        n, marker = os.environ[CRASH_ENV].split(":", 1)
        if int(n) in [int(s) for s in batch["shard"]] and not os.path.exists(marker):
            Path(marker).write_text("crashed once")
            os._exit(1)
        return super().__call__(batch)
