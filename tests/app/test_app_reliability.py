"""Pilot test of the reliability curve in Evaluate (l): the engine's curve for the
selected method on test images, Brier and ECE in the title."""

from __future__ import annotations

import numpy as np
from app_helpers import SIZE, make_app, plain, ready

from engine import api
from mmkg_tui.views.evaluate import EvaluateView


async def test_reliability_curve_of_the_selected_method():
    app = make_app(run=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("5")
        await pilot.pause()
        view = app.screen.query_one(EvaluateView)
        assert not app.screen.query_one("#reliability-plot").display
        app.screen.query_one("#results-table").focus()
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        plot = app.screen.query_one("#reliability-plot")
        assert plot.display and not app.screen.query_one("#keyword-plot").display
        run, m = app.session.run, app.session.method
        test = run.test_mask()
        mean_p, frac, pairs = api.reliability_curve(run.scores[m][test], run.labels[test])
        rel = view.curve
        assert rel.method == m
        np.testing.assert_allclose(rel.mean_p, mean_p)
        np.testing.assert_allclose(rel.frac, frac)
        assert int(rel.pairs.sum()) == int(test.sum()) * len(run.keywords)
        cal = run.metrics[m]["calibration"]
        title = f"Brier {cal['brier']['mean']:.3f} ECE {cal['ece']['mean']:.3f}"
        assert title in rel.title()
        await pilot.press("k")  # another method: its own curve
        await pilot.pause()
        assert app.session.method != m and view.curve.method == app.session.method
        await pilot.press("l")
        await pilot.pause()
        assert app.screen.query_one("#keyword-plot").display
        assert app.view_errors == []
