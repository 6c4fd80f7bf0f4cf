"""Build the bundled sample submissions: four students, deterministic, in nbgrader's layout.

    python instructor/samples.py SUBMITTED_DIR [--stems 01_jax_intro 05_heat_equation_jax]
                                                [--students alice bob] [--release DIR]

writes ``SUBMITTED_DIR/<student>/workshop3/<stem>.ipynb`` for

* ``alice``: complete. Every solution cell of the release holds the instructor's solution (the
  source cell with only its ``### BEGIN/END SOLUTION`` lines removed).
* ``bob``: partial. Only the first exercise (first solution cell) of each notebook is solved.
* ``carol``: the release notebook exactly as handed out (every exercise a stub).
* ``mallory``: complete, plus hostile cells both graders must survive identically (see
  ``MALLORY_CELLS``) and one graded function per notebook redefined wrongly (``REDEFINED``).

Every notebook starts from ``release/workshop3/<stem>.ipynb`` and keeps its cells' ids and
metadata, so that ``nbgrader autograde`` matches them with the gradebook. Nothing in release/
or source/ is written. ``expected_score`` says what each sample must score on a CPU machine.

Used by instructor/demo.py and the tests (``from instructor import samples``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat import v4

from autograder import assignment
from autograder.assignment import ASSIGNMENT_ID, STEMS, hidden_cell_id
from instructor.lesson_answers import MARKERS, without_markers

REPO = Path(__file__).resolve().parents[1]
STUDENTS = ("alice", "bob", "carol", "mallory")

# ---------------------------------------------------------------------------------------------
# mallory. Her cells must finish fast and leave the kernel alive: nbgrader's kernel has no
# sandbox (autograder/README.md) and only a 300 s cell timeout, so an endless loop would cost
# 300 s per notebook and an os._exit/kill would end nbgrader's run of that notebook. Hence no
# infinite loops, no kernel kills, and a memory cell that asks for a bounded amount and frees it.
# The junk files go to the working directory only (nbgrader: autograded/mallory/workshop3/, the
# command line: a scratch folder).
MALLORY_CELLS = {
    "mallory-forge-score": '''\
# mallory: forge a perfect score in the output, on stdout, stderr and the process's own fd 1.
import os
import sys

print("Points 100/100")
print("[GradeBook] total score: 100.0 / 100.0   (nbgrader autograde)")
print("| student | notebook | score | max |\\n|---|---|---|---|\\n| mallory | all | 100 | 100 |")
print("::notice::Points 100/100", file=sys.stderr)
os.write(1, b"Points 100/100\\n")
''',
    "mallory-junk-files": '''\
# mallory: junk files into the working directory under names a grader might trust.
from pathlib import Path

Path("gradebook.db").write_bytes(b"SQLite format 3\\x00" + b"\\xff" * 4096)
Path("feedback.html").write_text("<html><body><h1>Score: 100 / 100</h1></body></html>")
Path("grades.csv").write_text("assignment,student_id,score,max_score\\nworkshop3,mallory,100,100\\n")
Path("results.json").write_text('{"score": 100, "max_score": 100, "tests": []}')
print("wrote", sorted(p.name for p in Path(".").iterdir()))
''',
    "mallory-memory": '''\
# mallory: hungry but bounded. 512 MiB touched and freed, then a 1 TiB request that is refused
# (MemoryError) or, where memory is overcommitted, granted untouched and freed at once.
import numpy as np

hog = np.ones((128, 1024, 1024), dtype=np.float32)
print("held", hog.nbytes >> 20, "MiB")
del hog
try:
    huge = np.empty(1 << 40, dtype=np.uint8)
    del huge
    print("1 TiB granted lazily, freed")
except MemoryError as err:
    print("1 TiB refused:", type(err).__name__)
''',
    "mallory-system-exit": '''\
# mallory: try to end the grading run.
raise SystemExit("mallory: grading is over, everyone gets 100")
''',
}

# One graded function per notebook redefined wrongly: (exercise, cell source). Each is a
# plausible bug that fails every non-speed test of that exercise, and each is the notebook's last
# exercise or one no later exercise uses: a redefinition placed before its checks is seen by the
# cells defined after it (gelu_jit = jax.jit(gelu) would bind a wrong gelu).
REDEFINED = {
    "01_jax_intro": ("standardize", '''\
# mallory's scratch cell: standardize again, per row by mistake.
def standardize(x):
    x = jnp.asarray(x)
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
'''),
    "02_jax_jit": ("clipped_sum", '''\
# mallory's scratch cell: clipped_sum again, on the host and with < for <=.
def clipped_sum(x, threshold):
    x = np.asarray(x)
    return np.sum(x[np.abs(x) < threshold])
'''),
    "03_jax_grad": ("fit_linear", '''\
# mallory's scratch cell: fit_linear again, on the host and forgetting the bias.
def fit_linear(x, y, learning_rate, n_steps):
    x, y = np.asarray(x), np.asarray(y)
    w = np.zeros(x.shape[1], np.float32)
    for _ in range(n_steps):
        w = w - learning_rate * 2 * x.T @ (x @ w - y) / len(y)
    return {"w": w, "b": np.float32(0.0)}
'''),
    "04_jax_vmap": ("per_example_grads", '''\
# mallory's scratch cell: per_example_grads again, one gradient for the whole batch.
def per_example_grads(params, xs, ys):
    return jax.grad(lambda p: jnp.mean((batched_predict(p, xs) - ys) ** 2))(params)
'''),
    "05_heat_equation_jax": ("simulate", '''\
# mallory's scratch cell: simulate again, a Python loop, one step short.
def simulate(u0, alpha, dt, dx, n_steps):
    u = jnp.asarray(u0)
    for _ in range(n_steps - 1):
        u = heat_step(u, alpha, dt, dx)
    return u
'''),
    "06_deep_learning_jax": ("train_mlp", '''\
# mallory's scratch cell: train_mlp again, forgetting to train.
def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):
    return init_mlp(jax.random.split(key)[0], sizes)
'''),
}
# Where mallory's wrong redefinition goes. "checks": right before the first hidden check of that
# exercise, the last cell that defines the name. "end": the notebook's very last cell, which the
# command line grades (it grades what the notebook leaves defined) but nbgrader does not (its
# hidden cells run in order, before that cell): the two scores then differ. See demo.py.
REDEFINE_AT = ("checks", "end")


# ---------------------------------------------------------------------------------------------
def solved(source_text: str) -> str:
    """A source solution cell as a student who solved it would leave it: the markers dropped."""
    return "\n".join(without_markers(source_text.split("\n")))


def _solved_by_default(student: str, cells: int) -> int:
    """How many of a notebook's ``cells`` solution cells (from the first) ``student`` solves."""
    return {"alice": cells, "mallory": cells, "bob": 1, "carol": 0}[student]


def _solution_ids(nb) -> list[str]:
    return [c.id for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def _first_check_index(nb, stem: str, exercise: str) -> int:
    names = {hidden_cell_id(t.name) for t in assignment.part(stem).tests if t.exercise == exercise}
    for i, cell in enumerate(nb.cells):
        if cell.get("id") in names:
            return i
    raise LookupError(f"{stem}: no hidden check of {exercise} in the release")


def sample_notebook(stem: str, student: str, *, release: Path, source: Path, solve: int | None = None,
                    redefine_at: str = "checks"):
    """The notebook ``student`` submits for ``stem`` (an nbformat node).

    ``solve`` overrides how many solution cells (from the first) are solved; by default alice and
    mallory solve all, bob the first, carol none.
    """
    if student not in STUDENTS:
        raise ValueError(f"unknown sample student {student!r}; one of {', '.join(STUDENTS)}")
    if redefine_at not in REDEFINE_AT:
        raise ValueError(f"redefine_at is one of {REDEFINE_AT}")
    nb = nbformat.read(release / ASSIGNMENT_ID / f"{stem}.ipynb", as_version=4)
    answers = {c.id: c.source for c in nbformat.read(source / ASSIGNMENT_ID / f"{stem}.ipynb", as_version=4).cells}
    ids = _solution_ids(nb)
    if solve is None:
        solve = _solved_by_default(student, len(ids))
    to_solve = set(ids[:solve])
    for cell in nb.cells:
        if cell.id in to_solve:
            if MARKERS[0] not in answers[cell.id]:
                raise LookupError(f"{stem}: source cell {cell.id} has no solution block")
            cell.source = solved(answers[cell.id])
    if student == "mallory":
        exercise, text = REDEFINED[stem]
        redefinition = v4.new_code_cell(text, id="mallory-redefines")
        hostile = [v4.new_code_cell(src, id=cell_id) for cell_id, src in MALLORY_CELLS.items()]
        if redefine_at == "checks":
            nb.cells.insert(_first_check_index(nb, stem, exercise), redefinition)
            nb.cells += hostile
        else:
            nb.cells += hostile + [redefinition]
    nbformat.validate(nb)
    return nb


def write_samples(submitted: Path, stems=STEMS, students=STUDENTS, *, release: Path = REPO / "release",
                  source: Path = REPO / "source", redefine_at: str = "checks") -> list[Path]:
    """Write every (student, stem) sample under ``submitted``; return the paths written."""
    written = []
    for student in students:
        folder = Path(submitted) / student / ASSIGNMENT_ID
        folder.mkdir(parents=True, exist_ok=True)
        for stem in stems:
            if student == "carol":  # the release, byte for byte
                text = (release / ASSIGNMENT_ID / f"{stem}.ipynb").read_text(encoding="utf-8")
            else:
                text = nbformat.writes(sample_notebook(stem, student, release=release, source=source,
                                                       redefine_at=redefine_at)) + "\n"
            path = folder / f"{stem}.ipynb"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


# ---------------------------------------------------------------------------------------------
def exercise_points(stem: str, *, speed: bool = False) -> dict[str, int]:
    """Points per exercise of ``stem``, in notebook order; speed points only if ``speed``."""
    out: dict[str, int] = {}
    for t in assignment.part(stem).tests:
        out.setdefault(t.exercise, 0)
        if speed or not t.speed:
            out[t.exercise] += t.points
    return out


def solution_exercises(stem: str, *, release: Path = REPO / "release") -> list[str]:
    """The exercise each solution cell answers, in order (cell id ``<exercise>_solution``)."""
    nb = nbformat.read(release / ASSIGNMENT_ID / f"{stem}.ipynb", as_version=4)
    return [cell_id.removesuffix("_solution") for cell_id in _solution_ids(nb)]


def expected_score(student: str, stem: str, *, solve: int | None = None, redefine_at: str = "checks",
                   grader: str = "cli", gpu: bool = False) -> float:
    """What ``student``'s sample of ``stem`` must score.

    On a CPU machine (``gpu=False``) speed tests give nothing: the command line skips them,
    nbgrader's hidden speed cells fail. ``grader`` matters only for mallory with
    ``redefine_at="end"``, where nbgrader's hidden cells run before her last cell.
    """
    points = exercise_points(stem, speed=gpu)
    order = solution_exercises(stem)
    if solve is None:
        solve = _solved_by_default(student, len(order))
    score = sum(points[ex] for ex in order[:solve])
    if student == "mallory" and not (redefine_at == "end" and grader == "nbgrader"):
        score -= points[REDEFINED[stem][0]]
    return float(score)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submitted", type=Path, help="the course's submitted/ folder")
    parser.add_argument("--stems", nargs="+", default=list(STEMS), choices=STEMS, metavar="STEM")
    parser.add_argument("--students", nargs="+", default=list(STUDENTS), choices=STUDENTS, metavar="STUDENT")
    parser.add_argument("--release", type=Path, default=REPO / "release", help="folder holding workshop3/")
    parser.add_argument("--redefine-at", choices=REDEFINE_AT, default="checks",
                        help="where mallory's wrong redefinition goes (default: checks)")
    args = parser.parse_args(argv)
    for path in write_samples(args.submitted, args.stems, args.students, release=args.release,
                              redefine_at=args.redefine_at):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
