"""Timing, statistics and reporting shared by the benchmarks: no Django, no project imports."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# A target is met when the p95 is under it: a page that is fast only half the time is slow.
TARGET_STAT = "p95"


@dataclass
class Result:
    """One line of the report: a timing (seconds) or a count, with its target and verdict."""

    group: str
    name: str
    unit: str  # "s" for timings, "queries" for counts
    median: float | None = None
    p95: float | None = None
    n: int = 0
    ops_per_s: float | None = None
    target: str = ""
    passed: bool | None = None  # None: a figure reported without a target
    figure: str = ""  # counts: the figure as shown ("9 at 20, 9 at 200")
    detail: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def verdict(self) -> str:
        """PASS, MISS, ERROR or "" for a figure without a target."""
        if self.error:
            return "ERROR"
        if self.passed is None:
            return ""
        return "PASS" if self.passed else "MISS"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for results.json."""
        return {**asdict(self), "verdict": self.verdict}


def p95(samples: Sequence[float]) -> float:
    """The 95th percentile by nearest rank (with 10 samples, the slowest one)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def timing(
    group: str,
    name: str,
    samples: Sequence[float],
    *,
    target_s: float | None = None,
    target: str = "",
    per_sample_ops: int = 1,
    throughput: bool = True,
    detail: dict[str, Any] | None = None,
) -> Result:
    """A timing result from per-operation samples in seconds, judged on its p95."""
    median = statistics.median(samples)
    high = p95(samples)
    return Result(
        group=group,
        name=name,
        unit="s",
        median=median,
        p95=high,
        n=len(samples) * per_sample_ops,
        ops_per_s=1.0 / median if throughput and median > 0 else None,
        target=target or (f"< {format_target(target_s)}" if target_s is not None else ""),
        passed=None if target_s is None else high < target_s,
        detail=detail or {},
    )


def repeat(call: Callable[[], object], *, runs: int, warmup: int = 2) -> list[float]:
    """Seconds taken by each of `runs` calls, after `warmup` calls that are not counted."""
    for _ in range(warmup):
        call()
    gc.collect()  # start clean; collections the calls themselves cause still count
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def repeat_batched(
    call: Callable[[], object], *, batches: int, batch_size: int, warmup: int = 100
) -> list[float]:
    """Seconds per call, one sample per batch: a call this short is below the timer's grain."""
    for _ in range(warmup):
        call()
    gc.collect()
    samples = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(batch_size):
            call()
        samples.append((time.perf_counter() - started) / batch_size)
    return samples


def format_seconds(value: float | None) -> str:
    """A duration in the unit that reads best: µs, ms or s."""
    if value is None:
        return "—"
    if value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def format_target(value: float) -> str:
    """A target duration, without trailing zeros: 50 µs, 1 ms, 0.5 s."""
    if value < 1e-3:
        return f"{value * 1e6:g} µs"
    if value < 1.0:
        return f"{value * 1e3:g} ms"
    return f"{value:g} s"


def _ops(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def table(results: Sequence[Result]) -> str:
    """The results as aligned text: timings first, then counts, a blank line between groups."""
    timings = [r for r in results if r.unit in ("s", "")]
    counts = [r for r in results if r.unit not in ("s", "")]
    blocks = []
    if timings:
        blocks.append(
            _aligned(
                ("benchmark", "median", "p95", "ops/s", "n", f"target ({TARGET_STAT})", "result"),
                [
                    (
                        r.group,
                        (
                            r.name,
                            format_seconds(r.median) if not r.error else "",
                            format_seconds(r.p95) if not r.error else "",
                            _ops(r.ops_per_s),
                            str(r.n) if r.n else "",
                            r.target,
                            r.verdict,
                        ),
                    )
                    for r in timings
                ],
                right={1, 2, 3, 4},
            )
        )
    if counts:
        blocks.append(
            _aligned(
                ("ratios, rates, memory and SQL queries per page", "figure", "target", "result"),
                [(r.group, (r.name, r.figure, r.target, r.verdict)) for r in counts],
                right=set(),
            )
        )
    return "\n\n".join(blocks)


def _aligned(
    header: tuple[str, ...], rows: list[tuple[str, tuple[str, ...]]], *, right: set[int]
) -> str:
    widths = [len(title) for title in header]
    for _, cells in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, cells, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    out = [line(header), "  ".join("-" * width for width in widths)]
    group = None
    for row_group, cells in rows:
        if group is not None and row_group != group:
            out.append("")
        group = row_group
        out.append(line(cells))
    return "\n".join(out)
