"""Keywords that differ only by case or whitespace, and COCO fields validated one by one
(issue 8 section 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from engine.core.errors import DataError
from engine.data.loaders import load_dataset


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "img").mkdir()
    for name in "abcd":
        Image.new("RGB", (8, 6), (10, 20, 30)).save(tmp_path / "img" / f"{name}.png")
    return tmp_path


CASE_CSV = ("id,image,keywords\n"
            "a,img/a.png,pool| patio\n"        # line 2
            "b,img/b.png,Pool |deck\n"          # line 3
            "c,img/c.png,  pool  |swimming   pool\n"  # line 4
            "d,img/d.png,swimming pool\n")      # line 5


def kw_sets(ds):
    return {ds.ids[i]: {ds.keywords[k] for k in ds.image_keywords(i)} for i in range(ds.n_images)}


def test_case_duplicates_merge_into_the_most_frequent_spelling(folder):
    m = write(folder / "m.csv", CASE_CSV)
    ds = load_dataset(m)
    assert ds.keywords == ["deck", "patio", "pool", "swimming pool"]
    assert kw_sets(ds) == {"a": {"pool", "patio"}, "b": {"pool", "deck"}, "c": {"pool", "swimming pool"},
                           "d": {"swimming pool"}}
    texts = [p.format() for p in ds.problems]
    assert texts == [f"{m}, field 'keywords': keywords differ only by case, merged into 'pool': "
                     "'pool' (lines 2, 4); 'Pool' (lines 3)"]


def test_case_duplicates_refused_with_strict(folder):
    m = write(folder / "m.csv", CASE_CSV)
    with pytest.raises(DataError) as e:
        load_dataset(m, strict=True)
    err = e.value
    assert err.path == str(m) and err.line == 3 and err.field == "keywords"
    assert "'pool' (lines 2, 4)" in err.message and "'Pool' (lines 3)" in err.message
    assert "drop --strict" in err.hint


def test_jsonl_keywords_case_and_space(folder):
    rows = [{"id": "a", "image": "img/a.png", "keywords": ["Pool ", "x"]},
            {"id": "b", "image": "img/b.png", "keywords": ["POOL"]},
            {"id": "c", "image": "img/c.png", "keywords": ["Pool"]}]
    m = write(folder / "m.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    ds = load_dataset(m)
    assert ds.keywords == ["Pool", "x"]
    assert "merged into 'Pool': 'Pool' (lines 1, 3); 'POOL' (lines 2)" in ds.problems[0].message


# ------------------------------------------------------------------ COCO
def make_coco(root: Path, images, anns, cats) -> Path:
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "val2017").mkdir(exist_ok=True)
    for im in images:
        if isinstance(im.get("file_name"), str) and im["file_name"]:
            Image.new("RGB", (8, 6), (1, 2, 3)).save(root / "val2017" / Path(im["file_name"]).name, format="PNG")
    p = root / "annotations" / "instances_val2017.json"
    p.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return p


IMAGES = [{"id": 1, "file_name": "1.png"}, {"id": 2, "file_name": "2.png"}, {"id": 3, "file_name": "3.png"}]
CATS = [{"id": 1, "name": "dog"}, {"id": 2, "name": "cat"}]
ANNS = [{"image_id": 1, "category_id": 1}, {"image_id": 2, "category_id": 2}]


@pytest.mark.parametrize(("where", "value", "field", "what"), [
    ("annotations", {"image_id": [1], "category_id": 1}, "annotations[2].image_id", "an integer"),
    ("annotations", {"image_id": 1, "category_id": "1"}, "annotations[2].category_id", "an integer"),
    ("categories", {"id": 3, "name": None}, "categories[2].name", "a non-empty string"),
    ("categories", {"id": 3, "name": "  "}, "categories[2].name", "a non-empty string"),
    ("categories", {"id": True, "name": "x"}, "categories[2].id", "an integer"),
    ("images", {"id": 9, "file_name": 42}, "images[3].file_name", "a non-empty string"),
    ("images", {"id": {"a": 1}, "file_name": "9.png"}, "images[3].id", "an integer"),
])
def test_coco_fields_are_validated_one_by_one(tmp_path, where, value, field, what):
    parts = {"images": list(IMAGES), "annotations": list(ANNS), "categories": list(CATS)}
    parts[where].append(value)
    p = make_coco(tmp_path, parts["images"], parts["annotations"], parts["categories"])
    with pytest.raises(DataError) as e:
        load_dataset(p)
    err = e.value
    assert err.path == str(p) and err.field == field
    assert f"must be {what}, found" in err.message and f"entry {field.split('[')[1].split(']')[0]}" in err.hint


def test_coco_duplicate_category_id(tmp_path):
    p = make_coco(tmp_path, IMAGES, ANNS, CATS + [{"id": 1, "name": "wolf"}])
    with pytest.raises(DataError) as e:
        load_dataset(p)
    assert e.value.field == "categories[2].id" and "also categories[0]" in e.value.message


def test_coco_category_names_differing_by_case(tmp_path):
    cats = CATS + [{"id": 3, "name": " Dog"}]
    anns = ANNS + [{"image_id": 3, "category_id": 3}, {"image_id": 2, "category_id": 1}]
    p = make_coco(tmp_path, IMAGES, anns, cats)
    ds = load_dataset(p)
    assert ds.keywords == ["cat", "dog"]
    assert any("merged into 'dog': 'dog' (images 1, 2); 'Dog' (images 3)" in x.message for x in ds.problems)
    with pytest.raises(DataError) as e:
        load_dataset(p, strict=True)
    assert e.value.field == "categories[2].name"
    assert "'dog' (categories[0]) and 'Dog' (categories[2])" in e.value.message
