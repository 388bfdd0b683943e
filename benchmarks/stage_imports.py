"""Stage: imports. What each path imports and what it costs, from ``python -X
importtime`` in a fresh subprocess per path (cumulative microseconds of the first
import of each package, i.e. inside whichever module pulled it in).

Paths: ``info`` (mmkg-tui info on the demo), ``run`` (mmkg-tui run on the demo,
1 epoch: the same modules as a default run), ``app`` (importing the Textual app
module) and ``api`` (``import engine.api``, promised cheap: no torch). Each row also
says whether engine.core.thread (which sets OMP_WAIT_POLICY) was imported before
torch, as the thread policy needs."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.context import Context
from benchmarks.harness import Row

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "torch._dynamo", "dgl", "sklearn", "scipy", "open_clip", "textual", "rich", "engine.api")


@dataclass
class ImportProfile:
    total_s: float  # sum of top-level cumulative times (everything imported)
    by_package: dict[str, float] = field(default_factory=dict)  # seconds, first import of each
    order: list[str] = field(default_factory=list)  # module names in completion order


def parse_importtime(stderr: str) -> ImportProfile:
    """Parse ``-X importtime`` lines: 'import time: self | cumulative | name'."""
    prof = ImportProfile(0.0)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        try:
            _, cum, name = line[len("import time:"):].split("|")
            cum_s = int(cum) / 1e6
        except ValueError:
            continue
        indent = len(name) - len(name.lstrip())
        name = name.strip()
        prof.order.append(name)
        if indent == 1:
            prof.total_s += cum_s
        if name in PACKAGES and name not in prof.by_package:
            prof.by_package[name] = cum_s
    return prof


def profile(argv: list[str], timeout: float = 900) -> ImportProfile:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False, timeout=timeout)
    if out.returncode != 0:
        tail = [ln for ln in out.stderr.splitlines() if not ln.startswith("import time:")][-3:]
        raise RuntimeError(f"{argv}: exit {out.returncode}: {' | '.join(tail)}")
    return parse_importtime(out.stderr)


def paths(tmp: Path) -> dict[str, list[str]]:
    return {
        "api": ["-c", "import engine.api"],
        "info": ["-m", "mmkg_tui", "info"],
        "run": ["-m", "mmkg_tui", "run", "--epochs", "1", "--out", str(tmp / "run"), "--json", str(tmp / "r.json")],
        "app": ["-c", "import mmkg_tui.app.app"],
    }


def policy_first(prof: ImportProfile) -> bool | None:
    """True when engine.core.thread finished importing before torch did (None: no torch)."""
    if "torch" not in prof.order:
        return None
    return "engine.core.thread" in prof.order and prof.order.index("engine.core.thread") < prof.order.index("torch")


def run(ctx: Context) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(dir=ctx.tmp) as tmp:
        for name, argv in paths(Path(tmp)).items():
            prof = profile(argv)
            parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(prof.by_package.items(), key=lambda kv: -kv[1]))
            pf = policy_first(prof)
            rows.append(Row("imports", f"imports on the '{name}' path (python -X importtime)", ours=prof.total_s,
                            note=f"{parts} s; torch loaded: {'torch' in prof.by_package}; "
                                 f"thread policy before torch: {pf}",
                            extra={"by_package_s": prof.by_package, "policy_before_torch": pf}))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import json

    with tempfile.TemporaryDirectory() as t:
        got = run(Context(quick=True, tmp=Path(t)))
    print(json.dumps([r.to_dict() for r in got], indent=1))
