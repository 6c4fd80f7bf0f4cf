"""Grade one notebook: run its pytest grader module and collect a results object (SPEC.md).

Run as a child process by the command line (``python -m autograder.runner NB STEM OUT``) so that
a crash of one grading leaves the others and the command itself standing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from importlib import resources
from pathlib import Path

import jax
import pytest

from . import assignment
from .sandbox import isolation
from .sandbox.notebook_run import Limits, protect_this_process


# The graders use JAX a little (PRNG keys): on the CPU of this process, so that a GPU runner
# neither spends seconds starting CUDA here nor takes the card's memory from the student's
# kernels, which compute on it in other processes. (jax.config, not JAX_PLATFORMS: the
# environment is passed on to those kernels.)
jax.config.update("jax_platforms", "cpu")


class _Collector:
    """Turns pytest's reports into SPEC's test entries, with each test's entry in the table."""

    def __init__(self):
        self.tests: dict[str, dict] = {}
        self.order: list[str] = []
        self.seconds: dict[str, float] = {}  # nodeid -> time in setup, call and teardown

    def pytest_collection_modifyitems(self, items):
        for item in items:
            mark = item.get_closest_marker("graded")
            if mark is None:
                raise pytest.UsageError(f"grader {item.nodeid} lacks @graded (autograder/graders/marks.py)")
            name = mark.args[0]
            entry = assignment.test(name)
            self.tests[item.nodeid] = {
                "name": name, "exercise": assignment.exercise_of(name), "score": 0.0,
                "max_score": float(entry.points), "status": "passed", "output": "",
            }
            self.order.append(item.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        # A speed test whose points the credit rule already withholds is not timed at all: a
        # race against a forgotten jit costs minutes on a GPU and could earn nothing.
        entry = self.tests[item.nodeid]
        if assignment.test(entry["name"]).speed:
            why = assignment.withheld(entry["name"], {t["name"]: t for t in self.tests.values()})
            if why:
                raise AssertionError(why)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
            exc = call.excinfo.value
            # AssertionError (and StudentCodeError, Tampered) is a finding about the submission;
            # anything else is the grader failing to measure, reported as an error.
            report.grader_status = "failed" if isinstance(exc, AssertionError) else "error"
            report.grader_message = str(exc) if isinstance(exc, AssertionError) else (
                f"the grader could not run this check ({type(exc).__name__}: {exc})")

    def pytest_runtest_logreport(self, report):
        entry = self.tests.get(report.nodeid)
        if entry is None:
            return
        if report.skipped:
            entry.update(status="skipped", max_score=0.0, output=str(report.longrepr[-1]))
        elif report.failed:
            if entry["status"] == "passed":  # the first failure (setup or call) is the one to show
                entry.update(status=getattr(report, "grader_status", "error"),
                             output=getattr(report, "grader_message", "the grader failed to run"))
        elif report.when == "call" and entry["status"] == "passed":
            entry["score"] = entry["max_score"]
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration
        if report.when == "call":  # measured speed ratios, recorded pass or fail
            speed = [ln for ln in report.capstdout.splitlines() if ln.startswith("[speed] ")]
            if speed:
                entry["output"] = "\n".join(filter(None, [entry["output"], *speed]))


class _SessionPlugin:
    """Hands the sandbox limits to the graders' ``submission`` fixture and keeps the pytest
    config, on which that fixture leaves the outcome of the notebook's cells."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.config = None

    def pytest_configure(self, config):
        config.autograder_limits = self.limits
        self.config = config

    @property
    def cells(self) -> list[dict]:
        return getattr(self.config, "autograder_cells", [])

    @property
    def timings(self) -> dict[str, float]:
        return getattr(self.config, "autograder_timings", {})


def grade(notebook: Path, stem: str, seed: int | None = None, limits: Limits | None = None) -> dict:
    """Run the graders of ``stem`` on ``notebook``; return the SPEC results object."""
    assignment.part(stem)  # KeyError for an unknown part
    limits = limits or Limits()
    # Where the kernels run (SPEC.md's "isolation"); the same answer the sandbox gets, probed
    # once per process. IsolationUnavailable here, before pytest, for namespaces impossible.
    where = isolation.resolve(limits.isolation)
    module = resources.files("autograder.graders").joinpath(f"test_{stem}.py")
    collector = _Collector()
    args = [str(module), "--notebook", str(notebook), "-q", "-p", "no:cacheprovider",
            "--rootdir", str(Path(str(module)).parent), "-c", os.devnull,
            "-o", "addopts=", "--no-header",
            "--assert=plain"]  # the graders' own messages, without pytest's expansion of locals
    if seed is not None:
        args += ["--seed", str(seed)]
    started = time.perf_counter()
    session = _SessionPlugin(limits)
    code = pytest.main(args, plugins=[collector, session])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not collector.order:
        # A grader module that does not import or collect must never read as "0 of 0 points".
        raise RuntimeError(f"the graders for {stem} did not run (pytest exit {int(code)})")
    ran = {collector.tests[n]["name"] for n in collector.order}
    table = {t.name for t in assignment.part(stem).tests}
    if ran != table:
        raise RuntimeError(f"the graders for {stem} do not match the assignment table: {sorted(ran ^ table)}")
    # A point is earned only by a correct value, speed only by the program asked for.
    tests = assignment.credit_rule([collector.tests[n] for n in collector.order])
    return {
        "notebook": str(notebook),
        "score": sum(t["score"] for t in tests),
        "max_score": sum(t["max_score"] for t in tests),
        "tests": tests,
        "cells": session.cells,  # the notebook's cells that did not run cleanly (SPEC.md)
        "isolation": where.as_json(),
        # Where the time went (an extra field): kernel start, the notebook's cells, the races,
        # and each test (its share of the kernel's start and cells is in the first test's).
        "timings": {**session.timings, "total_s": time.perf_counter() - started,
                    "tests_s": {collector.tests[n]["name"]: round(collector.seconds.get(n, 0.0), 3)
                                for n in collector.order}},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.runner")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("stem")
    parser.add_argument("out", type=Path)
    parser.add_argument("--mode", choices=("grade", "check"), default="grade")
    parser.add_argument("--isolation", choices=isolation.MODES, default="auto")
    parser.add_argument("--compile-cache", metavar="DIR")
    parser.add_argument("--compile-cache-writable", action="store_true")
    args = parser.parse_args(argv)
    protect_this_process()
    limits = Limits(isolation=args.isolation, compile_cache=args.compile_cache,
                    compile_cache_writable=args.compile_cache_writable)
    if args.mode == "check":
        from .visible_checks import check

        result = check(args.notebook, args.stem, limits=limits)
    else:
        result = grade(args.notebook, args.stem, limits=limits)
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
