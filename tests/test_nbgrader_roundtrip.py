"""nbgrader's whole instructor workflow on the bundled samples, against the command line.

A real course folder and a real SQLite gradebook in tmp_path, built exactly as `make demo` builds
demo-output/ (instructor/demo.py, instructor/samples.py): generate_assignment, student add, autograde,
generate_feedback, export; `python -m autograder grade` on the same notebooks. Two notebooks of
six (01 and 05) keep it to about two and a half minutes on two cores.
"""

from __future__ import annotations

import html
import re

import nbformat
import pytest
from nbgrader.api import Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook

from autograder import assignment
from instructor import demo, samples
from tests.conftest import REPO

pytestmark = pytest.mark.slow

STEMS = ("01_jax_intro", "05_heat_equation_jax")


def _counts(course) -> dict[str, int]:
    with Gradebook(demo.db_url(course), demo.course_id(course)) as gb:
        return {"students": gb.db.query(Student).count(),
                "submissions": gb.db.query(SubmittedAssignment).count(),
                "notebooks": gb.db.query(SubmittedNotebook).count(),
                "grades": gb.db.query(Grade).count()}


def _grade_cells(stem: str) -> int:
    nb = nbformat.read(REPO / "source" / "workshop3" / f"{stem}.ipynb", as_version=4)
    return sum(1 for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


def _masked(message: str) -> str:
    """A message with its numbers (drawn from the random inputs of each grading) masked."""
    return re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", message).strip()


def _page_text(path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def _hidden_cell_errors(course, student: str, stem: str) -> dict[str, str]:
    """test name -> the message its hidden cell failed with, in nbgrader's autograded notebook."""
    nb = nbformat.read(course / "autograded" / student / "workshop3" / f"{stem}.ipynb", as_version=4)
    out = {}
    for cell in nb.cells:
        if cell.get("id", "").startswith("hidden_"):
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            if errors:
                out[cell.id.removeprefix("hidden_")] = f"{errors[0].ename}: {errors[0].evalue}"
    return out


def test_autograde_feedback_export_and_regrading_agree_with_the_cli(tmp_path):
    students = samples.STUDENTS
    expected = samples.expected_score
    course = tmp_path / "course"

    # ---- first grading: the CLI in the background, nbgrader autograde meanwhile (as make demo)
    demo.prepare_course(course, STEMS, students)
    nbg, results = demo.grade_both(course, STEMS, students, jobs=2, nbgrader_jobs=2,
                                   before_autograde=lambda: demo.register(course, students))
    cli = demo.cli_scores(results)
    demo.nbgrader(course, "generate_feedback", "workshop3", "--log-level=WARN")
    demo.nbgrader(course, "export", f"--to={course / 'grades.csv'}", "--log-level=WARN")

    for student in students:
        for stem in STEMS:
            want = expected(student, stem)
            assert cli[(student, stem)][0] == want, f"CLI: {student}/{stem} scored {cli[(student, stem)]}, designed {want}"
            assert nbg[(student, stem)][0] == cli[(student, stem)][0], (
                f"{student}/{stem}: nbgrader {nbg[(student, stem)]} but the CLI {cli[(student, stem)]}")
            assert nbg[(student, stem)][1] == assignment.part(stem).points, "nbgrader's maximum counts the speed points"

    rows = demo.read_csv(course)
    assert sorted(rows) == sorted(students)
    for student in students:
        want = sum(expected(student, stem) for stem in STEMS)
        assert float(rows[student]["score"]) == want, f"grades.csv: {student} {rows[student]['score']}, expected {want}"
        assert float(rows[student]["max_score"]) == sum(assignment.part(s).points for s in STEMS)
    assert float(rows["alice"]["score"]) == sum(
        t.points for s in STEMS for t in assignment.part(s).tests if not t.speed), "alice: every non-speed point"
    assert float(rows["carol"]["score"]) == 0

    # ---- feedback: one page per student and notebook, carrying each failed check's message,
    # the same teaching message as the CLI's for that test (numbers drawn at random masked)
    by_test = {(r["notebook"].split("/")[1], r["notebook"].split("/")[-1].removesuffix(".ipynb")):
               {t["name"]: t for t in r["tests"]} for r in results}
    for student in students:
        for stem in STEMS:
            page = demo.feedback_path(course, student, stem)
            assert page.exists(), f"no feedback {page}"
            # files a submission brings along (mallory's forged feedback.html) are not passed on
            assert not (page.parent / "feedback.html").exists(), "a forged feedback.html was copied"
            text = _page_text(page)
            failures = _hidden_cell_errors(course, student, stem)
            if expected(student, stem) < cli[(student, stem)][1]:
                assert any(not by_test[(student, stem)][name]["status"] == "skipped" for name in failures)
            for name, message in failures.items():
                assert message in text, f"{page} lacks the failure of {name}: {message[:120]}"
                test = by_test[(student, stem)][name]
                if test["status"] == "skipped":
                    assert "speed not measured" in message
                else:
                    assert test["status"] == "failed", f"the CLI {test['status']} {student}/{stem} {name}"
                    assert _masked(message) == _masked(f"AssertionError: {test['output']}"), (
                        f"{student}/{stem} {name}: nbgrader says {message!r}, the CLI {test['output']!r}")

    # ---- the gradebook holds each thing once
    first = _counts(course)
    assert first == {"students": len(students), "submissions": len(students),
                     "notebooks": len(students) * len(STEMS),
                     "grades": len(students) * sum(_grade_cells(s) for s in STEMS)}, first

    # ---- autograde again: nothing new, nothing lost, nothing counted twice
    demo.nbgrader(course, "autograde", "workshop3")
    assert demo.gradebook_scores(course, STEMS, students) == nbg
    assert _counts(course) == first

    # ---- bob resubmits with one more exercise solved in each notebook; only bob is regraded
    for stem in STEMS:
        nb = samples.sample_notebook(stem, "bob", release=course / "release", source=course / "source", solve=2)
        nbformat.write(nb, course / "submitted" / "bob" / "workshop3" / f"{stem}.ipynb")
    proc, reader = demo.start_cli(course, demo.submitted_notebooks(course, STEMS, ["bob"]),
                                  json_name="cli-bob.json")
    demo.nbgrader(course, "autograde", "workshop3", "--force", "--student=bob")
    cli_bob = demo.cli_scores(demo.wait_cli(course, proc, reader, json_name="cli-bob.json"))
    again = demo.gradebook_scores(course, STEMS, students)
    for stem in STEMS:
        want = expected("bob", stem, solve=2)
        assert want > nbg[("bob", stem)][0]
        assert again[("bob", stem)][0] == cli_bob[("bob", stem)][0] == want, (
            f"bob's resubmitted {stem}: nbgrader {again[('bob', stem)]}, CLI {cli_bob[('bob', stem)]}, expected {want}")
    assert {k: v for k, v in again.items() if k[0] != "bob"} == {k: v for k, v in nbg.items() if k[0] != "bob"}
    assert _counts(course) == first, "a resubmission replaces bob's grades, it does not add to them"
    demo.nbgrader(course, "export", f"--to={course / 'grades.csv'}", "--log-level=WARN")
    rows_after = demo.read_csv(course)
    assert sorted(rows_after) == sorted(students)
    assert float(rows_after["bob"]["score"]) == sum(expected("bob", s, solve=2) for s in STEMS)
    for student in set(students) - {"bob"}:
        assert rows_after[student]["score"] == rows[student]["score"]
        assert (course / "autograded" / student / "workshop3" / f"{STEMS[0]}.ipynb").exists()


def test_a_wrong_redefinition_in_the_last_cell_costs_the_same_points_in_both(tmp_path):
    course = tmp_path / "course"
    stems, students = ("01_jax_intro",), ("mallory",)
    demo.prepare_course(course, stems, students, redefine_at="end")
    nbg, results = demo.grade_both(course, stems, students, jobs=1,
                                   before_autograde=lambda: demo.register(course, students))
    cli = demo.cli_scores(results)
    # the command line takes the points off, as designed ...
    assert cli[("mallory", stems[0])][0] == samples.expected_score("mallory", stems[0], redefine_at="end")
    # ... and nbgrader should too
    assert nbg[("mallory", stems[0])][0] == cli[("mallory", stems[0])][0]
