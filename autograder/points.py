"""The points scheme: 100 for the assignment, split over the six notebooks.

Each test declares its own points (``@graded(..., points=N)`` in ``autograder/graders``); this
table fixes what they must add up to per notebook, and tests/test_points.py holds them to it.
Speed tests carry points too: on a runner without a GPU they are skipped and count in neither
the score nor the maximum, so a CPU grade is out of fewer points than 100.
"""

NOTEBOOK_POINTS = {
    "01_jax_intro": 12,
    "02_jax_jit": 14,
    "03_jax_grad": 16,
    "04_jax_vmap": 16,
    "05_heat_equation_jax": 20,
    "06_deep_learning_jax": 22,
}
ASSIGNMENT_POINTS = sum(NOTEBOOK_POINTS.values())
assert ASSIGNMENT_POINTS == 100

STEMS = tuple(NOTEBOOK_POINTS)
