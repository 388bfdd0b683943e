"""`mmkg-tui search / similar / suspects` on a small SYNTHETIC demo folder and a
really trained (tiny) saved run: JSON values, CLIP-only without a run, clear errors."""

import json

import pytest

from mmkg_tui.cli.main import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from engine.data.synthetic.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("data") / "demo", n=300, seed=2, images=False)


@pytest.fixture(scope="module")
def run_dir(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    code = main(["run", "--data", str(demo), "--epochs", "1", "--hidden", "32", "--batch-size", "128",
                 "--strategies", "self,scene", "--no-baselines", "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MMKG_TUI_HOME", str(tmp_path / "home"))


def _json(capsys, argv):
    code = main(argv)
    cap = capsys.readouterr()
    assert code == 0, cap.err
    return json.loads(cap.out)


def test_search_json_on_a_saved_run_in_both_spaces(demo, run_dir, capsys):
    from engine import api

    ds = api.load_dataset(str(demo))
    out = _json(capsys, ["search", "fireplace", "--data", str(demo), "--run", str(run_dir), "--json"])
    assert out["query_labels"] == ["fireplace"] and out["space"] == "clip" and len(out["results"]) == 10
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True)
    holds = sum("fireplace" in r["keywords"] for r in out["results"])
    prevalence = ds.prevalence()[ds.keywords.index("fireplace")]
    assert holds >= 5 and holds / 10 > 4 * prevalence
    learned = _json(capsys, ["search", "granite kitchen", "--data", str(demo), "--run", str(run_dir),
                             "--space", "learned", "--k", "5", "--json"])
    run = api.load_run(run_dir)
    assert learned["space"] in ("sage_self", "sage_scene")
    assert learned["query_labels"] == ["granite countertops", "kitchen"]
    eval_ids = {run.image_ids[i] for i in run.eval_rows}
    assert learned["results"] and all(r["id"] in eval_ids and r["scene"] == "kitchen" for r in learned["results"])


def test_without_a_run_search_says_clip_only_and_learned_is_refused(demo, capsys):
    out = _json(capsys, ["search", "hot tub -exterior -pool", "--data", str(demo), "--k", "3", "--json"])
    assert any("CLIP space only" in n for n in out["notes"])
    assert out["query_labels"] == ["hot tub", "-exterior front"]  # this small demo has no 'pool' or 'brick exterior'
    assert out["unmatched"] == ["-pool"] and len(out["results"]) == 3
    code = main(["search", "pool", "--data", str(demo), "--space", "learned"])
    err = capsys.readouterr().err
    assert code == 2 and "needs a saved run" in err and "Traceback" not in err
    code = main(["search", "zzyzx", "--data", str(demo)])
    assert code == 2 and "no known label" in capsys.readouterr().err


def test_similar_json_marks_shared_keywords_and_reports_unknown_ids(demo, run_dir, capsys):
    out = _json(capsys, ["similar", "img0000010", "--data", str(demo), "--run", str(run_dir), "--k", "5", "--json"])
    ids = [r["id"] for r in out["results"]]
    assert len(ids) == 5 and "img0000010" not in ids
    own = set(out["query_labels"])
    assert all(r["shares_keyword"] == bool(own & set(r["keywords"])) for r in out["results"])
    groups = _json(capsys, ["similar", "img0000010", "--data", str(demo), "--run", str(run_dir), "--groups",
                            "--k", "3", "--json"])
    assert len(groups["results"]) == 3 and groups["query"] not in [g["id"] for g in groups["results"]]
    code = main(["similar", "img9999999", "--data", str(demo)])
    err = capsys.readouterr().err
    assert code == 2 and "no image with id 'img9999999'" in err


def test_suspects_json_leaves_decided_pairs_out(demo, run_dir, capsys):
    from engine import api

    base = ["suspects", "--data", str(demo), "--run", str(run_dir), "--k", "5", "--json"]
    out = _json(capsys, base)
    assert out["kind"] == "missing" and len(out["results"]) == 5
    assert out["corrections_file"] == str(run_dir / "corrections.csv")
    first = out["results"][0]
    api.append_correction(run_dir / "corrections.csv", api.Correction(first["id"], first["keyword"], "keep"))
    try:
        again = _json(capsys, base)
        assert (first["id"], first["keyword"]) not in [(r["id"], r["keyword"]) for r in again["results"]]
        assert [r["id"] for r in again["results"][:4]] == [r["id"] for r in out["results"][1:]]
    finally:
        (run_dir / "corrections.csv").unlink()
    wrong = _json(capsys, [*base, "--kind", "wrong", "--method", "learned"])
    run = api.load_run(run_dir)
    eval_ids = {run.image_ids[i] for i in run.eval_rows}
    assert wrong["method"] == "learned" and all(r["id"] in eval_ids for r in wrong["results"])


def test_eval_reports_every_space_and_corrections_apply_on_load(demo, run_dir, tmp_path, capsys):
    rep = _json(capsys, ["search", "--eval", "--data", str(demo), "--run", str(run_dir), "--json"])
    spaces = [s["space"] for s in rep["spaces"]]
    assert spaces == ["clip", "sage_self", "sage_scene"]
    for s in rep["spaces"]:
        for key in ("ndcg@10", "recall@10", "mrr", "image_precision@10"):
            assert 0.0 < s[key] <= 1.0
    corr = tmp_path / "c.csv"
    corr.write_text("id,keyword,action\nimg0000010,wine cellar,add\n", encoding="utf-8")
    out = _json(capsys, ["similar", "img0000010", "--data", str(demo), "--corrections", str(corr), "--json"])
    assert "wine cellar" in out["query_labels"]
    corr.write_text("id,keyword,action\nimg0000010,wine cellar,maybe\n", encoding="utf-8")
    code = main(["similar", "img0000010", "--data", str(demo), "--corrections", str(corr)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "line 2" in err and "unknown action 'maybe'" in err


def test_text_tower_on_synthetic_vectors_is_a_clear_error(demo, capsys):
    code = main(["search", "a sunny pool", "--data", str(demo), "--text-tower"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "field 'text-tower'" in err and "Traceback" not in err


def test_corrections_reach_info_and_the_explorer(demo, tmp_path, capsys, monkeypatch):
    before = _json(capsys, ["info", "--data", str(demo), "--json"])["keyword_prevalence"]
    corr = tmp_path / "c.csv"
    corr.write_text("id,keyword,action\nimg0000010,wine cellar,add\n", encoding="utf-8")
    after = _json(capsys, ["info", "--data", str(demo), "--corrections", str(corr), "--json"])["keyword_prevalence"]
    assert after["wine cellar"] == before.get("wine cellar", 0) + 1
    assert {k: v for k, v in after.items() if k != "wine cellar"} == {k: v for k, v in before.items() if k != "wine cellar"}
    import mmkg_tui.app.app as app_module

    made = {}

    class StubApp:  # the explorer itself is tested in tests/app/test_app_corrections.py
        return_code = 0

        def run(self):
            pass

        def background_busy(self):
            return False

    def create_app(*args, **kwargs):
        made.update(kwargs)
        return StubApp()

    monkeypatch.setattr(app_module, "create_app", create_app)
    assert main(["--data", str(demo), "--corrections", str(corr)]) == 0
    assert made["corrections"] == str(corr)


def test_similar_to_a_training_image_in_the_learned_space_uses_the_saved_model(demo, run_dir, tmp_path, capsys):
    from engine import api

    run = api.load_run(run_dir)
    train_id = run.image_ids[int(next(i for i, s in enumerate(run.split) if s == 0))]
    out = _json(capsys, ["similar", train_id, "--data", str(demo), "--run", str(run_dir), "--space", "learned",
                         "--k", "20", "--json"])
    assert any("training image" in n for n in out["notes"])
    ids = [r["id"] for r in out["results"]]
    assert len(ids) == 20 and train_id not in ids
    train_ids = {run.image_ids[i] for i, s in enumerate(run.split) if s == 0}
    assert any(i in train_ids for i in ids)  # training images are in the space now
    corr = tmp_path / "c.csv"
    corr.write_text(f"id,keyword,action\n{train_id},wine cellar,add\n", encoding="utf-8")
    code = main(["similar", train_id, "--data", str(demo), "--run", str(run_dir), "--space", "learned",
                 "--corrections", str(corr)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "does not reproduce the run's keyword embeddings" in err
