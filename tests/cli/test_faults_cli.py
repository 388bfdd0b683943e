"""`mmkg-tui run` never destroys the user's files, checks output paths before any work,
writes the JSON only after the run folder is complete, and prints every dataset
problem; `mmkg-tui --run DIR` explains a folder that is not (or no longer) a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmkg_tui.cli.main import main

FAST = ["--epochs", "1", "--hidden", "16", "--batch-size", "128", "--no-baselines", "--strategies", "self"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from engine.data.synthetic.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("data") / "demo", n=120, seed=2, images=False)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MMKG_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _flat(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines


def _refusal(tmp_path, demo):
    """(extra args, victim path, words) for each thing that must be refused."""
    docs = tmp_path / "my_documents"
    docs.mkdir()
    (docs / "thesis.txt").write_text("years of work")
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    (tmp_path / "afile").write_text("x")
    return {
        "users-folder": (["--out", str(docs)], docs, [str(docs), "will not be replaced"]),
        "users-file": (["--out", str(notes)], notes, [str(notes), "will not overwrite"]),
        "dataset-folder": (["--out", str(demo)], demo, [str(demo), "will not be replaced"]),
        "json-over-manifest": (["--json", str(demo / "manifest.csv")], demo,
                               [str(demo / "manifest.csv"), "will not be overwritten"]),
        "out-in-proc": (["--out", "/proc/nope/run"], None, ["/proc/nope/run", "cannot create"]),
        "json-in-proc": (["--json", "/proc/nope/m.json"], None, ["/proc/nope/m.json", "cannot create"]),
        "json-inside-out": (["--out", str(tmp_path / "r"), "--json", str(tmp_path / "r" / "m.json")], None,
                            ["inside the run folder"]),
        "parent-is-a-file": (["--out", str(tmp_path / "afile" / "run")], tmp_path / "afile", ["is a file"]),
    }


@pytest.mark.parametrize("case", ["users-folder", "users-file", "dataset-folder", "json-over-manifest",
                                  "out-in-proc", "json-in-proc", "json-inside-out", "parent-is-a-file"])
def test_outputs_that_are_not_ours_are_refused_before_any_work(case, demo, tmp_path, capsys, monkeypatch):
    from engine import api

    extra, victim, words = _refusal(tmp_path, demo)[case]
    before = None if victim is None else (_snapshot(victim) if victim.is_dir() else victim.read_bytes())

    def no_loading(*a, **k):
        raise AssertionError("the dataset was loaded before the output paths were checked")

    monkeypatch.setattr(api, "load_dataset", no_loading)
    code = main(["run", "--data", str(demo), *FAST, *extra])
    err = _flat(capsys.readouterr().err)
    assert code == 2 and "error:" in err and "Traceback" not in err, err
    for w in words:
        assert w in err
    if victim is not None:
        assert (_snapshot(victim) if victim.is_dir() else victim.read_bytes()) == before  # untouched


def test_rerun_replaces_its_own_run_folder_and_json_and_lists_problems(demo, tmp_path, capsys):
    run_dir, out_json = tmp_path / "run", tmp_path / "m.json"
    for _ in range(2):  # the second run replaces what the first one wrote
        code = main(["run", "--data", str(demo), *FAST, "--out", str(run_dir), "--json", str(out_json)])
        out = capsys.readouterr().out
        assert code == 0
    js = json.loads(out_json.read_text())
    assert js["mmkg_tui"]["kind"] == "metrics"
    from engine import api

    expected = [p.format() for p in api.load_dataset(str(demo)).problems]
    assert expected and js["problems"] == expected  # dataset -> RunResult -> JSON
    assert json.loads((run_dir / "run.json").read_text())["problems"] == expected
    assert api.load_run(run_dir).problems == expected
    assert f"{len(expected)} dataset problem(s)" in out and "image file(s) not found" in out
    assert out.index("run folder:") < out.index("metrics JSON:")  # JSON only once the run folder is complete
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "run"]


def test_no_json_when_the_run_folder_could_not_be_saved(demo, tmp_path, capsys, monkeypatch):
    from engine import api

    def full_disk(result, run_dir, **k):
        raise api.StorageError(f"no space left on {run_dir}", hint="free some space")

    monkeypatch.setattr(api, "save_run", full_disk)
    out_json = tmp_path / "m.json"
    code = main(["run", "--data", str(demo), *FAST, "--out", str(tmp_path / "run"), "--json", str(out_json)])
    err = _flat(capsys.readouterr().err)
    assert code == 2 and "no space left on" in err and not out_json.exists()


def test_interrupted_json_write_keeps_the_previous_json(demo, tmp_path, monkeypatch):
    import os

    from engine import api

    run_dir, out_json = tmp_path / "run", tmp_path / "m.json"
    assert main(["run", "--data", str(demo), *FAST, "--out", str(run_dir), "--json", str(out_json)]) == 0
    before = out_json.read_bytes()
    real_fsync = os.fsync

    def interrupted(fd):
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(".m.json."):
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", interrupted)
    code = main(["run", "--data", str(demo), *FAST, "--out", str(run_dir), "--json", str(out_json)])
    assert code == 130 and out_json.read_bytes() == before
    assert api.load_run(run_dir).methods  # the run folder is complete either way
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "run"]


def test_print_problems_shows_the_first_few_then_a_count():
    from rich.console import Console

    from mmkg_tui.cli.commands.run import MAX_PROBLEMS_SHOWN, _print_problems

    con = Console(record=True, width=200)
    _print_problems(con, [f"img{i}.jpg: truncated file; image skipped" for i in range(8)])
    text = con.export_text()
    assert "8 dataset problem(s)" in text and "img0.jpg" in text and f"img{MAX_PROBLEMS_SHOWN - 1}.jpg" in text
    assert f"img{MAX_PROBLEMS_SHOWN}.jpg" not in text and f"and {8 - MAX_PROBLEMS_SHOWN} more" in text


def test_open_runs_root_lists_the_runs_inside(demo, home, capsys):
    assert main(["run", "--data", str(demo), *FAST]) == 0
    out = capsys.readouterr().out
    made = out.split("run folder: ")[1].split()[0]
    code = main(["--run", str(home / "runs")])
    err = _flat(capsys.readouterr().err)
    assert code == 2 and "Traceback" not in err
    assert "is not a run folder" in err and "newest first" in err
    assert made in "".join(err.split())  # rich may break the long path anywhere


def test_open_a_damaged_run_names_the_file_and_field(demo, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", "--data", str(demo), *FAST, "--out", str(run_dir)]) == 0
    capsys.readouterr()
    meta = json.loads((run_dir / "run.json").read_text())
    meta["methods"] = 42
    (run_dir / "run.json").write_text(json.dumps(meta))
    code = main(["--run", str(run_dir)])  # checked before the app starts
    err = _flat(capsys.readouterr().err)
    assert code == 2 and "Traceback" not in err
    assert str(run_dir / "run.json") in err and "field 'methods'" in err
