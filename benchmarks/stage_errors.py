"""Stage errors: how long a user waits for a clear error. The app launched in a real
tmux pty (as in stage app) on a folder of images with no vectors, offline, with no
weights cached: seconds until the error screen is up (target < 3 s, issue 8), next to
a bare Textual app launched the same way."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.context import Context
from benchmarks.harness import Row, check_max
from benchmarks.stage_app import BARE_APP, TMUX_SOCKET, _pty_launch

TARGET_S = 3.0
ERROR_TEXT = "Cannot open the data"


def _photo_folder(folder: Path, n: int = 20) -> Path:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = ["id,image,keywords"]
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
        rows.append(f"p{i},p{i}.png,pool|lawn")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder


def run(ctx: Context) -> list[Row]:
    data = _photo_folder(ctx.subdir("errors-photos"))
    bare = ctx.subdir("errors-bare") / "bare.py"
    bare.write_text(BARE_APP)
    root = Path(__file__).resolve().parents[1]
    home = ctx.subdir("errors-home")
    env = {"PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "MMKG_TUI_HOME": str(home / "home"),
           "MMKG_TUI_CACHE": str(home / "cache"), "HF_HOME": str(home / "hf")}  # nothing cached
    keeper = ["tmux", "-L", TMUX_SOCKET]
    subprocess.run(keeper + ["new-session", "-d", "-s", "keeper", "sleep 3600"], check=True)
    ours, ref = [], []
    try:
        for _ in range(ctx.pick(2, 5)):
            ours.append(_pty_launch(f"{sys.executable} -m mmkg_tui --data {data}", ERROR_TEXT, env)[1])
            ref.append(_pty_launch(f"{sys.executable} {bare}", "bare textual app ready", env)[1])
    finally:
        subprocess.run(keeper + ["kill-server"], capture_output=True)
    a, b = statistics.median(ours), statistics.median(ref)
    row = Row("errors", "offline, images without vectors: launch to the error screen (tmux pty)", ours=a,
              reference=b, ratio=a / b, note="ref = a bare Textual app launched the same way; 20 images, "
                                             "HF_HUB_OFFLINE=1, empty HF and feature caches",
              extra={"ours_samples": ours, "reference_samples": ref})
    return [check_max(row, TARGET_S)]
