"""`mmkg-tui embed`: a real manifest, the tiny CLIP checkpoint, cache reuse, Ctrl-C, offline."""

from __future__ import annotations

import pytest
from clip_helpers import (  # noqa: F401  (fixtures)
    clip_cache,
    pattern,
    tiny_clip,
    write_image,
    write_truncated_jpeg,
)

from engine.features.clip import ClipConfig, feature_cache_dir
from engine.features.clip.model import load_clip
from mmkg_tui.cli.main import main


@pytest.fixture
def manifest(tmp_path):
    img = tmp_path / "img"
    img.mkdir()
    rows = ["id,image,keywords,scene,price"]
    for i in range(6):
        write_image(img / f"{i}.jpg", pattern(i))
        rows.append(f"p{i},img/{i}.jpg,pool|lawn,kitchen,{100_000 * (i + 1)}")
    write_truncated_jpeg(img / "bad.jpg")
    rows.append("pbad,img/bad.jpg,pool,kitchen,5")
    path = tmp_path / "photos.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _args(manifest, tiny_clip, *extra):
    name, ckpt = tiny_clip
    return ["embed", "--data", str(manifest), "--clip-model", name, "--clip-pretrained", str(ckpt),
            "--batch-size", "2", *extra]


def test_embed_computes_then_reuses_the_cache(manifest, tiny_clip, clip_cache, capsys):
    assert main(_args(manifest, tiny_clip)) == 0
    out = capsys.readouterr().out
    assert "6 with features, 1 skipped" in out and "0 from cache, 6 computed" in out
    assert "truncated" in out and "bad.jpg" in out
    cache = feature_cache_dir(ClipConfig(model=tiny_clip[0], pretrained=str(tiny_clip[1])))
    assert cache.is_dir() and str(clip_cache) in str(cache)
    assert main(_args(manifest, tiny_clip)) == 0
    out = capsys.readouterr().out
    assert "6 from cache, 0 computed" in out and ", 0 computed" in out.split("text labels")[1]


def test_embed_strict_fails_naming_the_file(manifest, tiny_clip, clip_cache, capsys):
    assert main(_args(manifest, tiny_clip, "--strict")) == 2
    err = capsys.readouterr().err
    assert "bad.jpg" in err and "truncated" in err


def test_ctrl_c_keeps_finished_batches(manifest, tiny_clip, clip_cache, monkeypatch, capsys):
    cfg = ClipConfig(model=tiny_clip[0], pretrained=str(tiny_clip[1]))
    loaded = load_clip(cfg)
    real = loaded.model.encode_image
    calls: list[int] = []

    def interrupted(x, *a, **k):
        calls.append(int(x.shape[0]))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(x, *a, **k)

    monkeypatch.setattr(loaded.model, "encode_image", interrupted)
    assert main(_args(manifest, tiny_clip)) == 130
    cache = feature_cache_dir(cfg)
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]  # no half-written files
    monkeypatch.setattr(loaded.model, "encode_image", real)
    capsys.readouterr()
    assert main(_args(manifest, tiny_clip)) == 0
    assert "2 from cache, 4 computed" in capsys.readouterr().out


def test_embed_offline_default_model_explains_remedies(manifest, clip_cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    assert main(["embed", "--data", str(manifest)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--clip-pretrained" in err and "--embeddings" in err and "no --data" in err


def test_clip_config_from_args():
    import argparse

    from mmkg_tui.cli.commands import embed

    p = argparse.ArgumentParser()
    embed.configure(p)
    cfg = embed.clip_config_from_args(p.parse_args(["--prompt", "a {}", "--prompt", "the {}",
                                                    "--workers", "0", "--clip-model", "ViT-B-16"]))
    assert cfg.prompts == ("a {}", "the {}") and cfg.num_workers == 0 and cfg.model == "ViT-B-16"
    assert cfg.pretrained == "openai"
    default = embed.clip_config_from_args(p.parse_args([]))
    assert default == ClipConfig()
