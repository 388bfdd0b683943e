"""Pilot tests of Evaluate's operating point: c switches the score scale (calibrated
<-> raw), p uses the per-keyword thresholds chosen on validation (in Evaluate and in
Images' predictions), the scale always beside the threshold."""

from __future__ import annotations

import numpy as np
from app_helpers import SIZE, make_app, plain, ready

from engine import api
from mmkg_tui.views.images import ImagesView


def _row(app, method: str) -> list[str]:
    table = app.screen.query_one("#results-table")
    return [str(c) for c in table.get_row(method)]


async def _evaluate(pilot):
    await ready(pilot)
    await pilot.press("5")
    await pilot.pause()
    pilot.app.screen.query_one("#results-table").focus()
    await pilot.pause()


async def test_scale_switch_changes_figures_and_is_shown_beside_the_threshold():
    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await _evaluate(pilot)
        run, t, m = app.session.run, app.session.threshold, app.session.method
        assert run.score_scale == "calibrated"
        head = plain(app.screen.query_one("#evaluate-head"))
        assert f"t {t:.2f} (calibrated)" in head
        test = run.test_mask()
        cal = api.threshold_metrics(run.scores[m][test], run.labels[test], t)
        assert _row(app, m)[8:11] == [f"{cal[k]:.3f}" for k in ("precision", "recall", "f1")]
        assert _row(app, m)[4] == f"{run.best_thresholds['calibrated'][m]:.2f}"
        await pilot.press("c")
        await pilot.pause()
        assert f"t {t:.2f} (raw)" in plain(app.screen.query_one("#evaluate-head"))
        raw = api.threshold_metrics(run.raw_scores[m][test], run.labels[test], t)
        assert _row(app, m)[8:11] == [f"{raw[k]:.3f}" for k in ("precision", "recall", "f1")]
        assert _row(app, m)[4] == f"{run.best_thresholds['raw'][m]:.2f}"
        assert run.best_thresholds["raw"][m] != run.best_thresholds["calibrated"][m]
        await pilot.press("2")
        await pilot.pause()
        view = app.screen.query_one(ImagesView)
        view.set_query("split:test")
        await pilot.pause()
        row = view.selected_row()
        text = plain(app.screen.query_one("#image-keywords"))
        assert f"predicted at t {t:.2f} (raw)" in text
        i = int(app.session.eval_pos[row])
        best = run.keywords[int(np.argmax(run.raw_scores[m][i]))]
        assert f"{best} " in text and f"{float(run.raw_scores[m][i].max()):.3f}" in text
        await pilot.press("5", "c")
        await pilot.pause()
        assert f"t {t:.2f} (calibrated)" in plain(app.screen.query_one("#evaluate-head"))
        assert app.view_errors == []


async def test_per_keyword_thresholds_match_the_engine_and_reach_images():
    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await _evaluate(pilot)
        run = app.session.run
        await pilot.press("p")
        await pilot.pause()
        assert "per-keyword t (validation, calibrated)" in plain(app.screen.query_one("#evaluate-head"))
        for m in run.methods:  # one seed: the engine's figures at its per-keyword thresholds
            want = run.metrics[m]["per_keyword_threshold"]
            assert _row(app, m)[8:11] == [f"{want[k]['mean']:.3f}" for k in ("precision", "recall", "f1")], m
        m = app.session.method
        await pilot.press("2")
        await pilot.pause()
        view = app.screen.query_one(ImagesView)
        view.set_query("split:test")
        await pilot.pause()
        row = view.selected_row()
        i = int(app.session.eval_pos[row])
        thr = np.asarray(run.per_keyword[m]["threshold"])
        text = plain(app.screen.query_one("#image-keywords"), width=200)
        assert "predicted at per-keyword t (validation, calibrated)" in text
        top = int(np.argmax(run.scores[m][i]))
        assert f"{thr[top]:.3f}" in text
        predicted = {run.keywords[k] for k in np.nonzero(run.scores[m][i] >= thr)[0]}
        marks = [ln for ln in text.splitlines() if "TP" in ln or "FP" in ln]
        assert {ln.split("│")[0].strip() for ln in marks} == predicted
        await pilot.press("5", "p")
        await pilot.pause()
        assert "per-keyword t (validation" not in plain(app.screen.query_one("#evaluate-head"))
        assert app.view_errors == []


def test_help_and_palette_list_the_evaluate_keys():
    from mmkg_tui.screens.help import view_help

    rows = dict(view_help("mmkg_tui.views.evaluate:EvaluateView"))
    assert rows["c"].startswith("Score scale shown") and rows["p"].startswith("Operating point")
    assert rows["l"].startswith("Right plot")


def _tpr_on_curve(curve, fpr: float) -> float:
    xs, ys = (np.asarray(a, float) for a in curve)
    return float(np.interp(fpr, xs, ys))


async def test_roc_curve_is_on_the_scale_shown_so_the_operating_point_lies_on_it():
    from mmkg_tui.present import operating as opp

    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await _evaluate(pilot)
        run, m = app.session.run, app.session.method
        test = run.test_mask()
        for scale, scores in (("calibrated", run.scores[m]), ("raw", run.raw_scores[m])):
            curve = app.session.scaled().roc(m, scale)
            expect = api.roc_points(scores[test], run.labels[test])
            assert all(np.array_equal(a, b) for a, b in zip(curve, expect))
            t = float(np.quantile(scores[test], 0.9))
            at = api.threshold_metrics(scores[test], run.labels[test], t)
            assert abs(_tpr_on_curve(curve, at["fpr"]) - at["tpr"]) < 0.02
        assert np.array_equal(app.session.scaled().roc(m, "raw")[0], run.roc[m][0])  # the stored raw curve
        title = []
        plot = app.screen.query_one("#roc-plot")
        real = plot.set_static

        def spy(draw, **kw):
            class Plt:
                def __getattr__(self, name):
                    return lambda *a, **k: title.extend(a) if name == "title" else None
            draw(Plt())
            return real(draw, **kw)

        plot.set_static = spy
        await pilot.press("c")
        await pilot.pause()
        assert any(str(x).startswith("ROC (raw,") for x in title), title


async def test_the_top_bar_and_the_errors_filter_follow_the_operating_point():
    from mmkg_tui.present import operating as opp

    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await _evaluate(pilot)
        s, bar = app.session, app.screen.query_one("#topbar")
        run, m, t = s.run, s.method, s.threshold
        test = run.test_mask()
        assert str(bar.query_one("#score-scale").render()) == "calibrated"
        await pilot.press("c")  # raw scores everywhere, not only in Evaluate
        await pilot.pause()
        assert str(bar.query_one("#score-scale").render()) == "raw"
        raw = api.threshold_metrics(run.raw_scores[m][test], run.labels[test], t)
        assert s.threshold_metrics()["f1"] == raw["f1"]
        assert f"{raw['f1']:.3f}" in bar.summary_text()
        bad = (run.raw_scores[m] >= t) != run.labels
        assert np.array_equal(s.error_rows(), np.asarray(run.eval_rows)[bad.any(axis=1)])
        await pilot.press("c", "p")  # calibrated again, per-keyword thresholds
        await pilot.pause()
        kw_t = api.operating_thresholds(run, m, "per_keyword")
        assert np.array_equal(s.thresholds(), kw_t)
        per = opp.metrics_at(run.scores[m][test], run.labels[test], kw_t)
        assert s.threshold_metrics()["f1"] == per["f1"] != api.threshold_metrics(
            run.scores[m][test], run.labels[test], t)["f1"]
        assert app.view_errors == []
