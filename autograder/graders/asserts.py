"""Assertions for graders whose failure messages teach: what is wrong, where, and the likely bug."""

from __future__ import annotations

import numpy as np

from autograder.messages import explain
from autograder.submission import CallResult, Trace


def _short(a) -> str:
    if isinstance(a, np.ndarray):
        return f"<{a.dtype} array {a.shape}>"
    if isinstance(a, dict):
        return "{" + ", ".join(f"{k!r}: {_short(v)}" for k, v in a.items()) + "}"
    if isinstance(a, (list, tuple)):
        if len(a) > 4:
            return f"<{type(a).__name__} of {len(a)}>"
        inner = ", ".join(_short(x) for x in a)
        return f"[{inner}]" if isinstance(a, list) else f"({inner})"
    return repr(a)


def fmt_call(name: str, *args) -> str:
    """A short description of a call for messages: arrays by shape, scalars by value."""
    return f"{name}({', '.join(_short(a) for a in args)})"


def assert_close(actual, expected, *, call: str, rtol: float = 1e-5, atol: float = 1e-6,
                 hint: str = "") -> None:
    """Compare a student's array with the reference; the message locates the worst entry."""
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        raise AssertionError(f"{call} returned shape {actual.shape}, expected {expected.shape}"
                             + (f"; {hint}" if hint else ""))
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise AssertionError(f"{call} returned NaN or inf where the reference is finite"
                             + (f"; {hint}" if hint else ""))
    bad = np.abs(a - e) > atol + rtol * np.abs(e)
    if bad.any():
        err = np.abs(a - e)
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape)) if err.ndim else ()
        raise AssertionError(
            f"{call} differs from the reference at {int(bad.sum())} of {bad.size} entries "
            f"(largest error {float(err.max()):.3g} at index {list(worst)}: got {a[worst]:.6g}, "
            f"expected {e[worst]:.6g})" + (f"; {hint}" if hint else ""))


def assert_dtype(value, dtype, *, call: str, hint: str = "") -> None:
    value = np.asarray(value)
    if value.dtype != np.dtype(dtype):
        raise AssertionError(f"{call} returned {value.dtype}, expected {np.dtype(dtype)}"
                             + (f"; {hint}" if hint else "; keep float32 (mind float64 constants from NumPy)"))


def assert_on_device(result: CallResult, *, call: str) -> None:
    """The result must be a JAX array: NumPy results mean the work ran on the host."""
    if "numpy" in result.kinds:
        raise AssertionError(f"{call} returned a NumPy array: the work ran on the host, not in JAX; "
                             "use jax.numpy (jnp) instead of numpy (np) inside the function")


def assert_traceable(trace: Trace, *, name: str) -> None:
    if not trace.traceable:
        error = trace.error or "unknown error"
        if error.startswith("NotImplementedError"):
            raise AssertionError(f"{name} is not implemented yet ({error.splitlines()[0][:120]})")
        raise AssertionError(f"{name} cannot be traced by JAX: {explain(error)}")


def compiled_loop_problem(name: str, short: Trace, long: Trace, counts: tuple[int, int]) -> str:
    """'' when ``name`` is one jitted program whose loop does not grow with the trip count,
    else what is wrong. ``short``/``long`` are traces at the two trip counts ``counts``."""
    for trace in (short, long):
        if not trace.traceable and not trace.jit_wrapped and "TracerArrayConversionError" in trace.error:
            # A Python loop that copies the array to the host each pass (np.array, np.asarray):
            # the usual way NumPy code is ported, named as such (JAX's own words follow).
            raise AssertionError(
                f"{name} is not jit-compiled and its loop runs in Python, copying the array to the host "
                "(np.array / np.asarray) every step: decorate it with @jax.jit, loop with "
                f"jax.lax.fori_loop and keep the array in jax.numpy ({explain(trace.error)})")
        assert_traceable(trace, name=name)
    if not is_jitted(long):
        return (f"{name} is not jit-compiled: the loop runs in Python; decorate it with @jax.jit "
                f"(its program starts with {len(long.top)} operations: {', '.join(long.top[:4])}"
                f"{', ...' if len(long.top) > 4 else ''})")
    if long.eqns != short.eqns or loop_count(long) < 1:
        return (f"{name} unrolls a Python loop inside jit: use jax.lax.fori_loop (its program has "
                f"{short.eqns} operations for {counts[0]} steps and {long.eqns} for {counts[1]}, with "
                f"{loop_count(long)} compiled loops)")
    return ""


def is_jitted(trace: Trace) -> bool:
    """A jitted function traces to one call of a compiled sub-program (`jit`/`pjit`)."""
    return len(trace.top) == 1 and trace.top[0] in ("jit", "pjit")


def loop_count(trace: Trace) -> int:
    """Compiled loops anywhere in the program (fori_loop/while_loop lower to while, scan to scan)."""
    return trace.primitives.get("while", 0) + trace.primitives.get("scan", 0)


def log_race(what: str, race) -> None:
    """One ``[speed]`` line on stdout; the runner puts it in the test's output, pass or fail,
    so every grading run records the measured ratio (and thresholds.py can be recalibrated)."""
    early = ", stopped early: the verdict was clear" if race.stopped_early else ""
    print(f"[speed] {what}: candidate {np.median(race.candidate_s) * 1e3:.4g} ms, baseline "
          f"{np.median(race.baseline_s) * 1e3:.4g} ms, baseline/candidate {race.speedup:.3g} "
          f"({len(race.candidate_s)} runs{early})")


def assert_unchanged(before: np.ndarray, after: np.ndarray, *, name: str) -> None:
    if not np.array_equal(before, after):
        raise AssertionError(f"{name} changed its input array: build and return a new array "
                             "(x.at[...].set(...)) and leave the argument as it was")
