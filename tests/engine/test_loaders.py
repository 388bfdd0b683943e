"""Manifest loading (CSV/JSONL), folder resolution and every bad-input case,
on real files written in tmp_path."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.core.errors import DataError
from engine.data.embeddings_io import save_embeddings
from engine.data.loaders import (
    default_data_path,
    default_scene_vocabulary,
    load_dataset,
    resolve_dataset_path,
)


def write_png(path: Path, colour=(200, 10, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), colour).save(path, format="PNG")


def write_jpeg(path: Path, colour=(10, 200, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), colour).save(path, format="JPEG")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def images(tmp_path):
    write_png(tmp_path / "img" / "a.png")
    write_jpeg(tmp_path / "img" / "b.jpg")
    write_png(tmp_path / "img" / "c.png", (0, 0, 255))
    return tmp_path


GOOD_CSV = (
    "id,image,keywords,scene,price,note\n"
    "a,img/a.png, pool | patio |pool,backyard,500000,sunny\n"
    "b,img/b.jpg,fireplace,living room,,cozy\n"
    "c,img/c.png,patio|deck,backyard,750000.5,\n"
)


def kw_sets(ds):
    return {ds.ids[i]: {ds.keywords[k] for k in ds.image_keywords(i)} for i in range(ds.n_images)}


def test_csv_manifest_values(images):
    m = write(images / "listings.csv", GOOD_CSV)
    ds = load_dataset(m)
    assert ds.ids == ["a", "b", "c"]
    assert ds.keywords == ["deck", "fireplace", "patio", "pool"]  # sorted, trimmed, deduped
    assert kw_sets(ds) == {"a": {"pool", "patio"}, "b": {"fireplace"}, "c": {"patio", "deck"}}
    assert len(ds.kw_indices) == 5
    assert ds.scenes == ["backyard", "living room"]
    assert [ds.scenes[s] for s in ds.image_scene] == ["backyard", "living room", "backyard"]
    assert ds.scene_source == "column"
    np.testing.assert_array_equal(ds.numeric["price"], [500000, np.nan, 750000.5])
    assert ds.text == {"note": ["sunny", "cozy", ""]}
    assert ds.image_paths == [str(images / "img" / n) for n in ("a.png", "b.jpg", "c.png")]
    assert ds.kind == "manifest" and ds.name == "listings" and ds.source_path == str(m)
    assert ds.embeddings is None and ds.problems == []


def test_jsonl_manifest_values(images):
    rows = [
        {"id": 1, "image": "img/a.png", "keywords": ["pool", " patio ", "pool"], "price": 5, "rooms": "3"},
        {"id": "2", "image": str(images / "img" / "b.jpg"), "keywords": ["fireplace"], "tags": {"x": 1}},
        {"id": "3", "image": "img/c.png", "keywords": "deck|patio", "price": None, "rooms": 4.5},
    ]
    m = write(images / "data" / "m.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    # relative paths are relative to the manifest folder: move the manifest next to img/
    m = write(images / "m.jsonl", m.read_text())
    ds = load_dataset(m)
    assert ds.ids == ["1", "2", "3"]
    assert kw_sets(ds) == {"1": {"pool", "patio"}, "2": {"fireplace"}, "3": {"deck", "patio"}}
    np.testing.assert_array_equal(ds.numeric["price"], [5, np.nan, np.nan])
    np.testing.assert_array_equal(ds.numeric["rooms"], [3, np.nan, 4.5])
    assert ds.text["tags"] == ["", '{"x": 1}', ""]
    assert ds.image_paths[1] == str(images / "img" / "b.jpg")  # absolute kept
    assert ds.scenes == [] and ds.scene_source == "none" and (ds.image_scene == -1).all()


def test_folder_prefers_manifest_csv(images):
    write(images / "manifest.csv", GOOD_CSV)
    write(images / "other.csv", GOOD_CSV)
    path, kind = resolve_dataset_path(images)
    assert (path, kind) == (images / "manifest.csv", "manifest")
    ds = load_dataset(images)
    assert ds.name == images.name and ds.n_images == 3


def test_folder_with_single_manifest_and_ambiguity(images):
    write(images / "one.jsonl", json.dumps({"id": "a", "image": "img/a.png", "keywords": ["x"]}) + "\n")
    assert resolve_dataset_path(images) == (images / "one.jsonl", "manifest")
    write(images / "two.csv", GOOD_CSV)
    with pytest.raises(DataError) as e:
        load_dataset(images)
    assert "one.jsonl" in str(e.value) and "two.csv" in str(e.value) and "--data" in str(e.value)


def test_folder_with_both_named_manifests(images):
    write(images / "manifest.csv", GOOD_CSV)
    write(images / "manifest.jsonl", "")
    with pytest.raises(DataError, match="manifest.csv and manifest.jsonl"):
        load_dataset(images)


def test_empty_folder_and_missing_path(tmp_path):
    write(tmp_path / "notes.txt", "hello")
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path)
    assert "notes.txt" in str(e.value) and str(tmp_path) in str(e.value)
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "nope.csv")


def test_embeddings_file_passed_as_data(tmp_path):
    p = tmp_path / "e.npz"
    save_embeddings(p, ["a"], np.ones((1, 4)))
    with pytest.raises(DataError, match="--embeddings"):
        load_dataset(p)


def test_default_data_path_is_the_demo():
    p = default_data_path()
    assert p == Path(__file__).resolve().parents[2] / "sample_data" / "demo"
    assert (p / "manifest.csv").is_file()


# ---------------------------------------------------------------- bad input
def error_of(path, **kw) -> DataError:
    with pytest.raises(DataError) as e:
        load_dataset(path, **kw)
    return e.value


def test_missing_required_column(images):
    m = write(images / "m.csv", "id,image,scene\na,img/a.png,x\n")
    err = error_of(m)
    assert err.path == str(m) and err.line == 1 and err.field == "keywords"
    assert "keywords" in err.format() and "id, image, keywords" in err.format()


def test_malformed_csv_quote_reports_line(images):
    m = write(images / "m.csv", 'id,image,keywords\na,img/a.png,pool\nb,img/b.jpg,"pool\n')
    err = error_of(m)
    assert err.path == str(m) and err.line == 3 and "malformed CSV" in err.message


def test_csv_wrong_field_count(images):
    m = write(images / "m.csv", "id,image,keywords\na,img/a.png,pool\n\nb,img/b.jpg,pool,extra\n")
    err = error_of(m)
    assert err.line == 4 and "expected 3 fields" in err.message and "found 4" in err.message


def test_malformed_jsonl_reports_line(images):
    good = json.dumps({"id": "a", "image": "img/a.png", "keywords": ["x"]})
    m = write(images / "m.jsonl", good + "\n\n{\"id\": \"b\", \"image\": \n")
    err = error_of(m)
    assert err.path == str(m) and err.line == 3 and "malformed JSON" in err.message
    m2 = write(images / "n.jsonl", good + "\n[1, 2]\n")
    assert error_of(m2).line == 2


def test_jsonl_keywords_must_be_strings(images):
    m = write(images / "m.jsonl", json.dumps({"id": "a", "image": "img/a.png", "keywords": ["x", 3]}) + "\n")
    err = error_of(m)
    assert err.line == 1 and err.field == "keywords" and "3" in err.message


def test_duplicate_id_names_both_lines(images):
    m = write(images / "m.csv", "id,image,keywords\na,img/a.png,x\nb,img/b.jpg,y\na,img/c.png,z\n")
    err = error_of(m)
    assert err.line == 4 and err.field == "id" and "line 2" in err.message and "'a'" in err.message


def test_missing_images_listed_with_lines(images):
    m = write(images / "m.csv", "id,image,keywords\na,img/a.png,x\nb,img/nope.png,y\nc,img/gone.jpg,z\n")
    err = error_of(m)
    assert err.field == "image" and err.line == 3
    assert "2 image file(s) not found" in err.message
    assert "line 3: img/nope.png" in err.message and "line 4: img/gone.jpg" in err.message
    assert "--embeddings" in err.hint


def test_missing_images_covered_by_embeddings_are_a_problem(images):
    m = write(images / "m.csv", "id,image,keywords\na,img/a.png,x\nb,img/nope.png,y\n")
    save_embeddings(images / "embeddings.npz", ["a", "b"], np.eye(2, 4))
    ds = load_dataset(m)
    assert ds.image_paths == [str(images / "img" / "a.png"), ""]
    assert len(ds.problems) == 1 and "1 image file(s) not found" in ds.problems[0].message
    assert "lines 3" in ds.problems[0].message and ds.problems[0].field == "image"
    assert ds.embeddings is not None and ds.embeddings.image.shape == (2, 4)


def test_empty_keywords_problem_and_strict(images):
    m = write(images / "m.csv", "id,image,keywords\na,img/a.png,x\nb,img/b.jpg, | \nc,img/c.png,\n")
    ds = load_dataset(m)
    assert [len(ds.image_keywords(i)) for i in range(3)] == [1, 0, 0]
    assert len(ds.problems) == 1
    p = ds.problems[0]
    assert p.message.startswith("2 image(s) have no keywords") and "lines 3, 4" in p.message
    assert p.path == str(m) and p.field == "keywords"
    err = error_of(m, strict=True)
    assert err.line == 3 and err.field == "keywords" and "empty keyword list" in err.message


def test_unknown_scene_with_vocabulary_file(images):
    write(images / "scenes.txt", "# allowed\nbackyard\nliving room\n")
    m = write(images / "m.csv", GOOD_CSV.replace("living room", "attic"))
    err = error_of(m)
    assert err.line == 3 and err.field == "scene" and "'attic'" in err.message and "scenes.txt" in err.hint
    m2 = write(images / "ok.csv", GOOD_CSV)
    ds = load_dataset(m2)
    assert ds.scenes == ["backyard", "living room"]  # file order


def test_scene_vocabulary_without_column_means_zero_shot(images):
    write(images / "scenes.txt", "kitchen\nbedroom\n")
    m = write(images / "m.csv", "id,image,keywords\na,img/a.png,x\n")
    ds = load_dataset(m)
    assert ds.scene_source == "zero-shot" and ds.scenes == ["kitchen", "bedroom"]
    assert ds.image_scene.tolist() == [-1]


def test_non_numeric_value_in_numeric_column(images):
    rows = "".join(f"i{k},img/a.png,x,{k * 10}\n" for k in range(5))
    m = write(images / "m.csv", "id,image,keywords,price\n" + rows + "i9,img/a.png,x,cheap\n")
    err = error_of(m)
    assert err.path == str(m) and err.line == 7 and err.field == "price"
    assert "'cheap'" in err.message and "numeric column 'price'" in err.message


def test_mostly_text_column_stays_text(images):
    m = write(images / "m.csv", "id,image,keywords,code\na,img/a.png,x,A1\nb,img/b.jpg,x,B2\nc,img/c.png,x,7\n")
    ds = load_dataset(m)
    assert ds.text["code"] == ["A1", "B2", "7"] and "code" not in ds.numeric


def test_infinite_value_is_not_a_number(images):
    rows = "".join(f"i{k},img/a.png,x,{k}\n" for k in range(4))
    m = write(images / "m.csv", "id,image,keywords,size\n" + rows + "z,img/a.png,x,inf\n")
    assert error_of(m).line == 6


def test_empty_manifests(images):
    assert "empty" in error_of(write(images / "e.csv", "")).message
    assert "no rows" in error_of(write(images / "h.csv", "id,image,keywords\n")).message
    assert "no rows" in error_of(write(images / "e.jsonl", "\n\n")).message


def test_empty_id(images):
    err = error_of(write(images / "m.csv", "id,image,keywords\n ,img/a.png,x\n"))
    assert err.line == 2 and err.field == "id"


def test_loading_changes_no_user_file(images):
    write(images / "manifest.csv", GOOD_CSV)
    write(images / "scenes.txt", "backyard\nliving room\n")
    save_embeddings(images / "embeddings.npz", ["a", "b", "c"], np.eye(3, 5))
    files = sorted(p for p in images.rglob("*") if p.is_file())

    def snapshot():
        return {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files}

    before = snapshot()
    ds = load_dataset(images)
    assert ds.embeddings is not None and ds.n_images == 3
    assert snapshot() == before
    assert sorted(p for p in images.rglob("*") if p.is_file()) == files  # nothing new written


def test_100k_row_manifest_loads_correctly(tmp_path):
    """Correctness at 100k rows; the speed is the benchmark row 'graph / load a 100k-row
    manifest' (benchmarks/stage_graph.py), not a timed test."""
    write_png(tmp_path / "img.png")
    n = 100_000
    kws = ["pool", "patio", "deck", "lawn", "fireplace"]
    lines = ["id,image,keywords,scene,price,city"]
    lines += [f"r{i},img.png,{kws[i % 5]}|{kws[(i * 7) % 5]},s{i % 3},{i},c{i % 11}" for i in range(n)]
    m = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    ds = load_dataset(m)
    assert ds.n_images == n and ds.keywords == sorted(kws) and ds.scenes == ["s0", "s1", "s2"]
    assert ds.numeric["price"][12345] == 12345 and ds.text["city"][12] == "c1"
    expected_nnz = sum(1 if i % 5 == (i * 7) % 5 else 2 for i in range(n))
    assert len(ds.kw_indices) == expected_nnz


def test_default_scene_vocabulary_is_sensible():
    v = default_scene_vocabulary()
    assert 15 <= len(v) <= 30 and len(set(v)) == len(v)
    assert {"kitchen", "bedroom", "street", "beach"} <= set(v)


def test_unreadable_manifest_is_a_data_error(images):
    m = images / "m.csv"
    m.write_bytes(b"id,image,keywords\na,img/a.png,\xff\xfe\n")
    err = error_of(m)
    assert "UTF-8" in err.message and err.path == str(m)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_permission_denied(images):  # pragma: no cover - depends on the user
    m = write(images / "m.csv", GOOD_CSV)
    m.chmod(0)
    assert "cannot open" in error_of(m).message


def test_csv_trailing_comma_and_json_list_keywords(images):
    m = write(images / "m.csv", 'id,image,keywords,\na,img/a.png,"[""pool"", ""deck""]",\nb,img/b.jpg,x|[y],\n')
    ds = load_dataset(m)
    assert kw_sets(ds) == {"a": {"pool", "deck"}, "b": {"x", "[y]"}}
    assert ds.text == {} and ds.numeric == {}
    m2 = write(images / "n.csv", "id,image,keywords,\na,img/a.png,x,oops\n")
    err = error_of(m2)
    assert err.line == 1 and "column 4" in err.message
