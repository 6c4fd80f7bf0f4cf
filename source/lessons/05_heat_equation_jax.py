# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # 05 · The heat equation in JAX
#
# Workshop 3, notebook 5 of 6 — Part 4, the golden examples. First: the 2-D heat-equation
# solver you wrote in NumPy in the earlier workshops, rewritten in JAX.
#
# 1. the problem and the NumPy solver, as you know it;
# 2. a porting plan: what changes, what stays;
# 3. a worked example in 1-D: a rod, stepped with `.at[...]` and looped with `fori_loop`;
# 4. exercises: `heat_step` and `simulate`, the 2-D solver;
# 5. the payoff: agreement with NumPy, the temperature field, and a speed comparison;
# 6. optional, ungraded: several time steps per pass over memory, with a Pallas kernel.
#
# **How this notebook works.** Read the prose and run the worked examples from top to bottom
# (*Run → Run All Cells* is fine). The exercises come at the end. In each exercise cell, replace
# the lines `# YOUR CODE HERE` / `raise NotImplementedError()` with your code and keep the name
# and signature exactly as given: the graders look them up by name. The cell under each exercise
# runs *visible checks*; when one fails, its message says what is wrong. When you hand in, *hidden
# graders* test the same functions on fresh random inputs at several shapes, with tolerances for
# float32 on a GPU, so write general functions rather than ones tuned to the visible examples.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

ON_GPU = jax.default_backend() == "gpu"
print(f"JAX {jax.__version__} on {device_summary()}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "the_problem", "locked": true, "schema_version": 3, "solution": false}
# ## 1 · The problem
#
# Heat spreading through a plate with diffusivity $\alpha$:
#
# $$\frac{\partial u}{\partial t} = \alpha\left(\frac{\partial^2 u}{\partial x^2} + \frac{\partial^2 u}{\partial y^2}\right).$$
#
# On a uniform grid of spacing $\Delta x$, with time step $\Delta t$, the explicit
# forward-time centred-space (**FTCS**) scheme updates every interior cell from its four
# neighbours:
#
# $$u^{n+1}_{i,j} = u^n_{i,j} + r\,\bigl(u^n_{i+1,j} + u^n_{i-1,j} + u^n_{i,j+1} + u^n_{i,j-1} - 4\,u^n_{i,j}\bigr), \qquad r = \frac{\alpha\,\Delta t}{\Delta x^2}.$$
#
# The edges hold fixed temperatures (**Dirichlet** boundary conditions): the first and last
# rows and columns never change. The scheme is stable only for $r \le 1/4$; with a larger
# time step, errors grow exponentially and the solution blows up.
#
# Here is the NumPy solver from the earlier workshops (the series' golden example), with
# its functions renamed `numpy_...` so that the JAX versions can take the short names:

# %% nbgrader={"grade": false, "grade_id": "numpy_solver", "locked": true, "schema_version": 3, "solution": false} include="solutions/golden/heat.py" rename={"heat_step": "numpy_heat_step", "solve": "numpy_solve"}
def stable_dt(alpha, dx):
    """Largest stable time step of the 2-D FTCS scheme: alpha*dt/dx**2 <= 1/4."""
    return dx**2 / (4 * alpha)


def check_stability(alpha, dt, dx):
    """Raise ValueError if dt would make the scheme blow up (or the inputs make no sense)."""
    if alpha <= 0 or dx <= 0 or dt <= 0:
        raise ValueError(f"alpha, dt and dx must be positive: alpha={alpha}, dt={dt}, dx={dx}")
    limit = stable_dt(alpha, dx)
    if dt > limit:
        raise ValueError(
            f"unstable time step: dt={dt} exceeds dx**2/(4*alpha)={limit}; "
            "lower dt or use a coarser grid"
        )


def numpy_heat_step(u, alpha, dt, dx):
    """One explicit step. Returns a new array of u's dtype; the edges keep their values."""
    r = alpha * dt / dx**2
    new = u.copy()
    # Slices shifted by one row or column stand for the neighbours u[i+1,j], u[i-1,j], ...
    new[1:-1, 1:-1] = u[1:-1, 1:-1] + r * (
        u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
    )
    return new


def numpy_solve(u0, alpha, dt, dx, n_steps):
    """The grid after n_steps explicit steps from u0 (which is left unchanged)."""
    check_stability(alpha, dt, dx)
    u = np.array(u0, copy=True)
    for _ in range(n_steps):
        u = numpy_heat_step(u, alpha, dt, dx)
    return u


def hot_square(ny, nx, hot=100.0, cold=0.0, dtype=np.float32):
    """Initial condition: a hot square over the middle half of the grid, cold everywhere else
    (the edges included, so they hold the cold temperature for the whole run)."""
    u = np.full((ny, nx), cold, dtype=dtype)
    # max/min keep the edges cold on grids smaller than 4 cells a side too.
    rows = slice(max(ny // 4, 1), min(ny - ny // 4, ny - 1))
    cols = slice(max(nx // 4, 1), min(nx - nx // 4, nx - 1))
    u[rows, cols] = hot
    return u


# %% nbgrader={"grade": false, "grade_id": "numpy_demo", "locked": true, "schema_version": 3, "solution": false}
u0 = hot_square(64, 64)
dt = stable_dt(alpha=1.0, dx=1.0)
final = numpy_solve(u0, alpha=1.0, dt=dt, dx=1.0, n_steps=500)
print(f"max temperature {u0.max():.1f} -> {final.max():.2f} after 500 steps")


# %% [markdown] nbgrader={"grade": false, "grade_id": "porting_plan", "locked": true, "schema_version": 3, "solution": false}
# ## 2 · A porting plan
#
# | NumPy version | JAX version | why |
# |---|---|---|
# | `np.` functions | `jnp.` functions | so JAX can trace, compile and run on the GPU |
# | `new = u.copy(); new[1:-1, 1:-1] = ...` | `u.at[1:-1, 1:-1].set(...)`, or a whole-array update with `jnp.where` | arrays are immutable (notebook 01) |
# | a plain function | `@jax.jit` on the step | fuse the dozen array operations of a step into one kernel (notebook 02) |
# | `for _ in range(n_steps)` in Python | `jax.lax.fori_loop` inside `jax.jit` | no Python between steps; the whole run is one program |
# | `check_stability` inside `solve` | called in Python, *before* the compiled solver | inside `jit`, `dt` is a tracer: a Python `if dt > ...` cannot run |
#
# The last row deserves a word. Input validation is still important (a silently exploding
# simulation wastes days), but it belongs in ordinary Python around the compiled kernel,
# where the values are concrete. Keep the compiled part pure arithmetic.
#
# ### Two ways to write the step
#
# * **Slice and set** (the textbook port): compute the new interior from four shifted
#   slices, then `u.at[1:-1, 1:-1].set(interior)`. A direct translation of the NumPy code.
# * **Whole-array update**: pad `u` with one ring of cells (`jnp.pad`), compute the update
#   for *every* cell from shifted views of the padded array, then keep the old values on
#   the edges with `jnp.where(interior_mask, updated, u)`. Every operation has the full
#   grid's shape, which XLA fuses into a single pass over memory. On large grids on a GPU
#   this form can be noticeably faster; on a CPU the two are close.
#
# Both are correct; the exercise accepts either.
#
# ## 3 · Worked example: a 1-D rod
#
# The same scheme in one dimension, $u^{n+1}_i = u^n_i + r\,(u^n_{i+1} - 2u^n_i + u^n_{i-1})$,
# stable for $r \le 1/2$, with both ends held at fixed temperatures. First the step, with
# `.at[...]`:

# %% nbgrader={"grade": false, "grade_id": "rod_step", "locked": true, "schema_version": 3, "solution": false}
def rod_step(u, r):
    """One FTCS step of the 1-D heat equation; both ends keep their values."""
    interior = u[1:-1] + r * (u[2:] - 2 * u[1:-1] + u[:-2])
    return u.at[1:-1].set(interior)

rod = jnp.zeros(9).at[4].set(1.0)          # a hot spot in the middle of a cold rod
print(rod_step(rod, 0.25))                 # the spot spreads to its neighbours


# %% [markdown] nbgrader={"grade": false, "grade_id": "rod_fori_loop", "locked": true, "schema_version": 3, "solution": false}
# Then the whole run as one compiled program. `fori_loop(0, n_steps, body, u0)` calls
# `body(i, u)` `n_steps` times, each time with the previous result; the loop counter `i`
# is not needed here, hence the `_`. Since `n_steps` is a traced argument, every run
# length below reuses one compilation.

# %% nbgrader={"grade": false, "grade_id": "rod_example", "locked": true, "schema_version": 3, "solution": false}
@jax.jit
def rod_simulate(u0, r, n_steps):
    return jax.lax.fori_loop(0, n_steps, lambda _, u: rod_step(u, r), u0)

x = jnp.linspace(0.0, 1.0, 101)
rod0 = jnp.where(jnp.abs(x - 0.5) < 0.1, 100.0, 0.0)   # hot in the middle, ends at 0

fig, ax = plt.subplots(figsize=(6, 3))
for n_steps in [0, 100, 1000, 5000]:
    ax.plot(x, rod_simulate(rod0, 0.4, n_steps), label=f"{n_steps} steps")
ax.set_xlabel("position along the rod")
ax.set_ylabel("temperature")
ax.legend()
plt.tight_layout()
plt.show()


# %% [markdown] nbgrader={"grade": false, "grade_id": "exercises", "locked": true, "schema_version": 3, "solution": false}
# Why not a Python `for` loop inside the jitted function? Its length must be known at trace
# time, so `n_steps` would have to be static, and the loop would be *unrolled*: 5000 copies
# of the step in the program, a long compilation for every new `n_steps`. `fori_loop`
# compiles the step once. (If you need the intermediate states, say every 100th frame of a
# movie, `jax.lax.scan` returns a stacked history as well as the final state.)
#
# ## Exercises

# %% [markdown] nbgrader={"grade": false, "grade_id": "heat_step_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 1 · `heat_step(u, alpha, dt, dx)`
#
# One explicit step of the 2-D scheme in JAX:
#
# * **input:** the temperature grid `u`, a float32 JAX array of shape `(ny, nx)`, and Python
#   floats `alpha`, `dt`, `dx` (traced scalars when called under `jit`);
# * **output:** a new `(ny, nx)` float32 JAX array: every interior cell updated with the
#   FTCS formula, `r = alpha * dt / dx**2`; the first and last rows and columns **keep their
#   values** (Dirichlet);
# * it must work under `jax.jit`, as it will inside `simulate`.
#
# JAX arrays cannot be written into, so the new grid is built, not edited: with `.at[...]`
# or a whole-array `jnp.where`.
#
# Port `numpy_heat_step` from section 1, in either style from section 2. The skeleton
# splits the work in two: `_step(u, r)` is the stencil for a given `r`, compiled with
# `@jax.jit`, and `heat_step` computes `r` from `alpha`, `dt`, `dx` and calls it, so that
# one number, not three, goes to the compiled step. You may also write `heat_step` in one
# piece and delete `_step`.

# %% nbgrader={"grade": false, "grade_id": "heat_step_solution", "locked": false, "schema_version": 3, "solution": true}
@jax.jit
def _step(u, r):
    """One FTCS step for a given r = alpha*dt/dx**2 (a helper of heat_step), compiled.

    u: (ny, nx) float32 JAX array. r: a scalar. Returns a new (ny, nx) float32 array:
    interior cells u + r*(u[i+1,j] + u[i-1,j] + u[i,j+1] + u[i,j-1] - 4*u[i,j]),
    first/last rows and columns equal to u's.
    """
    ### BEGIN SOLUTION
    # One whole-array expression (neighbours from a zero-padded copy, the update kept only on the
    # interior) that XLA compiles to a single read-u-write-out kernel. The textbook
    # `u.at[1:-1, 1:-1].set(...)` compiled to a copy of u, four materialised slices and an
    # update: 3x slower on an H100 at 4096**2 (benchmarks/results/references-h100.md).
    padded = jnp.pad(u, 1)
    laplacian = (
        padded[2:, 1:-1] + padded[:-2, 1:-1] + padded[1:-1, 2:] + padded[1:-1, :-2] - 4 * u
    )
    rows = jax.lax.broadcasted_iota(jnp.int32, u.shape, 0)
    cols = jax.lax.broadcasted_iota(jnp.int32, u.shape, 1)
    interior = (rows > 0) & (rows < u.shape[0] - 1) & (cols > 0) & (cols < u.shape[1] - 1)
    return jnp.where(interior, u + r * laplacian, u)
    ### END SOLUTION


def heat_step(u, alpha, dt, dx):
    """One explicit FTCS step of the 2-D heat equation; the edges keep their values.

    u: (ny, nx) float32 (JAX; NumPy works too). alpha, dt, dx: floats (traced under jit).
    Returns a new (ny, nx) float32 array whose interior cells are
    u + alpha*dt/dx**2 * (u[i+1,j] + u[i-1,j] + u[i,j+1] + u[i,j-1] - 4*u[i,j])
    and whose first/last rows and columns equal u's (Dirichlet). u is not modified.
    Works under jax.jit.
    """
    ### BEGIN SOLUTION
    # alpha*dt/dx**2 is folded before the compiled call, so one scalar goes to the device per call
    # instead of three; under jit (as in simulate) the same line is simply traced.
    return _step(jnp.asarray(u), alpha * dt / dx**2)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "heat_step_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for heat_step.
def check_heat_step():
    u = jnp.zeros((5, 5)).at[2, 2].set(1.0)           # one hot cell in the middle
    new = heat_step(u, 1.0, 0.1, 1.0)                 # r = 0.1
    assert isinstance(new, jax.Array), "heat_step returned a NumPy array: build the new grid with jnp"
    assert new.shape == u.shape, f"shape changed: got {new.shape}, expected {u.shape}"
    assert new.dtype == jnp.float32, f"dtype is {new.dtype}, expected float32"
    assert np.isclose(new[2, 2], 0.6), f"centre cell: 1 + 0.1 * (0 + 0 + 0 + 0 - 4) = 0.6, got {new[2, 2]}"
    for i, j in [(1, 2), (3, 2), (2, 1), (2, 3)]:
        assert np.isclose(new[i, j], 0.1), f"neighbour ({i}, {j}): 0 + 0.1 * 1 = 0.1, got {new[i, j]}"
    assert np.isclose(float(new.sum()), 1.0), "away from the edges, a step must conserve the total heat"
    assert np.isclose(heat_step(u, 1.0, 0.1, 2.0)[2, 2], 0.9), \
        "with dx = 2 the centre must be 1 - 4 * 0.1 / 4 = 0.9: r = alpha * dt / dx**2 (dx squared)"

    rng = np.random.default_rng(0)
    u_np = rng.uniform(0.0, 100.0, size=(6, 7)).astype(np.float32)   # not square, edges not zero
    got = heat_step(jnp.asarray(u_np), 0.5, 0.3, 1.0)
    for name, a, b in [("first row", got[0], u_np[0]), ("last row", got[-1], u_np[-1]),
                       ("first column", got[:, 0], u_np[:, 0]), ("last column", got[:, -1], u_np[:, -1])]:
        assert np.allclose(a, b), f"boundary changed ({name}): Dirichlet edges must keep their values"
    assert np.allclose(got, numpy_heat_step(u_np.astype(np.float64), 0.5, 0.3, 1.0), atol=1e-3), \
        "interior differs from the FTCS formula (numpy_heat_step) on a random 6x7 grid"
    flat = jnp.full((4, 6), 3.0)
    assert np.allclose(heat_step(flat, 1.0, 0.2, 1.0), flat), "a uniform field must not change (its Laplacian is 0)"
    assert np.allclose(jax.jit(heat_step)(jnp.asarray(u_np), 0.5, 0.3, 1.0), got, atol=1e-5), \
        "heat_step must work under jax.jit"


check_heat_step()
print("heat_step: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "simulate_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 2 · `simulate(u0, alpha, dt, dx, n_steps)`
#
# The whole run: the grid after `n_steps` calls of your `heat_step`, starting from `u0`
# (zero steps give back `u0`).
#
# * **input:** `u0`, a float32 JAX array `(ny, nx)`; the floats `alpha`, `dt`, `dx`; the int
#   `n_steps`;
# * **output:** the float32 `(ny, nx)` grid after `n_steps` steps;
# * compiled with `jax.jit` (keep the skeleton's decorator), **with the time loop inside the
#   compiled function**: use `jax.lax.fori_loop`, as `rod_simulate` does (or `jax.lax.scan`),
#   so that Python is not involved between steps.
#
# The skeleton makes `n_steps` *static* (`static_argnames`): XLA then knows the loop's length
# when it compiles, and a loop of known length needs no check on the host after every step.
# Each new `n_steps` compiles once, which suits a solver run many times at one length. A
# static `n_steps` would also let a Python `for` loop run, but unrolled into `n_steps` copies
# of the step in the program: a long compilation for every new length, and not the compiled
# loop the task asks for.
#
# On a GPU part of its points are for speed (the table at the top says how many): it races a
# plain jitted `fori_loop` over the reference step. Any compiled loop keeps up with it; what
# loses is the host inside the loop (a callback, a `print` or an `np.asarray` of the grid).
#
# Do not check stability inside `simulate` (`dt` is a tracer there); check before calling
# it, as the cells below do.
#
# *Optional, for GPUs:* `jax.lax.fori_loop(..., unroll=8)` runs eight steps per iteration of
# the compiled loop. Consecutive steps then write into two buffers in turn, instead of copying
# the grid back into the loop's carry after every step: on an H200 a 4096 × 4096 step takes
# half the time. (On a CPU the unrolled loop is slower: tune for the device you run on.) A
# plain `fori_loop` is fine.

# %% nbgrader={"grade": false, "grade_id": "simulate_solution", "locked": false, "schema_version": 3, "solution": true}
# Steps per iteration of the compiled loop (see the task): eight on a GPU; on a CPU, where XLA
# runs one step as several threads over the grid, the unrolled loop is slower, so one.
_UNROLL = 8 if jax.default_backend() == "gpu" else 1


@functools.partial(jax.jit, static_argnames="n_steps")
def simulate(u0, alpha, dt, dx, n_steps):
    """The heat-equation grid after n_steps explicit steps, the time loop compiled.

    u0: (ny, nx) float32. alpha, dt, dx: floats. n_steps: int (static: each new value
    compiles once). Returns the (ny, nx) float32 grid after n_steps calls of heat_step;
    n_steps = 0 returns u0. The loop runs inside the jitted function (lax.fori_loop).
    """
    ### BEGIN SOLUTION
    # Several steps per loop iteration (unroll): XLA alternates two buffers between the steps
    # instead of copying the carry after each one, and checks the loop once per _UNROLL steps.
    return jax.lax.fori_loop(0, n_steps, lambda _, u: heat_step(u, alpha, dt, dx), jnp.asarray(u0),
                             unroll=_UNROLL)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "simulate_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for simulate.
def check_simulate():
    u0_np = np.zeros((6, 7), np.float32)
    u0_np[2:4, 2:5], u0_np[0, :] = 100.0, 5.0                  # a hot patch and a warm top edge
    u0 = jnp.asarray(u0_np)
    alpha, dt, dx = 1.0, 0.2, 1.0                              # r = 0.2: stable
    assert np.allclose(heat_step(u0, alpha, dt, dx), numpy_heat_step(u0_np, alpha, dt, dx), atol=1e-3), \
        "simulate repeats your heat_step, which is wrong (see the checks of Exercise 1): fix heat_step first"

    assert np.array_equal(simulate(u0, alpha, dt, dx, 0), u0), "n_steps = 0 must return u0 unchanged"
    assert np.allclose(simulate(u0, alpha, dt, dx, 1), numpy_solve(u0_np, alpha, dt, dx, 1), atol=1e-3), \
        "n_steps = 1 must be exactly one step"
    got = simulate(u0, alpha, dt, dx, 25)
    assert isinstance(got, jax.Array) and got.shape == u0.shape and got.dtype == jnp.float32, \
        f"got a {type(got).__name__} of shape {np.shape(got)}, dtype {np.asarray(got).dtype}: expected a (6, 7) float32 JAX array"
    assert np.allclose(got, numpy_solve(u0_np, alpha, dt, dx, 25), atol=1e-3), \
        "simulate(u0, ..., 25) differs from 25 steps of the NumPy solver: does the loop run n_steps times?"
    assert np.array_equal(got[0], u0[0]) and np.array_equal(got[:, -1], u0[:, -1]), \
        "boundary changed: Dirichlet edges must keep their values for the whole run"
    assert hasattr(simulate, "lower"), "simulate is not compiled: decorate it with @jax.jit"
    program = str(jax.make_jaxpr(simulate, static_argnums=4)(u0, alpha, dt, dx, 25))
    assert "while" in program or "scan" in program, \
        "the compiled program has no loop in it (a Python loop was unrolled): use jax.lax.fori_loop inside simulate"


check_simulate()
print("simulate: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "payoff_agreement", "locked": true, "schema_version": 3, "solution": false}
# ## The payoff
#
# ### Does the JAX solver agree with NumPy?
#
# Same initial condition, same time step, 200 steps; float32 arithmetic summed in a
# different order differs in the last digits, so we compare with a tolerance of 10⁻⁴ of
# the hottest temperature.

# %% nbgrader={"grade": false, "grade_id": "agreement_with_numpy", "locked": true, "schema_version": 3, "solution": false}
demo_alpha, demo_dx = 1.0, 1.0
demo_dt = stable_dt(demo_alpha, demo_dx)       # r = 1/4, the largest stable step
check_stability(demo_alpha, demo_dt, demo_dx)  # in Python, before the compiled solver


def demo_agreement(n_steps=200):
    u0 = hot_square(64, 64)
    reference = numpy_solve(u0, demo_alpha, demo_dt, demo_dx, n_steps)
    result = np.asarray(simulate(jnp.asarray(u0), demo_alpha, demo_dt, demo_dx, n_steps))
    error = np.max(np.abs(result - reference))
    print(f"max |JAX - NumPy| after {n_steps} steps: {error:.1e}  ->  "
          f"{'OK' if error < 1e-4 * 100 else 'MISMATCH'}")


demo_agreement()

# %% [markdown] nbgrader={"grade": false, "grade_id": "temperature_field", "locked": true, "schema_version": 3, "solution": false}
# ### The temperature field
#
# A 128 × 128 plate, hot square in the middle, cold edges: the heat spreads and leaks out
# through the edges. (`n_steps` is static, so each of the three run lengths compiles once.)

# %% nbgrader={"grade": false, "grade_id": "temperature_field_plot", "locked": true, "schema_version": 3, "solution": false}
def demo_temperature_field(n=128, run_lengths=(0, 500, 3000)):
    u0 = jnp.asarray(hot_square(n, n))
    snapshots = {k: simulate(u0, demo_alpha, demo_dt, demo_dx, k) for k in run_lengths}

    fig, axes = plt.subplots(1, len(snapshots), figsize=(11, 3.6), constrained_layout=True)
    for ax, (k, field) in zip(axes, snapshots.items()):
        image = ax.imshow(np.asarray(field), cmap="inferno", vmin=0.0, vmax=100.0, origin="lower")
        ax.set_title(f"after {k} steps (mean {float(field.mean()):.1f})")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes, label="temperature", shrink=0.9)
    plt.show()


demo_temperature_field()

# %% [markdown] nbgrader={"grade": false, "grade_id": "payoff_speed", "locked": true, "schema_version": 3, "solution": false}
# ### How much faster?
#
# Time per step for four versions of the same solver on an `n × n` grid:
#
# 1. **NumPy**, the golden solver;
# 2. **JAX without jit**: `simulate` run under `jax.disable_jit()`, so every array operation
#    is dispatched from Python one at a time;
# 3. **jitted step, Python loop**: `jax.jit(heat_step)` called once per step;
# 4. **`simulate`**: the whole loop in one compiled program.
#
# The slow versions run fewer steps; we compare time *per step*. On this CPU `n` is 256.
# On a GPU the cell switches to `n = 1024`; try `demo_time_solvers(n=4096, steps=10_000)`
# there: the stencil is memory-bound, and the GPU's memory bandwidth shows.

# %% nbgrader={"grade": false, "grade_id": "speed_timing", "locked": true, "schema_version": 3, "solution": false}
def demo_noisy_grid(rng, n):
    """A test field for one timed run: the hot square plus uniform noise in [0, 1) drawn from
    `rng`, so each call gives a slightly different field (nothing reused); edges cold. (n, n)
    float32 NumPy."""
    u = hot_square(n, n) + rng.uniform(0.0, 1.0, (n, n)).astype(np.float32)
    u[0, :] = u[-1, :] = u[:, 0] = u[:, -1] = 0.0
    return u


def demo_time_solvers(n, steps=2000, baseline_steps=(20 if ON_GPU else 50)):
    """Time per step of the four solvers on an n x n grid; prints a table, returns the times."""
    rng = np.random.default_rng(0)

    def fresh(n_steps, on_device):
        """Inputs for one timed run: a slightly different field each time (nothing reused)."""
        def make():
            u = demo_noisy_grid(rng, n)
            return (jnp.asarray(u) if on_device else u, demo_alpha, demo_dt, demo_dx, n_steps)
        return make

    def eager_loop(u0, alpha, dt, dx, n_steps):
        with jax.disable_jit():
            return simulate(u0, alpha, dt, dx, n_steps)

    heat_step_jit = jax.jit(heat_step)

    def jit_step_loop(u0, alpha, dt, dx, n_steps):
        u = u0
        for _ in range(n_steps):
            u = heat_step_jit(u, alpha, dt, dx)
        return u

    candidates = [   # (name, function, steps per call, inputs on the device?)
        ("NumPy", numpy_solve, baseline_steps, False),
        ("JAX, no jit", eager_loop, baseline_steps, True),
        ("jit(heat_step),\nPython loop", jit_step_loop, steps, True),
        ("simulate\n(fori_loop in jit)", simulate, steps, True),
    ]
    per_step = {name: time_call(fn, fresh(k, on_device), repeats=3).median_s / k
                for name, fn, k, on_device in candidates}
    base = per_step["NumPy"]
    print(f"{n} x {n} grid, {device_summary()}")
    print(format_table(["", "per step", "Mcell/s", "vs NumPy"], [
        [name.replace("\n", " "), fmt_time(t), f"{n * n / t / 1e6:.0f}", fmt_speedup(base, t)]
        for name, t in per_step.items()]))
    return per_step


demo_n = 1024 if ON_GPU else 256   # seconds, not minutes, when the notebook is graded too
demo_per_step = demo_time_solvers(demo_n)

# %% nbgrader={"grade": false, "grade_id": "speed_chart", "locked": true, "schema_version": 3, "solution": false}
def demo_chart(per_step, n):
    names = list(per_step)
    base = per_step["NumPy"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bars = ax.barh(names, [per_step[k] * 1e3 for k in names],
                   color=["tab:gray", "tab:red", "tab:blue", "tab:orange"])
    for bar, name in zip(bars, names):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                f"  {fmt_speedup(base, per_step[name])}", va="center")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("time per step (ms, log scale), shorter is better")
    ax.set_title(f"heat equation, {n} x {n} grid ({device_summary()})")
    ax.set_xlim(right=max(per_step.values()) * 1e3 * 8)
    plt.tight_layout()
    plt.show()


demo_chart(demo_per_step, demo_n)

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# Reading the chart:
#
# * **JAX without `jit`** dispatches every one of the dozen array operations of a step
#   separately, each with a full temporary array. On a CPU that makes it *slower* than
#   NumPy; on a GPU it is faster than NumPy, but far behind the compiled versions.
# * **Jitting the step** fuses it into one kernel; calling it from Python still costs a
#   dispatch per step, which matters once the step itself is fast.
# * **`simulate`** removes the last Python from the loop. On a GPU this is the version
#   whose advantage grows with `n` — for a 4096 × 4096 grid expect it to beat NumPy by
#   two to three orders of magnitude.
#
# ## Summary
#
# * The port is mechanical: `np` → `jnp`, in-place slice assignment → `.at[...].set` or a
#   whole-array `jnp.where`, `@jax.jit` on the step, the time loop in `lax.fori_loop`.
# * Validation (`check_stability`) stays in Python, outside the compiled function.
# * Checked against the NumPy solver, the JAX solver agrees to float32 rounding.
#
# **Next:** notebook 06 — the neural network, where `jax.grad` replaces a page of
# hand-written backpropagation. Or first, if you are curious, one optional section more.

# %% [markdown] nbgrader={"grade": false, "grade_id": "pallas_temporal_blocking", "locked": true, "schema_version": 3, "solution": false}
# ## Optional · Beyond one step per pass: temporal blocking with Pallas
#
# *Not graded. The cell at the end runs anywhere in a few seconds; only a Hopper-class
# NVIDIA GPU (H100, H200) or newer shows the speed.*
#
# Every solver above, `simulate` included, does **one time step per pass over memory**: it
# reads the whole grid and writes the whole grid back, once per step. On a GPU the stencil's
# arithmetic is almost free (a handful of operations per cell), so the time of a step is the
# time those bytes take, 2 × 4 bytes per cell. That sets a **roofline**: no program that does
# one step per pass can be faster than one copy of the grid. A compiled loop like your
# `simulate` gets close to that limit, but not past it: XLA compiles the steps one after
# another, each a full pass.
#
# To go faster a program must move fewer bytes per step, and **temporal blocking** does it by
# doing *several* steps per pass: load a tile of the grid into the GPU's fast on-chip memory,
# advance it T steps there, and write it back once. The traffic to main memory drops by about
# a factor T.
#
# Why is the result still exact? After s steps a cell depends only on the cells within s
# cells of it, because one step reads the four neighbours. So a tile loaded with a **halo** of
# T extra cells on every side can be advanced T steps on its own: the cells near the tile's
# edge go wrong by one more cell per step (their neighbours outside the tile are missing), but
# the error never reaches the inner block, and only the inner block is written back.
# Neighbouring tiles compute each other's halos too: redundant arithmetic, traded for bytes,
# which pays when memory is the bottleneck.
#
# ### The kernel's idea
#
# Writing this takes a GPU *kernel*, and **Pallas** (`jax.experimental.pallas`) is JAX's way
# of writing kernels in Python: you write what one program instance does with its tile of the
# arrays, and Pallas compiles it for the GPU (through Triton or Mosaic GPU), or runs it in
# *interpret mode* on a CPU, slowly, to test it. The course module `course/pallas_heat.py`
# holds several versions; the fastest, `variant="mosaic_smem"`, is written for Mosaic GPU. Each
# program instance
#
# 1. copies its tile with the halo (for 8 steps per pass, 64 + 2·8 rows of 112 + 2·8
#    columns) from the GPU's main memory into **shared memory**, the on-chip memory of one
#    streaming multiprocessor, with the GPU's copy engine (TMA);
# 2. runs T steps of the same FTCS update there, back and forth between two shared-memory
#    buffers, updating a cell only if it is an interior cell of the *whole* grid — the
#    Dirichlet edges stay as they are, exactly as in your `heat_step`;
# 3. copies the inner 64 × 112 block back to main memory.
#
# `simulate_pallas(u0, alpha, dt, dx, n_steps, variant="mosaic_smem", steps_per_pass=8)` pads
# the grid once, runs `n_steps // 8` passes in a `fori_loop` (and one shorter pass for the
# rest), and crops the result. Measured on an H200 at 8192 × 8192 with 8 steps per pass:
# **98 µs per step**, which is 142 % of the one-step copy roofline — faster than any program
# doing one step per pass could be — and 1.6× as fast as the best plain-JAX loop (156 µs per
# step). The file's Triton versions, which cannot keep a tile in shared memory, did not beat
# XLA.
#
# The cell below runs the kernel in interpret mode on a tiny grid and checks that it computes
# what your `simulate` computes. On an H100 or H200, set `demo_race_pallas = True` to race the
# compiled kernel against your `simulate` on a 4096 × 4096 grid instead, next to one plain pass
# over the grid (`u + 1`, the roofline's yardstick); it compiles for about ten seconds, which is
# why it is not the default.

# %% nbgrader={"grade": false, "grade_id": "pallas_race", "locked": true, "schema_version": 3, "solution": false}
demo_race_pallas = False   # True: time the compiled kernel (an H100 or H200 is needed)


def demo_pallas(steps_per_pass=8):
    """simulate_pallas against your simulate: timed on a Hopper-class GPU when asked, else in
    interpret mode on a tiny grid (same kernel code, simulated on the CPU)."""
    from course.pallas_heat import simulate_pallas   # imported here: this section is optional

    device = jax.devices()[0]
    major = getattr(device, "compute_capability", "0").split(".")[0] if device.platform == "gpu" else "0"
    # Mosaic GPU needs Hopper (sm_90) or newer
    compiled = demo_race_pallas and major.isdigit() and int(major) >= 9
    n, n_steps = (4096, 400) if compiled else (16, 16)
    rng = np.random.default_rng(0)

    def fresh():
        return (jnp.asarray(demo_noisy_grid(rng, n)), demo_alpha, demo_dt, demo_dx, n_steps)

    def pallas(u0, alpha, dt, dx, n_steps):
        return simulate_pallas(u0, alpha, dt, dx, n_steps, variant="mosaic_smem",
                               steps_per_pass=steps_per_pass, block=None if compiled else (8, 32),
                               interpret=not compiled)

    args = fresh()
    gap = float(jnp.max(jnp.abs(pallas(*args) - simulate(*args))))
    print(f"{n} x {n} grid, {n_steps} steps: max |simulate_pallas - simulate| = {gap:.1e}  ->  "
          f"{'the same grid' if gap < 1e-4 * 100 else 'MISMATCH'}")
    if not compiled:
        print(f"(interpret mode on {device_summary()}: a check, not a race; on an H100 or H200 "
              "set demo_race_pallas = True to time the compiled kernel)")
        return
    one_pass = jax.jit(lambda u: u + 1.0)             # reads and writes the grid once
    per_step = {
        "one pass over the grid (u + 1)": time_call(one_pass, lambda: fresh()[:1], repeats=5).median_s,
        "your simulate": time_call(simulate, fresh, repeats=5).median_s / n_steps,
        f"simulate_pallas, {steps_per_pass} steps/pass": time_call(pallas, fresh, repeats=5).median_s / n_steps,
    }
    base = per_step["your simulate"]
    print(format_table(["", "per step", "vs your simulate"],
                       [[name, fmt_time(t), fmt_speedup(base, t)] for name, t in per_step.items()]))


demo_pallas()
