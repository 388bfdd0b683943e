"""Timing harness: warm-up + medians, alternating A/B pairs, peak RSS, machine info.

Every comparison in the suite is a ratio of two callables timed in the same
process, interleaved round by round (A B, B A, A B, ...) so that machine noise
(other processes, frequency scaling, caches) hits both sides alike.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1


# ----------------------------------------------------------------------- rows
@dataclass
class Row:
    """One line of the results table.

    ``ours`` and ``reference`` are numbers in ``unit`` (seconds unless stated);
    ``ratio`` is ours / reference. ``target`` is a human string ('<= 1.2');
    ``met`` is True/False when a target applies and was measured, else None.
    A row whose engine code is missing has ``available=False`` and ``note``
    saying why -- never a made-up number.
    """

    stage: str
    what: str
    ours: float | None = None
    reference: float | None = None
    unit: str = "s"
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    available: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def unavailable(stage: str, what: str, reason: str, target: str = "") -> Row:
    return Row(stage=stage, what=what, target=target, available=False, note=f"not available: {reason}")


def check_ratio(row: Row, max_ratio: float) -> Row:
    """Fill ``target``/``met`` for a 'ratio <= max_ratio' target."""
    row.target = f"ratio <= {max_ratio:g}"
    row.met = None if row.ratio is None else bool(row.ratio <= max_ratio)
    return row


def check_max(row: Row, limit: float, unit: str | None = None) -> Row:
    """Fill ``target``/``met`` for an 'ours < limit' target (absolute)."""
    u = unit or row.unit
    row.target = f"< {limit:g} {u}"
    row.met = None if row.ours is None else bool(row.ours < limit)
    return row


# --------------------------------------------------------------------- timing
Clock = Callable[[], float]


@dataclass
class Timing:
    samples: list[float]

    @property
    def median(self) -> float:
        return float(statistics.median(self.samples))

    @property
    def minimum(self) -> float:
        return float(min(self.samples))


@dataclass
class PairTiming:
    a: Timing
    b: Timing
    order: list[str]  # the order the calls ran in, e.g. ["a", "b", "b", "a", ...] (measured rounds)

    @property
    def ratio(self) -> float:
        """median(a) / median(b)."""
        return ratio(self.a.median, self.b.median)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return float(a) / float(b)


def median(xs: list[float]) -> float:
    if not xs:
        raise ValueError("median of no samples")
    return float(statistics.median(xs))


def time_call(fn: Callable[[], Any], clock: Clock = time.perf_counter) -> float:
    t0 = clock()
    fn()
    return clock() - t0


def time_median(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1, clock: Clock = time.perf_counter) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` timed times."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        fn()
    return Timing([time_call(fn, clock) for _ in range(repeats)])


def alternate(
    a: Callable[[], Any],
    b: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    clock: Clock = time.perf_counter,
) -> PairTiming:
    """Time ``a`` and ``b`` interleaved: round i runs (a, b) when i is even and
    (b, a) when odd, so neither side always runs first. ``warmup`` untimed rounds
    (a then b) come first. Returns both sample lists; ratio = median(a)/median(b)."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        a()
        b()
    sa: list[float] = []
    sb: list[float] = []
    order: list[str] = []
    for i in range(repeats):
        pair = (("a", a, sa), ("b", b, sb)) if i % 2 == 0 else (("b", b, sb), ("a", a, sa))
        for name, fn, sink in pair:
            sink.append(time_call(fn, clock))
            order.append(name)
    return PairTiming(Timing(sa), Timing(sb), order)


def pair_row(stage: str, what: str, pt: PairTiming, *, max_ratio: float | None = None, note: str = "") -> Row:
    row = Row(stage=stage, what=what, ours=pt.a.median, reference=pt.b.median, ratio=pt.ratio, note=note,
              extra={"ours_samples": pt.a.samples, "reference_samples": pt.b.samples})
    if max_ratio is not None:
        check_ratio(row, max_ratio)
    return row


# ------------------------------------------------------------------ machine
def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: VmHWM from /proc/self/status (reset by exec, so a subprocess reports its
    own peak; ru_maxrss would carry the parent's high-water mark across exec)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        return kb / (1 << 20)
    return kb / 1024.0


def _version(mod: str) -> str | None:
    try:
        m = __import__(mod)
    except Exception as exc:  # a broken optional package must not stop the suite
        return f"unavailable ({type(exc).__name__})"
    return getattr(m, "__version__", None)


def machine_info() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "dgl": _version("dgl"),
        "numpy": _version("numpy"),
        "sklearn": _version("sklearn"),
        "open_clip": _version("open_clip"),
        "textual": _version("textual"),
        "env": {k: os.environ.get(k) for k in (
            "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "DGLBACKEND", "HF_HUB_OFFLINE")},
    }
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    info["mem_total_gb"] = round(int(line.split()[1]) / (1 << 20), 1)
    except OSError:
        pass
    try:
        info["loadavg"] = list(os.getloadavg())
    except OSError:
        pass
    return info


# --------------------------------------------------------------------- report
def report_dict(rows: list[Row], *, machine: dict[str, Any], args: dict[str, Any], elapsed_s: float) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine,
        "args": args,
        "elapsed_s": round(elapsed_s, 2),
        "rows": [r.to_dict() for r in rows],
    }


def fmt_value(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "s":
        if x < 1e-3:
            return f"{x * 1e6:.0f} us"
        if x < 1:
            return f"{x * 1e3:.1f} ms"
        return f"{x:.2f} s"
    if abs(x) >= 1000:
        return f"{x:,.0f} {unit}"
    return f"{x:.3g} {unit}"


def render_table(rows: list[Row]):
    from rich.table import Table

    t = Table(title="mmkg-tui benchmarks (ratio = ours / reference, measured alternately in one process)")
    for col, kw in (("stage", {}), ("what", {"overflow": "fold"}), ("ours", {"justify": "right"}),
                    ("reference", {"justify": "right"}), ("ratio", {"justify": "right"}),
                    ("target", {}), ("met?", {}), ("note", {"overflow": "fold"})):
        t.add_column(col, **kw)
    for r in rows:
        met = "-" if r.met is None else ("[green]yes[/]" if r.met else "[red]NO[/]")
        t.add_row(r.stage, r.what, fmt_value(r.ours, r.unit), fmt_value(r.reference, r.unit),
                  "-" if r.ratio is None else f"{r.ratio:.2f}", r.target, met, r.note)
    return t


def markdown_table(rows: list[Row]) -> str:
    out = ["| stage | what | ours | reference | ratio | target | met? | note |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "**NO**")
        cells = [r.stage, r.what, fmt_value(r.ours, r.unit), fmt_value(r.reference, r.unit),
                 "-" if r.ratio is None else f"{r.ratio:.2f}", r.target, met, r.note]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(out)
