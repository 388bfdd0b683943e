"""App-side state without Textual: thresholds, predictions and marks, filters, the
progress coalescer and the snapshot builder."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import isolated_home, needs_learning, tiny_run, tiny_world  # noqa: F401

from mmkg_tui.app.loading import LoadRequest, open_session
from mmkg_tui.app.state import clamp_threshold
from mmkg_tui.present.progress import Coalescer, SnapshotBuilder, epoch_position
from mmkg_tui.present.tables import metric_mean


def test_clamp_threshold_keeps_cosines_in_range():
    assert clamp_threshold(1.7) == 1.0
    assert clamp_threshold(-3) == -1.0
    assert clamp_threshold(0.123456) == 0.1235


def test_metric_mean_reads_both_shapes():
    assert metric_mean({"a": {"mean": 0.5, "std": 0.1}}, "a") == 0.5
    assert metric_mean({"a": 0.25}, "a") == 0.25
    assert metric_mean({}, "a") is None


def test_coalescer_limits_rate_but_lets_forced_through():
    now = [0.0]
    gate = Coalescer(0.1, clock=lambda: now[0])
    passed = 0
    for i in range(100):  # 100 events within 0.5 s
        now[0] = i * 0.005
        passed += gate.ready()
    assert passed == 5
    assert gate.ready(force=True)


def _TP(epoch, step, loss, spe=4, epochs=2, seed_index=0, n_seeds=1):  # the engine's typed event
    from engine.api import TrainProgress

    return TrainProgress(seed=0, seed_index=seed_index, n_seeds=n_seeds, epoch=epoch, epochs=epochs, step=step,
                         steps_per_epoch=spe, loss=loss, examples_per_s=10.0, elapsed_s=1.0, eta_s=2.0)


def test_snapshot_builder_tracks_fraction_and_loss_curve():
    b = SnapshotBuilder()
    assert b.update(_TP(1, 1, 0.9)) is True  # first training event after no stage: forced
    b.update(_TP(1, 2, 0.8))
    assert b.snap.fraction == pytest.approx(0.25)  # 2 of 8 steps
    assert b.update(_TP(1, 4, 0.7)) is True  # epoch end is never dropped
    b.update(_TP(2, 4, 0.5))
    assert b.snap.fraction == pytest.approx(1.0)
    assert [round(x, 2) for x, _ in b.snap.losses] == [0.25, 0.5, 1.0, 2.0]
    assert epoch_position(2, 2, 4) == pytest.approx(1.5)


@pytest.fixture(scope="module")
def session():
    return open_session(LoadRequest(dataset=tiny_world(), run=tiny_run(), reopen_last=False), threshold=0.5)


@needs_learning
def test_predictions_are_marked_against_truth_at_threshold(session):
    run = session.run
    i = int(np.nonzero(run.labels.any(axis=1))[0][0])
    row = int(run.eval_rows[i])
    for t in (-1.0, 0.0, 1.0):
        session.set_threshold(t)
        preds = {p.keyword: p for p in session.predictions(row, top=100)}
        scores, truth = session.scores()[i], run.labels[i]
        for k, name in enumerate(run.keywords):
            expect = ("TP" if truth[k] else "FP") if scores[k] >= t else ("FN" if truth[k] else "TN")
            assert preds[name].mark == expect
    session.set_threshold(0.5)


@needs_learning
def test_training_images_have_no_predictions(session):
    train_row = int(np.nonzero(np.asarray(session.run.split) == 0)[0][0])
    assert session.predictions(train_row) is None


@needs_learning
def test_error_rows_follow_threshold(session):
    session.set_threshold(1.0)  # nothing predicted: errors are exactly the images with a keyword
    expect = set(np.asarray(session.run.eval_rows)[session.run.labels.any(axis=1)].tolist())
    assert set(session.error_rows().tolist()) == expect
    session.set_threshold(0.5)


@needs_learning
def test_filters_combine(session):
    ds = session.dataset
    kitchen = ds.scenes.index("kitchen")
    rows = session.filter_rows(scene=kitchen, split=2)
    assert len(rows) > 0
    assert all(ds.image_scene[r] == kitchen and session.run.split[r] == 2 for r in rows)
    k = ds.keywords.index("hardwood floors")
    rows = session.filter_rows(keyword=k)
    assert all(k in ds.image_keywords(r) for r in rows)
    assert len(session.filter_rows(text="hardwood")) >= len(rows)
    assert session.filter_rows(text=ds.ids[7]).tolist() == [7]


def test_app_reaches_the_engine_only_through_the_facade():
    """mmkg_tui (app, views, widgets and the CLI alike) imports engine.api and nothing
    else from engine."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "mmkg_tui"
    files = sorted(root.rglob("*.py"))
    bad = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] if node.module != "engine" else [f"engine.{a.name}" for a in node.names]
            else:
                continue
            bad += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] == "engine" and n != "engine.api"]
    assert len(files) > 10
    assert bad == []


@needs_learning
def test_other_scale_scores_are_kept_per_run_on_the_session(session):
    """The other scale's scores live on the Session, one cache per run shown: computed
    once, and dropped with the run (no module-level cache keyed by object ids)."""
    import dataclasses

    run = session.run
    session = open_session(LoadRequest(dataset=session.dataset, run=run, reopen_last=False), threshold=0.5)
    other = next(s for s in session.scaled().scales() if s != run.score_scale)
    kept = session.scaled()
    first = kept.scores(session.method, other)
    assert session.scaled() is kept and kept.scores(session.method, other) is first  # computed once
    assert np.allclose(first, run.scores_on(session.method, other))
    copy = dataclasses.replace(run)
    session.set_run(copy)
    assert session.scaled() is not kept and session.scaled().run is copy  # the old run's cache went with it
    session.set_compare(run, None)
    assert session.scaled(run) is session.compare_scales and session.compare_scales.run is run
