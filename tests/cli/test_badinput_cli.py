"""Bad input seen from the command line (issue 8 section 2): `info` detects corrupt
images, reports images outside the dataset folder, refuses '..' paths without
--allow-outside, lists labels with --labels; `embed` refuses unknown devices before
any work; a COCO list image_id is an error, not a traceback."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from clip_helpers import clip_cache, tiny_clip  # noqa: F401  (fixtures)
from PIL import Image

from engine.data.embeddings_io import save_embeddings
from mmkg_tui.cli.main import main


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (a decompression bomb; no pixel data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), "RGB").save(buf, format="JPEG")
    data = buf.getvalue()
    return data[: len(data) // 2]


@pytest.fixture
def corrupt(tmp_path):
    img = tmp_path / "img"
    img.mkdir()
    rows = ["id,image,keywords"]
    for i in range(3):
        Image.new("RGB", (8, 6), (i * 50, 10, 10)).save(img / f"ok{i}.jpg", format="JPEG")
        rows.append(f"ok{i},img/ok{i}.jpg,pool")
    (img / "trunc.jpg").write_bytes(truncated_jpeg())
    (img / "zero.jpg").write_bytes(b"")
    (img / "text.png").write_text("hello, I am not a picture\n")
    (img / "bomb.png").write_bytes(png_header(20000, 20000))
    rows += ["trunc,img/trunc.jpg,pool", "zero,img/zero.jpg,pool", "text,img/text.png,lawn",
             "bomb,img/bomb.png,lawn"]
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_info_detects_corrupt_images(corrupt, capsys):
    assert main(["info", "--json", "--data", str(corrupt)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["image_check"]["checked"] == 7 and info["image_check"]["unreadable"] == 4
    head = info["problems"][0]
    assert "4 images unreadable (header check; they will be skipped when features are computed): " \
           "trunc, zero, text and 1 more" in head
    per_image = {p.split(": ", 1)[0]: p for p in info["problems"][1:5]}
    assert set(per_image) == {str(corrupt / "img" / n) for n in ("trunc.jpg", "zero.jpg", "text.png", "bomb.png")}
    assert "truncated" in per_image[str(corrupt / "img" / "trunc.jpg")]
    assert "image too large" in per_image[str(corrupt / "img" / "bomb.png")]
    assert "image 'zero': unreadable or corrupt image (cannot identify image file" in \
        per_image[str(corrupt / "img" / "zero.jpg")]


def test_info_text_output_shows_the_check(corrupt, capsys):
    assert main(["info", "--data", str(corrupt)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "image files: 7 checked, 4 unreadable" in out
    assert "4 images unreadable" in out


def test_info_can_skip_the_image_check_and_says_so(corrupt, capsys):
    assert main(["info", "--no-image-check", "--data", str(corrupt)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "image files: 0 checked, 0 unreadable (not checked (--no-image-check): images are only checked " \
           "when features are computed)" in out


def _outside(tmp_path, value: str) -> Path:
    d = tmp_path / "ds"
    (d / "img").mkdir(parents=True)
    Image.new("RGB", (8, 6)).save(d / "img" / "a.png")
    Image.new("RGB", (8, 6)).save(tmp_path / "elsewhere.png")
    (d / "manifest.csv").write_text(f"id,image,keywords\na,img/a.png,pool\nb,{value},lawn\n")
    return d


def test_absolute_paths_outside_are_accepted_and_counted(tmp_path, capsys):
    d = _outside(tmp_path, str(tmp_path / "elsewhere.png"))
    assert main(["info", "--json", "--data", str(d)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["images_outside_folder"] == {"count": 1, "folder": str(d), "ids": ["b"]}
    assert main(["info", "--data", str(d)]) == 0
    assert f"1 image(s) live outside the dataset folder {d} (e.g. b)" in " ".join(capsys.readouterr().out.split())


def test_dotdot_traversal_is_refused_unless_allowed(tmp_path, capsys):
    d = _outside(tmp_path, "../elsewhere.png")
    assert main(["info", "--data", str(d)]) == 2
    err = capsys.readouterr().err
    assert "manifest.csv, line 3, field 'image': image path '../elsewhere.png' leads out of the dataset folder" \
        in " ".join(err.split())
    assert "--allow-outside" in err and "Traceback" not in err
    assert main(["info", "--json", "--allow-outside", "--data", str(d)]) == 0
    assert json.loads(capsys.readouterr().out)["images_outside_folder"]["count"] == 1


def test_coco_dotdot_file_name_is_refused(tmp_path, capsys):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "val2017").mkdir()
    Image.new("RGB", (8, 6)).save(tmp_path / "val2017" / "1.png")
    doc = {"images": [{"id": 1, "file_name": "1.png"}, {"id": 2, "file_name": "../../etc/passwd"}],
           "annotations": [{"image_id": 1, "category_id": 1}], "categories": [{"id": 1, "name": "dog"}]}
    (tmp_path / "annotations" / "instances_val2017.json").write_text(json.dumps(doc))
    assert main(["info", "--data", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "field 'images[1].file_name': file_name '../../etc/passwd' leads out of the image folder" in err


def test_coco_list_image_id_is_an_error_not_a_traceback(tmp_path, capsys):
    (tmp_path / "annotations").mkdir()
    doc = {"images": [{"id": 1, "file_name": "1.png"}], "annotations": [{"image_id": [1], "category_id": 1}],
           "categories": [{"id": 1, "name": "dog"}]}
    (tmp_path / "annotations" / "instances_val2017.json").write_text(json.dumps(doc))
    assert main(["info", "--data", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "field 'annotations[0].image_id': 'image_id' must be an integer, found [1]" in err


def test_info_labels_lists_every_label_and_the_missing_ones(tmp_path, capsys):
    Image.new("RGB", (8, 6)).save(tmp_path / "a.png")
    Image.new("RGB", (8, 6)).save(tmp_path / "b.png")
    (tmp_path / "manifest.csv").write_text("id,image,keywords,scene,rooms\na,a.png,pool|lawn,garden,2\n"
                                           "b,b.png,pool,kitchen,3\n")
    assert main(["info", "--labels", "--data", str(tmp_path)]) == 0
    cap = capsys.readouterr()
    assert cap.out.splitlines() == ["lawn", "pool", "garden", "kitchen", "rooms 2", "rooms 3"]
    assert "6 labels need a text vector: 2 keywords, 2 scenes, 2 attribute bins" in cap.err
    save_embeddings(tmp_path / "embeddings.npz", ["a", "b"], np.eye(2, 4), text={"pool": np.ones(4)})
    assert main(["info", "--labels", "--json", "--data", str(tmp_path)]) == 0
    cap = capsys.readouterr()
    rows = json.loads(cap.out)
    assert rows[0] == {"kind": "keyword", "label": "lawn", "has_vector": False}
    assert rows[1] == {"kind": "keyword", "label": "pool", "has_vector": True}
    assert "5 have no text vector in" in cap.err and "'lawn', 'garden', 'kitchen', 'rooms 2', 'rooms 3'" in cap.err


def test_embed_unknown_device_fails_before_loading(monkeypatch, capsys):
    from engine import api

    def boom(*a, **k):
        raise AssertionError("the dataset was loaded before the device was checked")

    monkeypatch.setattr(api, "load_dataset", boom)
    assert main(["embed", "--device", "nosuch"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "field 'device': unknown device 'nosuch' -> use cpu, cuda (or cuda:N for the N-th GPU) or mps" in err


def test_embed_cuda_without_gpu_fails_before_loading(monkeypatch, capsys):
    import torch

    from engine import api

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(api, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    assert main(["embed", "--device", "cuda"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no CUDA GPU is visible (torch.cuda.is_available() is False) -> use --device cpu" in err


def test_embed_prints_dataset_and_skipped_image_problems(tmp_path, tiny_clip, clip_cache, capsys):
    from clip_helpers import pattern, write_image

    (tmp_path / "img").mkdir()
    rows = ["id,image,keywords"]
    for i in range(3):
        write_image(tmp_path / "img" / f"{i}.jpg", pattern(i))
        rows.append(f"p{i},img/{i}.jpg,{'Pool' if i == 2 else 'pool'}")
    (tmp_path / "img" / "bad.jpg").write_bytes(truncated_jpeg())
    rows.append("pbad,img/bad.jpg,pool")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    name, ckpt = tiny_clip
    assert main(["embed", "--data", str(tmp_path), "--clip-model", name, "--clip-pretrained", str(ckpt)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "3 problem(s):" in out
    assert "keywords differ only by case, merged into 'pool': 'pool' (lines 2, 3, 5); 'Pool' (lines 4)" in out
    assert "field 'image': 1 image skipped: pbad" in out and "image 'pbad' skipped: unreadable" in out
