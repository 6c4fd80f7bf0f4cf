"""``python -m autograder grade --shard I/N`` and ``python -m autograder merge``.

The four sample students (instructor/samples.py) on two notebooks (01 and 05: the two cheapest
to grade, one with speed tests and one without), graded once in one run and once in four shards
given the notebooks in different orders, merge to the same grades.csv; the merge also fills a
real nbgrader gradebook that ``nbgrader export`` reads back. About two minutes on two cores.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from nbgrader.api import Grade, Gradebook, SubmittedNotebook

from autograder import assignment
from instructor import demo, samples
from tests.outcomes import speed_points

STEMS = ("01_jax_intro", "05_heat_equation_jax")
SHARDS = 4


def _autograder(course, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{demo.BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=course, capture_output=True,
                          text=True, env=env, timeout=900)


def _rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course with the samples in submitted/, graded in one run and in four shards."""
    course = tmp_path_factory.mktemp("merge") / "course"
    demo.prepare_course(course, STEMS)
    notebooks = demo.submitted_notebooks(course, STEMS)
    one = _autograder(course, "grade", *notebooks, "-j", "2", "--json", "one-run.json")
    assert one.returncode == 0, one.stderr[-2000:]
    for i in range(1, SHARDS + 1):
        # every job of a matrix may expand the glob in its own order: the shards must not care
        order = notebooks if i % 2 else list(reversed(notebooks))
        shard = _autograder(course, "grade", *order, "--shard", f"{i}/{SHARDS}", "-j", "2",
                            "--json", f"shard-{i}.json")
        assert shard.returncode == 0, shard.stderr[-2000:]
    return course


@pytest.mark.slow
def test_four_shards_merge_to_the_grades_of_one_run_and_into_the_gradebook(graded):
    """One test, so that xdist does not grade the class twice for two tests of one fixture."""
    _shards_merge_to_the_same_grades_as_one_run(graded)
    _merge_fills_the_gradebook_that_nbgrader_exports(graded)


def _shards_merge_to_the_same_grades_as_one_run(course):
    shards = [json.loads((course / f"shard-{i}.json").read_text()) for i in range(1, SHARDS + 1)]
    graded_in = [sorted(r["notebook"] for r in shard) for shard in shards]
    everyone = sorted(demo.submitted_notebooks(course, STEMS))
    assert sorted(nb for names in graded_in for nb in names) == everyone, "each notebook in exactly one shard"
    assert [len(names) for names in graded_in] == [len(everyone) // SHARDS] * SHARDS, graded_in

    one = _autograder(course, "merge", "one-run.json", "--csv", "one-run.csv")
    merged = _autograder(course, "merge", *[f"shard-{i}.json" for i in range(1, SHARDS + 1)], "--csv", "grades.csv")
    assert one.returncode == 0 and merged.returncode == 0, one.stderr + merged.stderr
    one_rows, shard_rows = _rows(course / "one-run.csv"), _rows(course / "grades.csv")
    assert shard_rows == one_rows  # every column is a score: no messages, no random numbers

    exercises = [ex for stem in STEMS for ex in assignment.GRADED_NAMES[stem]]
    assert list(shard_rows[0]) == ["student", "notebook", "score", "max_score", "skipped", *exercises]
    by_key = {(r["student"], r["notebook"]): r for r in shard_rows}
    assert sorted(by_key) == sorted((s, stem) for s in samples.STUDENTS for stem in STEMS)
    for (student, stem), row in by_key.items():
        assert float(row["score"]) == samples.expected_score(student, stem), (student, stem, row)
        speed = speed_points(stem)
        assert float(row["max_score"]) == assignment.part(stem).points - speed  # CPU: speed not counted
        assert float(row["skipped"]) == speed
        mine = assignment.GRADED_NAMES[stem]
        assert sum(float(row[ex]) for ex in mine) == float(row["score"])
        assert all(row[ex] == "" for ex in exercises if ex not in mine), "another part's exercise filled in"


def _merge_fills_the_gradebook_that_nbgrader_exports(course):
    url = demo.db_url(course)
    # the assignment only: merge adds the students and their submissions itself
    demo.nbgrader(course, "generate_assignment", "workshop3", "--force", "--log-level=WARN")
    shard_files = [f"shard-{i}.json" for i in range(1, SHARDS + 1)]
    first = _autograder(course, "merge", *shard_files, "--csv", "grades-cli.csv", "--gradebook", url)
    assert first.returncode == 0, first.stderr

    with Gradebook(url, demo.course_id(course)) as gb:
        counts = (gb.db.query(SubmittedNotebook).count(), gb.db.query(Grade).count())
        # an instructor's manual override must survive a regrade
        grade = gb.find_grade("hidden_heat_step_keeps_boundary", "05_heat_equation_jax", "workshop3", "carol")
        grade.manual_score = 2.0
        gb.db.commit()
    again = _autograder(course, "merge", *reversed(shard_files), "--csv", "grades-cli.csv", "--gradebook", url)
    assert again.returncode == 0, again.stderr
    with Gradebook(url, demo.course_id(course)) as gb:
        assert (gb.db.query(SubmittedNotebook).count(), gb.db.query(Grade).count()) == counts, "merged twice"
        assert counts[0] == len(samples.STUDENTS) * len(STEMS)
        kept = gb.find_grade("hidden_heat_step_keeps_boundary", "05_heat_equation_jax", "workshop3", "carol")
        assert kept.manual_score == 2.0 and kept.auto_score == 0.0

    demo.nbgrader(course, "export", f"--to={course / 'grades.csv'}", "--log-level=WARN")
    exported = demo.read_csv(course)
    assert sorted(exported) == sorted(samples.STUDENTS)
    for student in samples.STUDENTS:
        want = sum(samples.expected_score(student, stem) for stem in STEMS) + (2.0 if student == "carol" else 0.0)
        assert float(exported[student]["score"]) == want, (student, exported[student])
        # nbgrader's maximum counts the speed cells, which score 0 here (not measured on a CPU)
        assert float(exported[student]["max_score"]) == sum(assignment.part(s).points for s in STEMS)


# ---------------------------------------------------------------------------------------------
# bad input: one line naming the file, exit 2, nothing written
def _result(notebook: str, stem: str = "01_jax_intro") -> dict:
    tests = [{"name": t.name, "exercise": t.exercise, "score": float(t.points), "max_score": float(t.points),
              "status": "passed", "output": ""} for t in assignment.part(stem).tests]
    return {"notebook": notebook, "score": sum(t["score"] for t in tests),
            "max_score": sum(t["max_score"] for t in tests), "tests": tests}


BAD_INPUTS = {
    "not JSON": ({"a.json": "Points 100/100\n"}, "a.json: not JSON"),
    "not results": ({"a.json": json.dumps({"score": 100})}, "a.json is not a results object"),
    "tests not a list": ({"a.json": json.dumps({"notebook": "x", "score": 1, "max_score": 1, "tests": "all"})},
                         "a.json: 'tests' is not a list"),
    "unknown test": ({"a.json": json.dumps([{**_result("submitted/eve/workshop3/01_jax_intro.ipynb"),
                                             "tests": [{"name": "free_points", "score": 9, "max_score": 9,
                                                        "status": "passed"}]}])},
                     "tests the assignment table does not know"),
    "graded twice": ({"a.json": json.dumps([_result("submitted/eve/workshop3/01_jax_intro.ipynb")]),
                      "b.json": json.dumps([_result("other/submitted/eve/workshop3/01_jax_intro.ipynb")])},
                     "b.json: eve's 01_jax_intro was graded in a.json too"),
    "no student": ({"a.json": json.dumps(_result("01_jax_intro.ipynb"))}, "cannot tell whose notebook"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(tmp_path, case):
    files, expected = BAD_INPUTS[case]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = _autograder(tmp_path, "merge", *files, "--csv", "grades.csv")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert expected in proc.stderr
    assert not (tmp_path / "grades.csv").exists(), "bad input must not write a partial grades.csv"


def test_a_student_field_names_the_student_and_a_gradebook_without_the_assignment_is_refused(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_text(json.dumps([{**_result("mywork.ipynb"), "student": "eve"}]))
    ok = _autograder(tmp_path, "merge", "a.json", "--csv", "grades.csv")
    assert ok.returncode == 0, ok.stderr
    assert [(r["student"], r["notebook"], r["score"]) for r in _rows(tmp_path / "grades.csv")] == [
        ("eve", "01_jax_intro", f"{assignment.part('01_jax_intro').points:g}")]

    (tmp_path / "nbgrader_config.py").write_text((demo.REPO / "nbgrader_config.py").read_text())
    empty = tmp_path / "gradebook.db"
    monkeypatch.setenv("PATH", f"{demo.BIN}{os.pathsep}{os.environ.get('PATH', '')}")  # nbgrader runs alembic
    Gradebook(f"sqlite:///{empty}").close()  # a real gradebook with no assignment in it
    proc = _autograder(tmp_path, "merge", "a.json", "--csv", "again.csv", "--gradebook", f"sqlite:///{empty}")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "nbgrader generate_assignment workshop3" in proc.stderr
    missing = _autograder(tmp_path, "merge", "a.json", "--csv", "again.csv", "--gradebook",
                          f"sqlite:///{tmp_path / 'typo.db'}")
    assert missing.returncode == 2 and "no such gradebook file" in missing.stderr, missing.stderr
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "again.csv").exists()
