"""The graders, called from a notebook's hidden test cells (nbgrader's autograde runs them there).

A hidden cell holds one line per grader test (``check`` imported as ``check_hidden``, a name the
notebooks reserve, since the cell runs in the student's namespace)::

    check_hidden("05_heat_equation_jax", "heat_step_keeps_boundary")

which runs that very test function of ``autograder/graders/test_05_heat_equation_jax.py`` on
the functions the notebook defined: the same check, message and points as
``python -m autograder grade``, never a second copy. The cell raises AssertionError with the
grader's message when the test fails, which is how nbgrader gives it zero points. The credit
rule holds here too (autograder/assignment.py): a structure check fails while its exercise's
values are wrong, a speed check while its values or its structure are.

Unlike the command line, this runs inside the student's kernel: no sandbox (autograder/README.md).
"""

from __future__ import annotations

import importlib
import inspect
import secrets
import sys

import numpy as np

from .. import assignment
from ..submission import Submission

_SUBMISSIONS: dict[int, Submission] = {}  # one per kernel namespace, reused by every hidden cell
# (namespace, test, the exercise's function object) -> a prerequisite's failure message or None
_RESULTS: dict[tuple, str | None] = {}


def grader_test_function(stem: str, test_name: str):
    """The test function ``test_<test_name>`` of the grader module for ``stem``."""
    module = importlib.import_module(f"autograder.graders.test_{stem}")
    fn = getattr(module, f"test_{test_name}", None)
    if fn is None:
        raise LookupError(f"no grader test {test_name!r} for {stem}")
    return fn


def what_it_checks(stem: str, test_name: str) -> str:
    """The first line of the grader test's docstring (hidden cell headers, reports)."""
    doc = (grader_test_function(stem, test_name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def check(stem: str, test_name: str, user_ns: dict | None = None, seed: int | None = None) -> None:
    """Run one grader test against this kernel's functions; AssertionError if it fails."""
    _quiet_tracebacks()
    ns = user_ns if user_ns is not None else sys._getframe(1).f_globals
    entry = assignment.test(test_name)
    sub = _SUBMISSIONS.setdefault(id(ns), Submission.in_process(ns))
    device = sub.platform()
    if entry.speed and device["platform"] != "gpu":
        raise AssertionError(
            f"speed not measured: this kernel computes on {device['platform']}, and speed counts only "
            f"on a GPU; grade on a GPU machine to award these {entry.points} points (README, 'Grading on a GPU')")
    # The credit rule, as the command line applies it: a structure test that fails says why
    # itself, one that passes earns nothing while a prerequisite failed; a speed test is not
    # timed at all while a prerequisite failed (so it runs after them).
    if not entry.speed:
        _raise_if_fails(stem, test_name, sub, device, seed)
    exercise = assignment.exercise_of(test_name)
    for needed in assignment.prerequisites(test_name):
        key = (id(ns), needed.name, id(ns.get(exercise)))
        if key not in _RESULTS:
            _RESULTS[key] = _failure(stem, needed.name, sub, device, seed)
        if _RESULTS[key] is not None:
            raise AssertionError(assignment.withheld(test_name, {needed.name: {
                "status": "failed", "output": _RESULTS[key]}}))
    if entry.speed:
        _raise_if_fails(stem, test_name, sub, device, seed)


def _raise_if_fails(stem: str, test_name: str, sub: Submission, device: dict, seed: int | None) -> None:
    failure = _failure(stem, test_name, sub, device, seed)
    if failure is not None:
        raise AssertionError(failure)


def _failure(stem: str, test_name: str, sub: Submission, device: dict, seed: int | None) -> str | None:
    """Run a grader test; its failure message, or None when it passed."""
    fn = grader_test_function(stem, test_name)
    seed = secrets.randbits(32) if seed is None else seed
    values = {"submission": sub, "seed": seed, "device": device,
              "rng": np.random.default_rng([seed, *f"test_{test_name}".encode()])}
    try:
        fn(**{name: values[name] for name in inspect.signature(fn).parameters})
    except AssertionError as failure:
        return str(failure)  # the message, not the grader's insides
    return None


def _quiet_tracebacks() -> None:
    """Show a failed hidden check as its one-line message rather than a traceback wall."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:  # None outside a kernel (plain Python, tests)
        shell.InteractiveTB.set_mode("Minimal")
