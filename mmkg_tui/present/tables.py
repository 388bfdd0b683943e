"""Formatting of results shared by the CLI tables and the views."""

from __future__ import annotations

from typing import Any


def metric_mean(metrics: dict[str, Any] | None, name: str) -> float | None:
    """``metrics[name]`` as a number, whether it is stored as {"mean": ...} or a float."""
    if not metrics or name not in metrics:
        return None
    value = metrics[name]
    if isinstance(value, dict):
        value = value.get("mean")
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
