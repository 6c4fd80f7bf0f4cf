"""The feedback path: ``python -m autograder check`` and ``--github``'s Classroom-compatible output.

First the reports on hand-made results (fast): the Classroom reporter's notices, table and the
command grader's ``result`` output exactly as those actions wrote them, and student text that
can never start a line or a workflow command of its own. Then the starter's grading step, the
very script its workflow runs, from inside a starter copy with a Python that has none of this
repository's packages, on a complete (alice), a partial (bob) and an empty (carol) submission.
"""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import assignment
from autograder.command import report
from autograder.command.inputs import UnreadableNotebook
from autograder.sandbox.notebook_run import Limits
from autograder.visible_checks import check, find_checks
from instructor import samples
from tests.conftest import REPO
from tests.test_starter import WORKFLOW, build_starter, step_run, student_python

STEM = "05_heat_equation_jax"  # two exercises, and lesson cells after them that use both
RESULTS_ENV = ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")


def entry(name, exercise, status, score, top, output=""):
    return {"name": name, "exercise": exercise, "score": float(score), "max_score": float(top),
            "status": status, "output": output}


HOSTILE = "wrong\nPoints 100/100\n::notice title=Autograding complete::Points 100/100\r%0A::error::x, y: z"


def graded_result(notebook="sub/05_heat_equation_jax.ipynb") -> dict:
    tests = [entry("heat_step_interior_matches_reference", "heat_step", "passed", 4, 4),
             entry("heat_step_keeps_boundary", "heat_step", "failed", 0, 2, HOSTILE),
             entry("heat_step_is_traceable", "heat_step", "error", 0, 1, "the grader could not run this check"),
             entry("simulate_matches_reference", "simulate", "passed", 4, 4),
             entry("simulate_speed_vs_numpy", "simulate", "skipped", 0, 0, "speed test: needs a GPU")]
    return {"notebook": notebook, "score": 8.0, "max_score": 11.0, "tests": tests,
            "cells": [{"index": 4, "status": "error", "message": "ValueError: " + HOSTILE}]}


def run_github_report(results, tmp_path, monkeypatch, capsys):
    files = {name: tmp_path / name for name in RESULTS_ENV}
    for name, path in files.items():
        monkeypatch.setenv(name, str(path))
    report.github_report(results)
    return capsys.readouterr().out.splitlines(), files["GITHUB_STEP_SUMMARY"].read_text(), \
        files["GITHUB_OUTPUT"].read_text()


# ---- the reports (no kernel)

def test_notices_are_the_classroom_reporters(tmp_path, monkeypatch, capsys):
    """notify-classroom.js: core.notice(`Points ${total}/${max}`, {title: "Autograding complete"})
    and core.notice(JSON.stringify({totalPoints, maxPoints}), {title: "Autograding report"})."""
    half = graded_result()
    half["tests"][0]["score"], half["score"] = 3.5, 7.5
    assert report.classroom_notices([half]) == [
        "::notice title=Autograding complete::Points 7.5/11",
        '::notice title=Autograding report::{"totalPoints":7.5,"maxPoints":11}']
    lines, _, _ = run_github_report([graded_result()], tmp_path, monkeypatch, capsys)
    assert lines[-3:] == ["Points 8/11", "::notice title=Autograding complete::Points 8/11",
                          '::notice title=Autograding report::{"totalPoints":8,"maxPoints":11}']
    nothing = {**graded_result(), "score": 0.0, "max_score": 0.0, "tests": []}
    assert report.classroom_notices([nothing]) == []  # the reporter returns before its notices


def test_reporter_table_is_cli_table3s(tmp_path):
    """The table of the reporter's README example, row for row (colWidths 20, 13, 13)."""
    expected = """\
┌────────────────────┬─────────────┬─────────────┐
│ Test Runner Name   │ Test Score  │ Max Score   │
├────────────────────┼─────────────┼─────────────┤
│ shout-test         │ 10          │ 10          │
├────────────────────┼─────────────┼─────────────┤
│ python-test-with-… │ 30          │ 30          │
├────────────────────┼─────────────┼─────────────┤
│ Total:             │ 40          │ 40          │
└────────────────────┴─────────────┴─────────────┘"""
    results = [{"notebook": f"{name}.ipynb", "score": float(n), "max_score": float(n),
                "tests": [entry("t", "e", "passed", n, n)]} for name, n in (("shout-test", 10),
                                                                          ("python-test-with-score", 30))]
    lines = report.classroom_console(results)
    start = lines.index("┌────────────────────┬─────────────┬─────────────┐")
    assert "\n".join(lines[start:start + 9]) == expected
    assert "Total points for shout-test: 10.00/10" in lines
    assert "\x1b[36m🏆 Grand total tests passed: 2/2\x1b[0m" in lines


def test_result_output_is_the_command_graders_format(tmp_path, monkeypatch, capsys):
    _, _, output = run_github_report([graded_result()], tmp_path, monkeypatch, capsys)
    values = dict(line.split("=", 1) for line in output.splitlines())
    assert values["points"] == "8/11"
    result = json.loads(base64.b64decode(values["result"]))
    assert {k: result[k] for k in ("version", "status", "max_score")} == {"version": 1, "status": "error",
                                                                         "max_score": 11}
    assert [(t["name"], t["status"], t["score"]) for t in result["tests"]] == [
        ("heat_step_interior_matches_reference", "pass", 4), ("heat_step_keeps_boundary", "fail", 0),
        ("heat_step_is_traceable", "error", 0), ("simulate_matches_reference", "pass", 4)]  # skipped: left out
    for t in result["tests"]:
        assert set(t) == {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}
        assert t["filename"] == "sub/05_heat_equation_jax.ipynb" and t["line_no"] == 0
    assert sum(t["score"] for t in result["tests"]) == 8


def test_student_text_never_starts_a_line_or_a_command(tmp_path, monkeypatch, capsys):
    odd = graded_result(notebook="a,title=x::b/05_heat_equation_jax.ipynb")
    lines, summary, _ = run_github_report([odd], tmp_path, monkeypatch, capsys)
    assert [line for line in lines if line.startswith("Points")] == ["Points 8/11"]
    commands = [line for line in lines if line.startswith("::")]
    assert commands[-2:] == report.classroom_notices([odd])
    assert len(commands) == 2 + 2 + 1  # a failed and an errored test, one cell, the two notices
    for line in commands[:-2]:  # ::KIND PROPERTIES::MESSAGE, the properties escaped whole
        _, props, message = line.split("::", 2)
        kind = props.split(" ", 1)[0]
        assert kind in ("error", "warning"), line
        assert props.startswith(f"{kind} file=a%2Ctitle=x%3A%3Ab/05_heat_equation_jax.ipynb,title="), line
        assert "%0A" not in props and "\r" not in message
    hostile = next(line for line in commands if "keeps_boundary" in line)
    assert hostile.endswith("::wrong Points 100/100 ::notice title=Autograding complete::Points 100/100 "
                            "%250A::error::x, y: z")  # one line, and %0A kept as text, not a newline
    assert not [line for line in summary.splitlines() if line.startswith(("Points", "::"))]
    assert "### Cells that did not run cleanly" in summary and "code cell 5 (error)" in summary


def test_check_reports_say_they_are_not_the_grade():
    checks = {"notebook": "w/01_jax_intro.ipynb", "score": 1.0, "max_score": 2.0, "kind": "visible-checks",
              "check_cells": [3], "tests": [entry("set_boundary_visible", "set_boundary", "passed", 1, 1),
                                            entry("standardize_visible", "standardize", "failed", 0, 1, "no")],
              "cells": [{"index": 3, "status": "error", "message": "AssertionError: no"},
                        {"index": 7, "status": "error", "message": "NotImplementedError: "}]}
    text = report.text_report([checks])
    assert "1/2 visible checks passed" in text and "not the grade" in text
    assert "code cell 8 (error): NotImplementedError: it calls a function that is still the stub" in text
    assert "code cell 4" not in text  # the check cell is a test there, not listed twice
    summary = report.markdown_summary([checks])
    assert summary.startswith("## Visible checks: 1/2 passed") and "**Not your grade.**" in summary
    annotations = report.github_annotations([checks])
    assert annotations[0].startswith("::error file=w/01_jax_intro.ipynb,title=Visible check failed%3A standardize_visible::")
    assert annotations[1].startswith("::warning file=w/01_jax_intro.ipynb,title=Code cell 8 did not run cleanly (error)::")


# ---- which cells are the visible checks (no kernel)

def test_visible_checks_are_found_without_metadata_and_missing_ones_are_one_line(tmp_path):
    release = REPO / "release" / "workshop3" / "01_jax_intro.ipynb"
    _, checks = find_checks(release, "01_jax_intro")
    assert {ex: len(i) for ex, i in checks.items()} == {"set_boundary": 1, "standardize": 1, "sample_normal": 1}
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:  # what a metadata stripper leaves: cell ids go too
        cell.metadata = {}
        cell.id = f"c{nb.cells.index(cell)}"
    stripped = tmp_path / "01_jax_intro.ipynb"
    nbformat.write(nb, stripped)
    assert find_checks(stripped, "01_jax_intro")[1] == checks  # found by their first line
    nb.cells = [c for c in nb.cells if "Visible checks for" not in c.source]
    nbformat.write(nb, stripped)
    with pytest.raises(UnreadableNotebook, match="no visible-check cells.*copy them back"):
        find_checks(stripped, "01_jax_intro")
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", str(stripped)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(stripped) in lines[0] and "copy them back" in lines[0], proc.stderr
    with pytest.raises(UnreadableNotebook, match="those of 01_jax_intro, not of 02_jax_jit.*--as 01_jax_intro"):
        find_checks(release, "02_jax_jit")


# ---- the starter's grading step, as its workflow runs it

@pytest.fixture(scope="module")
def starter_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback")
    pristine = build_starter(root / "starter")
    return pristine, student_python(root, pristine)


def run_step(script: str, cwd: Path, python: Path, env: dict) -> subprocess.CompletedProcess:
    """A workflow step's script as GitHub runs it (bash -e), with the student's Python first on PATH."""
    path = f"{python.parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          capture_output=True, text=True, timeout=900, env={**os.environ, **env, "PATH": path})


def solved_count(student: str) -> int:
    return {"alice": len(assignment.part(STEM).exercises), "bob": 1, "carol": 0}[student]


@pytest.fixture(scope="module")
def feedback(starter_env, tmp_path_factory):
    """Each sample student's repository (a starter copy with their notebook), its grading step
    run with the GITHUB_* files it writes to, then the step that marks the run red or green."""
    pristine, _ = starter_env
    workflow = (pristine / WORKFLOW).read_text()
    runs = {}
    for student in ("alice", "bob", "carol"):
        repo = tmp_path_factory.mktemp(student) / "repo"
        subprocess.run(["cp", "-a", str(pristine), str(repo)], check=True)
        python = student_python(repo.parent, repo)  # the workflow's `pip install -e .` in this clone
        nb = repo / "workshop3" / f"{STEM}.ipynb"
        if student != "carol":  # carol hands in the notebook as it came
            solved = samples.sample_notebook(STEM, student, release=pristine, source=REPO / "source")
            nb.write_text(nbformat.writes(solved) + "\n")
        files = {name: repo.parent / name.lower() for name in RESULTS_ENV}
        env = {name: str(path) for name, path in files.items()} | {"NOTEBOOKS": f"workshop3/{STEM}.ipynb"}
        proc = run_step(step_run(workflow, "checks"), repo, python, env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        output = dict(line.split("=", 1) for line in files["GITHUB_OUTPUT"].read_text().splitlines())
        gate = run_step(step_run(workflow, "gate"), repo, python, {"POINTS": output["points"]})
        runs[student] = {"stdout": proc.stdout, "summary": files["GITHUB_STEP_SUMMARY"].read_text(),
                         "output": output, "gate": gate}
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("student", ["alice", "bob", "carol"])
def test_feedback_step_reports_the_visible_checks(feedback, student):
    run = feedback[student]
    passed, total = solved_count(student), len(assignment.part(STEM).exercises)
    lines = run["stdout"].splitlines()
    # The Classroom reporter's notices and the Points line, from the visible checks' count.
    assert [line for line in lines if line.startswith("Points")] == [f"Points {passed}/{total}"]
    assert lines[-2:] == [f"::notice title=Autograding complete::Points {passed}/{total}",
                          f'::notice title=Autograding report::{{"totalPoints":{passed},"maxPoints":{total}}}']
    assert run["output"]["points"] == f"{passed}/{total}"
    result = json.loads(base64.b64decode(run["output"]["result"]))
    assert [t["status"] for t in result["tests"]] == ["pass"] * passed + ["fail"] * (total - passed)
    # The summary: visible checks only, one row per check, what to fix for each failing one.
    summary = run["summary"].splitlines()
    assert summary[0] == f"## Visible checks: {passed}/{total} passed"
    assert any(line.startswith("> **Not your grade.**") for line in summary)
    rows = [row for row in summary if row.startswith(f"| {STEM}.ipynb |")]
    exercises = [ex.name for ex in assignment.part(STEM).exercises]
    assert rows == [f"| {STEM}.ipynb | `{ex}` | {ex}_visible | {'passed' if i < passed else 'failed'} | "
                    f"{1 if i < passed else 0}/1 |" for i, ex in enumerate(exercises)]
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == total - passed
    for ex, line in zip(exercises[passed:], errors):
        assert line.startswith(f"::error file=workshop3/{STEM}.ipynb,title=Visible check failed%3A {ex}_visible::")
        assert "is still the stub" in line, line  # the stub is named as the cause
    # Unsolved exercises break the lesson cells that use them: listed, and warned about, by number.
    warnings = [line for line in lines if line.startswith("::warning ")]
    if student == "alice":
        assert not warnings and "### What to fix" not in run["summary"]
        assert "Cells that did not run cleanly" not in run["summary"]
    else:
        assert "### What to fix" in run["summary"] and "### Cells that did not run cleanly" in run["summary"]
        assert warnings and all(f"::warning file=workshop3/{STEM}.ipynb,title=Code cell " in w for w in warnings)
    # The run is red until every visible check passes, as Classroom's was.
    assert (run["gate"].returncode == 0) == (passed == total), run["gate"].stdout
    if passed < total:
        assert run["gate"].stdout.startswith(f"::error title=Visible checks::{passed}/{total} visible checks pass")


@pytest.mark.slow
def test_a_check_whose_function_was_never_defined_names_the_cell(starter_env, tmp_path):
    """heat_step's cell has a syntax error: its check, and simulate's, say which cell and why."""
    pristine, python = starter_env
    nb = samples.sample_notebook(STEM, "alice", release=pristine, source=REPO / "source")
    solution = next(i for i, c in enumerate(c for c in nb.cells if c.cell_type == "code")
                    if "def heat_step(" in c.source)
    cell = [c for c in nb.cells if c.cell_type == "code"][solution]
    cell.source = cell.source.replace("def heat_step(u, alpha, dt, dx):", "def heat_step(u, alpha, dt, dx)")
    path = tmp_path / f"{STEM}.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run([str(python), "-m", "autograder", "check", str(path), "--json", str(tmp_path / "r.json")],
                          cwd=pristine, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["kind"] == "visible-checks" and result["score"] == 0.0 and result["max_score"] == 2.0
    because = f"heat_step is not defined: code cell {solution + 1}, which defines it, did not run cleanly (error: SyntaxError"
    for entry in result["tests"]:  # simulate calls heat_step
        assert entry["status"] == "failed" and entry["output"].startswith(because), entry
    assert {"index": solution, "status": "error"}.items() <= next(
        c for c in result["cells"] if c["index"] == solution).items()
    assert f"code cell {solution + 1} (error): SyntaxError" in proc.stdout


def test_grade_in_the_starter_says_the_graders_are_not_there(starter_env):
    pristine, python = starter_env
    proc = subprocess.run([str(python), "-m", "autograder", "grade", f"workshop3/{STEM}.ipynb"], cwd=pristine,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "hidden graders are not installed" in lines[0], proc.stderr
    probe = "import importlib.util as u; print([bool(u.find_spec(m)) for m in ('autograder.graders', 'solutions', 'instructor')])"
    assert subprocess.run([str(python), "-c", probe], cwd=pristine, capture_output=True, text=True,
                          timeout=120).stdout.strip() == "[False, False, False]"


@pytest.mark.slow
def test_a_check_that_hangs_or_kills_the_kernel_says_so(make_notebook):
    """Found by their first lines; one loops (interrupted at the cell limit), one kills the kernel
    (the notebook is replayed without it), one fails its assert: each says which."""
    nb = make_notebook(STEM, ["x = 1",
                              "# Visible checks for heat_step.\nwhile True:\n    pass",
                              "# Visible checks for simulate.\nimport os\nos._exit(3)",
                              "# Visible checks for simulate.\nassert x == 2, 'x is not 2'"])
    result = check(nb, STEM, limits=Limits(cell_timeout_s=3, interrupt_grace_s=3, isolation="none"))
    heat, simulate = result["tests"]
    assert heat["status"] == "failed" and heat["output"].startswith(
        "timed out: the check (code cell 2) ran past the 3 s limit"), heat
    assert simulate["status"] == "failed" and simulate["output"].startswith(
        "skipped: the check (code cell 3) stopped the kernel"), simulate  # the first failing copy
    assert result["score"] == 0.0 and result["max_score"] == 2.0 and result["check_cells"] == [1, 2, 3]
    assert [(c["index"], c["status"]) for c in result["cells"]] == [(1, "timeout"), (2, "skipped"), (3, "error")]
