"""Honest wall-clock timing for JAX (and plain NumPy) code.

JAX dispatches work asynchronously and compiles on the first call, so a naive
``t0 = time.perf_counter(); f(x); print(time.perf_counter() - t0)`` measures the
wrong thing twice over. ``time_call`` fixes both:

* warm-up calls run first; the first one (trace + compile + run) is timed and
  reported apart as ``compile_s``, never mixed into the steady-state numbers;
* every timed call gets fresh inputs from ``make_args()`` (built outside the
  clock), so no cached result or donated buffer is reused;
* ``jax.block_until_ready`` waits for the outputs before the clock stops;
* the report is the median of the repeats plus their min and max.

Plain-Python callables (NumPy baselines) work too: blocking on NumPy output is a no-op.
``fmt_time``, ``fmt_speedup`` and ``format_table`` print results; ``device_summary`` says where JAX runs.
"""

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import jax


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of the timed calls, plus the first call measured apart."""

    times: tuple[float, ...]  # one entry per timed repeat
    first_s: float  # first warm-up call (includes tracing and compilation); nan if no warm-up

    @property
    def median_s(self) -> float:
        return statistics.median(self.times)

    @property
    def min_s(self) -> float:
        return min(self.times)

    @property
    def max_s(self) -> float:
        return max(self.times)

    @property
    def compile_s(self) -> float:
        """Estimated one-off cost: first call minus a steady call (0 if no warm-up ran)."""
        return 0.0 if math.isnan(self.first_s) else max(self.first_s - self.median_s, 0.0)

    def __str__(self) -> str:
        return (
            f"{fmt_time(self.median_s)} median ({fmt_time(self.min_s)}-{fmt_time(self.max_s)},"
            f" n={len(self.times)}), compile {fmt_time(self.compile_s)}"
        )


def time_call(
    fn: Callable, make_args: Callable[[], tuple] | None = None, repeats: int = 5, warmup: int = 1
) -> Timing:
    """Time ``fn(*make_args())``: ``warmup`` calls kept out of the median, then ``repeats`` timed ones."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats=}, {warmup=}")
    if make_args is None:
        make_args = tuple

    def one_call() -> float:
        # Inputs may themselves be computed asynchronously: finish them before starting the clock.
        args = jax.block_until_ready(make_args())
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        return time.perf_counter() - start

    first_s = float("nan")
    for i in range(warmup):
        elapsed = one_call()
        if i == 0:
            first_s = elapsed
    times = tuple(one_call() for _ in range(repeats))
    return Timing(times=times, first_s=first_s)


def fmt_time(seconds: float) -> str:
    """Seconds as a short human string with a unit: '812 ns', '3.40 ms', '12.5 s'."""
    units = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9))
    unit, scale = next(((u, s) for u, s in units if seconds >= s), units[-1])
    value = seconds / scale
    digits = 2 if value < 10 else 1 if value < 100 else 0  # 3 significant figures
    return f"{value:.{digits}f} {unit}"


def fmt_speedup(baseline_s: float, seconds: float) -> str:
    """How many times faster than the baseline: '436x', '2.5x', '0.013x'."""
    ratio = baseline_s / seconds
    return f"{ratio:.0f}x" if ratio >= 100 else f"{ratio:.2g}x"


def format_table(headers: list[str], rows: list[list]) -> str:
    """Rows of cells as an aligned text table: first column left-aligned, the rest right-aligned."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def device_summary() -> str:
    """Where JAX runs by default: 'cpu: 2 cores' or 'gpu: NVIDIA H100 80GB HBM3' (with a count if several)."""
    devices = jax.devices()
    platform = devices[0].platform
    if platform == "cpu":
        # Affinity, not os.cpu_count(): containers and CI runners often get fewer cores than the host has.
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return f"cpu: {cores} cores"
    kind = devices[0].device_kind
    return f"{platform}: {kind}" if len(devices) == 1 else f"{platform}: {len(devices)} x {kind}"
