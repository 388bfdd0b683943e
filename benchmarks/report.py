"""Render a benchmark JSON report as Markdown (machine + table):
`python -m benchmarks.report bench.json [more.json ...]` (for docs/BENCHMARKS.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.harness import Row, markdown_table


def rows_from(report: dict) -> list[Row]:
    return [Row(**r) for r in report["rows"]]


def machine_line(m: dict) -> str:
    env = ", ".join(f"{k}={v}" for k, v in (m.get("env") or {}).items() if v is not None) or "none set"
    return (f"{m.get('cpu_count')} CPUs ({m.get('processor')}), {m.get('mem_total_gb', '?')} GB RAM, "
            f"Python {m.get('python')}, torch {m.get('torch')} ({m.get('torch_threads')} threads), "
            f"dgl {m.get('dgl')}, numpy {m.get('numpy')}, scikit-learn {m.get('sklearn')}, "
            f"open_clip {m.get('open_clip')}, textual {m.get('textual')}; env: {env}; "
            f"load average at the end {m.get('loadavg')}")


def render(report: dict) -> str:
    mode = "quick" if report["args"].get("quick") else "full"
    return "\n".join([
        f"**{mode}** run, {report['created']}, {report['elapsed_s']:.0f} s in total.",
        "",
        f"Machine: {machine_line(report['machine'])}.",
        "",
        markdown_table(rows_from(report)),
    ])


def main(argv: list[str] | None = None) -> int:
    for path in argv if argv is not None else sys.argv[1:]:
        print(render(json.loads(Path(path).read_text())))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
