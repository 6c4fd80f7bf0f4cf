"""Graders for 01_jax_intro: set_boundary, standardize, sample_normal."""

import numpy as np

from autograder.checks import assert_close, assert_dtype, assert_on_device, fmt_call
from autograder.graders.marks import graded
from solutions import oracles


@graded("set_boundary", points=2)
def test_set_boundary_matches_reference(submission, rng):
    """set_boundary sets all four edges to value and leaves the interior, at several shapes."""
    for shape in [(5, 7), (1, 1), (2, 9), (16, 16)]:
        u = rng.standard_normal(shape).astype(np.float32)
        value = float(rng.uniform(-5, 5))
        call = fmt_call("set_boundary", u, value)
        got = submission.call("set_boundary", u, value)
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
        assert_close(got.value, oracles.set_boundary(u, value), call=call,
                     hint="all four edges (first/last row and column) take `value`; the interior stays")
