"""Graders for 05_heat_equation_jax: heat_step and simulate (20 points).

Grids are random (edges included, so a step that wraps around or pads with zeros shows), often
non-square, with dx != 1 so that dx and dx**2 differ, and dt = 0.2 dx**2 / alpha (stable).
"""


import numpy as np

from autograder import thresholds
from autograder.graders.asserts import (assert_close, assert_dtype, assert_on_device, assert_traceable, fmt_call, is_jitted,
                               log_race, loop_count)
from autograder.graders.marks import graded
from solutions import oracles
from solutions.answers import answer_source
from solutions.golden import golden_source

STEM = "05_heat_equation_jax"
# float32 against the float64 oracle; loose enough for a stencil written as a TF32 convolution.
ATOL = 2e-3
# (ny, nx, alpha, dx): non-square grids, the smallest grid with an interior, dx != 1.
CASES = [(7, 11, 1.0, 0.5), (16, 9, 0.7, 0.1), (3, 3, 2.0, 2.0), (40, 64, 0.25, 0.3)]
SPEED_SHAPE, SPEED_STEPS = (1024, 1024), 50


def make_case(rng, ny, nx, alpha, dx):
    u = rng.uniform(-1.0, 1.0, (ny, nx)).astype(np.float32)
    dt = 0.2 * dx**2 / alpha
    return u, float(alpha), float(dt), float(dx)


def _heat_hint(got, u, alpha, dt, dx):
    """Name the likely bug when a heat step differs from the reference on the interior."""
    got = np.asarray(got, dtype=np.float64)[1:-1, 1:-1]
    tol = ATOL * (1.0 + np.max(np.abs(u)))
    guesses = [
        (oracles.heat_step(u, alpha, dt, np.sqrt(dx)),
         "it matches the update with dx instead of dx**2: the coefficient is alpha*dt/dx**2"),
        (oracles.heat_step(u, alpha, dt, 1.0),
         "it matches the update without dx: the coefficient is alpha*dt/dx**2"),
        (oracles.heat_step(u, 1.0, dt, dx),
         "it matches the update without alpha: the coefficient is alpha*dt/dx**2"),
        (oracles.heat_step(u, alpha, 1.0, dx),
         "it matches the update without dt: the coefficient is alpha*dt/dx**2"),
        (np.asarray(u, dtype=np.float64), "the interior did not change: return the updated array"),
    ]
    for candidate, hint in guesses:
        if np.allclose(got, candidate[1:-1, 1:-1], rtol=0, atol=tol):
            return hint
    return ("interior: u + alpha*dt/dx**2 * (u[i+1,j] + u[i-1,j] + u[i,j+1] + u[i,j-1] - 4*u[i,j]), "
            "every neighbour from the OLD u")


@graded
def test_heat_step_interior_matches_reference(submission, rng):
    """The interior of one step matches the FTCS update, at several grids and spacings."""
    for ny, nx, alpha, dx in CASES:
        u, alpha, dt, dx = make_case(rng, ny, nx, alpha, dx)
        call = fmt_call("heat_step", u, alpha, dt, dx)
        got = submission.call("heat_step", u, alpha, dt, dx)
        assert_on_device(got, call=call)
        value = np.asarray(got.value)
        if value.shape != u.shape:
            raise AssertionError(f"{call} returned shape {value.shape}, expected the grid's shape {u.shape}: "
                                 "return the whole grid, edges included")
        assert_dtype(value, np.float32, call=call)
        expected = oracles.heat_step(u, alpha, dt, dx)
        tol = ATOL * (1.0 + np.max(np.abs(u)))
        if not np.allclose(value[1:-1, 1:-1], expected[1:-1, 1:-1], rtol=0, atol=tol):
            assert_close(value[1:-1, 1:-1], expected[1:-1, 1:-1], call=call + " on the interior",
                         rtol=0, atol=tol, hint=_heat_hint(value, u, alpha, dt, dx))


@graded
def test_heat_step_keeps_boundary(submission, rng):
    """The first and last rows and columns come back exactly as they went in (Dirichlet)."""
    for ny, nx, alpha, dx in CASES:
        u, alpha, dt, dx = make_case(rng, ny, nx, alpha, dx)
        call = fmt_call("heat_step", u, alpha, dt, dx)
        value = np.asarray(submission.call("heat_step", u, alpha, dt, dx).value)
        if value.shape != u.shape:
            raise AssertionError(f"{call} returned shape {value.shape}, expected the grid's shape {u.shape}")
        edge = np.ones(u.shape, dtype=bool)
        edge[1:-1, 1:-1] = False
        moved = ~np.isclose(value, u, rtol=0, atol=1e-6) & edge
        if moved.any():
            i, j = np.argwhere(moved)[0]
            raise AssertionError(
                f"boundary changed: Dirichlet edges must keep their values ({call}: {int(moved.sum())} "
                f"edge cells moved, e.g. [{i}, {j}] went from {u[i, j]:.6g} to {value[i, j]:.6g}); update "
                "only u[1:-1, 1:-1] and copy the edges from u (no jnp.roll wrap-around, no zero padding)")


@graded
def test_heat_step_is_traceable(submission, rng):
    """heat_step works on a traced array, as it must inside a jit-compiled simulate."""
    u, alpha, dt, dx = make_case(rng, 9, 12, 1.0, 0.5)
    assert_traceable(submission.trace("heat_step", u, alpha, dt, dx, static=(1, 2, 3)), name="heat_step")


@graded
def test_simulate_matches_reference(submission, rng):
    """simulate equals n_steps reference steps, on non-square grids with dx != 1."""
    for (ny, nx, alpha, dx), n_steps in zip(CASES, [7, 1, 3, 20]):
        u0, alpha, dt, dx = make_case(rng, ny, nx, alpha, dx)
        call = fmt_call("simulate", u0, alpha, dt, dx, n_steps)
        got = submission.call("simulate", u0, alpha, dt, dx, n_steps)
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
        expected = oracles.simulate(u0, alpha, dt, dx, n_steps)
        tol = ATOL * (1.0 + np.max(np.abs(u0)))
        hint = "the grid after exactly n_steps heat steps from u0"
        if np.asarray(got.value).shape == expected.shape:
            for other in (n_steps - 1, n_steps + 1):
                if other >= 0 and np.allclose(got.value, oracles.simulate(u0, alpha, dt, dx, other),
                                              rtol=0, atol=tol):
                    hint = f"it matches {other} steps instead of {n_steps}: check the loop bounds"
        assert_close(got.value, expected, call=call, rtol=0, atol=tol, hint=hint)


@graded
def test_simulate_is_jitted(submission, rng):
    """simulate is one jit-compiled program."""
    u0, alpha, dt, dx = make_case(rng, 8, 10, 1.0, 0.5)
    trace = submission.trace("simulate", u0, alpha, dt, dx, 3, static=(1, 2, 3, 4))
    assert_traceable(trace, name="simulate")
    if not is_jitted(trace):
        raise AssertionError(
            "simulate is not jit-compiled: the loop runs in Python; decorate it with @jax.jit "
            f"(its program starts with {len(trace.top)} operations: {', '.join(trace.top[:4])}"
            f"{', ...' if len(trace.top) > 4 else ''})")


@graded
def test_simulate_loop_is_compiled(submission, rng):
    """The time loop is inside the compiled program: its size does not grow with n_steps."""
    u0, alpha, dt, dx = make_case(rng, 8, 10, 1.0, 0.5)
    short = submission.trace("simulate", u0, alpha, dt, dx, 3, static=(1, 2, 3, 4))
    assert_traceable(short, name="simulate")
    long = submission.trace("simulate", u0, alpha, dt, dx, 30, static=(1, 2, 3, 4))
    assert_traceable(long, name="simulate")
    if long.eqns != short.eqns or loop_count(long) < 1:
        raise AssertionError(
            f"simulate unrolls a Python loop: use jax.lax.fori_loop (its program has {short.eqns} "
            f"operations for 3 steps and {long.eqns} for 30, with {loop_count(long)} compiled loops)")



def _speed_runs(rng):
    """Fresh grids for every run; the scalars stay fixed within a test, so that a simulate that
    holds alpha, dt, dx static under jit is not timed recompiling."""
    alpha, dx = float(rng.uniform(0.5, 2.0)), float(rng.uniform(0.05, 1.0))
    runs, inputs = [], []
    for _ in range(thresholds.SPEED_RUNS):
        u0, alpha, dt, dx = make_case(rng, *SPEED_SHAPE, alpha, dx)
        args = [u0, alpha, dt, dx, SPEED_STEPS]
        inputs.append(args)
        runs.append({"candidate": args})
    return runs, inputs


def _check_outputs(race, inputs):
    """Every timed output against the oracle (cheap at this size: ~0.5 s each)."""
    for args, out in zip(inputs, race.outputs):
        expected = oracles.simulate(*args)
        assert_close(out, expected, call=fmt_call("simulate", *args), rtol=0,
                     atol=ATOL * (1.0 + np.max(np.abs(args[0]))), hint="a timed call returned a wrong grid")


def _ms(times):
    return f"{np.median(times) * 1e3:.3g} ms"


@graded
def test_simulate_speed_vs_numpy(submission, rng):
    """On a GPU, simulate beats the NumPy golden solver by a wide margin."""
    submission.load_baseline("golden_heat", golden_source("heat"))
    runs, inputs = _speed_runs(rng)
    race = submission.race("simulate", ("golden_heat", "solve"), runs, baseline_device=False,
                           warmup=thresholds.SPEED_WARMUP)
    log_race("simulate vs NumPy solve", race)
    _check_outputs(race, inputs)
    if race.speedup < thresholds.SIMULATE_MIN_SPEEDUP_VS_NUMPY:
        raise AssertionError(
            f"simulate took {_ms(race.candidate_s)} for {SPEED_STEPS} steps on a {SPEED_SHAPE} grid, only "
            f"{race.speedup:.2f}x faster than NumPy ({_ms(race.baseline_s)}); expected at least "
            f"{thresholds.SIMULATE_MIN_SPEEDUP_VS_NUMPY:g}x: keep the whole loop in jax.numpy on the device "
            "(no NumPy, no np.asarray / float() of arrays inside)")


@graded
def test_simulate_speed_vs_reference(submission, rng):
    """simulate is within a factor of the JAX reference answer (jitted, not wasteful)."""
    submission.load_baseline("ref05", answer_source(STEM))
    runs, inputs = _speed_runs(rng)
    race = submission.race("simulate", ("ref05", "simulate"), runs, warmup=thresholds.SPEED_WARMUP)
    log_race("simulate vs reference", race)
    _check_outputs(race, inputs)
    slowdown = 1.0 / race.speedup
    if slowdown > thresholds.SIMULATE_MAX_SLOWDOWN_VS_REFERENCE:
        raise AssertionError(
            f"simulate took {_ms(race.candidate_s)}, {slowdown:.1f}x the reference's {_ms(race.baseline_s)} "
            f"({SPEED_STEPS} steps on a {SPEED_SHAPE} grid); at most "
            f"{thresholds.SIMULATE_MAX_SLOWDOWN_VS_REFERENCE:g}x is allowed: jit simulate with the loop "
            "inside (jax.lax.fori_loop) and build each step from whole-array slices, no per-cell loops")
