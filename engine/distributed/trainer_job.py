"""The description of one distributed job (what every process of it needs), as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class DistJob:
    part_config: str
    ip_config: str
    run_dir: str | None
    config: object  # engine.experiment.config.ExperimentConfig
    json_path: str | None = None

    def to_dict(self) -> dict:
        return {"part_config": self.part_config, "ip_config": self.ip_config, "run_dir": self.run_dir,
                "config": self.config.to_dict(), "json_path": self.json_path}

    @classmethod
    def read(cls, path) -> DistJob:
        from engine.experiment.config import ExperimentConfig

        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(d["part_config"], d["ip_config"], d["run_dir"], ExperimentConfig.from_dict(d["config"]),
                   d["json_path"])
