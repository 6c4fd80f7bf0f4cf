"""How a grader test declares what it grades: the exercise (a graded name) and its points."""

import pytest


def graded(exercise: str, points: int):
    """Tag a test with the graded name it is about and the points it is worth."""

    def mark(fn):
        return pytest.mark.points(points)(pytest.mark.exercise(exercise)(fn))

    return mark


def speed(exercise: str, points: int):
    """A speed test: graded, and run only where the notebook's JAX computes on a GPU."""

    def mark(fn):
        assert "speed" in fn.__name__, "a speed test's name contains 'speed' (SPEC.md)"
        return pytest.mark.gpu(graded(exercise, points)(fn))

    return mark
