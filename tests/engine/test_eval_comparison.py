"""Best learned method vs strongest baseline, both chosen on validation (engine.experiment.comparison)."""

import pytest

from engine.experiment.comparison import compare


def cell(runs):
    return {"mean": sum(runs) / len(runs), "std": 0.0, "runs": list(runs)}


def method(val_map, test):
    return {"validation": {"map": cell([val_map] * 3)}, **{k: cell(v) for k, v in test.items()}}


def test_sides_are_chosen_on_validation_and_differences_are_paired():
    metrics = {
        "clip": method(0.9, {"micro_auc": [0.5] * 3, "macro_auc": [0.5] * 3, "map": [0.5] * 3}),
        # knn has the best TEST map but the worse validation map: not the strongest baseline
        "knn": method(0.2, {"micro_auc": [0.99] * 3, "macro_auc": [0.99] * 3, "map": [0.99] * 3}),
        "clip_probe": method(0.4, {"micro_auc": [0.80, 0.82, 0.84], "macro_auc": [0.8] * 3, "map": [0.3] * 3}),
        "sage_self": method(0.3, {"micro_auc": [0.9] * 3, "macro_auc": [0.9] * 3, "map": [0.9] * 3}),
        "sage_scene": method(0.35, {"micro_auc": [0.81, 0.81, 0.85], "macro_auc": [0.7, 0.9, 0.9], "map": [0.2] * 3}),
    }
    comp = compare(metrics, list(metrics))
    assert (comp.learned, comp.baseline, comp.seeds) == ("sage_scene", "clip_probe", 3)
    micro = comp.paired[0]
    assert micro.metric == "micro_auc" and micro.differences == pytest.approx((0.01, -0.01, 0.01))
    assert micro.wins == 2 and micro.mean == pytest.approx(0.01 / 3)
    assert comp.paired[1].wins == 2 and comp.paired[2].wins == 0
    assert comp.to_json()["paired"]["map"]["wins"] == 0


def test_without_baselines_the_learned_method_meets_zero_shot_clip_and_without_learning_none():
    metrics = {"clip": method(0.1, {"micro_auc": [0.5], "macro_auc": [0.5], "map": [0.5]}),
               "sage_self": method(0.2, {"micro_auc": [0.6], "macro_auc": [0.4], "map": [0.5]})}
    comp = compare(metrics, ["clip", "sage_self"])
    assert comp.baseline == "clip" and [p.wins for p in comp.paired] == [1, 0, 0]
    assert compare(metrics, ["clip"]) is None
