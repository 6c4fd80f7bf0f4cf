"""Graders for 02_jax_jit: gelu, gelu_jit, clipped_sum."""

from math import erf

import numpy as np

from autograder import assignment, thresholds
from autograder.graders.asserts import (assert_close, assert_dtype, assert_on_device, assert_traceable, fmt_call,
                                        is_jitted, log_race)
from autograder.graders.marks import graded
from autograder.messages import explain
from autograder.submission import Baseline
from solutions import oracles

GELU_FORMULA = "0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))"
# Where the curve bends, in its flat tails and at 0, plus values whose x**3 is large.
GELU_SPECIAL = np.array([0.0, 1e-3, -1e-3, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0,
                         5.0, -5.0, 10.0, -10.0, 30.0, -30.0, 50.0, -50.0], dtype=np.float32)
GELU_CHECKED_ENTRIES = 4096  # of every timed output, drawn at random: the whole would take seconds


def _exact_gelu(x):
    """The erf form of GELU, which the tanh formula only approximates."""
    x64 = np.asarray(x, dtype=np.float64)
    return 0.5 * x64 * (1.0 + np.vectorize(erf)(x64 / np.sqrt(2.0)))


def _gelu_hint(got, x) -> str:
    got = np.asarray(got, dtype=np.float64)
    if got.shape == x.shape and np.allclose(got, _exact_gelu(x), rtol=1e-5, atol=1e-6):
        return f"that is the exact (erf) GELU; the exercise asks for the tanh approximation {GELU_FORMULA}"
    return f"check the constants and the cube: {GELU_FORMULA}"


def _gelu_inputs(rng):
    yield GELU_SPECIAL
    for shape in [(1000,), (3, 5), (1,), (2, 3, 4)]:
        yield (3.0 * rng.standard_normal(shape)).astype(np.float32)


def _check_gelu(submission, name, rng):
    for x in _gelu_inputs(rng):
        call = fmt_call(name, x)
        got = submission.call(name, x)
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
        assert_close(got.value, oracles.gelu(x), call=call, rtol=1e-4, atol=1e-6,
                     hint=_gelu_hint(got.value, x))


# ----------------------------------------------------------------------------------------------
# gelu (4 points)


@graded
def test_gelu_matches_reference(submission, rng):
    """gelu matches the tanh-approximation reference, at 0, for large |x| and at several shapes."""
    _check_gelu(submission, "gelu", rng)


@graded
def test_gelu_is_traceable(submission, rng):
    """gelu is written in jax.numpy, so JAX can trace (and therefore jit) it."""
    x = rng.standard_normal((16,)).astype(np.float32)
    submission.call("gelu", x)  # a function that raises says so before tracing
    assert_traceable(submission.trace("gelu", x), name="gelu")


# ----------------------------------------------------------------------------------------------
# gelu_jit (5 points, 2 of them for speed on a GPU)


@graded
def test_gelu_jit_is_jit_compiled(submission, rng):
    """gelu_jit is a jax.jit-compiled function (it traces to one compiled call)."""
    x = rng.standard_normal((16,)).astype(np.float32)
    submission.call("gelu_jit", x)  # a function that raises says so before tracing
    trace = submission.trace("gelu_jit", x)
    assert_traceable(trace, name="gelu_jit")
    assert is_jitted(trace), "gelu_jit is not jit-compiled: define it as jax.jit(gelu)"


@graded
def test_gelu_jit_matches_reference(submission, rng):
    """gelu_jit computes the same GELU as the reference, at several shapes."""
    _check_gelu(submission, "gelu_jit", rng)


@graded
def test_gelu_jit_speed_vs_eager(submission, rng):
    """On a GPU, gelu_jit is clearly faster than your gelu run op by op, on 2**22 entries."""
    threshold = assignment.threshold("gelu_jit_speed_vs_eager")
    n = thresholds.GELU_SPEED_SIZE
    runs = [[(3.0 * rng.standard_normal(n)).astype(np.float32)] for _ in range(thresholds.SPEED_RUNS)]
    sample = rng.choice(n, size=GELU_CHECKED_ENTRIES, replace=False)
    race = submission.race("gelu_jit", Baseline("gelu", disable_jit=True), runs, threshold=threshold, sample=sample)
    log_race("gelu_jit vs gelu op by op", race)
    for (x,), out in zip(runs, race.outputs):  # every timed output, at the sampled entries
        call = fmt_call("gelu_jit", x)
        if out["shape"] != list(x.shape) or not out["finite"]:
            raise AssertionError(f"a timed call {call} returned shape {out['shape']} "
                                 f"{'with NaN or inf' if not out['finite'] else ''}")
        assert_close(out["values"], oracles.gelu(x[sample]), call=call + " (timed)", rtol=1e-4, atol=1e-6,
                     hint="a timed call of gelu_jit returned a wrong result")
    if not threshold.passes(race.speedup):
        raise AssertionError(
            f"gelu_jit was {race.speedup:.2f}x as fast as gelu run op by op (jax.disable_jit), at least "
            f"{threshold.value:g}x expected: define gelu_jit = jax.jit(gelu) so that XLA fuses the "
            "element-wise operations into one pass over the array")


# ----------------------------------------------------------------------------------------------
# clipped_sum (5 points)


def _threshold(rng, low=0.5, high=1.5) -> float:
    """A threshold that float32 holds exactly, so entries can sit exactly on it."""
    return float(np.float32(rng.uniform(low, high)))


def _check_clipped_sum(submission, x, threshold, *, check_kind=True):
    call = fmt_call("clipped_sum", x, threshold)
    got = submission.call("clipped_sum", x, threshold)
    if check_kind:
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
    expected = oracles.clipped_sum(x, threshold)
    x64 = np.asarray(x, dtype=np.float64)
    hint = "sum the entries with abs(x) <= threshold, e.g. jnp.sum(jnp.where(jnp.abs(x) <= threshold, x, 0))"
    got_f = np.asarray(got.value, dtype=np.float64)
    strict = np.sum(x64[np.abs(x64) < threshold])  # what `<` instead of `<=` gives
    if got_f.shape == () and np.isclose(got_f, strict, rtol=1e-5, atol=1e-6) and strict != expected:
        hint = "entries with abs(x) exactly equal to threshold count too: use <=, not <"
    elif np.all(np.abs(x64) > threshold):
        hint = "when no entry has abs(x) <= threshold the sum is 0.0"
    assert_close(got.value, expected, call=call, rtol=1e-5, atol=1e-5 * float(np.abs(x64).sum()) + 1e-6,
                 hint=hint)


@graded
def test_clipped_sum_matches_reference(submission, rng):
    """clipped_sum matches the reference on random 1-D and 2-D inputs."""
    for shape in [(257,), (1,), (3, 7), (16, 32), (1, 5)]:
        x = rng.standard_normal(shape).astype(np.float32)
        _check_clipped_sum(submission, x, _threshold(rng))


@graded
def test_clipped_sum_edge_cases(submission, rng):
    """Entries exactly at +-threshold count; all entries inside gives the full sum, none gives 0."""
    t = _threshold(rng)
    cases = [
        np.array([t, t, -0.25 * t, 3 * t, -3 * t], dtype=np.float32),  # on the threshold: counted
        np.array([[t, -t, -t], [0.5 * t, 5 * t, -5 * t]], dtype=np.float32),  # the same in 2-D
        rng.uniform(-0.9 * t, 0.9 * t, size=(4, 6)).astype(np.float32),  # all inside
        (np.sign(rng.standard_normal(10)) * rng.uniform(1.5 * t, 3 * t, size=10)).astype(np.float32),  # none
    ]
    for x in cases:
        # The value is what counts here; the dtype and device are graded with the random inputs.
        _check_clipped_sum(submission, x, t, check_kind=False)


@graded
def test_clipped_sum_works_under_jit(submission, rng):
    """clipped_sum traces under jax.jit with x and threshold both traced (no Python branching)."""
    for shape in [(10,), (3, 4)]:
        x = rng.standard_normal(shape).astype(np.float32)
        t = _threshold(rng)
        submission.call("clipped_sum", x, t)  # a function that raises says so before tracing
        trace = submission.trace("clipped_sum", x, t)
        if not trace.traceable:
            raise AssertionError("clipped_sum fails under jax.jit with x and threshold traced: "
                                 + explain(trace.error or "unknown error"))
