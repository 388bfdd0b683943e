"""The CLI results table: its footer (skipped methods, macro exclusions, warnings, the
paired comparison) and the --scores option."""

import argparse
import json
from types import SimpleNamespace

import pytest

from mmkg_tui.cli.commands.run import config_from_args, configure
from mmkg_tui.cli.main import main
from mmkg_tui.present.tables import footer_lines


def fake_result(**kw):
    base = dict(skipped_methods={}, macro_excluded={}, warnings=[], comparison=lambda: None)
    base.update(kw)
    return SimpleNamespace(**base)


def test_footer_lists_skipped_methods_one_line_each():
    lines = footer_lines(fake_result(skipped_methods={"scene_prior": "the dataset has no scenes",
                                                      "sage_scene": "the dataset has no scenes"}))
    assert lines == ["not run: scene_prior (the dataset has no scenes)", "not run: sage_scene (the dataset has no scenes)"]


def test_footer_names_the_first_ten_excluded_keywords_and_counts_the_rest():
    excluded = {f"kw{i:02d}": "no positive test image" for i in range(13)}
    (line,) = footer_lines(fake_result(macro_excluded=excluded))
    assert line.startswith("left out of macro AUC (13 keywords; AUC undefined): kw00: no positive test image")
    assert "kw09" in line and "kw10" not in line and line.endswith("and 3 more")


def test_footer_prints_warnings_and_the_paired_comparison():
    from engine.experiment.comparison import Comparison, PairedDifference

    comp = Comparison("sage_scene", "clip_probe", 3, "validation map",
                      (PairedDifference("map", (0.01, -0.02, 0.03), 2, 0.0067, 0.025),))
    lines = footer_lines(fake_result(warnings=["only 12 test images (fewer than 50): ..."], comparison=lambda: comp))
    assert lines[0] == "warning: only 12 test images (fewer than 50): ..."
    assert lines[1].startswith("sage_scene (best learned) vs clip_probe (strongest baseline), both chosen on validation map")
    assert lines[2] == "  map: +0.007 ± 0.025 [+0.010, -0.020, +0.030], won 2 of 3 seeds"


def parse(*argv):
    p = argparse.ArgumentParser()
    configure(p)
    return p.parse_args(list(argv))


def test_scores_option_sets_the_scale_and_defaults_to_calibrated():
    assert config_from_args(parse()).score_scale == "calibrated"
    assert config_from_args(parse("--scores", "raw")).score_scale == "raw"
    with pytest.raises(SystemExit):
        parse("--scores", "cosine")


def test_epochs_zero_is_refused_before_any_work(capsys, tmp_path):
    code = main(["run", "--data", str(tmp_path / "nothing"), "--epochs", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "epochs must be >= 1" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from engine.data.synthetic.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("data") / "demo", n=300, seed=2, images=False)


def test_raw_scores_run_prints_and_writes_the_raw_scale(demo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MMKG_TUI_HOME", str(tmp_path / "home"))
    out_json = tmp_path / "m.json"
    code = main(["run", "--data", str(demo), "--epochs", "1", "--hidden", "32", "--batch-size", "128",
                 "--strategies", "self", "--scores", "raw", "--json", str(out_json), "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0
    js = json.loads(out_json.read_text())
    assert js["score_scale"] == "raw" and js["config"]["score_scale"] == "raw"
    assert "thresholds on raw scores in [-1, 1]" in " ".join(out.split())
    assert "warning: only 45 test images (fewer than 50)" in " ".join(out.split())  # 300 images x 0.15
    assert "sage_self (best learned) vs" in out and "won" in out
