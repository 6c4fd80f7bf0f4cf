"""Graders for 05_heat_equation_jax: heat_step and simulate (20 points).

Grids are random (edges included, so a step that wraps around or pads with zeros shows), often
non-square, with dx != 1 so that dx and dx**2 differ, and dt = 0.2 dx**2 / alpha (stable).
"""

import numpy as np

from autograder import assignment, thresholds
from autograder.graders.asserts import (assert_close, assert_dtype, assert_on_device, assert_traceable,
                                        compiled_loop_problem, fmt_call, log_race)
from autograder.graders.marks import graded
from autograder.submission import Baseline
from solutions import oracles
from solutions.answers import answer_source

STEM = "05_heat_equation_jax"
# float32 against the float64 oracle; loose enough for a stencil written as a TF32 convolution.
ATOL = 2e-3
# (ny, nx, alpha, dx): non-square grids, the smallest grid with an interior, dx != 1.
CASES = [(7, 11, 1.0, 0.5), (16, 9, 0.7, 0.1), (3, 3, 2.0, 2.0), (40, 64, 0.25, 0.3)]
LOOP_COUNTS = (3, 30)  # n_steps of the two traces that show whether the loop is compiled


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


def _matches_own_steps(submission, got, u0, alpha, dt, dx, n_steps, tol) -> bool:
    """Whether simulate's result equals n_steps calls of the notebook's own heat_step."""
    u = u0
    try:
        for _ in range(n_steps):
            u = np.asarray(submission.call("heat_step", u, alpha, dt, dx).value)
    except AssertionError:  # heat_step raises or is missing: then it is not that
        return False
    return u.shape == np.shape(got) and bool(np.allclose(got, u, rtol=0, atol=tol))


# simulate is judged against the oracle, not against the student's own heat_step: its result
# is what the solver computes, and a solver built on a wrong step is a wrong solver. When the
# loop itself is right, the message says so and points at heat_step.
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
            if not np.allclose(got.value, expected, rtol=0, atol=tol) and _matches_own_steps(
                    submission, got.value, u0, alpha, dt, dx, n_steps, tol):
                hint = ("it equals n_steps calls of YOUR heat_step, so the loop is right and heat_step "
                        "is wrong: fix heat_step first")
        assert_close(got.value, expected, call=call, rtol=0, atol=tol, hint=hint)


def _loop_traces(submission, rng):
    u0, alpha, dt, dx = make_case(rng, 8, 10, 1.0, 0.5)
    return tuple(submission.trace("simulate", u0, alpha, dt, dx, n, static=(1, 2, 3, 4)) for n in LOOP_COUNTS)


@graded
def test_simulate_is_jitted(submission, rng):
    """simulate is one jit-compiled program."""
    short, long = _loop_traces(submission, rng)
    problem = compiled_loop_problem("simulate", short, long, LOOP_COUNTS)
    if problem.startswith("simulate is not jit-compiled"):
        raise AssertionError(problem)


@graded
def test_simulate_loop_is_compiled(submission, rng):
    """The time loop is inside the compiled program: its size does not grow with n_steps."""
    short, long = _loop_traces(submission, rng)
    problem = compiled_loop_problem("simulate", short, long, LOOP_COUNTS)
    if problem:
        raise AssertionError(problem)


# The baseline of the speed test: the program a student writes first, one jitted fori_loop over
# the reference heat step with n_steps traced. It runs in the clean kernel (no student code).
PLAIN_LOOP = answer_source(STEM) + '''

@jax.jit
def plain_loop(u0, alpha, dt, dx, n_steps):
    return jax.lax.fori_loop(0, n_steps, lambda _, u: heat_step(u, alpha, dt, dx), jnp.asarray(u0))
'''


def _ms(times):
    return f"{np.median(times) * 1e3:.3g} ms"


@graded
def test_simulate_speed_vs_plain_loop(submission, rng):
    """On a GPU, simulate runs within a factor of a plain jitted fori_loop (no host in the loop)."""
    threshold = assignment.threshold("simulate_speed_vs_plain_loop")
    shape, n_steps = thresholds.SIMULATE_SPEED_SHAPE, thresholds.SIMULATE_SPEED_STEPS
    # Fresh grids every run; the scalars stay fixed, so that a simulate holding alpha, dt and dx
    # static under jit is not timed recompiling.
    alpha, dx = float(rng.uniform(0.5, 2.0)), float(rng.uniform(0.05, 1.0))
    runs = [list(make_case(rng, *shape, alpha, dx)) + [n_steps] for _ in range(thresholds.SPEED_RUNS)]
    race = submission.race("simulate", Baseline("plain_loop", source=PLAIN_LOOP, clean=True), runs,
                           threshold=threshold)
    log_race("simulate vs plain fori_loop", race)
    # Every timed output against the baseline's on the same grid (cheap), and the baseline's first
    # against the float64 oracle (the oracle on every grid would take seconds).
    first = runs[0]
    assert_close(race.baseline_outputs[0], oracles.simulate(*first), call="the baseline", rtol=0,
                 atol=ATOL * (1.0 + np.max(np.abs(first[0]))))
    for args, out, expected in zip(runs, race.outputs, race.baseline_outputs):
        assert_close(out, expected, call=fmt_call("simulate", *args) + " (timed)", rtol=0,
                     atol=ATOL * (1.0 + np.max(np.abs(args[0]))), hint="a timed call returned a wrong grid")
    slowdown = threshold.ratio(race.speedup)
    if not threshold.passes(race.speedup):
        raise AssertionError(
            f"simulate took {_ms(race.candidate_s)} for {n_steps} steps on a {shape} grid, {slowdown:.1f}x "
            f"the {_ms(race.baseline_s)} of a plain jitted fori_loop; at most {threshold.value:g}x is "
            "allowed: keep the host out of the loop (no jax.pure_callback, jax.debug.callback, "
            "np.asarray or print of the grid inside it)")
