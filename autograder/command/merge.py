"""``python -m autograder merge RESULTS.json... --csv FILE [--gradebook URL]``: shards into one grade.

Each RESULTS.json is what ``python -m autograder grade --json`` wrote (a list of results
objects, or one object for a single notebook), typically one file per ``--shard I/N``. The
merge checks that no notebook was graded twice, then writes:

* ``grades.csv``: one row per student and notebook, sorted by student then part, with the
  columns ``student, notebook, score, max_score, skipped`` and then one column per exercise of
  the parts present (assignment table order) holding the points earned there; empty where an
  exercise is not that notebook's. ``max_score`` is the command line's: without the speed
  points it skipped (``skipped``: how many points were not measured, e.g. speed on a CPU).
* with ``--gradebook URL``: the scores into nbgrader's gradebook (run from the course root, whose
  ``nbgrader_config.py`` names the course). The assignment must be there already
  (``nbgrader generate_assignment workshop3``); students and submissions are added as needed.
  Each hidden cell ``hidden_<test>`` gets the test's points as its automatic score; a skipped
  speed test gets 0, as nbgrader's own hidden speed cells give on a CPU. A manual score an
  instructor set is kept. ``nbgrader export`` then gives the usual grades.csv.

The student is the ``student`` field of a results object where there is one, else the folder of
nbgrader's layout ``.../<student>/workshop3/<stem>.ipynb``; the part is read from the test names,
so a notebook graded with ``--as`` merges too. Bad input (a file that is not such JSON, a
notebook in two files, a path that names no student) is one line and exit status 2, before
anything is written.
"""

from __future__ import annotations

import csv
import json
import sys
import warnings
from pathlib import Path

from .. import assignment
from ..assignment import ASSIGNMENT_ID, hidden_cell_id

FIXED_COLUMNS = ("student", "notebook", "score", "max_score", "skipped")
RESULT_KEYS = ("notebook", "score", "max_score", "tests")
TEST_KEYS = ("name", "score", "max_score", "status")


class BadMerge(ValueError):
    """The inputs cannot be merged; the message names the file, the problem and the fix."""


# ---------------------------------------------------------------------------------------------
# reading the shards
def _results_of(path: Path) -> list[dict]:
    """The results objects in one --json file, checked for the fields the merge reads."""
    fix = "pass the files that `python -m autograder grade --json FILE` wrote"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadMerge(f"{path}: no such file; {fix}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadMerge(f"{path}: not JSON ({type(exc).__name__}); {fix}") from None
    items = raw if isinstance(raw, list) else [raw]
    for i, item in enumerate(items):
        where = f"{path}: entry {i + 1}" if isinstance(raw, list) else str(path)
        if not isinstance(item, dict) or any(k not in item for k in RESULT_KEYS):
            raise BadMerge(f"{where} is not a results object (needs {', '.join(RESULT_KEYS)}); {fix}")
        if not isinstance(item["tests"], list) or not item["tests"] or any(
                not isinstance(t, dict) or any(k not in t for k in TEST_KEYS) for t in item["tests"]):
            raise BadMerge(f"{where}: 'tests' is not a list of graded tests; {fix}")
    return items


def _part_of(result: dict, path: Path) -> str:
    """The part a results object grades, from its test names (which the table owns)."""
    try:
        stems = {assignment.stem_of_test(t["name"]) for t in result["tests"]}
    except KeyError:
        raise BadMerge(f"{path}: {result['notebook']} has tests the assignment table does not know; "
                       "grade it again with this version of the graders") from None
    if len(stems) != 1:
        raise BadMerge(f"{path}: {result['notebook']} mixes tests of {', '.join(sorted(stems))}")
    return stems.pop()


def _student_of(result: dict, path: Path) -> str:
    if isinstance(result.get("student"), str) and result["student"]:
        return result["student"]
    parts = Path(result["notebook"]).parts
    if len(parts) >= 3 and parts[-2] == ASSIGNMENT_ID:
        return parts[-3]
    raise BadMerge(f"{path}: cannot tell whose notebook {result['notebook']} is; grade it from nbgrader's "
                   f"layout submitted/<student>/{ASSIGNMENT_ID}/<stem>.ipynb or add a 'student' field")


def collect(paths: list[Path]) -> dict[tuple[str, str], dict]:
    """(student, stem) -> results object, from every shard; BadMerge on a notebook graded twice."""
    merged: dict[tuple[str, str], dict] = {}
    seen_in: dict[tuple[str, str], Path] = {}
    for path in paths:
        for result in _results_of(path):
            key = (_student_of(result, path), _part_of(result, path))
            if key in merged:
                raise BadMerge(f"{path}: {key[0]}'s {key[1]} was graded in {seen_in[key]} too; "
                               "merge each shard once (each --shard I/N of one run of the same notebooks)")
            merged[key] = result
            seen_in[key] = path
    return merged


# ---------------------------------------------------------------------------------------------
# grades.csv
def _exercise_points(result: dict) -> dict[str, float]:
    points: dict[str, float] = {}
    for t in result["tests"]:
        exercise = assignment.exercise_of(t["name"])
        points[exercise] = points.get(exercise, 0.0) + float(t["score"])
    return points


def skipped_points(result: dict) -> float:
    """The points of a result's skipped tests: not measured there (speed on a CPU)."""
    return float(sum(assignment.test(t["name"]).points for t in result["tests"] if t["status"] == "skipped"))


def csv_rows(merged: dict[tuple[str, str], dict]) -> tuple[list[str], list[dict]]:
    """The header and rows of grades.csv (see the module docstring)."""
    stems = [s for s in assignment.STEMS if any(stem == s for _, stem in merged)]
    exercises = [ex for s in stems for ex in assignment.GRADED_NAMES[s]]
    order = {s: i for i, s in enumerate(assignment.STEMS)}
    rows = []
    for student, stem in sorted(merged, key=lambda k: (k[0], order[k[1]])):
        result = merged[(student, stem)]
        row = {"student": student, "notebook": stem, "score": f"{float(result['score']):g}",
               "max_score": f"{float(result['max_score']):g}", "skipped": f"{skipped_points(result):g}"}
        row.update({ex: f"{pts:g}" for ex, pts in _exercise_points(result).items()})
        rows.append(row)
    return [*FIXED_COLUMNS, *exercises], rows


def write_csv(path: Path, merged: dict[tuple[str, str], dict]) -> None:
    header, rows = csv_rows(merged)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------------------------------------
# nbgrader's gradebook
def course_id(config_dir: Path = Path(".")) -> str:
    """The course id of the course root's nbgrader_config.py (the gradebook keys rows by it)."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(config_dir)).load_config()
    except ConfigFileNotFound:
        raise BadMerge(f"--gradebook: no nbgrader_config.py in {config_dir.resolve()}; run the merge "
                       "from the course root (where `nbgrader autograde` runs)") from None
    return str(config.CourseDirectory.course_id)


def _sa_warning() -> type[Warning]:
    from sqlalchemy.exc import SAWarning

    return SAWarning


def write_gradebook(url: str, merged: dict[tuple[str, str], dict], course: str) -> int:
    """Every result's test scores into the gradebook's hidden cells; the number of grades set."""
    try:
        from nbgrader.api import Gradebook, MissingEntry
    except ImportError:
        raise BadMerge("--gradebook needs nbgrader: pip install -e '.[instructor]'") from None
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        # Gradebook() would create an empty database at a mistyped path
        raise BadMerge(f"{url}: no such gradebook file; give the course's gradebook.db "
                       f"(after `nbgrader generate_assignment {ASSIGNMENT_ID}`)")
    written = 0
    with Gradebook(url, course) as gb, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy's autoflush warnings; they are nbgrader's, not ours
        warnings.simplefilter("ignore", category=_sa_warning())
        try:
            gb.find_assignment(ASSIGNMENT_ID)
        except MissingEntry:
            raise BadMerge(f"{url}: the gradebook has no assignment {ASSIGNMENT_ID}; run "
                           f"`nbgrader generate_assignment {ASSIGNMENT_ID}` in the course root first") from None
        # Check every notebook and hidden cell before changing anything: all or nothing.
        for (student, stem), result in merged.items():
            try:
                notebook = gb.find_notebook(stem, ASSIGNMENT_ID)
            except MissingEntry:
                raise BadMerge(f"{url}: {ASSIGNMENT_ID} has no notebook {stem} in the gradebook; run "
                               f"`nbgrader generate_assignment {ASSIGNMENT_ID} --force` with every part") from None
            cells = {c.name for c in notebook.grade_cells}
            missing = [t["name"] for t in result["tests"] if hidden_cell_id(t["name"]) not in cells]
            if missing:
                raise BadMerge(f"{url}: {stem} in the gradebook lacks the hidden cell {hidden_cell_id(missing[0])}; "
                               "regenerate the assignment from the current source/")
        for (student, stem), result in merged.items():
            gb.update_or_create_student(student)
            try:
                gb.find_submission(ASSIGNMENT_ID, student)
            except MissingEntry:
                gb.add_submission(ASSIGNMENT_ID, student)
            for t in result["tests"]:
                grade = gb.find_grade(hidden_cell_id(t["name"]), stem, ASSIGNMENT_ID, student)
                # skipped (speed not measured here) earns 0, never points nobody measured
                grade.auto_score = float(t["score"]) if t["status"] != "skipped" else 0.0
                grade.needs_manual_grade = False
                written += 1
            gb.db.commit()
    return written


# ---------------------------------------------------------------------------------------------
def merge_command(args) -> int:
    """``args.results`` (paths), ``args.csv`` (path), ``args.gradebook`` (URL or None)."""
    try:
        merged = collect(list(args.results))
        if not merged:
            raise BadMerge(f"{', '.join(map(str, args.results))}: no graded notebook in these files; "
                           "check that the shards' grading finished")
        if args.gradebook:
            count = write_gradebook(args.gradebook, merged, course_id())
            print(f"gradebook {args.gradebook}: {count} grades of {len(merged)} notebooks", file=sys.stderr)
    except BadMerge as bad:
        print(f"python -m autograder merge: error: {bad}", file=sys.stderr)
        return 2
    write_csv(args.csv, merged)
    students = {s for s, _ in merged}
    print(f"{args.csv}: {len(merged)} notebooks of {len(students)} students from {len(args.results)} files",
          file=sys.stderr)
    return 0
