"""Model resolution: QuickGELU for OpenAI weights, offline fail-fast, helpful errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from clip_helpers import (  # noqa: F401  (fixtures)
    clip_cache,
    make_dataset,
    pattern,
    tiny_cfg,
    tiny_clip,
    write_image,
)

from engine.core.errors import ConfigError, ModelUnavailableError
from engine.features.clip import ClipConfig, compute_features
from engine.features.clip.model import load_clip, locate_weights, model_spec

REMEDY_BITS = ("--clip-pretrained", "--embeddings", "no --data")


def test_default_is_openai_vit_b32_with_quick_gelu():
    cfg = ClipConfig()
    assert (cfg.model, cfg.pretrained) == ("ViT-B-32", "openai")
    spec = model_spec(cfg)
    assert spec.tag_cfg.get("quick_gelu") is True  # how open_clip 3.3 describes the OpenAI weights
    assert spec.quick_gelu and spec.model_cfg["quick_gelu"] is True
    assert spec.embed_dim == 512 and spec.label == "open_clip ViT-B-32 / openai"
    assert model_spec(ClipConfig(quick_gelu=False)).model_cfg["quick_gelu"] is False
    assert model_spec(ClipConfig(pretrained="laion2b_s34b_b79k")).quick_gelu is False


def test_quick_gelu_reaches_the_built_model(tiny_clip, clip_cache):
    from open_clip.transformer import QuickGELU

    name, ckpt = tiny_clip
    quick = load_clip(ClipConfig(model=name, pretrained=str(ckpt), quick_gelu=True)).model
    assert any(isinstance(m, QuickGELU) for m in quick.modules())
    plain = load_clip(ClipConfig(model=name, pretrained=str(ckpt))).model
    assert not any(isinstance(m, QuickGELU) for m in plain.modules())


def _no_hf_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return tmp_path / "hf" / "hub"


def test_offline_without_cached_weights_fails_fast(monkeypatch, tmp_path, clip_cache):
    hub = _no_hf_cache(monkeypatch, tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    img = write_image(tmp_path / "a.jpg", pattern(0))
    import socket

    def no_network(*a, **k):  # fast means: offline, nothing is even tried on the network
        raise AssertionError(f"network touched while HF_HUB_OFFLINE=1: {a}")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(ModelUnavailableError) as err:
        compute_features(make_dataset([img]), ClipConfig())
    text = err.value.format()
    for bit in REMEDY_BITS:
        assert bit in text
    assert str(hub) in text and "HF_HUB_OFFLINE" in text


def test_unreachable_host_fails_fast(monkeypatch, tmp_path, clip_cache):
    _no_hf_cache(monkeypatch, tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "https://127.0.0.1:9")  # nothing listens there
    import socket

    from engine.features.clip import model as clip_model

    probes = []

    def hang(address, timeout=None, *a, **k):  # a host that never answers: the probe gives up
        probes.append((address, timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    with pytest.raises(ModelUnavailableError) as err:
        locate_weights(model_spec(ClipConfig()))
    # one bounded probe of the endpoint's host, then the error (no download attempted)
    assert probes == [(("127.0.0.1", 9), clip_model.PROBE_TIMEOUT_S)]
    assert clip_model.PROBE_TIMEOUT_S <= 3
    assert "not reachable" in err.value.message
    for bit in REMEDY_BITS:
        assert bit in err.value.format()


def test_cached_weights_are_found_offline(monkeypatch, tmp_path):
    hub = _no_hf_cache(monkeypatch, tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = hub / "models--timm--vit_base_patch32_clip_224.openai"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "open_clip_model.safetensors").write_bytes(b"weights")
    assert locate_weights(model_spec(ClipConfig())) == snap / "open_clip_model.safetensors"


def test_bad_model_settings_are_config_errors(tmp_path, tiny_clip, clip_cache):
    with pytest.raises(ModelUnavailableError) as err:
        model_spec(ClipConfig(pretrained=str(tmp_path / "nope.pt")))
    assert err.value.path == str(tmp_path / "nope.pt") and "--embeddings" in err.value.format()
    with pytest.raises(ConfigError, match="neither a pretrained tag"):
        model_spec(ClipConfig(pretrained="not-a-tag"))
    with pytest.raises(ConfigError, match="unknown open_clip model"):
        model_spec(ClipConfig(model="ViT-Nope"))
    with pytest.raises(ConfigError, match="'{}'"):
        ClipConfig(prompts=("a photo",))
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="not available"):
            load_clip(ClipConfig(model=tiny_clip[0], pretrained=str(tiny_clip[1]), device="cuda"))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailableError, match="could not load weights"):
        load_clip(ClipConfig(model=tiny_clip[0], pretrained=str(junk)))


def test_importing_engine_clip_loads_no_torch():
    code = "import sys, engine.features.clip, engine.api; print('torch' in sys.modules, 'open_clip' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
