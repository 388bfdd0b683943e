"""engine/ must never import the UI layer. Checked two ways: import-linter's contract
(pyproject.toml) and a fresh interpreter that imports every engine module."""

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("textual", "plotext", "textual_plotext", "textual_image", "mmkg_tui")


def test_import_linter_contract_holds():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra"
    res = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "engine never imports the UI layer KEPT" in res.stdout
    for name in ("engine layers (each imports only the layers below it)",
                 "mmkg_tui layers (cli > app > screens > views > widgets > present)",
                 "mmkg_tui reaches the engine through engine.api only"):
        assert f"{name} KEPT" in res.stdout


def test_engine_modules_do_not_load_ui_packages():
    mods = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        f"bad = sorted(k for k in sys.modules if k.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "", f"engine pulled in UI modules: {res.stdout}"


def test_contract_would_catch_a_violation(tmp_path):
    """The grep-free check above is real: a module importing textual is reported."""
    code = "import sys; import textual; print(','.join(k for k in sys.modules if k == 'textual'))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "textual"
