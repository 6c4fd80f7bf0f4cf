"""A notebook's visible checks, run the way grading runs the notebook: a student's feedback.

``python -m autograder check NB`` executes the notebook in the sandboxed kernel
(``sandbox.notebook_run``: the same kernel, limits and isolation as ``grade``) and reports the
outcome of each visible-check cell, the cell under each exercise whose nbgrader ``grade_id`` is
``<exercise>_visible``. The result has SPEC.md's shape, one point per check, so that the same
reports (terminal, ``--json``, ``--github``) serve both commands; ``"kind": "visible-checks"``
tells the reports to say that this is not the grade. No hidden test runs, no grader is needed:
this module and ``sandbox/`` are what a student's repository carries (instructor/starter.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from . import assignment
from .command.inputs import UnreadableNotebook
from .sandbox.notebook_run import CellRun, Limits, NotebookRun, unclean_cell_records
from .messages import defining_cells, explain, why_undefined

KIND = "visible-checks"
SUFFIX = "_visible"


def _check_of(cell, exercises: tuple[str, ...]) -> str | None:
    """The exercise whose visible check ``cell`` is, or None.

    The nbgrader ``grade_id`` says so; where a tool stripped the metadata, the cell id (the
    release gives every cell its grade_id as id) or the cell's first line
    (``# Visible checks for NAME``) still do.
    """
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    for key in (grade_id, cell.get("id", "")):
        if key.endswith(SUFFIX) and key.removesuffix(SUFFIX) in exercises:
            return key.removesuffix(SUFFIX)
    first = cell.source.lstrip().split("\n", 1)[0]
    found = re.match(r"#\s*Visible checks for (\w+)\b", first)
    if found and found.group(1) in exercises:
        return found.group(1)
    return None


def find_checks(path: Path, stem: str) -> tuple[list[str], dict[str, list[int]]]:
    """The notebook's code cells and, per exercise of ``stem``, its visible-check cells (indices
    among the code cells, as ``NotebookRun`` counts them).

    Raises ``UnreadableNotebook`` (one line: the file and the fix) when the notebook has no
    visible-check cell of this part at all.
    """
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    exercises = tuple(ex.name for ex in assignment.part(stem).exercises)
    checks: dict[str, list[int]] = {ex: [] for ex in exercises}
    for index, cell in enumerate(code):
        exercise = _check_of(cell, exercises)
        if exercise is not None:
            checks[exercise].append(index)
    if not any(checks.values()):
        others = [p.stem for p in assignment.PARTS if p.stem != stem
                  and any(_check_of(c, tuple(ex.name for ex in p.exercises)) for c in code)]
        if others:
            raise UnreadableNotebook(f"{path}: its visible checks are those of {others[0]}, not of {stem}; "
                                     f"pass the {stem} notebook, or --as {others[0]}")
        raise UnreadableNotebook(
            f"{path}: no visible-check cells (grade_id <exercise>{SUFFIX}, first line '# Visible checks for ...'); "
            "their metadata was stripped or the cells deleted: copy them back from the notebook as handed out")
    return [c.source for c in code], checks


# ---- what a check cell's outcome means, in words that name the likely bug

def _failure(exercise: str, run: CellRun, sources: list[str], runs: dict[int, CellRun],
             limits: Limits) -> str:
    where = f"code cell {run.index + 1}"
    if run.status == "timeout":
        return (f"timed out: the check ({where}) ran past the {limits.cell_timeout_s} s limit for one cell and was "
                "interrupted: an endless loop, or a function far slower than it should be")
    if run.status == "interrupted":
        return f"interrupted: the check ({where}) was stopped before it finished ({run.message})"
    if run.status == "skipped":
        return f"skipped: the check ({where}) {run.message}"
    if run.status == "not-run":
        return (f"not run: the notebook's total time limit ({limits.notebook_timeout_s} s) was reached before the "
                f"check ({where}); speed up the cells above it")
    ename, _, evalue = run.message.partition(": ")
    if ename == "AssertionError":
        return evalue or f"an assert without a message failed in the check ({where})"
    if ename == "NotImplementedError":
        defined = [i for i in defining_cells(sources, exercise) if i < run.index]
        cell = f" (code cell {defined[-1] + 1})" if defined else ""
        return (f"NotImplementedError: {exercise}, or a function it calls, is still the stub: write your code in "
                f"place of `raise NotImplementedError()` in its cell{cell}")
    undefined = re.match(r"name '(\w+)' is not defined", evalue) if ename == "NameError" else None
    if undefined:
        name = undefined.group(1)
        return f"{name} is not defined: {why_undefined(name, sources, runs, before=run.index)}"
    return f"{explain(run.message)} (raised while the check ran, {where}: in your code or a cell it uses)"


def check(notebook: Path, stem: str, limits: Limits | None = None) -> dict:
    """Run ``notebook`` in the sandbox and return its visible checks as a SPEC results object."""
    limits = limits or Limits()
    sources, checks = find_checks(Path(notebook), stem)
    sandbox = NotebookRun(sources, limits)
    try:
        sandbox.run()
    finally:
        sandbox.close()
    runs = {c.index: c for c in sandbox.cells}
    tests = []
    for exercise, indices in checks.items():
        entry = {"name": f"{exercise}{SUFFIX}", "exercise": exercise, "score": 0.0, "max_score": 1.0,
                 "status": "failed", "output": ""}
        # A check copied twice passes only if every copy does; the first failure is the one shown.
        failed = [runs[i] for i in indices if runs[i].status != "ok"]
        if not indices:
            entry["output"] = (f"the notebook has no visible-check cell for {exercise} (grade_id "
                               f"{exercise}{SUFFIX}): copy it back from the notebook as handed out")
        elif failed:
            entry["output"] = _failure(exercise, failed[0], sources, runs, limits)
        else:
            entry.update(status="passed", score=1.0)
        tests.append(entry)
    return {
        "notebook": str(notebook),
        "score": sum(t["score"] for t in tests),
        "max_score": sum(t["max_score"] for t in tests),
        "tests": tests,
        # SPEC.md's cells: every code cell that did not run cleanly, check cells included.
        "cells": unclean_cell_records(sandbox.cells),
        "kind": KIND,  # the reports say: visible checks only, not the grade
        "check_cells": sorted(i for indices in checks.values() for i in indices),
        "isolation": sandbox.isolation.as_json(),  # SPEC.md: where the kernel ran (sandbox/isolation.py)
    }
