"""`mmkg-tui info` on the bundled demo and on a small COCO folder, with counts
computed independently from the files."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.loaders import default_data_path
from mmkg_tui.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run_json(capsys, *args) -> dict:
    assert main(["info", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def expected_bins(values: np.ndarray, n_bins: int = 4) -> int:
    values = values[np.isfinite(values)]
    uniq = np.unique(values)
    if len(uniq) <= n_bins:
        return len(uniq)
    return len(np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)))) - 1


def test_info_json_on_demo(capsys):
    with open(default_data_path() / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    kw_rows = [{k.strip() for k in r["keywords"].split("|") if k.strip()} for r in rows]
    keywords = set().union(*kw_rows)
    scenes = {r["scene"] for r in rows if r["scene"]}
    numeric = ["bathrooms", "bedrooms", "price", "sqft", "year_built"]
    attr_nodes = sum(expected_bins(np.array([float(r[c]) for r in rows if r[c]])) for c in numeric)
    attr_edges = sum(1 for r in rows for c in numeric if r[c])

    info = run_json(capsys)
    assert info["images"] == len(rows) == 3000
    assert info["keywords"] == len(keywords) and info["scenes"] == len(scenes)
    assert info["node_counts"] == {"image": len(rows), "keyword": len(keywords), "scene": len(scenes),
                                   "attribute": attr_nodes}
    n_kw = sum(len(k) for k in kw_rows)
    n_sc = sum(1 for r in rows if r["scene"])
    assert info["edge_counts"] == {"has_keyword": n_kw, "keyword_of": n_kw, "in_scene": n_sc, "scene_of": n_sc,
                                   "has_attribute": attr_edges, "attribute_of": attr_edges}
    assert info["synthetic"] is True and "SYNTHETIC" in info["embedding_source"]
    top = max(keywords, key=lambda k: sum(k in s for s in kw_rows))
    assert info["keyword_prevalence"][top] == sum(top in s for s in kw_rows)
    prices = np.array([float(r["price"]) for r in rows])
    assert info["numeric_ranges"]["price"] == {"min": prices.min(), "max": prices.max(), "missing": 0}
    untagged = sum(1 for k in kw_rows if not k)
    assert untagged > 0 and any(f"{untagged} image(s) have no keywords" in p for p in info["problems"])


def write_coco(root: Path) -> dict:
    cats = [{"id": c, "name": n} for c, n in [(1, "cat"), (2, "sofa"), (3, "tv"), (4, "cup")]]
    images = [{"id": i, "file_name": f"{i:06d}.jpg", "width": 16, "height": 12} for i in range(1, 6)]
    pairs = [(1, 1), (1, 2), (1, 2), (2, 3), (3, 1), (3, 4), (3, 2), (5, 3)]  # image 4 has none
    anns = [{"id": j, "image_id": i, "category_id": c} for j, (i, c) in enumerate(pairs)]
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_val2017.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats}))
    (root / "annotations" / "captions_val2017.json").write_text(
        json.dumps({"annotations": [{"image_id": 1, "caption": "a cat on a sofa"}]}))
    (root / "val2017").mkdir()
    for im in images:
        Image.new("RGB", (16, 12), (im["id"] * 30, 0, 0)).save(root / "val2017" / im["file_name"], format="JPEG")
    return {"images": images, "pairs": pairs, "cats": cats}


def test_info_json_on_coco_folder(tmp_path, capsys):
    from engine.data.loaders import default_scene_vocabulary

    spec = write_coco(tmp_path)
    info = run_json(capsys, "--data", str(tmp_path))
    distinct = set(spec["pairs"])
    used = {c for _, c in spec["pairs"]}
    assert info["kind"] == "coco" and info["images"] == 5 and info["keywords"] == len(used) == 4
    assert info["node_counts"] == {"image": 5, "keyword": len(used), "scene": len(default_scene_vocabulary()),
                                   "attribute": 0}
    assert info["edge_counts"] == {"has_keyword": len(distinct), "keyword_of": len(distinct), "in_scene": 0,
                                   "scene_of": 0, "has_attribute": 0, "attribute_of": 0}
    assert info["scene_source"] == "zero-shot" and info["text_attributes"] == ["caption"]
    assert info["keyword_prevalence"] == {"cat": 2, "cup": 1, "sofa": 2, "tv": 2}
    assert any("1 image(s) have no annotations" in p for p in info["problems"])
    assert info["embedding_source"] is None


def test_info_table_output(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "has_keyword" in out and "hardwood floors" in out
    assert "Keyword prevalence" in out and "price" in out


def test_info_bad_data_is_a_message_not_a_traceback(tmp_path, capsys):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    m = tmp_path / "m.csv"
    m.write_text("id,image,keywords,price\na,a.png,x,1\nb,a.png,x,2\nc,a.png,x,3\nd,a.png,x,lots\n")
    assert main(["info", "--data", str(m)]) == 2
    captured = capsys.readouterr()
    err = re.sub(r"\s+", " ", captured.err)  # rich wraps long lines
    assert "line 5" in err and "field 'price'" in err and "'lots'" in err and "m.csv" in err
    assert "Traceback" not in err and captured.out == ""


def test_info_strict_flag(tmp_path, capsys):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("id,image,keywords\na,a.png,x\nb,a.png,\n")
    assert run_json(capsys, "--data", str(tmp_path))["images"] == 2
    assert main(["info", "--data", str(tmp_path), "--strict"]) == 2
    assert "empty keyword list" in capsys.readouterr().err


def test_info_loads_no_model_in_a_fresh_process():
    code = ("import sys, io, contextlib\n"
            "from mmkg_tui.cli.main import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf): rc = main(['info', '--json'])\n"
            "print(rc, 'open_clip' in sys.modules, 'engine.features.clip.model' in sys.modules)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["0", "False", "False"]


def test_info_table_on_coco_names_zero_shot_scenes(tmp_path, capsys):
    write_coco(tmp_path)
    assert main(["info", "--data", str(tmp_path)]) == 0
    out = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert "zero-shot" in out and "kitchen" in out and "caption" in out and "no annotations" in out
