"""The graders, called from a notebook's hidden test cells (nbgrader's autograde runs them there).

A hidden cell holds one line per grader test::

    check("05_heat_equation_jax", "heat_step_keeps_boundary")

which runs that very test function of ``autograder/graders/test_05_heat_equation_jax.py`` on
the functions the notebook defined — the same check, message and points as
``python -m autograder grade``, never a second copy. The cell raises AssertionError with the
grader's message when the test fails, which is how nbgrader gives it zero points.

Unlike the command line, this runs inside the student's kernel: no sandbox (autograder/README.md).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import secrets
import sys

import numpy as np

from .submission import Submission

_SUBMISSIONS: dict[int, Submission] = {}  # one per kernel namespace, reused by every hidden cell
FIXTURES = ("submission", "rng", "seed", "device")  # all a grader test may ask for


def grader_test_function(stem: str, test_name: str):
    """The test function ``test_<test_name>`` of the grader module for ``stem``."""
    module = importlib.import_module(f"autograder.graders.test_{stem}")
    fn = getattr(module, f"test_{test_name}", None)
    if fn is None:
        raise LookupError(f"no grader test {test_name!r} for {stem}")
    return fn


def _marks(fn) -> dict:
    return {m.name: m for m in getattr(fn, "pytestmark", [])}


@dataclasses.dataclass(frozen=True)
class GraderTest:
    name: str  # the test function's name without "test_", as in the JSON results
    exercise: str
    points: int
    speed: bool
    checks: str  # first line of its docstring: what it checks


def grader_tests(stem: str) -> list[GraderTest]:
    """Every test of a grader module, in file order, with the marks it declares."""
    module = importlib.import_module(f"autograder.graders.test_{stem}")
    tests = []
    for name, fn in vars(module).items():
        if not (name.startswith("test_") and inspect.isfunction(fn)):
            continue
        marks = _marks(fn)
        if "exercise" not in marks or "points" not in marks:
            raise LookupError(f"{stem}: {name} lacks @graded(exercise, points)")
        doc = (fn.__doc__ or "").strip().splitlines()
        tests.append(GraderTest(name.removeprefix("test_"), marks["exercise"].args[0],
                                marks["points"].args[0], "gpu" in marks, doc[0] if doc else ""))
    return tests


def check(stem: str, test_name: str, user_ns: dict | None = None, seed: int | None = None) -> None:
    """Run one grader test against this kernel's functions; AssertionError if it fails."""
    _quiet_tracebacks()
    ns = user_ns if user_ns is not None else sys._getframe(1).f_globals
    fn = grader_test_function(stem, test_name)
    sub = _SUBMISSIONS.setdefault(id(ns), Submission.in_process(ns))
    device = sub.platform()
    if "gpu" in _marks(fn) and device["platform"] != "gpu":
        points = _marks(fn)["points"].args[0]
        raise AssertionError(
            f"speed not measured: this kernel computes on {device['platform']}, and speed counts only "
            f"on a GPU; grade on a GPU machine to award these {points} points (README, 'Grading on a GPU')")
    seed = secrets.randbits(32) if seed is None else seed
    values = {"submission": sub, "seed": seed, "device": device,
              "rng": np.random.default_rng([seed, *f"test_{test_name}".encode()])}
    params = inspect.signature(fn).parameters
    try:
        fn(**{name: values[name] for name in params})
    except AssertionError as failure:
        raise AssertionError(str(failure)) from None  # the message, not the grader's insides


def _quiet_tracebacks() -> None:
    """Show a failed hidden check as its one-line message rather than a traceback wall."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:  # None outside a kernel (plain Python, tests)
        shell.InteractiveTB.set_mode("Minimal")
