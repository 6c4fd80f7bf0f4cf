"""The points scheme: each grader module's tests add up to its notebook's share of 100."""

import pytest

from autograder.notebook_checks import grader_tests
from autograder.points import ASSIGNMENT_POINTS, NOTEBOOK_POINTS, STEMS

GRADED_NAMES = {  # SPEC.md's table, by notebook
    "01_jax_intro": {"set_boundary", "standardize", "sample_normal"},
    "02_jax_jit": {"gelu", "gelu_jit", "clipped_sum"},
    "03_jax_grad": {"mse_loss", "mse_grad", "fit_linear"},
    "04_jax_vmap": {"predict", "batched_predict", "per_example_grads"},
    "05_heat_equation_jax": {"heat_step", "simulate"},
    "06_deep_learning_jax": {"init_mlp", "mlp_forward", "cross_entropy", "train_step", "train_mlp"},
}


def test_assignment_is_worth_100():
    assert ASSIGNMENT_POINTS == 100 and set(NOTEBOOK_POINTS) == set(GRADED_NAMES)


@pytest.mark.parametrize("stem", STEMS)
def test_module_points_add_up(stem):
    """A module's test points sum to its notebook's total; every graded name is tested."""
    tests = grader_tests(stem)
    assert sum(t.points for t in tests) == NOTEBOOK_POINTS[stem]
    assert {t.exercise for t in tests} == GRADED_NAMES[stem], "each graded name has tests, and only those"
    for t in tests:
        assert t.points > 0, f"{t.name} is worth no points"
        assert t.speed == ("speed" in t.name), f"{t.name}: speed tests, and only they, carry 'speed' and the gpu mark"
        assert t.checks, f"{t.name}: the docstring's first line says what it checks"
