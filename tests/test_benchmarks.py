"""Smoke tests of the benchmark harness itself (no timings are asserted):
median/ratio/alternation logic on a fake clock, the JSON schema of a run with a tiny
fake stage, crash and 'not available' rows, and the scale-growth arithmetic."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not an installed package

from benchmarks import harness, runner, stage_scale
from benchmarks.harness import (
    Row,
    alternate,
    check_max,
    check_ratio,
    pair_row,
    time_median,
)


class FakeClock:
    """A clock that only advances when a fake workload says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def work(self, seconds: float):
        def fn():
            self.t += seconds
        return fn


def test_median_of_odd_and_even_samples():
    assert harness.median([3.0, 1.0, 2.0]) == 2.0
    assert harness.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError):
        harness.median([])


def test_time_median_runs_warmup_untimed():
    clock = FakeClock()
    durations = iter([100.0, 1.0, 5.0, 3.0])  # the 100 s call is the warm-up
    calls = []

    def fn():
        calls.append(1)
        clock.t += next(durations)

    t = time_median(fn, repeats=3, warmup=1, clock=clock)
    assert len(calls) == 4
    assert t.samples == [1.0, 5.0, 3.0]
    assert t.median == 3.0 and t.minimum == 1.0


def test_alternate_interleaves_and_swaps_order():
    clock = FakeClock()
    log = []

    def a():
        log.append("a")
        clock.t += 2.0

    def b():
        log.append("b")
        clock.t += 0.5

    pt = alternate(a, b, repeats=4, warmup=1, clock=clock)
    assert log[:2] == ["a", "b"]  # warm-up round
    assert pt.order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert log[2:] == pt.order
    assert pt.a.samples == [2.0] * 4 and pt.b.samples == [0.5] * 4
    assert pt.ratio == pytest.approx(4.0)


def test_alternate_ratio_uses_medians_not_means():
    clock = FakeClock()
    a_durations = iter([1.0, 1.0, 50.0])  # one outlier (another process) must not move the median
    pt = alternate(lambda: setattr(clock, "t", clock.t + next(a_durations)), clock.work(0.5),
                   repeats=3, warmup=0, clock=clock)
    assert pt.a.median == 1.0
    assert pt.ratio == pytest.approx(2.0)


def test_repeats_must_be_positive():
    with pytest.raises(ValueError):
        alternate(lambda: None, lambda: None, repeats=0)
    with pytest.raises(ValueError):
        time_median(lambda: None, repeats=0)


def test_targets_met_or_missed():
    clock = FakeClock()
    pt = alternate(clock.work(1.3), clock.work(1.0), repeats=3, warmup=0, clock=clock)
    row = pair_row("s", "w", pt, max_ratio=1.2)
    assert row.ratio == pytest.approx(1.3) and row.met is False and row.target == "ratio <= 1.2"
    assert check_ratio(Row("s", "w", ratio=1.1), 1.2).met is True
    assert check_ratio(Row("s", "w"), 1.2).met is None  # nothing measured: no verdict
    assert check_max(Row("s", "w", ours=0.04), 0.05).met is True
    assert check_max(Row("s", "w", ours=0.06), 0.05).met is False
    assert harness.ratio(1.0, 0.0) is None


def test_fmt_value_units():
    assert harness.fmt_value(None, "s") == "-"
    assert harness.fmt_value(2e-4, "s") == "200 us"
    assert harness.fmt_value(0.0123, "s") == "12.3 ms"
    assert harness.fmt_value(3.456, "s") == "3.46 s"
    assert harness.fmt_value(2048, "MiB") == "2,048 MiB"


def _fake_stage(ctx):
    clock = FakeClock()
    pt = alternate(clock.work(0.3), clock.work(0.2), repeats=3, warmup=1, clock=clock)
    return [pair_row("fake", f"tiny (quick={ctx.quick})", pt, max_ratio=2.0)]


def _crashing_stage(ctx):
    raise RuntimeError("boom")


def test_run_suite_json_schema(tmp_path, monkeypatch):
    monkeypatch.setitem(runner.STAGES, "fake", "unused")
    monkeypatch.setitem(runner.STAGES, "crash", "unused")
    logs = []
    rows, elapsed = runner.run_suite(["fake", "crash"], quick=True, log=logs.append,
                                     stages={"fake": _fake_stage, "crash": _crashing_stage})
    assert [r.stage for r in rows] == ["fake", "crash"]
    ok, crashed = rows
    assert ok.what == "tiny (quick=True)" and ok.ratio == pytest.approx(1.5) and ok.met is True
    assert crashed.available is False and crashed.met is False and "RuntimeError: boom" in crashed.note
    assert any("boom" in line for line in logs)
    report = harness.report_dict(rows, machine=harness.machine_info(), args={"quick": True}, elapsed_s=elapsed)
    text = json.dumps(report, default=float)
    back = json.loads(text)
    assert back["schema"] == harness.SCHEMA_VERSION
    for key in ("cpu_count", "torch", "torch_threads", "dgl", "numpy", "env"):
        assert key in back["machine"]
    assert "OPENBLAS_NUM_THREADS" in back["machine"]["env"]
    assert back["machine"]["cpu_count"] >= 1
    row = back["rows"][0]
    for key in ("stage", "what", "ours", "reference", "unit", "ratio", "target", "met", "note", "available"):
        assert key in row
    assert row["extra"]["ours_samples"] == pytest.approx([0.3] * 3)
    md = harness.markdown_table(rows)
    assert md.count("\n") == 3 and "**NO**" in md and "1.50" in md


def test_main_writes_json(tmp_path, monkeypatch):
    monkeypatch.setitem(runner.STAGES, "fake", "unused")
    monkeypatch.setattr(runner, "load_stage", lambda name: _fake_stage)
    out = tmp_path / "b.json"
    assert runner.main(["--quick", "--only", "fake", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["args"] == {"quick": True, "only": ["fake"], "threads": None}
    assert data["rows"][0]["stage"] == "fake"


def test_only_rejects_unknown_stage():
    assert runner.parse_only("graph,eval") == ["graph", "eval"]
    assert runner.parse_only(None) == list(runner.STAGES)
    with pytest.raises(SystemExit):
        runner.parse_only("graph,nope")


def test_unavailable_row_never_has_numbers():
    row = harness.unavailable("app", "launch", "mmkg_tui.app missing")
    assert row.ours is None and row.reference is None and row.ratio is None
    assert row.note == "not available: mmkg_tui.app missing" and row.available is False


def test_scale_growth_exponent_and_rows():
    assert stage_scale.growth(1.0, 10.0, 10_000, 100_000) == pytest.approx(1.0)
    assert stage_scale.growth(1.0, 100.0, 10_000, 100_000) == pytest.approx(2.0)
    assert stage_scale.growth(0.0, 1.0, 1, 10) is None
    points = [
        {"n_images": 10, "error": None, "steps": [
            {"step": "generate", "seconds": 1.0, "peak_rss_mb": 100.0},
            {"step": "train", "seconds": 2.0, "peak_rss_mb": 110.0, "count": 2}]},
        {"n_images": 1_000_000, "error": None, "steps": [
            {"step": "generate", "seconds": 100.0, "peak_rss_mb": 5000.0},
            {"step": "train", "seconds": 4.0, "peak_rss_mb": 6000.0, "count": 4}]},
    ]
    rows = stage_scale.rows_for(points)
    by = {r.what: r for r in rows}
    gen = by["1,000,000 images: generate"]
    assert gen.extra["growth_exponent"] == pytest.approx(math.log(100) / math.log(100_000))
    assert by["1,000,000 images: train"].extra["growth_exponent"] == pytest.approx(0.0)  # per step
    peak = by["1,000,000 images: peak RSS (whole process)"]
    assert peak.ours == 6000.0 and peak.unit == "MiB" and peak.met is True
    assert by["10 images: peak RSS (whole process)"].met is None


def test_scale_point_error_is_reported():
    rows = stage_scale.rows_for([{"n_images": 1_000_000, "error": "timed out after 5 s", "steps": []}])
    assert rows[-1].available is False and "timed out" in rows[-1].note and rows[-1].met is None


def test_report_patch_replaces_one_stage_in_place():
    from benchmarks import report

    def rep(rows):
        return {"rows": [Row(stage=s, what=w).to_dict() for s, w in rows]}

    base = rep([("clip", "a"), ("app", "crashed"), ("scale", "b")])
    other = rep([("app", "launch"), ("app", "threshold")])
    out = report.patch(base, other)
    assert [(r["stage"], r["what"]) for r in out["rows"]] == [
        ("clip", "a"), ("app", "launch"), ("app", "threshold"), ("scale", "b")]
    assert out["patched"] == ["app"]
