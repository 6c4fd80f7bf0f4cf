"""Build the six instructor notebooks and the reference answers from the lessons.

    python -m instructor.build_lessons      # `make notebooks`

A lesson is ``source/lessons/NN_name.py``, a Jupyter notebook in jupytext's percent format
(``# %%`` code cells, ``# %% [markdown]`` prose), every cell's nbgrader metadata on its
``# %%`` line; its solution cells hold the answer between ``### BEGIN SOLUTION`` and
``### END SOLUTION``. From each lesson the build writes, deterministically:

* ``source/workshop3/NN_name.ipynb``: the lesson's cells, cell id = grade_id, no outputs,
  plus the generated cells: the opening ``grading_overview`` right after the title cell (how
  the notebook is graded, from the assignment table: ``overview_cell``) and one hidden cell per
  grader test of each exercise (``hidden_cell``), after that exercise's visible check cell
  ``<exercise>_visible``; cells with ``include=`` metadata get their code from that file
  (instructor/lesson_includes.py);
* ``solutions/answers/<module>.py``: the solution cells' code (instructor/lesson_answers.py).

It also refreshes the lesson's own copy of included code. Cells a lesson brought back from the
built notebook (opened in Jupyter and saved from the wrong side) are dropped: the overview and
the hidden cells are generated here, never written by hand. A lesson whose cells below the
exercises bind names a student could use for helpers stops the build
(instructor/lesson_namespace.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
from nbformat import v4

from autograder import assignment
from autograder.nbgrader_bridge.hidden_cells import what_it_checks
from autograder.sandbox.notebook_run import Limits
from solutions import answers

from . import lesson_answers, lesson_includes, lesson_namespace

REPO = Path(__file__).resolve().parents[1]
LESSONS = REPO / "source" / "lessons"
OUT = REPO / "source" / "workshop3"
ANSWERS = REPO / "solutions" / "answers"
FORMAT = "py:percent"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python"}
# What a cell is unless its nbgrader metadata says otherwise: read-only prose or example code.
LOCKED = {"grade": False, "locked": True, "schema_version": 3, "solution": False}
GENERATED = assignment.HIDDEN_CELL_PREFIX  # grade_id prefix of the hidden cells the build makes
OVERVIEW = "grading_overview"  # grade_id of the generated opening cell
STUDENT_COMMAND = "python -m autograder check {stem}.ipynb"
TEACHERS_COMMAND = "python -m autograder grade"

# How long running each notebook top to bottom takes (nbclient, a fresh kernel, every cell of
# the instructor notebook, hidden checks included). PLACEHOLDER, to be filled in with measured
# numbers: the CPU figures are one measurement on the shared 2-core development machine
# (jax 0.11.2, 9-28 s); the GPU figures are not measured yet (None renders as "not measured
# yet" in the notebooks).
TIMES: dict[str, tuple[str, str | None]] = {
    "01_jax_intro": ("about 10 s on a 2-core CPU", None),
    "02_jax_jit": ("about 10 s on a 2-core CPU", None),
    "03_jax_grad": ("about 10 s on a 2-core CPU", None),
    "04_jax_vmap": ("about 15 s on a 2-core CPU", None),
    "05_heat_equation_jax": ("about 10 s on a 2-core CPU", None),
    "06_deep_learning_jax": ("about 30 s on a 2-core CPU", None),
}


def _is_generated(grade_id: str) -> bool:
    return grade_id.startswith(GENERATED) or grade_id == OVERVIEW


def hidden_header(test: assignment.Test, checks: str) -> str:
    """The visible first line of a hidden cell: points, kind and (speed) where it counts."""
    label = f"{test.points} pt, {test.kind}"
    if test.speed:
        label += f", GPU only: {test.threshold.describe()}"
    return f"# Hidden check ({label}): {checks}"


def hidden_cell(stem: str, test: assignment.Test):
    """The hidden cell for one grader test, worth that test's points.

    It runs the very test that `python -m autograder grade` runs (autograder/nbgrader_bridge),
    so nbgrader's score for a notebook equals the command line's. The comment line stays
    visible in the release; nbgrader removes the lines between the hidden-test markers. The
    import binds ``check_hidden``: nbgrader runs these cells in the student's namespace, where
    a plain ``check`` could replace a helper of the student's (instructor/lesson_namespace.py).
    """
    checks = what_it_checks(stem, test.name).rstrip(".")
    source = (f"{hidden_header(test, checks)}\n"
              "### BEGIN HIDDEN TESTS\n"
              "from autograder.nbgrader_bridge import check as check_hidden\n"
              f'check_hidden("{stem}", "{test.name}")\n'
              "### END HIDDEN TESTS")
    meta = {**LOCKED, "grade": True, "grade_id": assignment.hidden_cell_id(test.name), "points": test.points}
    return _cell("code", source, meta)


def overview_text(stem: str) -> str:
    """The opening cell of a notebook: how it is graded, all of it from the assignment table."""
    part = assignment.part(stem)
    rows, speed_total = [], 0
    for exercise in part.exercises:
        points = sum(t.points for t in exercise.tests)
        speed = [t for t in exercise.tests if t.speed]
        speed_total += sum(t.points for t in speed)
        on_gpu = "; ".join(f"{t.points}: {t.threshold.describe()}" for t in speed) or "–"
        rows.append(f"| `{exercise.name}` | {points} | {on_gpu} |")
    rows.append(f"| **total** | **{part.points}** | {speed_total or '–'} |")
    if speed_total:
        speed_rule = ("*Speed* points are for a timed race against a baseline; they count only once "
                      "the exercise's value and structure checks pass, and only when grading runs on "
                      "a GPU. Elsewhere they are skipped and count in neither your score nor the "
                      f"maximum: graded on a CPU, this notebook is out of {part.points - speed_total} "
                      "points.")
    else:
        speed_rule = "This notebook has no speed points: it is graded the same on a CPU and on a GPU."
    limits = Limits()
    on_cpu, on_gpu = TIMES[stem]
    took = f"{on_cpu} and {on_gpu}" if on_gpu else f"{on_cpu} (on a GPU: not measured yet)"
    command = STUDENT_COMMAND.format(stem=stem)
    return "\n".join([
        "## How this notebook is graded",
        "",
        "| exercise | points | of them speed points, on a GPU only |",
        "|---|---:|---|",
        *rows,
        "",
        "Below each exercise's visible checks, one line per *hidden check* says what its points "
        "are for, e.g. `# Hidden check (2 pt, value): ...`. *Value* points need the right results on "
        "fresh random inputs at several shapes. *Structure* points are for how your function "
        "computes them, as the task asks (it works under `jax.jit`, is compiled, vectorised, loops "
        "inside the compiled program, splits its keys, leaves its input alone); they count only "
        f"once the exercise's values are right. {speed_rule}",
        "",
        f"**Check your notebook yourself.** `{command}` runs it from top to bottom in a fresh "
        f"kernel, in the same sandbox the graders use (at most {limits.cell_timeout_s} s a cell, "
        f"{limits.notebook_timeout_s} s in all), and reports "
        "each visible check. The hidden grading, worth the points above, is run by the teaching team "
        f"with `{TEACHERS_COMMAND}`.",
        "",
        "**Getting a GPU.** On a course cluster, ask its scheduler for one and start Jupyter there "
        "(on Slurm: `srun --gres=gpu:1 --pty bash`). In a cloud notebook: Google Colab, *Runtime → "
        "Change runtime type → GPU*; Kaggle, *Settings → Accelerator → GPU*. Then install JAX's "
        "CUDA build, `pip install \"jax[cuda13]\"` (an NVIDIA driver 580 or newer). You are on a "
        "GPU when `jax.default_backend()` says `'gpu'` and `jax.devices()` lists a CUDA device. "
        "Everything in the notebook runs on a CPU too; only the speed points need the GPU.",
        "",
        f"**How long it takes.** Running the whole notebook from top to bottom takes {took}.",
        "",
        "**Names.** The lesson's own cells below the exercises use only names that start with "
        "`demo_` or `check_`. Give your helpers any other name (`loss`, `step`, `params`, ...): "
        "nothing the notebook runs after your answers will replace them.",
    ])


def overview_cell(stem: str):
    return _cell("markdown", overview_text(stem), {**LOCKED, "grade_id": OVERVIEW})


def _cell(cell_type: str, source: str, nbgrader: dict):
    new = v4.new_code_cell if cell_type == "code" else v4.new_markdown_cell
    cell = new(source, metadata={"nbgrader": dict(sorted(nbgrader.items()))})
    cell.id = nbgrader["grade_id"]
    return cell


def lesson_path(stem: str) -> Path:
    return LESSONS / f"{stem}.py"


def read_lesson(stem: str, text: str | None = None):
    """The lesson as a notebook (jupytext), from its file or from ``text``."""
    text = lesson_path(stem).read_text(encoding="utf-8") if text is None else text
    return jupytext.reads(text, fmt=FORMAT)


def _lesson_cells(stem: str, lesson) -> list:
    """The lesson's own cells as notebook cells, with complete nbgrader metadata."""
    name = f"source/lessons/{stem}.py"
    cells, seen = [], set()
    for index, cell in enumerate(lesson.cells, 1):
        meta = {**LOCKED, **cell.metadata.get("nbgrader", {})}
        grade_id = meta.get("grade_id")
        if not grade_id:
            raise SystemExit(f"{name}: cell {index} has no name: add nbgrader={{\"grade_id\": \"...\"}} "
                             "to its # %% line, a name that says what the cell holds")
        if _is_generated(grade_id):
            continue  # a generated cell that came back from the built notebook
        if meta["grade"]:
            raise SystemExit(f"{name}: cell {grade_id} is graded; points live in the hidden cells, "
                             "which the build generates from autograder/assignment.py")
        if grade_id in seen:
            raise SystemExit(f"{name}: two cells are named {grade_id!r}; names are unique in a lesson")
        if cell.cell_type not in ("code", "markdown"):
            raise SystemExit(f"{name}: cell {grade_id} is a {cell.cell_type} cell; use code or markdown")
        seen.add(grade_id)
        source = lesson_includes.fill(cell) if lesson_includes.is_included(cell) else cell.source
        if meta["solution"]:
            compile(source, f"{name}, cell {grade_id}", "exec")  # fail the build, not the lesson
        cells.append(_cell(cell.cell_type, source, meta))
    return cells


def notebook(stem: str, lesson):
    """The instructor notebook built from a lesson (a jupytext notebook)."""
    cells = _lesson_cells(stem, lesson)
    ids = [c.id for c in cells]
    for exercise in assignment.part(stem).exercises:
        for role in ("task", "solution", "visible"):
            if f"{exercise.name}_{role}" not in ids:
                raise SystemExit(f"source/lessons/{stem}.py: no cell {exercise.name}_{role} for the "
                                 f"exercise {exercise.name} (autograder/assignment.py)")
        at = ids.index(f"{exercise.name}_visible") + 1
        hidden = [hidden_cell(stem, test) for test in exercise.tests]
        cells[at:at] = hidden
        ids[at:at] = [c.id for c in hidden]
    cells.insert(1, overview_cell(stem))  # right after the title cell
    found = lesson_namespace.foreign_names(cells)
    if found:
        raise SystemExit(lesson_namespace.problem(f"source/lessons/{stem}.py", found))
    nb = v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    nbformat.validate(nb)
    return nb


def notebook_text(nb) -> str:
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def answers_text(stem: str, nb) -> str:
    """solutions/answers/<module>.py for a built notebook."""
    name = f"source/lessons/{stem}.py"
    solutions = [c for c in nb.cells if c.metadata["nbgrader"]["solution"]]
    given = "\n".join(c.source for c in nb.cells
                      if c.cell_type == "code" and not c.metadata["nbgrader"]["solution"])
    code = lesson_answers.answer_code(solutions)
    needed = lesson_answers.imports_used(code)
    missing = [line for line in needed if line and line not in given]
    if missing:  # a student's notebook must import what the solution uses
        raise SystemExit(f"{name}: the solutions need {missing}; add them to the set-up cell")
    return lesson_answers.answers_module(stem, name, code, needed)


def answers_path(stem: str) -> Path:
    return ANSWERS / f"{answers.file_stem(stem)}.py"


def build(stem: str) -> list[Path]:
    """Refresh the lesson's included code, write its notebook and answers; the files changed."""
    lesson = read_lesson(stem)
    written = []
    refreshed = lesson_includes.refresh(lesson)
    if refreshed:
        lesson_path(stem).write_text(jupytext.writes(lesson, fmt=FORMAT), encoding="utf-8")
        print(f"source/lessons/{stem}.py: cells {', '.join(refreshed)} refreshed from their include= "
              "files (edit those files, not the cells)")
        written.append(lesson_path(stem))
    nb = notebook(stem, lesson)
    notebook_path = OUT / f"{stem}.ipynb"
    for path, text in ((notebook_path, notebook_text(nb)), (answers_path(stem), answers_text(stem, nb))):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    # The built notebook is never newer than its lesson: jupytext (Jupyter, `jupytext --sync`)
    # then takes the inputs of a paired notebook from the lesson, not from the build output.
    lesson_time = lesson_path(stem).stat()
    os.utime(notebook_path, ns=(lesson_time.st_atime_ns, lesson_time.st_mtime_ns))
    return written


def main() -> None:
    for stem in assignment.STEMS:
        changed = build(stem)
        for path in changed:
            print(f"wrote {path.relative_to(REPO)}")
        if not changed:
            print(f"{stem}: up to date")


if __name__ == "__main__":
    main()
