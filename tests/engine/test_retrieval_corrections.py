"""The corrections file: atomic appends, clear errors with line and field, and
corrections applied at load time without touching the loaded dataset."""

import os

import pytest

from engine import api
from engine.core.errors import DataError
from engine.retrieval.corrections import (
    Correction,
    append_correction,
    apply_corrections,
    decided_pairs,
    decision_action,
    read_corrections,
)


def test_append_writes_header_once_and_rows_in_order(tmp_path):
    path = tmp_path / "run" / "corrections.csv"
    append_correction(path, Correction("img1", "fireplace", "add"))
    append_correction(path, Correction("img2", "walk-in closet, large", "keep"))
    assert path.read_text(encoding="utf-8") == (
        'id,keyword,action\nimg1,fireplace,add\nimg2,"walk-in closet, large",keep\n')
    got = read_corrections(path)
    assert [(c.id, c.keyword, c.action, c.line) for c in got] == [
        ("img1", "fireplace", "add", 2), ("img2", "walk-in closet, large", "keep", 3)]
    assert [decision_action(k, a) for k, a in (("missing", True), ("wrong", True), ("wrong", False))] == [
        "add", "remove", "keep"]


def test_a_failed_append_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "corrections.csv"
    append_correction(path, Correction("img1", "pool", "add"))
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        append_correction(path, Correction("img2", "pool", "remove"))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["corrections.csv"]  # no temporary file left


@pytest.mark.parametrize("text, line, field, words", [
    ("image,tag\nimg1,pool\n", 1, None, "header"),
    ("id,keyword,action\nimg1,pool\n", 2, None, "3 fields"),
    ("id,keyword,action\nimg1,pool,add\nimg2,pool,delete\n", 3, "action", "unknown action"),
])
def test_bad_files_name_the_line_and_field(tmp_path, text, line, field, words):
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=words) as exc:
        read_corrections(path)
    assert exc.value.line == line and exc.value.field == field and exc.value.path == str(path)
    assert exc.value.hint


def test_apply_adds_removes_last_decision_wins_and_keeps_the_input(tiny_world, tmp_path):
    ds = tiny_world
    kws = ds.keywords
    tagged = int(ds.image_keywords(0)[0])
    untagged = next(k for k in range(ds.n_keywords) if k not in ds.image_keywords(1))
    path = tmp_path / "c.csv"
    for c in (Correction(ds.ids[0], kws[tagged], "remove"), Correction(ds.ids[1], kws[untagged], "add"),
              Correction(ds.ids[2], kws[untagged], "add"), Correction(ds.ids[2], kws[untagged], "keep")):
        append_correction(path, c)
    before = ds.kw_indices.copy()
    out = apply_corrections(ds, path)
    assert tagged not in out.image_keywords(0) and untagged in out.image_keywords(1)
    assert list(out.image_keywords(2)) == sorted(ds.image_keywords(2))  # keep: unchanged
    assert (ds.kw_indices == before).all() and tagged in ds.image_keywords(0)  # the input is untouched
    assert out.n_images == ds.n_images and out.ids == ds.ids
    assert len(decided_pairs(read_corrections(path), ds)) == 3


def test_unknown_id_or_keyword_is_reported_with_its_line(tiny_world, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,keyword,action\nimg9999999,pool,add\n", encoding="utf-8")
    with pytest.raises(DataError, match="no image with id") as exc:
        apply_corrections(tiny_world, path)
    assert exc.value.line == 2 and exc.value.field == "id"
    path.write_text(f"id,keyword,action\n{tiny_world.ids[0]},moat,add\n", encoding="utf-8")
    with pytest.raises(DataError, match="unknown keyword 'moat'") as exc:
        apply_corrections(tiny_world, path)
    assert exc.value.field == "keyword"
    with pytest.raises(DataError, match="no such corrections file"):
        apply_corrections(tiny_world, tmp_path / "missing.csv")


def test_load_dataset_applies_corrections(tmp_path):
    from engine.data.synthetic.demo import write_demo

    data = write_demo(tmp_path / "demo", n=60, seed=1, images=False)
    plain = api.load_dataset(str(data))
    row = 5
    kw = next(k for k in plain.keywords if plain.keywords.index(k) not in plain.image_keywords(row))
    path = tmp_path / "c.csv"
    append_correction(path, Correction(plain.ids[row], kw, "add"))
    fixed = api.load_dataset(str(data), corrections=str(path))
    assert plain.keywords.index(kw) in fixed.image_keywords(row)
    assert plain.keywords.index(kw) not in api.load_dataset(str(data)).image_keywords(row)
