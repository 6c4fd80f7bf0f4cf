"""Graders for 01_jax_intro: set_boundary, standardize, sample_normal."""

import jax
import numpy as np

from autograder.graders.asserts import (assert_close, assert_dtype, assert_on_device, assert_traceable,
                               assert_unchanged, fmt_call)
from autograder.graders.marks import graded
from autograder.submission import StudentCodeError
from solutions import oracles

# ----------------------------------------------------------------------------------------------
# set_boundary (4 points)


@graded
def test_set_boundary_matches_reference(submission, rng):
    """set_boundary sets all four edges to value and leaves the interior, at several shapes."""
    for shape in [(5, 7), (1, 1), (2, 9), (16, 16), (9, 3)]:
        u = rng.standard_normal(shape).astype(np.float32)
        value = float(rng.uniform(-5, 5))
        call = fmt_call("set_boundary", u, value)
        got = submission.call("set_boundary", u, value)
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
        assert_close(got.value, oracles.set_boundary(u, value), call=call,
                     hint="all four edges (first/last row and column) take `value`; the interior stays")


@graded
def test_set_boundary_leaves_input_unchanged(submission, rng):
    """set_boundary returns a new array and never writes into the array it was given."""
    u = rng.standard_normal((6, 8)).astype(np.float32)
    before = u.copy()
    value = float(rng.uniform(10, 20))
    try:
        got = submission.call("set_boundary", u, value, device=False)
    except StudentCodeError as err:
        # `u.at[...]` on a NumPy argument fails before anything is written: that is no mutation.
        if "has no attribute 'at'" not in str(err):
            raise
        return
    assert got.args_after is not None, "the grader got no arguments back from the call"
    assert_unchanged(before, got.args_after[0], name="set_boundary")


@graded
def test_set_boundary_works_under_jit(submission, rng):
    """set_boundary traces under jax.jit with both u and value as traced arguments."""
    u = rng.standard_normal((4, 5)).astype(np.float32)
    value = float(rng.uniform(-1, 1))
    submission.call("set_boundary", u, value)  # a function that raises says so before tracing
    trace = submission.trace("set_boundary", u, value)
    assert_traceable(trace, name="set_boundary")


# ----------------------------------------------------------------------------------------------
# standardize (3 points)


def _columns(rng, shape):
    """Columns with very different means and spreads, so row- and column-wise results differ."""
    n, d = shape
    loc = rng.uniform(-10, 10, size=d)
    scale = rng.uniform(0.5, 4.0, size=d)
    return (loc + scale * rng.standard_normal((n, d))).astype(np.float32)


def _standardize_bug(got, x):
    """Name the usual slip when the result matches a wrong variant, else restate the rule."""
    x64 = x.astype(np.float64)
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # a one-column x has zero row spread
        variants = _standardize_variants(x64)
    for hint, wrong in variants.items():
        if got.shape == wrong.shape and np.allclose(got, wrong, rtol=1e-3, atol=1e-3):
            return hint
    return "expected (x - mean) / std with per-column mean and std (axis=0, ddof=0)"


def _standardize_variants(x64):
    return {
        "it divides by sqrt(var + 1e-5), as jax.nn.standardize does: its epsilon changes columns of "
        "small spread; divide by the standard deviation itself, x.std(axis=0)":
            (x64 - x64.mean(axis=0)) / np.sqrt(x64.var(axis=0) + 1e-5),
        "it standardizes each row (axis=1); standardize each column with axis=0":
            (x64 - x64.mean(axis=1, keepdims=True)) / x64.std(axis=1, keepdims=True),
        "it divides by the sample std (ddof=1); use the population std (ddof=0, jnp.std's default)":
            (x64 - x64.mean(axis=0)) / x64.std(axis=0, ddof=1),
        "it standardizes with the mean and std of the whole array; use per-column statistics (axis=0)":
            (x64 - x64.mean()) / x64.std(),
        "it only subtracts the mean; also divide by the standard deviation":
            x64 - x64.mean(axis=0),
    }


@graded
def test_standardize_matches_reference(submission, rng):
    """standardize matches the per-column (axis 0, ddof 0) reference at several shapes."""
    for shape in [(50, 3), (7, 1), (2, 5), (3, 9), (400, 12)]:
        x = _columns(rng, shape)
        call = fmt_call("standardize", x)
        got = submission.call("standardize", x)
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
        assert_close(got.value, oracles.standardize(x), call=call, rtol=1e-4, atol=1e-4,
                     hint=_standardize_bug(got.value, x))


@graded
def test_standardize_columns_have_mean_0_std_1(submission, rng):
    """Every column of the result has mean 0 and population standard deviation 1."""
    x = _columns(rng, (30, 4))
    call = fmt_call("standardize", x)
    got = np.asarray(submission.call("standardize", x).value, dtype=np.float64)
    assert got.shape == x.shape, f"{call} returned shape {got.shape}, expected {x.shape}"
    means, stds = got.mean(axis=0), got.std(axis=0)
    if not (np.allclose(means, 0.0, atol=1e-4) and np.allclose(stds, 1.0, atol=1e-4)):
        raise AssertionError(
            f"{call}: the columns have means {np.round(means, 4).tolist()} and standard deviations "
            f"{np.round(stds, 4).tolist()}, expected 0 and 1; {_standardize_bug(got, x)}")


# ----------------------------------------------------------------------------------------------
# sample_normal (5 points)


def _key(rng) -> np.ndarray:
    """A raw PRNG key (uint32 pair), as jax.random.PRNGKey makes them."""
    return rng.integers(0, 2**32, size=2, dtype=np.uint32)


def _unpack_pair(got, call):
    value = got.value
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise AssertionError(f"{call} returned {type(value).__name__}, expected a pair (new_key, samples)")
    return np.asarray(value[0]), np.asarray(value[1])


@graded
def test_sample_normal_returns_new_key_and_samples(submission, rng):
    """sample_normal returns (new_key, samples): a fresh key and float32 samples of shape."""
    for shape in [(3, 4), (1,), (2, 3, 5), (1000,)]:
        key = _key(rng)
        call = fmt_call("sample_normal", key, shape)
        got = submission.call("sample_normal", key, shape)
        new_key, samples = _unpack_pair(got, call)
        assert_on_device(got, call=call)
        if new_key.shape != key.shape:
            raise AssertionError(f"{call} returned a new_key of shape {new_key.shape}, expected one key "
                                 f"of shape {key.shape}; return one of the keys jax.random.split gives")
        if np.array_equal(new_key, key):
            raise AssertionError(f"{call} returned the input key as new_key: return a key from "
                                 "jax.random.split(key) so the caller never reuses a key")
        if samples.shape != shape:
            raise AssertionError(f"{call} returned samples of shape {samples.shape}, expected {shape}")
        assert_dtype(samples, np.float32, call=call)


@graded
def test_sample_normal_is_reproducible(submission, rng):
    """The same key gives identical results; different keys give different samples."""
    shape = (64,)
    key, other = _key(rng), _key(rng)
    call = fmt_call("sample_normal", key, shape)
    first = _unpack_pair(submission.call("sample_normal", key, shape), call)
    again = _unpack_pair(submission.call("sample_normal", key, shape), call)
    if not (np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])):
        raise AssertionError(f"two calls of {call} with the same key gave different results: draw "
                             "only with keys derived from `key` (no NumPy random, no global state)")
    _, samples_other = _unpack_pair(submission.call("sample_normal", other, shape), call)
    if np.allclose(first[1], samples_other):
        raise AssertionError(f"{call} gave the same samples for two different keys: derive the key "
                             "you draw with from `key`, not from a fixed seed")


@graded
def test_sample_normal_looks_standard_normal(submission, rng):
    """20000 samples have mean about 0, std about 1 and about 68% of them within one std."""
    shape = (200, 100)
    n = shape[0] * shape[1]
    key = _key(rng)
    call = fmt_call("sample_normal", key, shape)
    _, samples = _unpack_pair(submission.call("sample_normal", key, shape), call)
    if samples.shape != shape:
        raise AssertionError(f"{call} returned samples of shape {samples.shape}, expected {shape}")
    s = samples.astype(np.float64).ravel()
    mean, std, inside = s.mean(), s.std(), np.mean(np.abs(s) < 1.0)
    # Bounds of about 6 standard errors: a correct sampler fails them about once in 10**8 runs.
    p = 0.682689
    ok = (abs(mean) < 6 / np.sqrt(n) and abs(std - 1) < 6 / np.sqrt(2 * n)
          and abs(inside - p) < 6 * np.sqrt(p * (1 - p) / n))
    if not ok:
        raise AssertionError(
            f"{call}: samples have mean {mean:.4f}, std {std:.4f} and {100 * inside:.1f}% within "
            "one std; standard normal samples have 0, 1 and 68.3%: use jax.random.normal")


@graded
def test_sample_normal_splits_before_drawing(submission, rng):
    """The samples are drawn with a key split from `key`: neither `key` nor new_key itself."""
    for shape in [(8,), (3, 5)]:
        key = _key(rng)
        call = fmt_call("sample_normal", key, shape)
        new_key, samples = _unpack_pair(submission.call("sample_normal", key, shape), call)
        if samples.shape != shape:
            raise AssertionError(f"{call} returned samples of shape {samples.shape}, expected {shape}")
        # The same draws made here; threefry bits agree on every backend, the normal
        # transform to within rounding.
        with_key = np.asarray(jax.random.normal(key, shape, dtype=np.float32))
        if np.allclose(samples, with_key, rtol=1e-5, atol=1e-5):
            raise AssertionError(f"{call} reused the input key: split it first "
                                 "(key, subkey = jax.random.split(key)) and draw with the subkey")
        if new_key.shape == key.shape and new_key.dtype == key.dtype:
            with_new_key = np.asarray(jax.random.normal(new_key, shape, dtype=np.float32))
            if np.allclose(samples, with_new_key, rtol=1e-5, atol=1e-5):
                raise AssertionError(f"{call} drew the samples with the key it returns: draw with one "
                                     "key from jax.random.split(key) and return the other")
