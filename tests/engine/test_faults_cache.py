"""A damaged feature-cache layout: rebuilt where mmkg-tui owns the folder, refused
(naming the path) where the user's setting points at a file. Never a traceback."""

from __future__ import annotations

import numpy as np
import pytest
from clip_helpers import (  # noqa: F401  (fixtures)
    clip_cache,
    make_dataset,
    pattern,
    photos,
    tiny_cfg,
    tiny_clip,
    write_image,
)

from engine.core.errors import DataError
from engine.features.clip import compute_features_with_stats, feature_cache_dir
from engine.features.clip.cache import VectorStore, digest


def test_a_file_where_the_store_folder_belongs_is_moved_aside_and_rebuilt(tmp_path):
    folder = tmp_path / "clip" / "m" / "images"
    folder.parent.mkdir(parents=True)
    folder.write_bytes(b"not a folder")
    store = VectorStore(folder, "id|images", 4).load()
    assert len(store.problems) == 1 and "moved to" in store.problems[0].message
    store.add([digest("a")], np.ones((1, 4), np.float32))
    assert folder.is_dir()
    assert (folder.parent / "images.damaged-1").read_bytes() == b"not a folder"  # nothing lost
    found, vecs = VectorStore(folder, "id|images", 4).load().lookup([digest("a")])
    assert found.all() and np.allclose(vecs, 1.0)


def test_images_store_replaced_by_a_file_during_compute(tiny_cfg, photos):
    ds = make_dataset(list(photos.values()))
    _, f1, s1 = compute_features_with_stats(ds, tiny_cfg)
    images = feature_cache_dir(tiny_cfg) / "images"
    assert images.is_dir()
    import shutil

    shutil.rmtree(images)
    images.write_text("oops")
    ds2, f2, s2 = compute_features_with_stats(ds, tiny_cfg)  # FileExistsError before the fix
    assert s2.images_computed == len(photos)
    assert any("moved to" in p.message and str(images) in (p.path or "") for p in s2.problems)
    assert any("moved to" in p.message for p in ds2.problems)  # reaches the dataset (CLI, JSON, app)
    np.testing.assert_allclose(f2.image, f1.image, atol=1e-5)
    assert (images.parent / "images.damaged-1").read_text() == "oops"
    _, _, s3 = compute_features_with_stats(ds, tiny_cfg)  # rebuilt: served from the cache again
    assert s3.images_cached == len(photos) and s3.images_computed == 0


def test_cache_root_that_is_a_file_is_refused_naming_it(tiny_cfg, photos, clip_cache):
    clip_cache.parent.mkdir(parents=True, exist_ok=True)
    clip_cache.write_text("my notes")
    ds = make_dataset(list(photos.values()))
    with pytest.raises(DataError) as err:  # NotADirectoryError before the fix
        compute_features_with_stats(ds, tiny_cfg)
    text = err.value.format()
    assert str(clip_cache) in text and "is a file, not a folder" in text
    assert "MMKG_TUI_CACHE" in text
    assert clip_cache.read_text() == "my notes"  # the user's file is untouched


def test_embed_cli_with_cache_pointing_at_a_file(tmp_path, tiny_clip, photos, monkeypatch, capsys):
    from mmkg_tui.cli.main import main

    cache = tmp_path / "cachefile"
    cache.write_text("x")
    monkeypatch.setenv("MMKG_TUI_CACHE", str(cache))
    manifest = tmp_path / "m.csv"
    rows = ["id,image,keywords"] + [f"i{i},{p},pool" for i, p in enumerate(photos.values())]
    manifest.write_text("\n".join(rows) + "\n")
    code = main(["embed", "--data", str(manifest), "--clip-model", tiny_clip[0], "--clip-pretrained", str(tiny_clip[1])])
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert code == 2 and "Traceback" not in err
    assert "cachefile" in err and "is a file, not a folder" in err
    assert cache.read_text() == "x"


def test_ctrl_c_during_a_shard_write_takes_effect_after_the_write(tmp_path, monkeypatch):
    """numpy's tofile turned a KeyboardInterrupt raised inside its flush into a TypeError
    (a traceback and exit code 1 instead of 'interrupted'; seen under load in
    tests/cli/test_faults_signals.py). Ctrl-C now waits for the shard file's write, then
    interrupts as usual and leaves no shard and no temporary file."""
    import signal

    folder = tmp_path / "images"
    store = VectorStore(folder, "id|images", 4).load()
    real, finished = np.save, []

    def save_hit_by_ctrl_c(fh, arr, *a, **k):
        signal.raise_signal(signal.SIGINT)  # lands while numpy writes the vectors
        real(fh, arr, *a, **k)
        finished.append(True)

    monkeypatch.setattr(np, "save", save_hit_by_ctrl_c)
    # Ctrl-C as in a terminal, even when the suite runs as a background job (SIGINT ignored)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            store.add([digest("a")], np.ones((1, 4), np.float32))
    finally:
        signal.signal(signal.SIGINT, old)
    assert finished == [True]  # the write was not cut in the middle
    assert list(folder.iterdir()) == []  # no shard, no temporary file
    monkeypatch.setattr(np, "save", real)
    assert not VectorStore(folder, "id|images", 4).load().lookup([digest("a")])[0].any()
