"""05 - The golden heat-equation solver, rewritten in JAX.

What this script teaches
------------------------
The series' 2-D heat equation du/dt = alpha * (u_xx + u_yy), explicit finite differences
(FTCS) with fixed (Dirichlet) edges, first written in NumPy (``solutions.golden.heat``),
now in JAX:

1. ``heat_step``: the textbook port. NumPy's in-place ``new[1:-1, 1:-1] = ...`` becomes
   ``u.at[1:-1, 1:-1].set(...)``, which returns a new array.
2. ``heat_step_masked``: a whole-array form. Pad the grid, compute the update everywhere,
   and keep the old values on the edges with ``jnp.where`` and a mask. Every operation has
   the grid's full shape, which suits GPUs (one fused elementwise kernel, no scatter).
3. ``simulate``: the whole time loop inside one compiled function (``jax.lax.fori_loop``
   under ``jax.jit``), so Python is not involved between steps.
4. The JAX results are checked against the NumPy solver, then everything is timed per
   step: NumPy, JAX eager, jitted step called from Python, and the fused loops.

Run
---
    python workshop-3-examples/05_heat_equation_jax.py [--size N] [--steps S] [--plot FILE]

Flags
-----
--size N            grid is N x N cells (default 256; try 4096 on a GPU)
--steps S           time steps for the jitted solvers (default 2000; try 10000 on a GPU)
--baseline-steps K  steps for the slow NumPy and eager baselines and the agreement check
                    (default: min(S, 100); at --size 4096 NumPy takes ~0.1 s a step, so try 20);
                    per-step times are compared
--repeats R         timed repeats; the median is reported (default 3)
--plot FILE         save the temperature field before and after the run as an image (PNG)
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from solutions.golden import heat as golden  # the NumPy solver from the earlier workshops
from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

ALPHA = 1.0  # diffusivity
DX = 1.0  # grid spacing
HOT = 100.0  # temperature of the initial hot square; the edges stay at 0


def section(title: str) -> None:
    print(f"\n-- {title} " + "-" * max(0, 66 - len(title)))


# ---------------------------------------------------------------------- JAX version 1
def heat_step(u, alpha, dt, dx):
    """One explicit step, textbook form: update the interior, edges keep their values."""
    r = alpha * dt / dx**2
    interior = u[1:-1, 1:-1] + r * (
        u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
    )
    # NumPy would write into `u` in place; JAX builds a new array (XLA reuses the buffer under jit).
    return u.at[1:-1, 1:-1].set(interior)


# ---------------------------------------------------------------------- JAX version 2
def heat_step_masked(u, alpha, dt, dx):
    """The same step on the whole array: padded neighbours, then a mask keeps the edges."""
    r = alpha * dt / dx**2
    # The padded values only ever reach edge cells, which the mask below throws away.
    p = jnp.pad(u, 1, mode="edge")
    laplacian = p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4 * u
    ny, nx = u.shape  # static under jit, so XLA turns the mask into a constant
    rows = jnp.arange(ny)[:, None]
    cols = jnp.arange(nx)[None, :]
    interior = (rows > 0) & (rows < ny - 1) & (cols > 0) & (cols < nx - 1)
    return jnp.where(interior, u + r * laplacian, u)


# ---------------------------------------------------------------------- the time loop
@jax.jit
def simulate(u0, alpha, dt, dx, n_steps):
    """The grid after n_steps of heat_step; the loop runs inside the compiled program.

    n_steps is traced, not static: a new step count does not recompile."""
    return jax.lax.fori_loop(0, n_steps, lambda _, u: heat_step(u, alpha, dt, dx), u0)


@jax.jit
def simulate_masked(u0, alpha, dt, dx, n_steps):
    """simulate() with the whole-array step."""
    return jax.lax.fori_loop(0, n_steps, lambda _, u: heat_step_masked(u, alpha, dt, dx), u0)


def numpy_solve(u0, alpha, dt, dx, n_steps):
    return golden.solve(u0, alpha, dt, dx, n_steps)


def eager_loop(u0, alpha, dt, dx, n_steps):
    """JAX without jit: each array operation is dispatched from Python, step after step."""
    u = u0
    for _ in range(n_steps):
        u = heat_step(u, alpha, dt, dx)
    return u


_heat_step_jit = jax.jit(heat_step)


def jit_step_loop(u0, alpha, dt, dx, n_steps):
    """A jitted step called from a Python loop: one compiled call per step."""
    u = u0
    for _ in range(n_steps):
        u = _heat_step_jit(u, alpha, dt, dx)
    return u


def save_plot(path, before, after, n_steps):
    import matplotlib

    matplotlib.use("Agg")  # files only: works on headless machines and in CI
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
    for ax, field, title in [(axes[0], before, "initial condition"), (axes[1], after, f"after {n_steps} steps")]:
        image = ax.imshow(field, cmap="inferno", vmin=0.0, vmax=HOT, origin="lower")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes, label="temperature", shrink=0.85)
    fig.suptitle("2-D heat equation (FTCS), JAX simulate()")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256, help="grid side N, N x N cells (default 256)")
    parser.add_argument("--steps", type=int, default=2000, help="time steps for the jitted solvers (default 2000)")
    parser.add_argument("--baseline-steps", type=int, default=None,
                        help="steps for NumPy/eager baselines and the agreement check (default min(steps, 100))")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (default 3)")
    parser.add_argument("--plot", metavar="FILE", help="save the field before/after to this PNG file")
    args = parser.parse_args(argv)
    n, steps = args.size, args.steps
    base_steps = args.baseline_steps or min(steps, 100)

    print("05 - The heat equation in JAX: .at[].set, masks, fori_loop under jit")
    print(f"Device: {device_summary()}   jax.devices() = {jax.devices()}")

    # ------------------------------------------------------------------ set-up
    section("1. Problem set-up")
    u0_np = golden.hot_square(n, n, hot=HOT)
    dt = golden.stable_dt(ALPHA, DX)  # the largest stable step, alpha*dt/dx^2 = 1/4
    # Check in Python, before jit: inside a compiled function dt is traced and cannot raise.
    golden.check_stability(ALPHA, dt, DX)
    try:
        golden.check_stability(ALPHA, 2 * dt, DX)
    except ValueError as err:
        print(f"check_stability(dt={2 * dt}) -> ValueError: {str(err)[:60]}...")
    u0 = jnp.asarray(u0_np)
    print(f"grid {n} x {n} float32, alpha={ALPHA}, dx={DX}, dt={dt}; hot square {HOT}, edges 0")

    # ------------------------------------------------------------------ agreement
    section(f"2. Do NumPy and JAX agree? ({base_steps} steps)")
    reference = numpy_solve(u0_np, ALPHA, dt, DX, base_steps)
    results = {
        "eager heat_step loop": eager_loop(u0, ALPHA, dt, DX, base_steps),
        "simulate (.at form)": simulate(u0, ALPHA, dt, DX, base_steps),
        "simulate_masked": simulate_masked(u0, ALPHA, dt, DX, base_steps),
    }
    tolerance = 1e-4 * HOT  # float32 rounding, summed in a different order, over many steps
    rows, all_ok = [], True
    for name, u in results.items():
        err = float(np.max(np.abs(np.asarray(u) - reference)))
        all_ok &= err <= tolerance
        rows.append([name, f"{err:.1e}", "OK" if err <= tolerance else "MISMATCH"])
    print(format_table(["JAX version", "max |JAX - NumPy|", "check"], rows))
    print(f"agreement with NumPy (tolerance {tolerance:.0e}): {'OK' if all_ok else 'FAILED'}")
    if not all_ok:
        raise SystemExit("JAX and NumPy heat solvers disagree")

    # ------------------------------------------------------------------ timing
    section(f"3. Time per step on a {n} x {n} grid")
    rng = np.random.default_rng(0)

    def fresh(k, on_device):
        # A slightly different initial field each run, so no result can be reused.
        def make():
            u = u0_np + rng.uniform(0.0, 1.0, size=u0_np.shape).astype(np.float32)
            u[0, :] = u[-1, :] = u[:, 0] = u[:, -1] = 0.0
            return (jnp.asarray(u) if on_device else u, ALPHA, dt, DX, k)
        return make

    candidates = [  # (name, function, steps per call, inputs on device?)
        ("NumPy (golden.solve)", numpy_solve, base_steps, False),
        ("JAX eager, Python loop", eager_loop, base_steps, True),
        ("JAX jit(heat_step), Python loop", jit_step_loop, steps, True),
        ("JAX simulate, fori_loop (.at)", simulate, steps, True),
        ("JAX simulate_masked, fori_loop", simulate_masked, steps, True),
    ]
    jax.clear_caches()  # the agreement check compiled everything: start cold so compile shows
    timings = {}
    for name, fn, k, on_device in candidates:
        timings[name] = (time_call(fn, fresh(k, on_device), repeats=args.repeats), k)
    numpy_per_step = timings["NumPy (golden.solve)"][0].median_s / base_steps
    rows = []
    for name, (t, k) in timings.items():
        per_step = t.median_s / k
        cells = n * n / per_step / 1e9
        rows.append([name, str(k), fmt_time(per_step), f"{cells:.2f}",
                     "-" if name.startswith("NumPy") else fmt_time(t.compile_s),
                     fmt_speedup(numpy_per_step, per_step)])
    print(format_table(["", "steps", "per step", "Gcell/s", "compile*", "vs NumPy"], rows))
    print(f"* compile = first call minus a steady call, not in the per-step time. Median of {args.repeats}.")
    print("Eager JAX dispatches ~15 small operations per step from Python; the jitted versions run\n"
          "one fused program. On a GPU the gap to NumPy grows with --size (try --size 4096).")

    # ------------------------------------------------------------------ result
    final = simulate(u0, ALPHA, dt, DX, steps)
    print(f"\nafter {steps} steps: max temperature {float(u0.max()):.1f} -> {float(final.max()):.2f},"
          f" mean {float(u0.mean()):.2f} -> {float(final.mean()):.2f} (heat slowly leaves through the cold edges)")
    if args.plot:
        save_plot(args.plot, u0_np, np.asarray(final), steps)
        print(f"saved plot: {args.plot}")


if __name__ == "__main__":
    main()
