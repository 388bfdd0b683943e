import json

import pytest

from mmkg_tui.cli.main import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    pytest.importorskip("engine.data.loaders", reason="engine.loaders (dataset loading) is not there yet")
    from engine.data.synthetic.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("data") / "demo", n=300, seed=2, images=False)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MMKG_TUI_HOME", str(tmp_path / "home"))


@pytest.mark.parametrize("extra, words", [
    (["--epochs", "-1"], ["epochs"]),
    (["--layers", "2", "--fanout", "3"], ["fanout", "--fanout 3,3"]),
    (["--strategies", "self,telepathy"], ["telepathy", "cosine"]),
    (["--threshold", "1.5"], ["threshold", "[-1, 1]"]),
    (["--fanout", "3,x"], ["fanout"]),
])
def test_invalid_options_fail_before_any_work(extra, words, capsys, monkeypatch, tmp_path):
    from engine import api

    def no_loading(*a, **k):
        raise AssertionError("the dataset was loaded before the options were checked")

    monkeypatch.setattr(api, "load_dataset", no_loading)
    code = main(["run", "--data", str(tmp_path / "nothing"), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert "error:" in err and "Traceback" not in err
    for w in words:
        assert w in err


def test_run_prints_the_table_writes_json_and_run_folder(demo, tmp_path, capsys):
    out_json = tmp_path / "out.json"
    run_dir = tmp_path / "run"
    code = main(["run", "--data", str(demo), "--epochs", "1", "--hidden", "32", "--batch-size", "128",
                 "--seeds", "2", "--json", str(out_json), "--out", str(run_dir)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for m in ("clip", "prior", "scene_prior", "clip_probe", "sage_self", "sage_cosine", "sage_scene"):
        assert m in captured.out
    assert "2p - 1" in captured.out and "tanh(2y - 1)" in captured.out  # the score scales are explained
    assert "±" in captured.out and "SYNTHETIC" in captured.out
    js = json.loads(out_json.read_text())
    assert set(js["methods"]) == {"clip", "prior", "scene_prior", "clip_probe", "knn", "scene_probe", "sage_self", "sage_cosine", "sage_scene"}
    assert set(js["methods"]["clip"]["micro_auc"]) == {"mean", "std", "runs"}
    assert len(js["methods"]["sage_scene"]["best_f1"]["f1"]["runs"]) == 2
    assert js["config"]["epochs"] == 1 and js["config"]["hidden"] == 32 and js["dataset"]["images"] == 300
    from engine.experiment.store import load_run

    back = load_run(run_dir)
    assert back.metrics["clip"]["micro_auc"]["runs"] == js["methods"]["clip"]["micro_auc"]["runs"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_interrupt_leaves_no_run_folder_or_json(demo, tmp_path, capsys, monkeypatch):
    import engine.experiment.pipeline as ex

    real = ex.iter_experiment

    def interrupted(*a, **k):
        for ev in real(*a, **k):
            if isinstance(ev, ex.TrainProgress):
                raise KeyboardInterrupt
            yield ev

    monkeypatch.setattr(ex, "iter_experiment", interrupted)
    out_json, run_dir = tmp_path / "out.json", tmp_path / "run"
    code = main(["run", "--data", str(demo), "--epochs", "1", "--hidden", "32",
                 "--json", str(out_json), "--out", str(run_dir)])
    assert code == 130
    assert not out_json.exists() and not run_dir.exists()
    assert [p.name for p in tmp_path.iterdir()] == []
