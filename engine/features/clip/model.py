"""Resolving and loading open_clip models without surprises.

* ``model_spec(cfg)`` works out the architecture config, the QuickGELU setting and
  where the weights come from, without touching the network or loading anything.
* ``locate_weights(spec)`` returns a local weights file: a checkpoint the user gave,
  a cached download, or a fresh download when online. Offline (``HF_HUB_OFFLINE``)
  or unreachable hosts fail fast with ModelUnavailableError naming the remedies.
* ``load_clip(cfg)`` builds the model, its eval preprocess and tokenizer (memoised).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from engine.core.errors import ConfigError, ModelUnavailableError
from engine.features.clip.config import ClipConfig, check_device, model_slug

PROBE_TIMEOUT_S = 3.0
HF_WEIGHTS_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

REMEDIES = (
    "use a local checkpoint: --clip-pretrained /path/to/checkpoint (.pt/.bin/.safetensors); "
    "or bring precomputed vectors: --embeddings FILE (.npz with ids+vectors, or .npy); "
    "or run `mmkg-tui` with no --data for the offline demo"
)


@dataclass
class ModelSpec:
    model: str  # open_clip architecture name
    pretrained: str  # tag or checkpoint path, as given
    model_cfg: dict  # architecture config with quick_gelu applied
    quick_gelu: bool
    tag_cfg: dict  # open_clip pretrained config of the tag ({} for a file)
    checkpoint: Path | None  # the user's checkpoint file, if any
    weights_key: str  # identifies the weights for the feature cache

    @property
    def embed_dim(self) -> int:
        return int(self.model_cfg["embed_dim"])

    @property
    def label(self) -> str:
        w = self.checkpoint.name if self.checkpoint is not None else self.pretrained
        return f"open_clip {self.model} / {w}"


def offline() -> bool:
    v = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return v.strip().lower() in ("1", "true", "yes", "on")


def hf_cache_dir() -> Path:
    """Where Hugging Face weights are cached (read from the environment at call time)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def nothing_cached_for(cfg: ClipConfig, feature_root: Path) -> str | None:
    """Why ``cfg``'s weights and vectors certainly cannot be had offline, decided without
    importing open_clip (which pulls in torch: seconds), or None when only the full
    check can tell.

    Certain only in the plain case: offline, the default pretrained tag of a model that
    open_clip ships a config for, an empty Hugging Face cache (so no tag's weights are
    there) and no feature-cache folder for this model (so no vector was ever cached)."""
    import importlib.util

    if not offline() or cfg.pretrained != ClipConfig.pretrained or cfg.pretrained_is_file:
        return None
    found = importlib.util.find_spec("open_clip")
    name = cfg.model.replace("/", "-")
    if found is None or not any((Path(loc) / "model_configs" / f"{name}.json").is_file()
                                for loc in (found.submodule_search_locations or [])):
        return None  # unknown model: the full check names the problem
    hub = hf_cache_dir()
    if hub.is_dir() and any(hub.iterdir()):
        return None
    clip_root = feature_root / "clip"
    if clip_root.is_dir() and any(clip_root.glob(f"{model_slug(name)}-*")):
        return None
    return (f"CLIP weights '{cfg.pretrained}' for {name} are not cached (HF_HUB_OFFLINE=1; "
            f"they would be cached under {hub})")


def model_spec(cfg: ClipConfig) -> ModelSpec:
    """Resolve ``cfg`` to an architecture and a weights source (no I/O beyond stat)."""
    from open_clip import factory
    from open_clip import pretrained as oc_pretrained

    name = cfg.model.replace("/", "-")
    model_cfg = factory.get_model_config(name)
    if model_cfg is None:
        raise ConfigError(f"unknown open_clip model '{cfg.model}'", field="clip-model",
                          hint="pick one of open_clip.list_models(), e.g. ViT-B-32")
    tag_cfg = oc_pretrained.get_pretrained_cfg(name, cfg.pretrained) if cfg.pretrained else {}
    checkpoint = None
    if tag_cfg:
        weights_key = f"tag:{cfg.pretrained}"
    elif cfg.pretrained_is_file:
        checkpoint = Path(cfg.pretrained).expanduser().resolve()
        if not checkpoint.is_file():
            raise ModelUnavailableError(
                f"checkpoint file not found: {checkpoint}", path=checkpoint, field="clip-pretrained",
                hint="check the path; " + REMEDIES)
        st = checkpoint.stat()
        weights_key = f"file:{checkpoint}|{st.st_size}|{st.st_mtime_ns}"
    else:
        tags = oc_pretrained.list_pretrained_tags_by_model(name)
        raise ConfigError(
            f"'{cfg.pretrained}' is neither a pretrained tag of {name} nor a checkpoint file",
            field="clip-pretrained", hint=f"known tags: {', '.join(tags) or 'none'}; or give a file path")
    if cfg.quick_gelu is not None:
        quick = bool(cfg.quick_gelu)
    elif tag_cfg:
        quick = bool(tag_cfg.get("quick_gelu", False)) or bool(model_cfg.get("quick_gelu", False))
    else:
        quick = bool(model_cfg.get("quick_gelu", False))
    model_cfg["quick_gelu"] = quick
    return ModelSpec(name, cfg.pretrained, model_cfg, quick, tag_cfg, checkpoint,
                     f"{name}|{weights_key}|quick_gelu={int(quick)}")


# ---------------------------------------------------------------- weights
def _hf_repo_and_files(tag_cfg: dict) -> tuple[str, list[str]] | None:
    hub = tag_cfg.get("hf_hub", "")
    if not hub:
        return None
    repo, filename = os.path.split(hub)
    if filename:
        stem, ext = os.path.splitext(filename)
        files = [stem + ".safetensors", filename] if ext in (".bin", ".pth") else [filename]
    else:
        files = list(HF_WEIGHTS_NAMES)
    return repo, files


def cached_weights(spec: ModelSpec) -> Path | None:
    """The cached weights file of a tag, or None (never touches the network)."""
    hf = _hf_repo_and_files(spec.tag_cfg)
    if hf is not None:
        from huggingface_hub import try_to_load_from_cache

        repo, files = hf
        for fn in files:
            hit = try_to_load_from_cache(repo, fn, cache_dir=hf_cache_dir())
            if isinstance(hit, str) and os.path.isfile(hit):
                return Path(hit)
    url = spec.tag_cfg.get("url", "")
    if url:
        p = hf_cache_dir() / os.path.basename(url)
        if p.is_file():
            return p
    return None


def _reachable(host: str, port: int = 443, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Can we open a TCP connection to ``host``:``port`` within ``timeout`` (DNS included)?"""
    ok = threading.Event()

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                ok.set()
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True, name="mmkg-net-probe")
    t.start()
    t.join(timeout)
    return ok.is_set()


def _unavailable(spec: ModelSpec, why: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"CLIP weights '{spec.pretrained}' for {spec.model} are not available: {why}. "
        f"They would be cached under {hf_cache_dir()}", hint=REMEDIES)


def offline_unavailable(spec: ModelSpec) -> str | None:
    """Why the weights cannot be had right now without the network (offline and not
    cached), or None when they can (a checkpoint, a cached file, or online)."""
    if spec.checkpoint is not None or not offline() or cached_weights(spec) is not None:
        return None
    return (f"CLIP weights '{spec.pretrained}' for {spec.model} are not cached (HF_HUB_OFFLINE=1; "
            f"they would be cached under {hf_cache_dir()})")


def locate_weights(spec: ModelSpec) -> Path:
    """A local file holding the weights; downloads only when online and reachable."""
    if spec.checkpoint is not None:
        return spec.checkpoint
    hit = cached_weights(spec)
    if hit is not None:
        return hit
    if offline():
        raise _unavailable(spec, "not cached and HF_HUB_OFFLINE is set")
    hf = _hf_repo_and_files(spec.tag_cfg)
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co") if hf else spec.tag_cfg.get("url", ""))
    host, port = url.hostname, url.port or (80 if url.scheme == "http" else 443)
    if not host or not _reachable(host, port):
        raise _unavailable(spec, f"not cached and {host or 'the download host'} is not reachable")
    from open_clip.pretrained import download_pretrained

    try:
        path = download_pretrained(spec.tag_cfg, cache_dir=str(hf_cache_dir()))
    except Exception as exc:  # network errors of every flavour
        raise _unavailable(spec, f"download failed ({exc})") from exc
    if not path or not os.path.isfile(path):
        raise _unavailable(spec, "download gave no file")
    return Path(path)


# ---------------------------------------------------------------- loading
@dataclass
class LoadedClip:
    spec: ModelSpec
    model: object  # open_clip CLIP, eval mode
    preprocess: object  # PIL image -> (3, H, W) tensor
    tokenizer: object
    device: str


_LOADED: dict[tuple[str, str], LoadedClip] = {}
_LOAD_LOCK = threading.Lock()


def load_clip(cfg: ClipConfig, spec: ModelSpec | None = None) -> LoadedClip:
    """Build (or reuse) the model for ``cfg``. Raises ModelUnavailableError / ConfigError."""
    spec = spec or model_spec(cfg)
    key = (spec.weights_key, cfg.device)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        weights = locate_weights(spec)
        loaded = _build(spec, weights, cfg.device)
        _LOADED.clear()  # keep one model in memory at a time
        _LOADED[key] = loaded
        return loaded


def _build(spec: ModelSpec, weights: Path, device: str) -> LoadedClip:
    import open_clip

    check_device(device)

    tag = spec.tag_cfg
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            spec.model, pretrained=str(weights), device=device, quick_gelu=spec.quick_gelu,
            image_mean=tag.get("mean"), image_std=tag.get("std"),
            image_interpolation=tag.get("interpolation"), image_resize_mode=tag.get("resize_mode"))
    except Exception as exc:  # torch.load, state-dict mismatches, bad files: all user-facing
        raise ModelUnavailableError(
            f"could not load weights {weights} into {spec.model}: {exc}", path=weights,
            field="clip-pretrained",
            hint="check that the checkpoint matches --clip-model; " + REMEDIES) from exc
    model.eval()
    tokenizer = open_clip.get_tokenizer(spec.model)
    return LoadedClip(spec, model, preprocess, tokenizer, device)
