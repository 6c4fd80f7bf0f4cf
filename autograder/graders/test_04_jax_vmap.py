"""Graders for 04_jax_vmap: predict, batched_predict, per_example_grads (16 points).

Tolerances are fit for float32 on a GPU, where JAX's default matrix products use TF32 (about
three decimal digits): a formula bug (a missing bias, a missing tanh, a mean over the batch)
is off by far more than that.
"""

import numpy as np

from autograder import assignment, thresholds
from autograder.graders.asserts import (assert_close, assert_dtype, assert_on_device, assert_traceable, fmt_call,
                               log_race, loop_count)
from autograder.graders.marks import graded
from autograder.submission import Baseline
from solutions import oracles

RTOL = 2e-3
ATOL = 2e-3

# What batched_predict would cost without vmap: a Python loop over the student's own predict
# (bound into the baseline's namespace by the grader), jitted so the loop is the fastest it can be.
LOOP_BASELINE = '''
import jax
import jax.numpy as jnp

_predict = jax.jit(predict)


def loop(params, xs):
    return jnp.stack([_predict(params, x) for x in xs])
'''


def make_params(rng, d, h):
    return {
        "w": (rng.standard_normal((d, h)) / np.sqrt(d)).astype(np.float32),
        "b": (0.5 * rng.standard_normal(h)).astype(np.float32),
        "v": (rng.standard_normal(h) / np.sqrt(h)).astype(np.float32),
    }


def atol_for(expected):
    return ATOL * (1.0 + float(np.max(np.abs(expected), initial=0.0)))


@graded
def test_predict_matches_reference(submission, rng):
    """predict returns the scalar v @ tanh(x @ w + b) for one example, at several sizes."""
    for d, h in [(3, 5), (8, 16), (1, 1), (20, 7)]:
        params = make_params(rng, d, h)
        x = rng.standard_normal(d).astype(np.float32)
        call = fmt_call("predict", params, x)
        got = submission.call("predict", params, x)
        assert_on_device(got, call=call)
        value = np.asarray(got.value)
        if value.shape != ():
            raise AssertionError(f"{call} returned shape {value.shape}, expected a scalar (shape ()): "
                                 "predict handles ONE example x of shape (d,); use v @ tanh(x @ w + b)")
        assert_dtype(value, np.float32, call=call)
        expected = oracles.predict(params, x)
        assert_close(value, expected, call=call, rtol=RTOL, atol=atol_for(expected),
                     hint="predict(params, x) = v @ tanh(x @ w + b)")


@graded
def test_batched_predict_matches_reference(submission, rng):
    """batched_predict maps predict over the rows of xs: a batch of one and larger batches."""
    for n, d, h in [(1, 4, 6), (5, 3, 8), (33, 10, 12)]:
        params = make_params(rng, d, h)
        xs = rng.standard_normal((n, d)).astype(np.float32)
        call = fmt_call("batched_predict", params, xs)
        got = submission.call("batched_predict", params, xs)
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
        expected = oracles.batched_predict(params, xs)
        assert_close(got.value, expected, call=call, rtol=RTOL, atol=atol_for(expected),
                     hint="one prediction per row of xs, shape (n,): jax.vmap(predict, in_axes=(None, 0))")


@graded
def test_batched_predict_is_vectorized(submission, rng):
    """The traced program of batched_predict is the same size for 1 example and for 16."""
    params = make_params(rng, 4, 6)
    small = submission.trace("batched_predict", params, rng.standard_normal((1, 4)).astype(np.float32))
    assert_traceable(small, name="batched_predict")
    large = submission.trace("batched_predict", params, rng.standard_normal((16, 4)).astype(np.float32))
    assert_traceable(large, name="batched_predict")
    if large.eqns != small.eqns:
        raise AssertionError(
            "batched_predict loops in Python over examples: build it with jax.vmap(predict, "
            f"in_axes=(None, 0)) (its program has {small.eqns} operations for 1 example and "
            f"{large.eqns} for 16)")
    if loop_count(large):
        raise AssertionError(
            "batched_predict runs the examples one after another (lax.map/scan/fori_loop): "
            "build it with jax.vmap(predict, in_axes=(None, 0)) so they run in parallel")


@graded
def test_per_example_grads_match_reference(submission, rng):
    """One gradient per example: a dict like params with a leading axis n, at several sizes."""
    for n, d, h in [(1, 3, 4), (4, 5, 3), (17, 8, 10)]:
        params = make_params(rng, d, h)
        xs = rng.standard_normal((n, d)).astype(np.float32)
        ys = rng.standard_normal(n).astype(np.float32)
        call = fmt_call("per_example_grads", params, xs, ys)
        got = submission.call("per_example_grads", params, xs, ys)
        if not isinstance(got.value, dict) or set(got.value) != {"w", "b", "v"}:
            keys = sorted(got.value) if isinstance(got.value, dict) else type(got.value).__name__
            raise AssertionError(f"{call} returned {keys}, expected a dict with keys 'b', 'v', 'w' "
                                 "shaped like params: jax.grad of a function of params gives one")
        assert_on_device(got, call=call)
        expected = oracles.per_example_grads(params, xs, ys)
        for key in ("w", "b", "v"):
            leaf_call = f"{call}[{key!r}]"
            value = np.asarray(got.value[key])
            if value.shape == params[key].shape:
                raise AssertionError(
                    f"{leaf_call} has shape {value.shape}, the shape of params[{key!r}], expected "
                    f"{expected[key].shape}: that is one gradient for the whole batch (the mean or sum "
                    "loss); map the gradient of ONE example's loss: "
                    "jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))")
            assert_dtype(value, np.float32, call=leaf_call)
            assert_close(value, expected[key], call=leaf_call, rtol=RTOL, atol=atol_for(expected[key]),
                         hint="the gradient of (predict(params, x) - y)**2 for each example (x, y)")



@graded
def test_batched_predict_speed_vs_python_loop(submission, rng):
    """On a GPU, batched_predict beats a Python loop of jitted single-example calls."""
    threshold = assignment.threshold("batched_predict_speed_vs_python_loop")
    n, d, h = thresholds.BATCHED_PREDICT_SPEED_SHAPE
    runs = [[make_params(rng, d, h), rng.standard_normal((n, d)).astype(np.float32)]
            for _ in range(thresholds.SPEED_RUNS)]
    loop = Baseline("loop", source=LOOP_BASELINE, bind=(("predict", "predict"),))
    race = submission.race("batched_predict", loop, runs, threshold=threshold)
    log_race("batched_predict vs Python loop", race)
    for (params, xs), out in zip(runs, race.outputs):
        expected = oracles.batched_predict(params, xs)
        assert_close(out, expected, call=fmt_call("batched_predict", params, xs), rtol=RTOL,
                     atol=atol_for(expected), hint="a timed call returned a wrong result")
    if not threshold.passes(race.speedup):
        raise AssertionError(
            f"batched_predict on {n} examples took {np.median(race.candidate_s) * 1e3:.3g} ms, only "
            f"{race.speedup:.2f}x faster than a Python loop over your jitted predict "
            f"({np.median(race.baseline_s) * 1e3:.3g} ms); expected at least {threshold.value:g}x: "
            "use jax.vmap, not a loop")
