"""The points scheme: each grader module's tests add up to its notebook's share of 100."""

import importlib
import inspect

import pytest

from autograder.points import ASSIGNMENT_POINTS, NOTEBOOK_POINTS, STEMS

GRADED_NAMES = {  # SPEC.md's table, by notebook
    "01_jax_intro": {"set_boundary", "standardize", "sample_normal"},
    "02_jax_jit": {"gelu", "gelu_jit", "clipped_sum"},
    "03_jax_grad": {"mse_loss", "mse_grad", "fit_linear"},
    "04_jax_vmap": {"predict", "batched_predict", "per_example_grads"},
    "05_heat_equation_jax": {"heat_step", "simulate"},
    "06_deep_learning_jax": {"init_mlp", "mlp_forward", "cross_entropy", "train_step", "train_mlp"},
}


def grader_tests(stem: str) -> dict[str, tuple[str, int, bool]]:
    """name -> (exercise, points, is_speed) for every test of a grader module."""
    module = importlib.import_module(f"autograder.graders.test_{stem}")
    out = {}
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        if not name.startswith("test_"):
            continue
        marks = {m.name: m for m in getattr(fn, "pytestmark", [])}
        assert "exercise" in marks and "points" in marks, f"{stem}: {name} lacks @graded(exercise, points)"
        out[name] = (marks["exercise"].args[0], marks["points"].args[0], "gpu" in marks)
    return out


def test_assignment_is_worth_100():
    assert ASSIGNMENT_POINTS == 100 and set(NOTEBOOK_POINTS) == set(GRADED_NAMES)


@pytest.mark.parametrize("stem", STEMS)
def test_module_points_add_up(stem):
    """A module's test points sum to its notebook's total; every graded name is tested."""
    tests = grader_tests(stem)
    assert sum(p for _, p, _ in tests.values()) == NOTEBOOK_POINTS[stem]
    assert {ex for ex, _, _ in tests.values()} == GRADED_NAMES[stem], "each graded name has tests, and only those"
    for name, (_, points, is_speed) in tests.items():
        assert points > 0, f"{name} is worth no points"
        assert is_speed == ("speed" in name), f"{name}: speed tests, and only they, carry 'speed' and the gpu mark"
