"""COCO loading on a small real folder: instances + captions + JPEG images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.core.errors import DataError
from engine.data.loaders import default_scene_vocabulary, load_dataset
from engine.data.loaders.coco import load_coco

CATEGORIES = [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "car"},
              {"id": 9, "name": "zebra"}]  # zebra is never used
IMAGES = [{"id": 10, "file_name": "000010.jpg"}, {"id": 11, "file_name": "000011.jpg"},
          {"id": 12, "file_name": "000012.jpg"}, {"id": 13, "file_name": "000013.jpg"}]
ANNOTATIONS = [  # image 10: person x2 + dog; 11: car; 12: nothing; 13: dog + car
    {"id": 1, "image_id": 10, "category_id": 1}, {"id": 2, "image_id": 10, "category_id": 1},
    {"id": 3, "image_id": 10, "category_id": 2}, {"id": 4, "image_id": 11, "category_id": 3},
    {"id": 5, "image_id": 13, "category_id": 2}, {"id": 6, "image_id": 13, "category_id": 3},
]
CAPTIONS = [{"id": 1, "image_id": 10, "caption": "A man with a dog."},
            {"id": 2, "image_id": 10, "caption": " Two people walk a dog. "},
            {"id": 3, "image_id": 13, "caption": "A dog near a car."},
            {"id": 4, "image_id": 99, "caption": "orphan"}]


def make_coco(root: Path, image_dir: str = "val2017", captions: bool = True, **override) -> Path:
    ann = root / "annotations"
    ann.mkdir(parents=True, exist_ok=True)
    doc = {"images": IMAGES, "annotations": ANNOTATIONS, "categories": CATEGORIES, **override}
    doc = {k: v for k, v in doc.items() if v is not None}
    (ann / "instances_val2017.json").write_text(json.dumps(doc))
    if captions:
        (ann / "captions_val2017.json").write_text(json.dumps({"images": IMAGES, "annotations": CAPTIONS}))
    folder = root / image_dir
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(IMAGES):
        Image.new("RGB", (16, 12), (40 * i, 100, 200)).save(folder / im["file_name"], format="JPEG")
    return ann / "instances_val2017.json"


def kw_sets(ds):
    return [sorted(ds.keywords[k] for k in ds.image_keywords(i)) for i in range(ds.n_images)]


def test_coco_folder_loads_keywords_captions_and_zero_shot_scenes(tmp_path):
    inst = make_coco(tmp_path)
    ds = load_dataset(tmp_path)  # folder -> annotations/instances_val2017.json
    assert ds.source_path == str(inst) and ds.kind == "coco"
    assert ds.ids == ["10", "11", "12", "13"]
    assert ds.keywords == ["car", "dog", "person"]  # used categories, sorted
    assert kw_sets(ds) == [["dog", "person"], ["car"], [], ["car", "dog"]]
    assert ds.text["caption"] == ["A man with a dog. | Two people walk a dog.", "", "", "A dog near a car."]
    assert ds.image_paths == [str(tmp_path / "val2017" / im["file_name"]) for im in IMAGES]
    assert ds.scene_source == "zero-shot" and ds.scenes == default_scene_vocabulary()
    assert (ds.image_scene == -1).all()
    msgs = [p.message for p in ds.problems]
    assert any(m.startswith("1 image(s) have no annotations") and "12" in m for m in msgs)
    assert any(m.startswith("1 caption(s) name an image") for m in msgs)
    assert ds.numeric == {}


def test_coco_file_path_and_images_folder(tmp_path):
    inst = make_coco(tmp_path, image_dir="images", captions=False)
    ds = load_dataset(inst)
    assert ds.image_paths[0] == str(tmp_path / "images" / "000010.jpg")
    assert "caption" not in ds.text


def test_coco_scene_column_file(tmp_path):
    inst = make_coco(tmp_path)
    (inst.parent / "scenes.csv").write_text("image,scene\n000010.jpg,park\n11,street\n000013.jpg,street\n")
    ds = load_dataset(inst)
    assert ds.scene_source == "column" and ds.scenes == ["park", "street"]
    assert ds.image_scene.tolist() == [0, 1, -1, 1]
    assert any("1 image(s) have no scene" in p.message for p in ds.problems)


def test_coco_scene_file_unknown_image(tmp_path):
    inst = make_coco(tmp_path)
    scenes = inst.parent / "scenes.csv"
    scenes.write_text("image,scene\n000010.jpg,park\nnope.jpg,street\n")
    with pytest.raises(DataError) as e:
        load_dataset(inst)
    assert e.value.path == str(scenes) and e.value.line == 3 and e.value.field == "image"


def test_coco_scene_vocabulary_file_for_zero_shot(tmp_path):
    inst = make_coco(tmp_path)
    (inst.parent / "scenes.txt").write_text("city street\ndog park\n")
    ds = load_dataset(inst)
    assert ds.scene_source == "zero-shot" and ds.scenes == ["city street", "dog park"]


@pytest.mark.parametrize("missing", ["images", "annotations", "categories"])
def test_coco_missing_top_level_key(tmp_path, missing):
    inst = make_coco(tmp_path, **{missing: None})
    with pytest.raises(DataError) as e:
        load_coco(inst)
    assert e.value.field == missing and e.value.path == str(inst) and missing in e.value.message


def test_coco_annotation_unknown_image_and_category(tmp_path):
    bad = ANNOTATIONS + [{"id": 7, "image_id": 77, "category_id": 1}]
    inst = make_coco(tmp_path, annotations=bad)
    with pytest.raises(DataError) as e:
        load_dataset(inst)
    assert e.value.field == "annotations[6].image_id" and "77" in e.value.message
    bad = ANNOTATIONS + [{"id": 7, "image_id": 10, "category_id": 5}]
    inst = make_coco(tmp_path, annotations=bad)
    with pytest.raises(DataError) as e:
        load_dataset(inst)
    assert e.value.field == "annotations[6].category_id" and "category" in e.value.message


def test_coco_malformed_json_reports_line(tmp_path):
    inst = make_coco(tmp_path)
    inst.write_text('{"images": [\n  {"id": 1,\n  "file_name": }\n]}')
    with pytest.raises(DataError) as e:
        load_dataset(inst)
    assert e.value.line == 3 and "malformed JSON" in e.value.message


def test_coco_missing_images(tmp_path):
    inst = make_coco(tmp_path)
    (tmp_path / "val2017" / "000011.jpg").unlink()
    with pytest.raises(DataError) as e:
        load_dataset(inst)
    assert "1 image file(s) not found: 000011.jpg" in e.value.message
    assert str(tmp_path / "val2017") in e.value.hint


def test_coco_captions_file_is_not_a_dataset(tmp_path):
    inst = make_coco(tmp_path)
    with pytest.raises(DataError, match="instances_"):
        load_dataset(inst.parent / "captions_val2017.json")


def test_coco_two_instance_files_are_ambiguous(tmp_path):
    inst = make_coco(tmp_path)
    (inst.parent / "instances_train2017.json").write_text(inst.read_text())
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path)
    assert "instances_train2017.json" in e.value.message and "instances_val2017.json" in e.value.message


def test_coco_duplicate_image_id(tmp_path):
    inst = make_coco(tmp_path, images=IMAGES + [{"id": 10, "file_name": "x.jpg"}])
    with pytest.raises(DataError) as e:
        load_dataset(inst)
    assert e.value.field == "images[4].id"


def test_coco_embeddings_at_dataset_root(tmp_path):
    from engine.data.embeddings_io import save_embeddings

    make_coco(tmp_path)
    rng = np.random.default_rng(0)
    save_embeddings(tmp_path / "embeddings.npz", ["13", "12", "11", "10", "extra"], rng.normal(size=(5, 6)))
    ds = load_dataset(tmp_path)
    assert ds.embeddings is not None and ds.embeddings.image.shape == (4, 6)


def test_coco_loading_changes_no_user_file(tmp_path):
    import hashlib

    inst = make_coco(tmp_path)
    (inst.parent / "scenes.csv").write_text("image,scene\n10,park\n")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    before = {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files}
    load_dataset(tmp_path)
    after = {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files}
    assert after == before and sorted(p for p in tmp_path.rglob("*") if p.is_file()) == files
