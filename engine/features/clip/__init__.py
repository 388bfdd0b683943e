"""CLIP features: open_clip image and text towers behind an on-disk cache.

Public: ``ClipConfig``, ``compute_features``, ``compute_features_with_stats``,
``feature_cache_dir``, ``EmbedStats``. Importing this package loads no model and
does not import torch; the towers are built on first use.
"""

from __future__ import annotations

from engine.features.clip.compute import (
    EmbedStats,
    assign_zero_shot_scenes,
    compute_features,
    compute_features_with_stats,
    feature_cache_dir,
)
from engine.features.clip.config import DEFAULT_PROMPTS, ClipConfig, cache_root

__all__ = [
    "ClipConfig", "DEFAULT_PROMPTS", "EmbedStats", "assign_zero_shot_scenes", "cache_root",
    "compute_features", "compute_features_with_stats", "feature_cache_dir",
]
