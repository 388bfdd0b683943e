"""Files that cannot be read: each message names the cause and one thing to do
(issue 8 section 2: symlink loop, permission denied, oversized CSV field, embeddings
path that is a folder, duplicate column names)."""

from __future__ import annotations

import builtins
import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.core.errors import DataError
from engine.data.embeddings_io import save_embeddings
from engine.data.loaders import load_dataset


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "img").mkdir()
    for name in ("a", "b", "c"):
        Image.new("RGB", (8, 6), (10, 20, 30)).save(tmp_path / "img" / f"{name}.png")
    return tmp_path


def error_of(path, **kw) -> DataError:
    with pytest.raises(DataError) as e:
        load_dataset(path, **kw)
    return e.value


def test_symlink_loop_says_loop_not_missing(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    os.symlink(b, a)
    os.symlink(a, b)
    err = error_of(a)
    text = err.format()
    assert "symbolic link loop" in text and "no such file" not in text
    assert err.path == str(a) and "replace it with the real file" in err.hint


def test_dangling_symlink_says_so(tmp_path):
    a = tmp_path / "m.csv"
    os.symlink(tmp_path / "gone.csv", a)
    assert "symbolic link to a file that does not exist" in error_of(a).format()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_permission_denied_manifest_names_the_remedy(folder, monkeypatch, suffix):
    m = write(folder / f"m{suffix}", "id,image,keywords\na,img/a.png,pool\n")
    real_open = builtins.open

    def deny(file, *a, **k):  # tests run as root: chmod would not stop us, so simulate
        if str(file) == str(m):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", deny)
    err = error_of(m)
    assert err.path == str(m)
    assert err.message == "cannot read the manifest: permission denied"
    assert err.hint == "check the file's permissions (chmod) or run as its owner"


def test_permission_denied_embeddings(folder, monkeypatch):
    m = write(folder / "m.csv", "id,image,keywords\na,img/a.png,pool\n")
    emb = save_embeddings(folder / "e.npz", ["a"], np.ones((1, 4), np.float32))
    real_open = builtins.open

    def deny(file, *a, **k):
        if str(file) == str(emb):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", deny)
    err = error_of(m, embeddings=emb)
    assert err.message == "cannot read the embeddings: permission denied" and "chmod" in err.hint


def test_oversized_csv_field_names_line_field_and_limit(folder):
    limit = csv.field_size_limit()
    big = "x" * (limit + 10)
    m = write(folder / "m.csv", f"id,image,keywords,note\na,img/a.png,pool,ok\nb,img/b.png,pool,{big}\n")
    err = error_of(m)
    assert err.line == 3 and err.field == "note"
    assert f"{limit:,} characters" in err.message and "unclosed quote" in err.hint
    assert csv.field_size_limit() == limit  # the global limit is restored


def test_unclosed_quote_swallowing_the_file_names_its_start_line(folder):
    limit = csv.field_size_limit()
    rest = "".join(f"r{i},img/a.png,pool\n" for i in range(limit // 15 + 10))
    m = write(folder / "m.csv", f'id,image,keywords\na,img/a.png,pool\nb,img/b.png,"pool\n{rest}')
    err = error_of(m)
    assert err.line == 3 and err.field == "keywords" and "close the quote" in err.hint


def test_embeddings_path_that_is_a_folder(folder):
    m = write(folder / "m.csv", "id,image,keywords\na,img/a.png,pool\n")
    d = folder / "vectors"
    d.mkdir()
    save_embeddings(d / "mine.npz", ["a"], np.ones((1, 4), np.float32))
    err = error_of(m, embeddings=d)
    assert err.message == "is a folder; give the .npz/.npy file" and err.path == str(d)
    assert str(d / "mine.npz") in err.hint


def test_duplicate_column_names_are_all_listed(folder):
    m = write(folder / "m.csv", "id,image,keywords,price,note,price,note,area\na,img/a.png,pool,1,x,2,y,3\n")
    err = error_of(m)
    assert err.line == 1 and err.field == "price"
    assert "2 column name(s) appear more than once" in err.message
    assert "'price' (columns 4, 6)" in err.message and "'note' (columns 5, 7)" in err.message


def test_duplicate_column_names_beyond_ten_are_counted(folder):
    names = [f"c{i}" for i in range(12)]
    header = ",".join(["id", "image", "keywords"] + names + names)
    m = write(folder / "m.csv", header + "\n" + ",".join(["a", "img/a.png", "pool"] + ["1"] * 24) + "\n")
    err = error_of(m)
    assert "12 column name(s)" in err.message and "and 2 more" in err.message
    assert "'c9'" in err.message and "'c10'" not in err.message


def test_duplicate_keys_in_a_jsonl_row(folder):
    m = write(folder / "m.jsonl", '{"id": "a", "image": "img/a.png", "keywords": ["pool"]}\n'
                                  '{"id": "b", "image": "img/b.png", "keywords": ["x"], "keywords": ["y"]}\n')
    err = error_of(m)
    assert err.line == 2 and err.field == "keywords" and "'keywords'" in err.message
