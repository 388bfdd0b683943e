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


def patch(base: dict, other: dict) -> dict:
    """``base`` with the rows of every stage that ``other`` ran replaced by ``other``'s
    (e.g. one stage re-run on its own); the replaced stages are listed under 'patched'."""
    stages = {r["stage"] for r in other["rows"]}
    rows, done = [], set()
    for r in base["rows"]:
        if r["stage"] in stages:
            if r["stage"] not in done:
                rows.extend(o for o in other["rows"] if o["stage"] == r["stage"])
                done.add(r["stage"])
        else:
            rows.append(r)
    rows.extend(o for o in other["rows"] if o["stage"] not in done and o["stage"] not in {r["stage"] for r in rows})
    out = dict(base, rows=rows)
    out["patched"] = sorted(stages) + list(base.get("patched", []))
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.report")
    ap.add_argument("json", nargs="+", help="benchmark JSON file(s) to render")
    ap.add_argument("--patch", metavar="JSON", help="replace the stages this file ran (re-run of one stage)")
    ap.add_argument("--write", metavar="JSON", help="write the patched JSON here")
    a = ap.parse_args(argv)
    for path in a.json:
        report = json.loads(Path(path).read_text())
        if a.patch:
            report = patch(report, json.loads(Path(a.patch).read_text()))
            if a.write:
                Path(a.write).write_text(json.dumps(report, indent=2))
        print(render(report))
        if report.get("patched"):
            print(f"\n(rows of stage(s) {', '.join(report['patched'])} come from a separate run: {a.patch})")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
