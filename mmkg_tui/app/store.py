"""What the app remembers between launches, in one JSON file next to the user config:
the run folders it opened (``--run`` / ``--out`` folders outside the runs folder, for
the run browser), and per dataset the threshold, method and view the user left, plus
the theme picked in the palette. Written atomically; a broken file is ignored (and
replaced on the next write), never fatal."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine import api

MAX_REMEMBERED_RUNS = 200


def app_home() -> Path:
    """$MMKG_TUI_HOME when set (tests), else the user config folder of mmkg-tui."""
    home = os.environ.get("MMKG_TUI_HOME")
    if home:
        return Path(home)
    from platformdirs import user_config_dir

    return Path(user_config_dir("mmkg-tui"))


def state_path() -> Path:
    return app_home() / "state.json"


@dataclass
class Place:
    """Where the user left a dataset."""

    threshold: float | None = None
    method: str | None = None
    view: str | None = None


@dataclass
class AppState:
    run_dirs: list[str] = field(default_factory=list)  # newest last
    places: dict[str, Place] = field(default_factory=dict)  # dataset fingerprint -> place
    theme: str | None = None

    @classmethod
    def load(cls) -> AppState:
        try:
            raw = json.loads(state_path().read_text())
            places = {k: Place(**v) for k, v in dict(raw.get("places", {})).items()}
            return cls([str(p) for p in raw.get("run_dirs", [])], places, raw.get("theme"))
        except (OSError, ValueError, TypeError, AttributeError):
            return cls()

    def save(self) -> None:
        data = {"run_dirs": self.run_dirs[-MAX_REMEMBERED_RUNS:], "theme": self.theme,
                "places": {k: asdict(v) for k, v in self.places.items()}}
        try:
            state_path().parent.mkdir(parents=True, exist_ok=True)
            api.atomic_write_text(state_path(), json.dumps(data, indent=1))
        except OSError:
            pass  # remembering is a convenience: never fail the app for it


def remember_run_dir(run_dir: str | Path) -> None:
    state = AppState.load()
    path = str(Path(run_dir).resolve())
    state.run_dirs = [p for p in state.run_dirs if p != path] + [path]
    state.save()


def remember_place(fingerprint: str, place: Place) -> None:
    state = AppState.load()
    state.places[fingerprint] = place
    state.save()


def remember_theme(theme: str) -> None:
    state = AppState.load()
    state.theme = theme
    state.save()
