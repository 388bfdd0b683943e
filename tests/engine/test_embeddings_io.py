"""Precomputed embedding files: round trip, alignment by id, and every check."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import engine.data.embeddings_io as eio
from engine.core.errors import DataError
from engine.data.dataset import Dataset, csr_from_lists
from engine.data.embeddings_io import load_embeddings, save_embeddings


def dataset(ids):
    indptr, indices = csr_from_lists([[] for _ in ids])
    return Dataset(name="t", ids=list(ids), image_paths=[""] * len(ids), keywords=[], kw_indptr=indptr,
                   kw_indices=indices)


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_npz_round_trip_aligned_by_id_float16(tmp_path):
    rng = np.random.default_rng(1)
    vec = rng.normal(size=(5, 16)) * 3
    text = {"pool": rng.normal(size=16), "kitchen": rng.normal(size=16)}
    p = save_embeddings(tmp_path / "e.npz", ["e", "d", "c", "b", "a"], vec, text, source="my vectors")
    ds = dataset(["a", "c", "e"])  # subset, other order; 'b', 'd' are extra and ignored
    emb = load_embeddings(p, ds)
    assert emb.image.dtype == np.float32 and emb.image.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(emb.image, axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(emb.image, unit(vec[[4, 2, 0]]), atol=2e-3)
    assert sorted(emb.text) == ["kitchen", "pool"]
    np.testing.assert_allclose(emb.text["pool"], unit(text["pool"][None])[0], atol=2e-3)
    assert emb.source == "my vectors" and emb.path == str(p) and emb.dim == 16
    with np.load(p) as z:
        assert z["vectors"].dtype == np.float16


def test_float32_storage(tmp_path):
    vec = np.random.default_rng(2).normal(size=(2, 8))
    p = save_embeddings(tmp_path / "e.npz", ["a", "b"], vec, dtype=np.float32)
    emb = load_embeddings(p, dataset(["a", "b"]))
    np.testing.assert_allclose(emb.image, unit(vec), atol=1e-6)


def test_missing_ids_are_counted(tmp_path):
    p = save_embeddings(tmp_path / "e.npz", ["a", "b"], np.eye(2, 4))
    with pytest.raises(DataError) as e:
        load_embeddings(p, dataset(["a", "x", "b", "y", "z"]))
    assert "3 of 5 image ids have no vector" in e.value.message and "'x'" in e.value.message
    assert e.value.path == str(p) and e.value.field == "ids"


def test_nan_and_inf_name_the_id(tmp_path):
    vec = np.eye(3, 4)
    vec[1, 2] = np.nan
    p = tmp_path / "e.npz"
    np.savez(p, ids=np.array(["a", "b", "c"]), vectors=vec)
    with pytest.raises(DataError) as e:
        load_embeddings(p, dataset(["a", "b", "c"]))
    assert "'b'" in e.value.message and "row 1" in e.value.message
    vec = np.eye(3, 4)
    vec[2, 0] = np.inf
    np.save(tmp_path / "e.npy", vec)
    with pytest.raises(DataError) as e:
        load_embeddings(tmp_path / "e.npy", dataset(["a", "b", "c"]))
    assert "'c'" in e.value.message


def test_zero_vector_rejected(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((2, 3)))
    with pytest.raises(DataError, match="all-zero"):
        load_embeddings(tmp_path / "e.npy", dataset(["a", "b"]))


def test_text_dimension_must_match(tmp_path):
    p = tmp_path / "e.npz"
    np.savez(p, ids=np.array(["a"]), vectors=np.ones((1, 4)), text_labels=np.array(["pool"]),
             text_vectors=np.ones((1, 5)))
    with pytest.raises(DataError) as e:
        load_embeddings(p, dataset(["a"]))
    assert e.value.field == "text_vectors" and "dimension 5" in e.value.message


def test_ids_and_vectors_length_mismatch(tmp_path):
    p = tmp_path / "e.npz"
    np.savez(p, ids=np.array(["a", "b"]), vectors=np.ones((3, 4)))
    with pytest.raises(DataError, match="2 ids but 3 vectors"):
        load_embeddings(p, dataset(["a"]))


def test_missing_array_named(tmp_path):
    p = tmp_path / "e.npz"
    np.savez(p, ids=np.array(["a"]))
    with pytest.raises(DataError) as e:
        load_embeddings(p, dataset(["a"]))
    assert e.value.field == "vectors"


def test_npy_aligned_and_length_checked(tmp_path):
    vec = np.random.default_rng(3).normal(size=(3, 6)).astype(np.float32)
    np.save(tmp_path / "e.npy", vec)
    emb = load_embeddings(tmp_path / "e.npy", dataset(["x", "y", "z"]))
    np.testing.assert_allclose(emb.image, unit(vec), atol=1e-6)
    assert emb.text == {}
    with pytest.raises(DataError) as e:
        load_embeddings(tmp_path / "e.npy", dataset(["x", "y"]))
    assert "3 rows but the dataset has 2 images" in e.value.message
    np.save(tmp_path / "v.npy", np.ones(4))
    with pytest.raises(DataError, match="2-d"):
        load_embeddings(tmp_path / "v.npy", dataset(["x"] * 4))


def test_truncated_file_is_a_data_error(tmp_path):
    p = save_embeddings(tmp_path / "e.npz", ["a", "b"], np.eye(2, 8))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        load_embeddings(p, dataset(["a", "b"]))
    q = tmp_path / "e.npy"
    np.save(q, np.ones((100, 8)))
    q.write_bytes(q.read_bytes()[:300])
    with pytest.raises(DataError):
        load_embeddings(q, dataset(["a"] * 100))


def test_object_ids_rejected_with_hint(tmp_path):
    p = tmp_path / "e.npz"
    np.savez(p, ids=np.array(["a", 1], dtype=object), vectors=np.ones((2, 3)))
    with pytest.raises(DataError) as e:
        load_embeddings(p, dataset(["a"]))
    assert "string array" in e.value.hint


def test_duplicate_ids_in_file(tmp_path):
    p = tmp_path / "e.npz"
    np.savez(p, ids=np.array(["a", "a"]), vectors=np.ones((2, 3)))
    with pytest.raises(DataError, match="duplicate id 'a'"):
        load_embeddings(p, dataset(["a"]))


def test_wrong_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_embeddings(tmp_path / "nope.npz", dataset(["a"]))
    (tmp_path / "e.txt").write_text("1 2 3")
    with pytest.raises(DataError, match="unknown embedding file type"):
        load_embeddings(tmp_path / "e.txt", dataset(["a"]))


def test_save_is_atomic(tmp_path, monkeypatch):
    p = save_embeddings(tmp_path / "e.npz", ["a"], np.ones((1, 4)), source="original")
    before = p.read_bytes()

    def boom(fh, **arrays):
        fh.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(eio.np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        save_embeddings(p, ["a"], np.zeros((1, 4)) + 2, source="new")
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["e.npz"]  # no temporary file left behind


def test_override_embeddings_argument(tmp_path):
    from PIL import Image

    from engine.data.loaders import load_dataset

    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("id,image,keywords\na,a.png,x\n")
    save_embeddings(tmp_path / "embeddings.npz", ["a"], np.ones((1, 4)), source="beside")
    other = save_embeddings(tmp_path / "other" / "mine.npz", ["a"], np.ones((1, 6)), source="given")
    assert load_dataset(tmp_path / "m.csv").embeddings.source == "beside"
    ds = load_dataset(tmp_path / "m.csv", embeddings=other)
    assert ds.embeddings.source == "given" and ds.embeddings.dim == 6
    with pytest.raises(DataError):
        load_dataset(tmp_path / "m.csv", embeddings=Path(tmp_path / "missing.npz"))
