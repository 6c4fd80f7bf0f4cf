"""02 - Just-in-time compilation with jax.jit.

What this script teaches
------------------------
1. ``jax.jit`` traces a Python function once per input shape/dtype, hands the recorded
   program (a "jaxpr", see ``jax.make_jaxpr``) to the XLA compiler, and reuses the result.
   A ``print`` inside a jitted function therefore runs while tracing, not on every call.
2. Static arguments (``static_argnames``) are baked into the compiled program: each new
   value triggers a new compilation, so keep them for things like sizes and flags.
3. Compilation has a one-off cost; time it apart from the steady-state run time.
4. Python ``if`` on a traced value fails under jit; use ``jnp.where`` (elementwise) or
   ``jax.lax.cond`` (pick one of two branches) instead.
5. Eager vs jitted GELU: eager JAX runs the 8 elementwise operations one by one, each
   writing a temporary array; jit fuses them into one kernel.

Run
---
    python workshop-3-examples/02_jax_jit.py [--size N] [--repeats R]

Flags
-----
--size N      number of elements in the GELU timing (default 1000000; try 50000000 on a GPU)
--repeats R   timed repeats per measurement; the median is reported (default 7)
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call


def section(title: str) -> None:
    print(f"\n-- {title} " + "-" * max(0, 66 - len(title)))


# ---------------------------------------------------------------------- the functions
def gelu(x):
    """Tanh-approximation GELU, written with jax.numpy (runs eagerly, op by op)."""
    return 0.5 * x * (1.0 + jnp.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


gelu_jit = jax.jit(gelu)  # same maths, compiled into one fused XLA program


def gelu_numpy(x):
    """The NumPy baseline: every operation allocates a temporary array."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


@jax.jit
def noisy_square(x):
    # Runs while TRACING only: x is an abstract tracer here, not numbers.
    print(f"    [tracing noisy_square] x = {x}")
    return x**2


def power(x, n):
    """x**n by repeated multiplication: the Python loop needs a concrete ``n``."""
    result = jnp.ones_like(x)
    for _ in range(n):
        result = result * x
    return result


power_jit = jax.jit(power, static_argnames="n")  # `n` becomes part of the compiled program


def relu_python_if(x):
    """Works eagerly on a scalar, fails under jit: `if` needs a concrete True/False."""
    if x > 0:
        return x
    return 0.0 * x


@jax.jit
def relu_where(x):
    # Both sides are computed, then selected elementwise: fine for cheap branches.
    return jnp.where(x > 0, x, 0.0)


@jax.jit
def safe_log_or_square(x):
    # lax.cond picks ONE branch at run time from a traced boolean scalar.
    return jax.lax.cond(x > 0, jnp.log, jnp.square, x)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000,
                        help="elements in the GELU timing (default 1000000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats (default 7)")
    args = parser.parse_args(argv)

    print("02 - jax.jit: tracing, static arguments, compile cost, control flow")
    print(f"Device: {device_summary()}   jax.devices() = {jax.devices()}")

    # ------------------------------------------------------------------ 1. tracing
    section("1. Tracing: Python runs once per input shape")
    for shape in [(3,), (3,), (3,), (5,)]:
        print(f"  call with shape {shape}")
        noisy_square(jnp.ones(shape))
    print("  -> printed for the first (3,) call and for (5,) only: same shape reuses the compiled code.")
    print("\njax.make_jaxpr(gelu) shows what jit records (one line per primitive):")
    print(jax.make_jaxpr(gelu)(jnp.ones(3)))

    # ------------------------------------------------------------------ 2. static args
    section("2. Static arguments and recompilation")
    x = jnp.arange(1.0, 4.0)
    try:
        jax.jit(power)(x, 3)
    except jax.errors.TracerIntegerConversionError:
        print("jax.jit(power)(x, 3)   -> TracerIntegerConversionError: range(n) needs a concrete n")
    rows = []
    for n in [2, 3, 3, 2, 4]:
        start = time.perf_counter()
        y = power_jit(x, n=n).block_until_ready()
        rows.append([f"n={n}", fmt_time(time.perf_counter() - start), str(y)])
    print("power_jit = jax.jit(power, static_argnames='n'):")
    print(format_table(["call", "wall time", "result"], rows))
    print("New n values compile (slow); repeated values hit the cache (fast).")

    # ------------------------------------------------------------------ 3. compile cost
    section("3. Compilation cost, measured apart")
    x = jax.random.normal(jax.random.key(0), (args.size,))
    fresh_gelu = jax.jit(gelu)  # a new wrapper, so nothing is cached yet
    start = time.perf_counter()
    lowered = fresh_gelu.lower(x)  # trace to a jaxpr and lower it to XLA's input language
    t_lower = time.perf_counter() - start
    start = time.perf_counter()
    compiled = lowered.compile()  # XLA optimises and generates machine code
    t_compile = time.perf_counter() - start
    t_run = time_call(compiled, lambda: (x,), repeats=args.repeats)
    print(format_table(["stage", "time"], [
        ["trace + lower", fmt_time(t_lower)],
        ["XLA compile", fmt_time(t_compile)],
        ["run (median)", fmt_time(t_run.median_s)],
    ]))
    print("Compilation is paid once per input shape: create jitted functions once (e.g. at module\n"
          "level) and call them many times; never wrap jax.jit(...) around a function inside a loop.")

    # ------------------------------------------------------------------ 4. control flow
    section("4. Control flow under jit")
    print(f"relu_python_if(2.0) eagerly      = {relu_python_if(jnp.array(2.0))}")
    try:
        jax.jit(relu_python_if)(jnp.array(2.0))
    except jax.errors.TracerBoolConversionError:
        print("jax.jit(relu_python_if)(2.0)     -> TracerBoolConversionError: `if` on a traced value")
    print(f"relu_where([-1, 0.5, 2])         = {relu_where(jnp.array([-1.0, 0.5, 2.0]))}")
    print(f"safe_log_or_square(e), (-3)      = {safe_log_or_square(jnp.e):.3f}, "
          f"{safe_log_or_square(-3.0):.3f}")

    # ------------------------------------------------------------------ 5. eager vs jit
    section(f"5. GELU on {args.size:,} float32 values: eager vs jit")
    rng = np.random.default_rng(0)
    key = jax.random.key(1)

    def host_input():
        return (rng.standard_normal(args.size, dtype=np.float32),)

    def device_input():
        nonlocal key
        key, sub = jax.random.split(key)  # fresh numbers each run: nothing is reused
        return (jax.random.normal(sub, (args.size,)),)

    # Start from empty caches so the first-call cost below is the real one (section 3 already
    # compiled gelu for this shape). Eager JAX compiles each primitive on first use, too.
    jax.clear_caches()
    timings = {
        "NumPy": time_call(gelu_numpy, host_input, repeats=args.repeats),
        "JAX eager (gelu)": time_call(gelu, device_input, repeats=args.repeats),
        "JAX jit (gelu_jit)": time_call(gelu_jit, device_input, repeats=args.repeats),
    }
    base = timings["NumPy"].median_s
    rows = [[name, fmt_time(t.median_s), fmt_time(t.min_s), fmt_time(t.max_s),
             "-" if name == "NumPy" else fmt_time(t.compile_s), fmt_speedup(base, t.median_s)]
            for name, t in timings.items()]
    print(format_table(["", "median", "min", "max", "compile*", "vs NumPy"], rows))
    print("* compile = first call minus a steady call (tracing + XLA compilation), not in the median.")
    sample = host_input()[0]
    err = float(np.max(np.abs(np.asarray(gelu_jit(sample)) - gelu_numpy(sample.astype(np.float64)))))
    print(f"max |gelu_jit - NumPy float64 GELU| = {err:.1e}  -> {'OK' if err < 1e-5 else 'MISMATCH'}")


if __name__ == "__main__":
    main()
