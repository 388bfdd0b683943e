"""The user's config file: ``config.toml`` in the user config folder of mmkg-tui
(``$MMKG_TUI_HOME/config.toml`` when MMKG_TUI_HOME is set). Everything is optional:

    theme = "gruvbox"            # any Textual theme name
    data = "~/photos/manifest.csv"  # default --data
    [keymap]                     # binding id -> keys (see `?` for what each key does)
    "threshold.up" = "+"
    "method.next" = "m,n"
    [training]                   # defaults of the Train form (ExperimentConfig fields)
    epochs = 20
    hidden = 128

A file that cannot be read is a ConfigError naming the file and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import api
from mmkg_tui.app.store import app_home

KNOWN = ("theme", "data", "keymap", "training")


def config_path() -> Path:
    return app_home() / "config.toml"


@dataclass
class UserSettings:
    theme: str | None = None
    data: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    path: str | None = None  # the file these came from (None: no file)

    @classmethod
    def load(cls, path: Path | None = None) -> UserSettings:
        path = path or config_path()
        if not path.is_file():
            return cls()
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise api.ConfigError(f"cannot read the config file: {exc}", path=path,
                                  hint="fix the TOML syntax or delete the file") from None
        return cls.from_dict(raw, path)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], path: Path) -> UserSettings:
        unknown = sorted(set(raw) - set(KNOWN))
        if unknown:
            raise api.ConfigError(f"unknown setting '{unknown[0]}'", path=path, field=unknown[0],
                                  hint=f"known settings: {', '.join(KNOWN)}")
        keymap, training = raw.get("keymap", {}), raw.get("training", {})
        for name, value in (("keymap", keymap), ("training", training)):
            if not isinstance(value, dict):
                raise api.ConfigError(f"'{name}' must be a table ([{name}])", path=path, field=name,
                                      hint=f"write [{name}] on its own line, then key = value lines")
        bad = [k for k, v in keymap.items() if not isinstance(v, str)]
        if bad:
            raise api.ConfigError(f"keymap '{bad[0]}' must be a string of keys", path=path, field=f"keymap.{bad[0]}",
                                  hint='e.g. "threshold.up" = "+"')
        if training:
            defaults = api.ExperimentConfig().to_dict()
            unknown = sorted(set(training) - set(defaults))
            if unknown:
                raise api.ConfigError(f"unknown training setting '{unknown[0]}'", path=path,
                                      field=f"training.{unknown[0]}", hint=f"known: {', '.join(sorted(defaults))}")
        theme, data = raw.get("theme"), raw.get("data")
        return cls(theme=None if theme is None else str(theme), data=None if data is None else str(data),
                   keymap={str(k): v for k, v in keymap.items()}, training=dict(training), path=str(path))
