"""ClipConfig: which open_clip model, which weights, which prompts, where to cache."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PROMPTS: tuple[str, ...] = (
    "a photo of a {}.",
    "a photo of the {}.",
    "a photo of a room with {}.",
    "a real estate photo showing {}.",
)

DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")


@dataclass
class ClipConfig:
    """How CLIP features are computed.

    ``pretrained`` is an open_clip pretrained tag (``"openai"``) or a path to a local
    checkpoint file. ``quick_gelu=None`` means automatic: on when the pretrained tag
    was trained with QuickGELU (OpenAI weights are), else the model config's value.
    ``cache_dir=None`` means ``$MMKG_TUI_CACHE`` or the user cache folder.
    """

    model: str = "ViT-B-32"
    pretrained: str = "openai"
    prompts: tuple[str, ...] = DEFAULT_PROMPTS
    batch_size: int = 32  # one CPU forward of ViT-B/32 stays around a second (cancel latency)
    device: str = "cpu"
    cache_dir: str | None = None
    num_workers: int = 2
    quick_gelu: bool | None = None
    attribute_bins: int = 4
    flush_every: int = 4096  # new image vectors between cache writes (Ctrl-C keeps them)

    def __post_init__(self) -> None:
        from engine.core.errors import ConfigError

        self.prompts = tuple(self.prompts)
        if not self.prompts or any("{}" not in p for p in self.prompts):
            raise ConfigError("every prompt template must contain '{}'", field="prompts",
                              hint="e.g. 'a photo of a {}.'")
        if self.batch_size < 1:
            raise ConfigError("batch_size must be at least 1", field="batch_size")
        if self.num_workers < 0:
            raise ConfigError("num_workers must be 0 or more", field="num_workers")
        if not isinstance(self.device, str) or not DEVICE_RE.match(self.device):
            raise ConfigError(f"unknown device '{self.device}'", field="device",
                              hint="use cpu, cuda (or cuda:N for the N-th GPU) or mps")

    @property
    def pretrained_is_file(self) -> bool:
        p = self.pretrained
        return bool(p) and (os.sep in p or p.endswith((".pt", ".pth", ".bin", ".safetensors"))
                            or Path(p).is_file())


def model_slug(model: str) -> str:
    """The file-name-safe form of an open_clip model name used for its cache folders."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model.replace("/", "-"))


def cache_root(cfg: ClipConfig | None = None) -> Path:
    """Root of mmkg-tui's on-disk cache (features live under ``<root>/clip``)."""
    if cfg is not None and cfg.cache_dir:
        return Path(cfg.cache_dir).expanduser()
    env = os.environ.get("MMKG_TUI_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mmkg-tui"))


def check_device(device: str) -> None:
    """ConfigError unless torch can use ``device`` here (imports torch)."""
    from engine.core.errors import ConfigError

    if device == "cpu":
        return
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device '{device}' is not available: no CUDA GPU is visible "
                              "(torch.cuda.is_available() is False)", field="device",
                              hint="use --device cpu")
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise ConfigError(f"device '{device}' does not exist: {count} CUDA GPU(s) are visible "
                              f"(cuda:0 to cuda:{count - 1})", field="device", hint="use --device cuda:0")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' is not available: no Apple GPU is visible "
                          "(torch.backends.mps.is_available() is False)",
                          field="device", hint="use --device cpu")
