"""A run folder saved by an older version loads with the settings it was trained with,
not today's defaults (issue 10: old runs must not reopen as if trained with the new learner)."""

import json

from engine.experiment.config import ExperimentConfig
from engine.experiment.pipeline import run_experiment
from engine.experiment.store import SETTINGS_BEFORE, load_run, save_run
from engine.features.bundle import precomputed_features


def test_a_run_saved_before_the_learner_options_loads_as_the_posters_setting(tiny_world, tmp_path):
    cfg = ExperimentConfig(hidden=32, out_dim=32, epochs=1, batch_size=128, strategies=("self",), baselines=False)
    folder = save_run(run_experiment(tiny_world, precomputed_features(tiny_world), cfg), tmp_path / "run")
    now = load_run(folder).config
    assert (now.objective, now.train_as_test, now.blend) == (cfg.objective, cfg.train_as_test, cfg.blend)
    raw = json.loads((folder / "config.json").read_text())
    for marker, before in SETTINGS_BEFORE:  # an old config.json: none of the newer fields
        for name in (marker, *before):
            raw.pop(name, None)
    (folder / "config.json").write_text(json.dumps(raw))
    old = load_run(folder).config
    assert (old.objective, old.train_as_test, old.select_metric, old.patience, old.blend) == ("sage", False, "none", 0, False)
    assert (old.edge_weight, old.conv, old.score_scale) == ("none", "sage", "raw")
    assert ExperimentConfig().objective != "sage" and ExperimentConfig().train_as_test  # the defaults differ today
