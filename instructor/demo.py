"""`make demo`: the instructor workflow end to end, nbgrader and the command line side by side.

    python instructor/demo.py [--out demo-output] [--stems STEM ...] [--students NAME ...] [-j 2]

In a fresh course folder (default ``demo-output/``, removed and rebuilt every run):

1. copy ``nbgrader_config.py``, ``source/`` and ``release/`` (the chosen notebooks only) and
   run ``nbgrader generate_assignment`` into the course's own gradebook (never the repository's,
   whatever ``WORKSHOP3_GRADEBOOK_URL`` says);
2. write the four sample submissions (``instructor/samples.py``) into ``submitted/`` and add
   the students (``nbgrader db student add``);
3. ``python -m autograder grade`` on the same notebooks (``-j 2 --json cli-results.json``) in
   the background from the moment the samples exist, and meanwhile ``nbgrader autograde
   workshop3``, one run per student, two at once, with a JAX compilation cache shared by every
   kernel of the course folder (``--no-jax-cache`` to compare). Measured on the 2-core CPU
   machine, 4 students x 6 notebooks: 425 s with one nbgrader run beside the CLI and no cache;
   281 s with the cache and the CLI started before the gradebook set-up; 214 s as it is now
   (267 s without the cache). XLA compiling the same programs in every kernel is most of the
   CPU time the cache saves; the lessons' own demo cells are about half of nbgrader's cell time;
4. ``nbgrader generate_feedback workshop3`` and ``nbgrader export`` (``grades.csv``);
5. print the gradebook: per student and notebook nbgrader's score, the command line's score and
   the maximum, with totals; and where the feedback and the CSV are.

Exit status 1 if nbgrader and the command line gave any notebook different scores (2 if a step
failed). On a machine without a GPU both give no speed points: nbgrader's hidden speed cells
fail ("speed not measured"), the command line skips them and leaves them out of its maximum.

The functions are also used by tests/test_nbgrader_roundtrip.py.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from nbgrader.api import Gradebook

from autograder import assignment
from autograder.assignment import ASSIGNMENT_ID, STEMS
from autograder.command.merge import course_id  # demo.course_id too: the tests call it
from instructor import samples

REPO = Path(__file__).resolve().parents[1]
STUDENTS = samples.STUDENTS
BIN = Path(sys.executable).parent  # nbgrader, and alembic, which nbgrader runs by name
CLI_JSON = "cli-results.json"
GRADES_CSV = "grades.csv"
NBGRADER_LOG = "nbgrader.log"
CLI_LOG = "cli.log"
CLI_CACHE = ".autograder-cache"  # the command line's --compile-cache folder


class StepFailed(RuntimeError):
    """A command of the workflow exited non-zero; the message names it and its log."""


def _say(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# the course folder
def db_url(course: Path) -> str:
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"


def jax_cache_env(course: Path) -> dict:
    """A JAX compilation cache shared by nbgrader's kernels in this course folder.

    The lessons, the hidden checks and the graders compile the same programs for every student:
    with the cache, each is compiled once per run instead of once per kernel, which halves the
    CPU time of grading on a 2-core machine. Only for a batch of notebooks one trusts (these
    samples): any nbgrader kernel can write the cache, so a hostile notebook could plant a wrong
    program for a later student's kernel. The command line keeps its own (``--compile-cache``,
    CLI_CACHE), which students' kernels only read (autograder/compile_cache.py).
    """
    return {"JAX_COMPILATION_CACHE_DIR": str(Path(course).resolve() / ".jax-cache"),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


def _env(course: Path, jax_cache: bool = True) -> dict:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "WORKSHOP3_GRADEBOOK_URL": db_url(course)}
    return {**env, **jax_cache_env(course)} if jax_cache else env


def build_course(course: Path, stems=STEMS) -> None:
    """A fresh nbgrader course folder holding the chosen notebooks of source/ and release/."""
    course = Path(course)
    if course.exists():
        shutil.rmtree(course)
    (course / "source" / ASSIGNMENT_ID).mkdir(parents=True)
    (course / "release" / ASSIGNMENT_ID).mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    for stem in stems:
        for folder in ("source", "release"):
            shutil.copy(REPO / folder / ASSIGNMENT_ID / f"{stem}.ipynb", course / folder / ASSIGNMENT_ID)


def nbgrader(course: Path, *args: str, log: Path | None = None, on_line=None, jax_cache: bool = True) -> None:
    """Run ``nbgrader ARGS`` in ``course``; its output goes to ``log`` (appended)."""
    log = Path(log or Path(course) / NBGRADER_LOG)
    cmd = [str(BIN / "nbgrader"), *args]
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.Popen(cmd, cwd=course, env=_env(course, jax_cache), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in proc.stdout:
            fh.write(line)
            if on_line is not None:
                on_line(line)
        code = proc.wait()
    if code != 0:
        raise StepFailed(f"`nbgrader {' '.join(args)}` exited {code}: see {log}")


def prepare_course(course: Path, stems=STEMS, students=STUDENTS, *, redefine_at: str = "checks") -> None:
    """A fresh course folder with the samples in submitted/ (made from the course's release/)."""
    build_course(course, stems)
    samples.write_samples(Path(course) / "submitted", stems, students, release=Path(course) / "release",
                          source=Path(course) / "source", redefine_at=redefine_at)


def register(course: Path, students=STUDENTS) -> None:
    """The gradebook: the assignment (generate_assignment, which rewrites release/) and students."""
    nbgrader(course, "generate_assignment", ASSIGNMENT_ID, "--force", "--log-level=WARN")
    for student in students:
        nbgrader(course, "db", "student", "add", student, f"--first-name={student.title()}",
                 "--last-name=Sample", "--log-level=WARN")


def submitted_notebooks(course: Path, stems=STEMS, students=STUDENTS) -> list[str]:
    """Paths relative to the course, as the command line is given them and reports them."""
    return [f"submitted/{student}/{ASSIGNMENT_ID}/{stem}.ipynb" for student in students for stem in stems]


# ---------------------------------------------------------------------------------------------
# grading
def start_cli(course: Path, notebooks: list[str], *, jobs: int = 2, json_name: str = CLI_JSON,
              on_line=None, jax_cache: bool = True) -> tuple[subprocess.Popen, threading.Thread]:
    """``python -m autograder grade NOTEBOOKS -j JOBS --json`` in the background."""
    cmd = [sys.executable, "-m", "autograder", "grade", *notebooks, "-j", str(jobs), "--json", json_name]
    if jax_cache:  # the command line's own cache: warmed by the reference notebooks, read-only to students
        cmd += ["--compile-cache", str(Path(course).resolve() / CLI_CACHE)]
    log = open(Path(course) / CLI_LOG, "w", encoding="utf-8")
    proc = subprocess.Popen(cmd, cwd=course, env=_env(course, jax_cache=False), stdout=log, stderr=subprocess.PIPE,
                            text=True, errors="replace")

    def pump():  # progress lines ("[3/24] submitted/...: 12/12 points (40s)") to the log and us
        for line in proc.stderr:
            log.write(line)
            log.flush()
            if on_line is not None:
                on_line(line)
        log.close()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return proc, reader


def wait_cli(course: Path, proc: subprocess.Popen, reader: threading.Thread, json_name: str = CLI_JSON) -> list[dict]:
    code = proc.wait()
    reader.join()
    if code != 0:
        raise StepFailed(f"`python -m autograder grade` exited {code}: see {Path(course) / CLI_LOG}")
    results = json.loads((Path(course) / json_name).read_text())
    return results if isinstance(results, list) else [results]


def cli_scores(results: list[dict]) -> dict[tuple[str, str], tuple[float, float]]:
    """(student, stem) -> (score, max_score) from the command line's JSON."""
    out = {}
    for res in results:
        path = Path(res["notebook"])
        out[(path.parts[-3], path.stem)] = (float(res["score"]), float(res["max_score"]))
    return out


def gradebook_scores(course: Path, stems=STEMS, students=STUDENTS) -> dict[tuple[str, str], tuple[float, float]]:
    """(student, stem) -> (score, max_score) from nbgrader's gradebook."""
    out = {}
    with Gradebook(db_url(course), course_id(course)) as gb:
        for student in students:
            for stem in stems:
                nb = gb.find_submission_notebook(stem, ASSIGNMENT_ID, student)
                out[(student, stem)] = (float(nb.score), float(nb.max_score))
    return out


def read_csv(course: Path) -> dict[str, dict]:
    """student_id -> the row ``nbgrader export`` wrote for workshop3."""
    with open(Path(course) / GRADES_CSV, newline="", encoding="utf-8") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh) if row["assignment"] == ASSIGNMENT_ID}


def feedback_path(course: Path, student: str, stem: str) -> Path:
    return Path(course) / "feedback" / student / ASSIGNMENT_ID / f"{stem}.html"


def progress_printer(started: float):
    """on_line callbacks that turn nbgrader's and the CLI's logs into one progress line each."""

    def nbgrader_line(line: str) -> None:
        if "] Autograding " in line:
            path = Path(line.split("] Autograding ", 1)[1].strip())
            _say(f"  [{time.monotonic() - started:5.0f}s] nbgrader: autograding {path.parts[-3]}/{path.stem}")

    def cli_line(line: str) -> None:
        if line.startswith(("[", "compile cache")):  # a notebook graded; a part's warm-up done
            _say(f"  [{time.monotonic() - started:5.0f}s] cli: {line.strip()}")

    return nbgrader_line, cli_line


def autograde(course: Path, students=STUDENTS, *, nbgrader_jobs: int = 1, jax_cache: bool = True,
              on_line=None, extra: tuple[str, ...] = ()) -> None:
    """``nbgrader autograde workshop3``: one run for everyone, or one per student, N at once.

    nbgrader grades one notebook after another. On two cores, with the command line grading at
    the same time, two nbgrader runs (heaviest students first) keep both cores busy to the end
    instead of leaving nbgrader alone on one of them; the runs share the SQLite gradebook, whose
    writes are short (SQLite serialises them).
    """
    if nbgrader_jobs <= 1:
        nbgrader(course, "autograde", ASSIGNMENT_ID, *extra, on_line=on_line, jax_cache=jax_cache)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=nbgrader_jobs) as pool:
        futures = [pool.submit(nbgrader, course, "autograde", ASSIGNMENT_ID, f"--student={student}", *extra,
                               log=Path(course) / f"nbgrader-autograde-{student}.log", on_line=on_line,
                               jax_cache=jax_cache)
                   for student in sorted(students, key=_weight, reverse=True)]
        for fut in futures:
            fut.result()


def _weight(student: str) -> int:
    """How much of a notebook a sample runs (for ordering work: heaviest first)."""
    return {"alice": 3, "mallory": 3, "bob": 2, "carol": 1}.get(student, 3)


def grade_both(course: Path, stems=STEMS, students=STUDENTS, *, jobs: int = 2, nbgrader_jobs: int = 1,
               started: float | None = None, jax_cache: bool = True, before_autograde=None):
    """The command line in the background, nbgrader autograde meanwhile; (gradebook scores, CLI results).

    ``before_autograde`` (e.g. registering the students) runs after the CLI has started, so the
    two overlap as well.
    """
    nb_line, cli_line = progress_printer(time.monotonic() if started is None else started)
    proc, reader = start_cli(course, submitted_notebooks(course, stems, students), jobs=jobs, on_line=cli_line,
                             jax_cache=jax_cache)
    try:
        if before_autograde is not None:
            before_autograde()
        autograde(course, students, nbgrader_jobs=nbgrader_jobs, jax_cache=jax_cache, on_line=nb_line)
    except BaseException:
        proc.kill()
        raise
    results = wait_cli(course, proc, reader)
    return gradebook_scores(course, stems, students), results


# ---------------------------------------------------------------------------------------------
# the report
def _fmt(x: float) -> str:
    return f"{x:g}"


def gradebook_table(nbg: dict, cli: dict, stems=STEMS, students=STUDENTS) -> tuple[str, list[str]]:
    """The table, and one line per notebook whose two scores differ."""
    width = max(len(s) for s in stems) + 1
    lines = ["each cell: nbgrader score / CLI score / max (nbgrader's max; the CLI's, without the "
             "speed points it skipped, in brackets where it differs)", ""]
    header = f"{'student':<9}" + "".join(f"{s:>{width}}" for s in stems) + f"{'total':>{width}}"
    lines += [header, "-" * len(header)]
    differ = []
    for student in students:
        row, tot = f"{student:<9}", [0.0, 0.0, 0.0, 0.0]
        for stem in stems:
            (ns, nm), (cs, cm) = nbg[(student, stem)], cli[(student, stem)]
            cell = f"{_fmt(ns)}/{_fmt(cs)}/{_fmt(nm)}" + (f"({_fmt(cm)})" if cm != nm else "")
            if ns != cs:
                cell = "!" + cell
                differ.append(f"{student}/{stem}: nbgrader {_fmt(ns)}, CLI {_fmt(cs)}")
            row += f"{cell:>{width}}"
            tot = [a + b for a, b in zip(tot, (ns, cs, nm, cm))]
        total = f"{_fmt(tot[0])}/{_fmt(tot[1])}/{_fmt(tot[2])}" + (f"({_fmt(tot[3])})" if tot[3] != tot[2] else "")
        lines.append(row + f"{total:>{width}}")
    return "\n".join(lines), differ


def expectation_notes(cli: dict, stems=STEMS, students=STUDENTS, *, redefine_at: str = "checks") -> list[str]:
    """Where a sample did not score what make_samples.py designed it to (on a CPU machine)."""
    notes = []
    for student in students:
        for stem in stems:
            score, max_score = cli[(student, stem)]
            gpu = max_score == assignment.part(stem).points  # nothing skipped: speed was measured
            want = samples.expected_score(student, stem, redefine_at=redefine_at, gpu=gpu)
            if score != want and not gpu:
                notes.append(f"{student}/{stem}: {_fmt(score)}, designed to score {_fmt(want)}")
    return notes


# ---------------------------------------------------------------------------------------------
def run_demo(out: Path, stems=STEMS, students=STUDENTS, *, jobs: int = 2, nbgrader_jobs: int = 2,
             redefine_at: str = "checks", jax_cache: bool = True) -> int:
    started = time.monotonic()
    out = Path(out).resolve()

    def step(msg: str) -> None:
        _say(f"[{time.monotonic() - started:5.0f}s] {msg}")

    step(f"course folder {out} (fresh): nbgrader_config.py, source/, release/")
    prepare_course(out, stems, students, redefine_at=redefine_at)
    step(f"samples in {out / 'submitted'}: {', '.join(students)} x {len(stems)} notebooks")
    step(f"python -m autograder grade -j {jobs} --json {CLI_JSON} started on them (in the background)")

    def registering():
        step("nbgrader generate_assignment, nbgrader db student add " + " ".join(students))
        register(out, students)
        step(f"nbgrader autograde {ASSIGNMENT_ID}" + (f", one run per student, {nbgrader_jobs} at once"
                                                       if nbgrader_jobs > 1 else ""))

    nbg, results = grade_both(out, stems, students, jobs=jobs, nbgrader_jobs=nbgrader_jobs, started=started,
                              jax_cache=jax_cache, before_autograde=registering)
    cli = cli_scores(results)
    step(f"nbgrader generate_feedback {ASSIGNMENT_ID}")
    nbgrader(out, "generate_feedback", ASSIGNMENT_ID, "--log-level=WARN")
    step(f"nbgrader export --to {GRADES_CSV}")
    nbgrader(out, "export", f"--to={out / GRADES_CSV}", "--log-level=WARN")
    step("done")

    table, differ = gradebook_table(nbg, cli, stems, students)
    _say("\nGradebook (" + ASSIGNMENT_ID + ")\n" + table)
    csv_rows = read_csv(out)
    _say("\nnbgrader export: " + ", ".join(f"{s} {_fmt(float(csv_rows[s]['score']))}/{_fmt(float(csv_rows[s]['max_score']))}"
                                           for s in students))
    _say(f"\nfeedback (HTML): {out / 'feedback'}/<student>/{ASSIGNMENT_ID}/<notebook>.html, e.g.\n"
         f"  {feedback_path(out, students[-1], stems[0])}")
    _say(f"grades (CSV):    {out / GRADES_CSV}")
    _say(f"CLI results:     {out / CLI_JSON}")
    _say(f"logs:            {out}/{{{NBGRADER_LOG},nbgrader-autograde-*.log,{CLI_LOG}}}")
    missing = [str(feedback_path(out, s, t)) for s in students for t in stems if not feedback_path(out, s, t).exists()]
    for note in expectation_notes(cli, stems, students, redefine_at=redefine_at):
        _say(f"note: {note}")
    if missing:
        _say("error: no feedback for " + ", ".join(missing))
        return 2
    if differ:
        _say("\nnbgrader and the command line disagree on: " + "; ".join(differ))
        return 1
    _say(f"\nnbgrader and the command line agree on every notebook ({time.monotonic() - started:.0f}s).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "demo-output", help="course folder, rebuilt (default demo-output)")
    parser.add_argument("--stems", nargs="+", default=list(STEMS), choices=STEMS, metavar="STEM")
    parser.add_argument("--students", nargs="+", default=list(STUDENTS), choices=STUDENTS, metavar="STUDENT")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="notebooks the CLI grades at once (default 2)")
    parser.add_argument("--nbgrader-jobs", type=int, default=2,
                        help="nbgrader autograde runs at once, one per student (default 2; 1: one run for all)")
    parser.add_argument("--redefine-at", choices=samples.REDEFINE_AT, default="checks",
                        help="where mallory's wrong redefinition goes; 'end' shows where the two graders part")
    parser.add_argument("--no-jax-cache", dest="jax_cache", action="store_false",
                        help="compile every program in every kernel (no shared JAX compilation cache)")
    args = parser.parse_args(argv)
    try:
        return run_demo(args.out, args.stems, args.students, jobs=args.jobs, nbgrader_jobs=args.nbgrader_jobs,
                        redefine_at=args.redefine_at,
                        jax_cache=args.jax_cache)
    except StepFailed as failed:
        print(f"demo: {failed}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
