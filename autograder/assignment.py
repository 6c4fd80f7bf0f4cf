"""The assignment in one table: parts, graded names, every grader test with its points and kind.

Everything that needs to know the assignment reads it from here: the graders (points, speed
thresholds), the command line and its reports, nbgrader's hidden cells and the lesson build,
the calibration script and the tests. SPEC.md's table of graded names is checked against
``EXERCISES`` by tests/test_assignment.py.

A test is one of three kinds:

* ``VALUE``: compares what the function returns with an independent reference;
* ``STRUCTURE``: how the function computes (traced under jit, compiled loop, vmap, keys, no
  in-place writes);
* ``SPEED``: a timed race on a GPU (skipped elsewhere, and then out of score and maximum).

The credit rule (``credit_rule``): a structure test earns its points only when every value test
of its exercise passed in the same grading, and a speed test only when its exercise's value and
structure tests passed. A stub with the right shapes and the right JAX structure but wrong
results therefore scores nothing, and speed is only ever awarded to the program the task asks
for (thresholds.py says why that makes speed verdicts independent of the machine).
"""

from __future__ import annotations

import dataclasses

from . import thresholds

VALUE, STRUCTURE, SPEED = "value", "structure", "speed"


@dataclasses.dataclass(frozen=True)
class Threshold:
    """What a speed test compares: ``ratio op value``.

    ``ratio`` is baseline time / candidate time for ``">="`` (the candidate must be at least
    ``value`` times faster than the baseline) and candidate / baseline for ``"<="`` (at most
    ``value`` times slower than the baseline).
    """

    op: str
    value: float
    baseline: str  # what the candidate races, in words (reports, notebook headers)

    def passes(self, speedup: float) -> bool:
        return self.holds(self.ratio(speedup))

    def holds(self, ratio: float) -> bool:
        """Whether a ratio (as ``ratio`` returns it) is on the passing side of ``value``."""
        return ratio >= self.value if self.op == ">=" else ratio <= self.value

    def ratio(self, speedup: float) -> float:
        """The number compared with ``value``: the speedup, or the slowdown for ``"<="``."""
        return speedup if self.op == ">=" else 1.0 / speedup

    def describe(self) -> str:
        return (f"at least {self.value:g}x as fast as {self.baseline}" if self.op == ">="
                else f"at most {self.value:g}x the time of {self.baseline}")


@dataclasses.dataclass(frozen=True)
class Test:
    name: str  # the grader function is test_<name>; JSON results carry this name
    points: int
    kind: str
    threshold: Threshold | None = None  # speed tests only
    exercise: str = ""  # filled in by the Exercise that holds the test

    @property
    def speed(self) -> bool:
        return self.kind == SPEED


@dataclasses.dataclass(frozen=True)
class Exercise:
    name: str  # the graded name (SPEC.md)
    signature: str  # as SPEC.md writes it
    tests: tuple[Test, ...]

    def __post_init__(self):
        object.__setattr__(self, "tests", tuple(dataclasses.replace(t, exercise=self.name) for t in self.tests))


@dataclasses.dataclass(frozen=True)
class Part:
    stem: str  # the notebook's file stem, also the example script's
    exercises: tuple[Exercise, ...]

    @property
    def points(self) -> int:
        return sum(t.points for ex in self.exercises for t in ex.tests)

    @property
    def tests(self) -> tuple[Test, ...]:
        return tuple(t for ex in self.exercises for t in ex.tests)


def _v(name, points):
    return Test(name, points, VALUE)


def _s(name, points):
    return Test(name, points, STRUCTURE)


def _speed(name, points, op, value, baseline):
    assert "speed" in name, "a speed test's name contains 'speed' (SPEC.md)"
    return Test(name, points, SPEED, Threshold(op, value, baseline))


PARTS: tuple[Part, ...] = (
    Part("01_jax_intro", (
        Exercise("set_boundary", "set_boundary(u, value)", (
            _v("set_boundary_matches_reference", 2),
            _s("set_boundary_leaves_input_unchanged", 1),
            _s("set_boundary_works_under_jit", 1),
        )),
        Exercise("standardize", "standardize(x)", (
            _v("standardize_matches_reference", 2),
            _v("standardize_columns_have_mean_0_std_1", 1),
        )),
        Exercise("sample_normal", "sample_normal(key, shape)", (
            _s("sample_normal_returns_new_key_and_samples", 1),
            _s("sample_normal_is_reproducible", 1),
            _v("sample_normal_looks_standard_normal", 1),
            _s("sample_normal_splits_before_drawing", 2),
        )),
    )),
    Part("02_jax_jit", (
        Exercise("gelu", "gelu(x)", (
            _v("gelu_matches_reference", 3),
            _s("gelu_is_traceable", 1),
        )),
        Exercise("gelu_jit", "gelu_jit", (
            _s("gelu_jit_is_jit_compiled", 2),
            _v("gelu_jit_matches_reference", 1),
            _speed("gelu_jit_speed_vs_eager", 2, ">=", thresholds.GELU_JIT_MIN_SPEEDUP,
                   "your gelu run op by op (jax.disable_jit)"),
        )),
        Exercise("clipped_sum", "clipped_sum(x, threshold)", (
            _v("clipped_sum_matches_reference", 2),
            _v("clipped_sum_edge_cases", 1),
            _s("clipped_sum_works_under_jit", 2),
        )),
    )),
    Part("03_jax_grad", (
        Exercise("mse_loss", "mse_loss(params, x, y)", (
            _v("mse_loss_matches_reference", 3),
            _s("mse_loss_is_traceable", 1),
        )),
        Exercise("mse_grad", "mse_grad", (
            _s("mse_grad_returns_params_shaped_dict", 1),
            _v("mse_grad_matches_analytic_gradient", 3),
        )),
        Exercise("fit_linear", "fit_linear(x, y, learning_rate, n_steps)", (
            _v("fit_linear_follows_gradient_descent", 3),
            _v("fit_linear_recovers_least_squares_fit", 2),
            _s("fit_linear_runs_in_jax", 1),
            _s("fit_linear_loop_is_compiled", 2),
        )),
    )),
    Part("04_jax_vmap", (
        Exercise("predict", "predict(params, x)", (
            _v("predict_matches_reference", 3),
        )),
        Exercise("batched_predict", "batched_predict(params, xs)", (
            _v("batched_predict_matches_reference", 3),
            _s("batched_predict_is_vectorized", 2),
            _speed("batched_predict_speed_vs_python_loop", 3, ">=",
                   thresholds.BATCHED_PREDICT_MIN_SPEEDUP_VS_LOOP,
                   "a Python loop over your jitted predict"),
        )),
        Exercise("per_example_grads", "per_example_grads(params, xs, ys)", (
            _v("per_example_grads_match_reference", 5),
        )),
    )),
    Part("05_heat_equation_jax", (
        Exercise("heat_step", "heat_step(u, alpha, dt, dx)", (
            _v("heat_step_interior_matches_reference", 4),
            _s("heat_step_keeps_boundary", 2),
            _s("heat_step_is_traceable", 1),
        )),
        Exercise("simulate", "simulate(u0, alpha, dt, dx, n_steps)", (
            _v("simulate_matches_reference", 4),
            _s("simulate_is_jitted", 2),
            _s("simulate_loop_is_compiled", 3),
            _speed("simulate_speed_vs_plain_loop", 4, "<=", thresholds.SIMULATE_MAX_SLOWDOWN_VS_PLAIN_LOOP,
                   "a plain jitted fori_loop over the reference heat step"),
        )),
    )),
    Part("06_deep_learning_jax", (
        Exercise("init_mlp", "init_mlp(key, sizes)", (
            _s("init_mlp_shapes_and_zero_biases", 2),
            _v("init_mlp_scaling_and_keys", 2),
        )),
        Exercise("mlp_forward", "mlp_forward(params, x)", (
            _v("mlp_forward_matches_reference", 3),
        )),
        Exercise("cross_entropy", "cross_entropy(params, x, labels)", (
            _v("cross_entropy_matches_reference", 3),
        )),
        Exercise("train_step", "train_step(params, x, labels, learning_rate)", (
            _v("train_step_matches_reference", 3),
            _s("train_step_is_jitted", 1),
            _speed("train_step_speed_vs_reference", 5, "<=", thresholds.TRAIN_STEP_MAX_SLOWDOWN_VS_REFERENCE,
                   "the reference answer's jitted train_step"),
        )),
        Exercise("train_mlp", "train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate)", (
            _v("train_mlp_reaches_accuracy", 2),
            _s("train_mlp_reshuffles_with_fresh_keys", 1),
        )),
    )),
)

ASSIGNMENT_ID = "workshop3"  # SPEC.md: nbgrader's assignment id (source/workshop3, release/workshop3)
ASSIGNMENT_POINTS = 100
HIDDEN_CELL_PREFIX = "hidden_"  # the nbgrader grade_id (and cell id) of a hidden test cell: hidden_<test>
STEMS = tuple(p.stem for p in PARTS)
BY_STEM = {p.stem: p for p in PARTS}
GRADED_NAMES = {p.stem: tuple(ex.name for ex in p.exercises) for p in PARTS}
# test name -> (part, exercise, test)
_TESTS = {t.name: (p, ex, t) for p in PARTS for ex in p.exercises for t in ex.tests}


def part(stem: str) -> Part:
    try:
        return BY_STEM[stem]
    except KeyError:
        raise KeyError(f"unknown part {stem!r}; one of {', '.join(STEMS)}") from None


def test(name: str) -> Test:
    """The table's entry for a grader test, by name (``set_boundary_matches_reference``)."""
    try:
        return _TESTS[name][2]
    except KeyError:
        raise KeyError(f"{name!r} is not a test of the assignment table (autograder/assignment.py)") from None


def hidden_cell_id(name: str) -> str:
    """The grade_id of the hidden cell that runs grader test ``name`` (nbgrader's gradebook keys)."""
    return HIDDEN_CELL_PREFIX + name


def exercise_of(name: str) -> str:
    return test(name).exercise


def stem_of_test(name: str) -> str:
    return _TESTS[name][0].stem


def threshold(name: str) -> Threshold:
    found = test(name).threshold
    if found is None:
        raise KeyError(f"{name} is not a speed test")
    return found


def value_tests(stem: str, exercise: str) -> tuple[Test, ...]:
    """The value tests of an exercise: what its structure and speed tests depend on."""
    return tuple(t for t in _exercise(stem, exercise).tests if t.kind == VALUE)


def prerequisites(name: str) -> tuple[Test, ...]:
    """The tests whose passing a test's points depend on (the credit rule): structure tests need
    their exercise's value tests; speed tests need its value and structure tests, because speed
    is measured for the program the task asks for (a jitted, vectorised, compiled loop)."""
    entry = test(name)
    if entry.kind == VALUE:
        return ()
    needed = (VALUE,) if entry.kind == STRUCTURE else (VALUE, STRUCTURE)
    return tuple(t for t in _exercise(stem_of_test(name), entry.exercise).tests if t.kind in needed)


def _exercise(stem: str, exercise: str) -> Exercise:
    return next(e for e in part(stem).exercises if e.name == exercise)


def credit_rule(tests: list[dict]) -> list[dict]:
    """Withhold the points of tests whose prerequisites did not pass in the same grading.

    ``tests`` are SPEC result entries (``name``, ``exercise``, ``score``, ``status``, ``output``).
    A passed structure test whose exercise has a failed value test, or a passed speed test whose
    exercise has a failed value or structure test, becomes ``failed`` with 0 points, its message
    naming the failed test first: a point is earned only by a correct value, and speed only by
    the program asked for. Skipped tests (speed on a CPU) stay skipped. Returns new entries.
    """
    by_name = {t["name"]: t for t in tests}
    out = []
    for t in tests:
        if t["status"] == "passed":
            why = withheld(t["name"], by_name)
            if why:
                t = {**t, "status": "failed", "score": 0.0, "output": why + (f"\n{t['output']}" if t["output"] else "")}
        out.append(t)
    return out


def withheld(name: str, results: dict[str, dict]) -> str:
    """Why ``name`` earns nothing given the ``results`` so far (name -> entry), or ''."""
    for needed in prerequisites(name):
        done = results.get(needed.name)
        if done is not None and done["status"] in ("failed", "error"):
            first = done["output"].strip().splitlines()[0] if done["output"].strip() else "it failed"
            exercise = test(name).exercise
            if needed.kind == VALUE:
                return (f"not counted: {exercise} returns wrong values ({needed.name}: {first}); "
                        "structure and speed earn points only once the values are right")
            return (f"not counted: {exercise} is not built as the task asks ({needed.name}: {first}); "
                    "speed is measured only for the jitted, vectorised, compiled program")
    return ""
