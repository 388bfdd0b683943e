"""Image files that are missing or corrupt (issue 8 section 2): every skipped image is
counted and named in dataset.problems; the header check finds corrupt files without
decoding good ones; missing files covered by precomputed vectors stay reported
through feature computation."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from clip_helpers import (  # noqa: F401  (fixtures)
    clip_cache,
    make_dataset,
    pattern,
    tiny_cfg,
    tiny_clip,
    write_image,
    write_truncated_jpeg,
)
from PIL import Image

from engine.core.errors import DataError
from engine.data.embeddings_io import save_embeddings
from engine.data.image_check import check_image_files, header_problem
from engine.data.loaders import load_dataset
from engine.features.clip import compute_features_with_stats


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))


@pytest.fixture
def bad_files(tmp_path) -> dict[str, Path]:
    out = {"trunc": write_truncated_jpeg(tmp_path / "trunc.jpg")}
    out["zero"] = tmp_path / "zero.jpg"
    out["zero"].write_bytes(b"")
    out["text"] = tmp_path / "text.png"
    out["text"].write_text("not a picture")
    out["bomb"] = tmp_path / "bomb.png"
    out["bomb"].write_bytes(png_header(20000, 20000))
    buf = io.BytesIO()
    Image.fromarray(pattern(3, (64, 64)), "RGB").save(buf, format="PNG")
    out["trunc_png"] = tmp_path / "trunc.png"
    out["trunc_png"].write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    return out


def test_header_check_finds_each_kind_of_corrupt_file(bad_files):
    why = {k: header_problem(str(p)) for k, p in bad_files.items()}
    assert "truncated" in why["trunc"]
    assert why["zero"].startswith("unreadable or corrupt image (cannot identify image file")
    assert why["text"].startswith("unreadable or corrupt image (cannot identify image file")
    assert why["bomb"].startswith("image too large (Image size (400000000 pixels) exceeds limit")
    assert why["trunc_png"] is not None


def test_header_check_has_no_false_alarms(tmp_path, monkeypatch):
    good = write_image(tmp_path / "good.jpg", pattern(1), quality=90)
    padded = tmp_path / "padded.jpg"
    padded.write_bytes(good.read_bytes() + b"\x00" * 16)  # trailing padding after the end marker
    png = write_image(tmp_path / "good.png", pattern(2))
    loads = []
    real_load = Image.Image.load

    def counting_load(self, *a, **k):
        loads.append(self.format)
        return real_load(self, *a, **k)

    monkeypatch.setattr(Image.Image, "load", counting_load)
    assert [header_problem(str(p)) for p in (good, padded, png)] == [None, None, None]
    assert "JPEG" not in loads  # good JPEGs are not decoded by the check


def test_check_image_files_counts_and_names(bad_files, tmp_path):
    good = write_image(tmp_path / "good.jpg", pattern(1))
    ds = make_dataset([good, bad_files["trunc"], bad_files["zero"], "", bad_files["text"], bad_files["bomb"]])
    check = check_image_files(ds)
    assert check.checked == 5 and sorted(check.bad) == [1, 2, 4, 5]
    head, *rest = check.problems(ds)
    assert head.message.endswith("unreadable (header check; they will be skipped when features are computed): "
                                 "img1, img2, img4 and 1 more")
    assert head.message.startswith("4 images ")
    assert [p.path for p in rest] == [str(bad_files[k]) for k in ("trunc", "zero", "text", "bomb")]
    assert rest[0].message.startswith("image 'img1': ")


def test_skipped_images_are_counted_and_named_in_dataset_problems(bad_files, tiny_cfg, tmp_path):
    goods = [write_image(tmp_path / f"g{i}.jpg", pattern(i)) for i in range(2)]
    paths = [goods[0], bad_files["trunc"], bad_files["zero"], bad_files["text"], goods[1], bad_files["bomb"]]
    out_ds, _, stats = compute_features_with_stats(make_dataset(paths), tiny_cfg)
    assert out_ds.ids == ["img0", "img4"] and stats.images_skipped == 4
    head = out_ds.problems[0]
    assert head.format() == "field 'image': 4 images skipped: img1, img2, img3 and 1 more"
    named = {p.message.split(":")[0]: p.path for p in out_ds.problems[1:]}
    assert named == {"image 'img1' skipped": str(bad_files["trunc"]), "image 'img2' skipped": str(bad_files["zero"]),
                     "image 'img3' skipped": str(bad_files["text"]), "image 'img5' skipped": str(bad_files["bomb"])}
    # a second run finds the failures in the cache's failure log: still counted and named
    again, _, _ = compute_features_with_stats(make_dataset(paths), tiny_cfg)
    assert again.problems[0].message == "4 images skipped: img1, img2, img3 and 1 more"


def test_strict_refuses_the_first_corrupt_image(bad_files, tiny_cfg, tmp_path):
    ds = make_dataset([write_image(tmp_path / "g.jpg", pattern(0)), bad_files["bomb"]])
    with pytest.raises(DataError) as err:
        compute_features_with_stats(ds, tiny_cfg, strict=True)
    assert err.value.path == str(bad_files["bomb"]) and "image too large" in err.value.message


def test_missing_files_with_vectors_are_named_and_survive_feature_computation(tmp_path):
    (tmp_path / "img").mkdir()
    Image.new("RGB", (8, 6)).save(tmp_path / "img" / "a.png")
    (tmp_path / "m.csv").write_text("id,image,keywords\na,img/a.png,x\nb,img/nope.png,y\nc,img/gone.png,x\n")
    save_embeddings(tmp_path / "embeddings.npz", ["a", "b", "c"], np.eye(3, 4),
                    text={"x": np.ones(4), "y": np.arange(4.0) + 1})
    ds = load_dataset(tmp_path / "m.csv")
    want = (f"{tmp_path / 'm.csv'}, field 'image': 2 image file(s) not found; their precomputed vectors "
            "are used (lines 3, 4): b, c")
    assert [p.format() for p in ds.problems] == [want]
    out_ds, feats, stats = compute_features_with_stats(ds)  # all precomputed: no model needed
    assert not stats.model_loaded and feats.image.shape == (3, 4)
    assert [p.format() for p in out_ds.problems] == [want]
    assert [p.format() for p in out_ds.subset(np.array([0, 2])).problems] == [want]


def test_image_symlink_loop_and_permission_are_named(tmp_path, monkeypatch):
    import os

    loop = tmp_path / "loop.jpg"
    os.symlink(loop, loop)
    assert header_problem(str(loop)).startswith("symbolic link loop")
    good = write_image(tmp_path / "g.jpg", pattern(0))
    real_open = Image.open

    def deny(fp, *a, **k):
        if str(fp) == str(good):
            raise PermissionError(13, "Permission denied", str(fp))
        return real_open(fp, *a, **k)

    monkeypatch.setattr(Image, "open", deny)
    assert header_problem(str(good)) == "cannot read the image: permission denied (check the file's permissions)"
