"""Time the reference answers against their alternatives and the golden NumPy code.

1. Heat step at each --sizes grid, float32. Four ways of writing the same FTCS update
   (textbook `.at[].set`, `jnp.pad` + `where`, `jnp.roll` + `where`, 3x3 convolution + `where`),
   each inside a compiled `fori_loop` with n_steps traced; the `jnp.pad` form also with n_steps
   static and in 32-step chunks; the shipped `simulate`; and every form, the shipped
   `heat_step` too, as one jitted call per step from Python. Reported in ms/step and as achieved
   bandwidth (bytes = u read once + written once) in % of a measured device-to-device copy,
   and in % of the fastest "ceiling" row of the same size (one read and one write of the grid per
   step and nothing else, timed the same way: what a one-pass step can reach at that size).
2. MLP training at digits size ([64, 128, 10], batch 64): a Python loop that slices device
   arrays per step, a Python loop over pre-sliced batches, a `lax.scan` epoch fed by eager
   shuffling, the shipped epoch (shuffle + `lax.scan` in one jit) and the whole shipped
   `train_mlp`, in ms/step.
3. The golden NumPy heat step and SGD step on the host CPU, for the speedup column.

Protocol: compile outside the timed region (one warm-up call), `block_until_ready` before reading
the clock, median over --repeats, inputs rotated over enough buffers to overflow the GPU's L2,
random (never zero) data, every variant checked against the float64 oracle first. The Markdown
table is printed last. See benchmarks/README.md.

    PYTHONPATH=$PWD python3 benchmarks/bench_references.py           # the GPU defaults
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_references.py --sizes 64 96 \
        --loop-steps 24 --repeats 3 --epochs 2 --calls 5 --copy-size 1024   # a quick CPU check
"""

import argparse
import json
import math
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from solutions import oracles
from solutions.answers import deep_learning_jax, heat_equation_jax
from course.digits import load_digits
from solutions.golden import heat as golden_heat
from solutions.golden import mlp as golden_mlp

ALPHA, DX = 1.0, 0.5
DT = 0.9 * golden_heat.stable_dt(ALPHA, DX)
L2_OVERFLOW_BYTES = 128 * 2**20  # rotate inputs over more than twice the L2 (H100 50 MB, H200 ~60 MB)
HEAT_TOL = 1e-5  # relative error of a float32 step against the float64 oracle
MLP_SIZES = [64, 128, 10]
MLP_BATCH, MLP_LR = 64, 0.1


# --- the heat-step variants (all compute u + r * laplacian on the interior, edges kept) ------


def _interior(shape):
    rows = jax.lax.broadcasted_iota(jnp.int32, shape, 0)
    cols = jax.lax.broadcasted_iota(jnp.int32, shape, 1)
    return (rows > 0) & (rows < shape[0] - 1) & (cols > 0) & (cols < shape[1] - 1)


def step_textbook(u, alpha, dt, dx):
    r = alpha * dt / dx**2
    c = u[1:-1, 1:-1]
    lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * c
    return u.at[1:-1, 1:-1].set(c + r * lap)


def pad_where_r(u, r):
    p = jnp.pad(u, 1)
    lap = p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4 * u
    return jnp.where(_interior(u.shape), u + r * lap, u)


def step_pad_where(u, alpha, dt, dx):
    return pad_where_r(u, alpha * dt / dx**2)


def step_roll_where(u, alpha, dt, dx):
    r = alpha * dt / dx**2
    lap = (jnp.roll(u, 1, 0) + jnp.roll(u, -1, 0) + jnp.roll(u, 1, 1) + jnp.roll(u, -1, 1)
           - 4 * u)
    return jnp.where(_interior(u.shape), u + r * lap, u)


_STENCIL = jnp.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], jnp.float32)[None, None]


def step_conv_where(u, alpha, dt, dx):
    r = alpha * dt / dx**2
    # HIGHEST: the default lets cuDNN use TF32, whose 10-bit mantissa fails the accuracy check.
    lap = jax.lax.conv_general_dilated(
        u[None, None], _STENCIL.astype(u.dtype), (1, 1), "SAME",
        precision=jax.lax.Precision.HIGHEST)[0, 0]
    return jnp.where(_interior(u.shape), u + r * lap, u)


def step2_pad_where(u, alpha, dt, dx):
    """Two FTCS steps as one whole-array expression of u, so that XLA can compile them to one
    read-u-write-out kernel: the first step's values at a cell and its four neighbours are
    recomputed from u (in registers and cache) instead of being written out and read back.
    Each value goes through the same operations as in two calls of step_pad_where."""
    r = alpha * dt / dx**2
    ny, nx = u.shape
    p = jnp.pad(u, 2)
    rows = jax.lax.broadcasted_iota(jnp.int32, u.shape, 0)
    cols = jax.lax.broadcasted_iota(jnp.int32, u.shape, 1)

    def first_step(di, dj):  # the first step's value at (i + di, j + dj), for every (i, j)
        at = lambda a, b: p[2 + di + a:2 + di + a + ny, 2 + dj + b:2 + dj + b + nx]  # noqa: E731
        c = at(0, 0)
        lap = at(1, 0) + at(-1, 0) + at(0, 1) + at(0, -1) - 4 * c
        i, j = rows + di, cols + dj
        inside = (i > 0) & (i < ny - 1) & (j > 0) & (j < nx - 1)
        return jnp.where(inside, c + r * lap, c)

    c = first_step(0, 0)
    lap = first_step(1, 0) + first_step(-1, 0) + first_step(0, 1) + first_step(0, -1) - 4 * c
    return jnp.where(_interior(u.shape), c + r * lap, c)


HEAT_FORMS = {
    "textbook .at[].set": step_textbook,
    "jnp.pad + where": step_pad_where,
    "jnp.roll + where": step_roll_where,
    "conv 3x3 + where": step_conv_where,
}
SHIPPED_STEP = "shipped heat_step"


def traced_loop(step):
    """The step inside one compiled fori_loop, n_steps traced. XLA makes it a while loop whose
    trip count is unknown at compile time, so the GPU checks the condition on the host after
    every step."""
    return jax.jit(lambda u, n: jax.lax.fori_loop(0, n, lambda _, v: step(v, ALPHA, DT, DX), u))


def static_loop(step):
    """n_steps static: a loop of known trip count, compiled anew for every n_steps."""
    return jax.jit(lambda u, n: jax.lax.fori_loop(0, n, lambda _, v: step(v, ALPHA, DT, DX), u),
                   static_argnums=1)


def chunked_loop(step, chunk, unroll=False, **jit_options):
    """n_steps traced, but `chunk` steps (a static inner loop) per outer iteration, so the host
    check happens once per chunk; the n_steps % chunk left over run one by one. ``unroll``: the
    inner loop unrolled, so that consecutive steps alternate between two buffers instead of
    copying the loop's carry after every step."""

    def run(u, n):
        one = lambda _, v: step(v, ALPHA, DT, DX)  # noqa: E731
        inner = lambda _, v: jax.lax.fori_loop(0, chunk, one, v, unroll=unroll)  # noqa: E731
        u = jax.lax.fori_loop(0, n // chunk, inner, u)
        return jax.lax.fori_loop(0, n % chunk, one, u)

    return jax.jit(run, **jit_options)


def static_scan_two(step2, step, unroll, **jit_options):
    """n_steps static: a scan over pairs of steps (step2 advances two at once), `unroll` pairs
    per iteration, and one single step when n_steps is odd."""
    def run(u, n):
        u = jax.lax.scan(lambda v, _: (step2(v, ALPHA, DT, DX), None), u, None, length=n // 2,
                         unroll=unroll)[0]
        return step(u, ALPHA, DT, DX) if n % 2 else u

    return jax.jit(run, static_argnums=1, **jit_options)


def once_r_loop(kind, unroll):
    """The reference's own compiled step (heat_equation_jax._step) with r = alpha*dt/dx**2
    computed once before the loop, alpha, dt and dx traced as in simulate (where heat_step
    computes r inside the loop, once per step); n_steps static. kind: "fori" or "scan"."""
    step = heat_equation_jax._step

    def run(u, n, alpha, dt, dx):
        r = alpha * dt / dx**2
        if kind == "fori":
            return jax.lax.fori_loop(0, n, lambda _, v: step(v, r), u, unroll=unroll)
        return jax.lax.scan(lambda v, _: (step(v, r), None), u, None, length=n, unroll=unroll)[0]

    jitted = jax.jit(run, static_argnums=1)
    return lambda u, n: jitted(u, n, ALPHA, DT, DX)


def traced_r_scan(step_r, unroll):
    """A step of (u, r) in a static-n scan, r = alpha*dt/dx**2 passed in traced (as in simulate,
    where alpha, dt and dx are arguments) instead of folded into the program as a constant."""
    jitted = jax.jit(lambda u, n, r: jax.lax.scan(lambda v, _: (step_r(v, r), None), u, None, length=n,
                                                  unroll=unroll)[0], static_argnums=1)
    return lambda u, n: jitted(u, n, ALPHA * DT / DX**2)


def flat_shift_r(u, r):
    """The step on the grid as one row of ny*nx values: the four neighbours are shifts of a 1-D
    padded copy by 1 and by nx, so the kernel needs no 2-D index arithmetic for them."""
    ny, nx = u.shape
    n = ny * nx
    f = u.reshape(n)
    p = jnp.pad(f, nx)
    lap = p[:n] + p[2 * nx:] + p[nx - 1:nx - 1 + n] + p[nx + 1:nx + 1 + n] - 4 * f
    return jnp.where(_interior(u.shape).reshape(n), f + r * lap, f).reshape(ny, nx)


def interior_pad_r(u, r):
    """The update computed on the interior slices only, then padded back with u's edges."""
    c = u[1:-1, 1:-1]
    inner = c + r * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * c)
    return jnp.where(_interior(u.shape), jnp.pad(inner, 1), u)


def static_scan(step, unroll, **jit_options):
    """n_steps static: a scan of known length, `unroll` steps per iteration."""
    def run(u, n):
        return jax.lax.scan(lambda v, _: (step(v, ALPHA, DT, DX), None), u, None, length=n,
                            unroll=unroll)[0]

    return jax.jit(run, static_argnums=1, **jit_options)


# XLA can record a loop's kernels as one CUDA graph with the loop condition on the device
# (command buffers with WHILE/CONDITIONAL), which removes the host check and the launch gaps.
COMMAND_BUFFERS = {"compiler_options": {
    "xla_gpu_enable_command_buffer": "FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,WHILE,CONDITIONAL"}}


def single_step_variants():
    """name -> f(u, alpha, dt, dx), one call per step. The shipped heat_step is called as it is:
    it folds alpha*dt/dx**2 on the host before its jitted kernel."""
    variants = {name: jax.jit(step) for name, step in HEAT_FORMS.items()}
    variants[SHIPPED_STEP] = heat_equation_jax.heat_step
    return variants


def loop_variants(only=None):
    """name -> f(u, n_steps), the time loop compiled; with ``only`` (substrings), just the
    variants whose names contain one of them."""
    variants = {f"{name}, fori_loop (traced n)": traced_loop(step)
                for name, step in HEAT_FORMS.items()}
    variants["jnp.pad + where, fori_loop (static n)"] = static_loop(step_pad_where)
    for k in (8, 16, 32):
        variants[f"jnp.pad + where, {k}-step unrolled chunks (traced n)"] = chunked_loop(
            step_pad_where, k, unroll=True)
    variants["jnp.pad + where, 16-step unrolled chunks, command buffers (traced n)"] = chunked_loop(
        step_pad_where, 16, unroll=True, **COMMAND_BUFFERS)
    variants["jnp.pad + where, scan unroll 8 (static n)"] = static_scan(step_pad_where, 8)
    variants["jnp.pad + where, scan unroll 8, command buffers (static n)"] = static_scan(
        step_pad_where, 8, **COMMAND_BUFFERS)
    variants["jnp.pad + where, scan unroll 32 (static n)"] = static_scan(step_pad_where, 32)
    variants["jnp.pad + where, scan fully unrolled (static n)"] = static_scan(step_pad_where, True)
    variants["jnp.pad + where, scan fully unrolled, command buffers (static n)"] = static_scan(
        step_pad_where, True, **COMMAND_BUFFERS)
    for k in (4, 8):
        variants[f"jnp.pad + where, two steps per kernel, scan unroll {k} (static n)"] = (
            static_scan_two(step2_pad_where, step_pad_where, k))
    variants["reference _step, r computed once, fori_loop unroll 8 (static n)"] = once_r_loop("fori", 8)
    variants["reference _step, r computed once, scan unroll 32 (static n)"] = once_r_loop("scan", 32)
    # What separates the shipped simulate from the fastest scan at small sizes: r traced, the
    # reference's step jitted on its own (nested in the loop's jit), alpha, dt, dx as constants.
    variants["jnp.pad + where, r traced, scan unroll 8 (static n)"] = traced_r_scan(pad_where_r, 8)
    variants["jnp.pad + where, r traced, scan unroll 32 (static n)"] = traced_r_scan(pad_where_r, 32)
    variants["flat 1-D shifts + where, r traced, scan unroll 8 (static n)"] = traced_r_scan(flat_shift_r, 8)
    variants["interior slices padded back + where, r traced, scan unroll 8 (static n)"] = traced_r_scan(
        interior_pad_r, 8)
    variants["reference _step unjitted, r traced, scan unroll 8 (static n)"] = traced_r_scan(
        heat_equation_jax._step.__wrapped__, 8)
    variants["shipped simulate, alpha, dt, dx constants (static n)"] = jax.jit(
        lambda u, n: heat_equation_jax.simulate(u, ALPHA, DT, DX, n), static_argnums=1)
    variants["shipped simulate (the reference answer)"] = (
        lambda u, n_steps: heat_equation_jax.simulate(u, ALPHA, DT, DX, n_steps))
    if only:
        variants = {k: v for k, v in variants.items() if any(o in k for o in only)}
    return variants


def peer_variants():
    """name -> (convert a JAX grid to the framework's array, f(array, n_steps)), for the peers
    that run on the GPU machine: torch.compile and a CuPy raw kernel (benchmarks/
    probe_speed_design.py holds their code). Empty where neither is installed."""
    from benchmarks import probe_speed_design as probe

    variants = {}
    try:
        import torch

        if torch.cuda.is_available():
            step = probe.torch_step(torch)
            variants["torch.compile of the slicing step"] = (
                lambda u: torch.from_dlpack(u).clone(), probe.torch_loop(torch, torch.compile(step)))
    except ImportError:
        pass
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
        variants["CuPy raw kernel"] = (lambda u: cupy.from_dlpack(u).copy(), probe.cupy_loop(cupy))
    except Exception:  # no cupy, or cupy without a GPU: the row is left out
        pass
    return variants


# --- timing ----------------------------------------------------------------------------------


def log(msg):
    print(msg, flush=True)


def median_seconds(run, repeats):
    """Median wall time of run(i) for i in range(repeats) (run must block on its result), and
    the spread (max - min) / median."""
    samples = []
    for i in range(repeats):
        t0 = time.perf_counter()
        run(i)
        samples.append(time.perf_counter() - t0)
    median = statistics.median(samples)
    return median, (max(samples) - min(samples)) / median


def n_buffers(n):
    """How many n x n float32 grids to rotate over so that together they overflow the L2."""
    return max(2, math.ceil(L2_OVERFLOW_BYTES / (n * n * 4)))


def random_grids(rng, n, count):
    # Random values with a nonzero, non-constant boundary: wrong edges or indexing show up.
    return [jax.device_put(rng.uniform(0.5, 100.0, (n, n)).astype(np.float32))
            for _ in range(count)]


def relative_error(out, ref):
    out = np.asarray(out, dtype=np.float64)
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def measure_copy_bandwidth(rng, size, repeats, calls=20):
    """Bytes read + written per second by a large device-to-device copy: the ceiling."""
    copy = jax.jit(jnp.copy)
    x = jax.device_put(rng.uniform(size=(size, size)).astype(np.float32))
    jax.block_until_ready(copy(x))

    def run(_):
        for _ in range(calls):
            out = copy(x)
        jax.block_until_ready(out)

    seconds, _ = median_seconds(run, repeats)
    return 2 * x.nbytes / (seconds / calls)


CEILING = "ceiling: "  # the rows that measure one pass over the grid per step, at that size


def ceiling_variants():
    """name -> (f(u, n_steps) on the device, expected(u0, n_steps) in NumPy): one read and one
    write of the grid per step and nothing else, timed like the heat loops at each size. What a
    256 MiB copy cannot show at 2048**2: a step's launch and tail cost, which every one-pass
    kernel pays."""
    scale = np.float32(1.0000001)

    def scaled(u, n):  # u * s per step; the barrier keeps XLA from fusing the unrolled steps into one pass
        return jax.lax.scan(lambda v, _: (jax.lax.optimization_barrier(v * scale), None), u, None,
                            length=n, unroll=8)[0]

    variants = {f"{CEILING}u * s per step, scan unroll 8 (static n), steps kept apart":
                (jax.jit(scaled, static_argnums=1),
                 lambda u0, n: np.asarray(u0, np.float64) * float(scale) ** n)}
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()

        def copies(u, n):
            a = cupy.from_dlpack(u).copy()
            b = cupy.empty_like(a)
            for _ in range(n):
                cupy.copyto(b, a)
                a, b = b, a
            cupy.cuda.Device().synchronize()
            return a

        variants[f"{CEILING}CuPy copy kernels back to back"] = (copies, lambda u0, n: np.asarray(u0, np.float64))
    except Exception:  # no cupy, or no GPU for it: the row is left out
        pass
    return variants


def step_bytes(n):
    """Bytes one heat step on an n x n float32 grid moves: u read once, written once."""
    return 2 * n * n * 4


def bandwidth(n, seconds_per_step):
    """Achieved GB/s of one heat step (the step_bytes accounting)."""
    return step_bytes(n) / seconds_per_step / 1e9


def heat_row(n, variant, seconds_per_step, golden_s, copy_bw, check, spread=None):
    bytes_per_step = step_bytes(n)
    return dict(bench="heat", size=f"{n}x{n}", variant=variant, ms_per_step=seconds_per_step * 1e3,
                gbps=bandwidth(n, seconds_per_step),
                pct_copy=(None if copy_bw is None
                          else 100 * bytes_per_step / seconds_per_step / copy_bw),
                speedup=golden_s / seconds_per_step, check=check, spread=spread)


def bench_heat(args, rng, copy_bw, rows, log):
    check_steps = 5
    for n in args.sizes:
        grids = random_grids(rng, n, n_buffers(n))
        first = np.asarray(grids[0])
        one_step_ref = oracles.heat_step(first, ALPHA, DT, DX)
        loop_ref = (oracles.simulate(first, ALPHA, DT, DX, check_steps)
                    if n <= args.loop_check_max else None)

        # Golden NumPy on the host CPU, float32: the speedup column's baseline.
        golden_s, _ = median_seconds(
            lambda _: golden_heat.heat_step(first, ALPHA, DT, DX), args.golden_repeats)
        rows.append(heat_row(n, "golden NumPy heat_step (CPU)", golden_s, golden_s, None,
                             "reference"))
        log(f"heat {n}: golden {golden_s * 1e3:.3f} ms/step")

        def check(errors):
            worst = max(errors)
            return f"rel.err {worst:.1e}" + ("" if worst < HEAT_TOL else " FAIL")

        for name, loop in loop_variants(args.loops).items():
            errors = [relative_error(loop(grids[0], 1), one_step_ref)]
            if loop_ref is not None:
                errors.append(relative_error(loop(grids[0], check_steps), loop_ref))
            jax.block_until_ready(loop(grids[0], args.loop_steps))  # compiles a static-n loop
            loop_s, spread = median_seconds(
                lambda i: jax.block_until_ready(loop(grids[i % len(grids)], args.loop_steps)),
                args.repeats)
            per_step = loop_s / args.loop_steps
            rows.append(heat_row(n, name, per_step, golden_s, copy_bw, check(errors), spread))
            log(f"heat {n}: {name}: {per_step * 1e3:.4f} ms/step spread {spread:.0%} "
                f"{check(errors)}")

        from benchmarks.probe_speed_design import to_np  # lazily, as in peer_variants

        for name, (loop, expected) in ceiling_variants().items():
            err = relative_error(to_np(loop(grids[0], check_steps)), expected(first, check_steps))
            loop(grids[0], args.loop_steps)  # compile / warm up
            loop_s, spread = median_seconds(lambda i: jax.block_until_ready(loop(grids[i % len(grids)], args.loop_steps)),
                                            args.repeats)
            per_step = loop_s / args.loop_steps
            rows.append(heat_row(n, name, per_step, golden_s, copy_bw, check([err]), spread))
            log(f"heat {n}: {name}: {per_step * 1e3:.4f} ms/step spread {spread:.0%} {check([err])}")

        for name, (convert, loop) in peer_variants().items():
            inputs = [convert(g) for g in grids]
            # Neither loop writes to its input (torch: each step clones, CuPy: cupy.array copies
            # it), so inputs[0] serves the check and then the timing.
            errors = [relative_error(to_np(loop(inputs[0], 1)), one_step_ref)]
            loop(inputs[0], args.loop_steps)  # compile / warm up
            loop_s, spread = median_seconds(lambda i: loop(inputs[i % len(inputs)], args.loop_steps),
                                            args.repeats)
            per_step = loop_s / args.loop_steps
            rows.append(heat_row(n, name, per_step, golden_s, copy_bw, check(errors), spread))
            log(f"heat {n}: {name}: {per_step * 1e3:.4f} ms/step spread {spread:.0%} {check(errors)}")

        for name, single in ({} if args.skip_single else single_step_variants()).items():
            errors = [relative_error(single(grids[0], ALPHA, DT, DX), one_step_ref)]

            # One call per step, dispatched back to back from Python.
            def run_calls(i):
                for k in range(args.calls):
                    out = single(grids[(i * args.calls + k) % len(grids)], ALPHA, DT, DX)
                jax.block_until_ready(out)

            call_s, spread = median_seconds(run_calls, args.repeats)
            per_call = call_s / args.calls
            rows.append(heat_row(n, f"{name}, one jit call per step", per_call, golden_s,
                                 copy_bw, check(errors), spread))
            log(f"heat {n}: {name} call {per_call * 1e3:.4f} ms/step spread {spread:.0%}")


def add_size_ceilings(rows):
    """Each heat row's rate as a percentage of the fastest ceiling row of its size."""
    best = {}
    for r in rows:
        if r["bench"] == "heat" and r["variant"].startswith(CEILING):
            best[r["size"]] = max(best.get(r["size"], 0.0), r["gbps"])
    for r in rows:
        if r["bench"] == "heat" and r["size"] in best and not r["variant"].startswith("golden"):
            r["pct_size_ceiling"] = 100 * r["gbps"] / best[r["size"]]


# --- MLP ---------------------------------------------------------------------------------------


def tree_relative_error(params, ref):
    num = sum(np.sum((np.asarray(a, np.float64) - r) ** 2)
              for p, q in zip(params, ref) for a, r in zip(p, q))
    den = sum(np.sum(r**2) for q in ref for r in q)
    return float(np.sqrt(num / den))


def bench_mlp(args, rows, log):
    data = load_digits()
    x, y = jax.device_put(data.x_train), jax.device_put(data.y_train)
    n = data.x_train.shape[0]
    n_batches = n // MLP_BATCH
    init = deep_learning_jax.init_mlp(jax.random.key(0), MLP_SIZES)
    train_step = deep_learning_jax.train_step

    def batch_rows(order):
        return [order[i * MLP_BATCH:(i + 1) * MLP_BATCH] for i in range(n_batches)]

    def loop_slicing(key):
        params = init
        for rows_i in batch_rows(jax.random.permutation(key, n)):
            params, _ = train_step(params, x[rows_i], y[rows_i], MLP_LR)
        return params

    def preslice(key):
        return [(x[r], y[r]) for r in batch_rows(jax.random.permutation(key, n))]

    def loop_presliced(batches):
        params = init
        for xb, yb in batches:
            params, _ = train_step(params, xb, yb, MLP_LR)
        return params

    @jax.jit
    def scan_batches(params, x_batches, y_batches):
        step = lambda p, b: train_step(p, *b, MLP_LR)  # noqa: E731
        return jax.lax.scan(step, params, (x_batches, y_batches))[0]

    def scan_epoch_eager_shuffle(key):
        # The scan compiled, but shuffle, gather and reshape dispatched eagerly outside it.
        order = jax.random.permutation(key, n)[: n_batches * MLP_BATCH]
        order = order.reshape(n_batches, MLP_BATCH)
        return scan_batches(init, x[order], y[order])

    def shipped_epoch(key):
        return deep_learning_jax._train_epoch(init, key, x, y, MLP_LR, MLP_BATCH)[0]

    def no_prep(key):
        return key

    # name -> (untimed preparation of an epoch key, the timed epoch)
    variants = {
        "loop slicing device arrays": (no_prep, loop_slicing),
        "loop over pre-sliced batches (slicing untimed)": (preslice, loop_presliced),
        "lax.scan epoch, shuffle + gather eager": (no_prep, scan_epoch_eager_shuffle),
        "shipped _train_epoch: shuffle + lax.scan in one jit": (no_prep, shipped_epoch),
    }

    # Check: one epoch of each variant, same order, against the float64 oracle.
    key = jax.random.key(1)
    order = np.asarray(jax.random.permutation(key, n))
    ref = [(np.asarray(W, np.float64), np.asarray(b, np.float64)) for W, b in init]
    for rows_i in batch_rows(order):
        ref, _ = oracles.train_step(ref, data.x_train[rows_i], data.y_train[rows_i], MLP_LR)
    checks = {name: relative_error_or_fail(epoch(prep(key)), ref)
              for name, (prep, epoch) in variants.items()}

    # Golden NumPy, float32, same sizes and batch.
    rng = np.random.default_rng(0)
    golden_params = golden_mlp.init_params(rng, MLP_SIZES)
    golden_batches = batch_rows(rng.permutation(n))

    def golden_epoch():
        params = golden_params
        for rows_i in golden_batches:
            params, _ = golden_mlp.sgd_step(params, data.x_train[rows_i], data.y_train[rows_i],
                                            MLP_LR)
        return params

    golden_s, _ = median_seconds(lambda _: golden_epoch(), args.golden_repeats)
    golden_step = golden_s / n_batches
    size = f"{MLP_SIZES} b{MLP_BATCH}"
    rows.append(dict(bench="mlp", size=size, variant="golden NumPy sgd_step (CPU)",
                     ms_per_step=golden_step * 1e3, gbps=None, pct_copy=None, speedup=1.0,
                     check="reference"))

    def add_row(name, per_step, check, spread):
        rows.append(dict(bench="mlp", size=size, variant=name, ms_per_step=per_step * 1e3,
                         gbps=None, pct_copy=None, speedup=golden_step / per_step, check=check,
                         spread=spread))
        log(f"mlp: {name} {per_step * 1e3:.4f} ms/step spread {spread:.0%} {check}")

    keys = list(jax.random.split(jax.random.key(2), args.epochs))  # a fresh order per repeat
    for name, (prep, epoch) in variants.items():
        inputs = [prep(k) for k in keys]
        jax.block_until_ready(epoch(inputs[0]))  # compile
        epoch_s, spread = median_seconds(
            lambda i: jax.block_until_ready(epoch(inputs[i % len(inputs)])), args.repeats)
        add_row(name, epoch_s / n_batches, checks[name], spread)

    # The whole shipped call, init included, for --epochs epochs, reported per step.
    def whole_run(i):
        return deep_learning_jax.train_mlp(keys[i % len(keys)], x, y, MLP_SIZES, args.epochs,
                                           MLP_BATCH, MLP_LR)

    jax.block_until_ready(whole_run(0))
    run_s, spread = median_seconds(lambda i: jax.block_until_ready(whole_run(i)), args.repeats)
    add_row(f"shipped train_mlp ({args.epochs} epochs)", run_s / (args.epochs * n_batches),
            "tests/test_answers.py", spread)


def relative_error_or_fail(params, ref, tol=2e-2):
    # 2e-2 over a whole epoch: TF32 matmuls (JAX's default on Ampere and later) drift from float64.
    err = tree_relative_error(params, ref)
    return f"rel.err {err:.1e}" + ("" if err < tol else " FAIL")


def write_heat_hlo(path, n):
    """The compiled programs, to count kernels (fusions) and see what XLA made of each form."""
    u = jax.ShapeDtypeStruct((n, n), jnp.float32)
    with open(path, "w") as f:
        steps = {**single_step_variants(), "jnp.pad + where, two steps as one expression": step2_pad_where}
        for name, step in steps.items():
            text = jax.jit(step).lower(u, ALPHA, DT, DX).compile().as_text()
            f.write(f"===== {name} ({n}x{n}): {text.count(' fusion(')} fusion calls\n{text}\n")


# --- report ------------------------------------------------------------------------------------


def markdown_table(rows):
    def fmt(v, spec):
        return "" if v is None else format(v, spec)

    lines = ["| bench | size | variant | ms/step | GB/s | % of copy | % of same-size ceiling | speedup vs golden | check |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['bench']} | {r['size']} | {r['variant']} "
                     f"| {fmt(r['ms_per_step'], '.4f')} "
                     f"| {fmt(r['gbps'], '.0f')} | {fmt(r['pct_copy'], '.0f')} "
                     f"| {fmt(r.get('pct_size_ceiling'), '.0f')} "
                     f"| {fmt(r['speedup'], '.1f')} | {r['check']} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--loop-steps", type=int, default=500, help="steps per fori_loop call")
    parser.add_argument("--calls", type=int, default=50, help="jitted calls per timed repeat")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--golden-repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5,
                        help="distinct epochs rotated in MLP timing")
    parser.add_argument("--loop-check-max", type=int, default=1024,
                        help="largest grid whose fori_loop is checked against the oracle")
    parser.add_argument("--copy-size", type=int, default=8192,
                        help="grid side of the float32 copy that sets the bandwidth ceiling "
                             "(8192: 256 MiB, far over the L2)")
    parser.add_argument("--loops", nargs="+", metavar="SUBSTRING",
                        help="time only the compiled-loop variants whose names contain one of these")
    parser.add_argument("--skip-single", action="store_true",
                        help="leave out the one-jit-call-per-step variants")
    parser.add_argument("--skip-mlp", action="store_true", help="leave out the MLP bench")
    parser.add_argument("--json", help="also write every row here")
    parser.add_argument("--hlo", help="write each heat form's optimised HLO (largest size) here")
    args = parser.parse_args(argv)
    device = jax.devices()[0]
    log(f"jax {jax.__version__}, numpy {np.__version__}, python {platform.python_version()}, "
        f"device {device.platform}: {device.device_kind}")
    rng = np.random.default_rng(12345)
    copy_bw = measure_copy_bandwidth(rng, args.copy_size, args.repeats)
    log(f"device-to-device copy of {args.copy_size}x{args.copy_size} float32: "
        f"{copy_bw / 1e9:.0f} GB/s "
        "(read + write)")
    if args.hlo:
        write_heat_hlo(args.hlo, max(args.sizes))
    rows = []
    bench_heat(args, rng, copy_bw, rows, log)
    add_size_ceilings(rows)
    if not args.skip_mlp:
        bench_mlp(args, rows, log)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device.device_kind, "jax": jax.__version__,
                       "copy_gbps": copy_bw / 1e9, "rows": rows}, f, indent=1)
    print()
    print(f"device: {device.device_kind}; jax {jax.__version__}; copy ceiling "
          f"{copy_bw / 1e9:.0f} GB/s (read + write)")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
