"""CLIP stage bad input (issue 8 section 2): the offline error names what the user did
and comes before any decoding or model build; devices are checked before work;
missing text vectors are listed."""

from __future__ import annotations

import numpy as np
import pytest
from clip_helpers import (  # noqa: F401  (fixtures)
    clip_cache,
    make_dataset,
    pattern,
    tiny_cfg,
    tiny_clip,
    write_image,
)

from engine.core.errors import ConfigError, DataError, ModelUnavailableError
from engine.data.dataset import PrecomputedEmbeddings
from engine.features.bundle import precomputed_features
from engine.features.clip import ClipConfig, compute_features
from engine.features.clip import images as clip_images
from engine.features.clip import model as clip_model


@pytest.fixture
def offline_no_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf" / "hub"


@pytest.fixture
def counters(monkeypatch):
    """Counts image decodes and model builds (the slow work)."""
    calls = {"decode": 0, "build": 0}
    real_open, real_build = clip_images.open_rgb, clip_model._build

    def open_rgb(path):
        calls["decode"] += 1
        return real_open(path)

    def build(*a, **k):
        calls["build"] += 1
        return real_build(*a, **k)

    monkeypatch.setattr(clip_images, "open_rgb", open_rgb)
    monkeypatch.setattr(clip_model, "_build", build)
    return calls


def test_offline_error_names_the_images_and_comes_before_any_work(tmp_path, clip_cache, offline_no_weights,
                                                                   counters):
    paths = [write_image(tmp_path / f"{i}.jpg", pattern(i)) for i in range(12)]
    with pytest.raises(ModelUnavailableError) as err:
        compute_features(make_dataset(paths), ClipConfig())
    e = err.value
    assert e.field is None  # the user gave no --clip-pretrained
    assert e.message.startswith("12 image(s) have no precomputed or cached vector and 9 label(s) have no "
                                "text vector ('pool', 'fireplace', 'lawn', 'kitchen', 'exterior', 'price ")
    assert ("and CLIP weights 'openai' for ViT-B-32 are not cached (HF_HUB_OFFLINE=1; they would be cached "
            f"under {offline_no_weights})") in e.message
    text = e.format()
    assert not text.startswith("field") and "--clip-pretrained" in text and "--embeddings" in text
    assert counters == {"decode": 0, "build": 0}


def test_offline_with_precomputed_images_names_missing_text_labels(tmp_path, clip_cache, offline_no_weights,
                                                                    counters):
    ds = make_dataset([""] * 4, keywords=("pool", "lawn"), scenes=(), numeric=False)
    rng = np.random.default_rng(0)
    ds.embeddings = PrecomputedEmbeddings(rng.normal(size=(4, 512)).astype(np.float32),
                                          {"pool": rng.normal(size=512).astype(np.float32)},
                                          path=str(tmp_path / "e.npz"))
    with pytest.raises(ModelUnavailableError) as err:
        compute_features(ds, ClipConfig())
    e = err.value
    assert e.message.startswith("1 label(s) have no text vector ('lawn'), and CLIP weights 'openai'")
    assert "image(s)" not in e.message and e.path == str(tmp_path / "e.npz")
    assert "mmkg-tui info --labels" in e.hint
    assert counters == {"decode": 0, "build": 0}


def test_precomputed_features_list_the_missing_labels(tmp_path):
    kws = tuple(f"kw{i:02d}" for i in range(14))
    ds = make_dataset([""] * 3, keywords=kws, scenes=(), numeric=False)
    ds.embeddings = PrecomputedEmbeddings(np.ones((3, 4), np.float32), {"kw00": np.ones(4, np.float32)},
                                          path="e.npz")
    with pytest.raises(DataError) as err:
        precomputed_features(ds)
    msg = err.value.message
    used = sorted({kws[k] for k in ds.kw_indices})
    missing = [k for k in kws if k != "kw00"]
    assert used and msg.startswith(f"no text vector for 13 of 14 label(s): '{missing[0]}'")
    assert f"'{missing[9]}' and 3 more" in msg and f"'{missing[10]}'" not in msg
    assert "mmkg-tui info --labels" in err.value.hint


def test_dimension_mismatch_lists_the_labels(tmp_path, tiny_cfg, clip_cache):
    ds = make_dataset([""] * 2, keywords=("pool", "lawn"), scenes=(), numeric=False)
    ds.embeddings = PrecomputedEmbeddings(np.ones((2, 7), np.float32), {"pool": np.ones(7, np.float32)},
                                          path="e.npz")
    with pytest.raises(DataError) as err:
        compute_features(ds, tiny_cfg)
    assert err.value.message.startswith("1 label(s) have no text vector ('lawn'), and the precomputed "
                                        "vectors have dimension 7 but")
    assert err.value.field == "text_labels"


@pytest.mark.parametrize("device", ["nosuch", "gpu", "cuda:x", "CPU", ""])
def test_unknown_device_is_a_config_error(device):
    with pytest.raises(ConfigError) as err:
        ClipConfig(device=device)
    assert err.value.field == "device" and "cpu, cuda" in err.value.hint and "mps" in err.value.hint


def test_cuda_without_gpu_says_so_before_work(monkeypatch, tmp_path, tiny_cfg, counters):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = ClipConfig(model=tiny_cfg.model, pretrained=tiny_cfg.pretrained, device="cuda")
    with pytest.raises(ConfigError) as err:
        compute_features(make_dataset([write_image(tmp_path / "a.jpg", pattern(0))]), cfg)
    assert err.value.format() == ("field 'device': device 'cuda' is not available: no CUDA GPU is visible "
                                  "(torch.cuda.is_available() is False)\n  -> use --device cpu")
    assert counters == {"decode": 0, "build": 0}


def test_cuda_index_beyond_the_visible_gpus(monkeypatch):
    import torch

    from engine.features.clip.config import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_device("cuda:0")
    with pytest.raises(ConfigError, match=r"'cuda:3' does not exist: 1 CUDA GPU\(s\) are visible"):
        check_device("cuda:3")


def _offline_error(ds) -> ModelUnavailableError:
    with pytest.raises(ModelUnavailableError) as err:
        compute_features(ds, ClipConfig())
    return err.value


def test_offline_fast_path_says_what_the_full_check_says(tmp_path, clip_cache, offline_no_weights, counters):
    """Nothing cached anywhere: decided without open_clip's spec, with the same error as the
    full check (which runs once the Hugging Face cache holds anything)."""
    paths = [write_image(tmp_path / f"{i}.jpg", pattern(i)) for i in range(5)]
    assert clip_model.nothing_cached_for(ClipConfig(), clip_cache) is not None
    fast = _offline_error(make_dataset(paths))
    (offline_no_weights / "models--someone--unrelated").mkdir(parents=True)  # the full check now
    assert clip_model.nothing_cached_for(ClipConfig(), clip_cache) is None
    full = _offline_error(make_dataset(paths))
    assert (fast.message, fast.hint, fast.path) == (full.message, full.hint, full.path)
    assert fast.message.startswith("5 image(s) have no precomputed or cached vector")
    assert counters == {"decode": 0, "build": 0}


def test_offline_fast_path_only_when_certain(tmp_path, clip_cache, offline_no_weights, monkeypatch):
    cfg = ClipConfig()
    assert clip_model.nothing_cached_for(cfg, clip_cache) is not None
    assert clip_model.nothing_cached_for(ClipConfig(pretrained="laion2b_s34b_b79k"), clip_cache) is None
    assert clip_model.nothing_cached_for(ClipConfig(model="No-Such-Model"), clip_cache) is None
    (clip_cache / "clip" / "ViT-B-32-0123456789ab").mkdir(parents=True)  # vectors cached earlier
    assert clip_model.nothing_cached_for(cfg, clip_cache) is None
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert clip_model.nothing_cached_for(cfg, tmp_path / "empty-cache") is None


def test_offline_error_without_importing_open_clip(tmp_path):
    """The app shows this error while loading: it must not wait for open_clip and torch."""
    import subprocess
    import sys
    import textwrap

    paths = [write_image(tmp_path / f"{i}.jpg", pattern(i)) for i in range(3)]
    (tmp_path / "manifest.csv").write_text("id,image,keywords\n" + "".join(
        f"i{i},{p},pool|lawn\n" for i, p in enumerate(paths)))
    code = textwrap.dedent(f"""
        import sys
        from engine import api
        ds = api.load_dataset({str(tmp_path)!r})
        try:
            api.compute_features(ds, None)
        except api.MMKGError as exc:
            print(exc.message)
        print(sorted(m for m in ("open_clip", "torch") if m in sys.modules))
    """)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1",
           "MMKG_TUI_CACHE": str(tmp_path / "cache"), "PYTHONPATH": ":".join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("3 image(s) have no precomputed or cached vector"), lines
    assert lines[-1] == "[]", lines
