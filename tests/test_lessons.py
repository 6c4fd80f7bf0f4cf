"""The lessons (source/lessons/*.py, jupytext percent) are the one source of the instructor
notebooks and the reference answers; Jupyter edits them through jupytext's pairing."""

import ast
import json
import os
import re
import shutil

import jupytext
import nbformat
import pytest
from jupytext import TextFileContentsManager
from jupytext.config import load_jupytext_configuration_file

from autograder import assignment
from autograder.assignment import STEMS
from autograder.nbgrader_bridge.hidden_cells import what_it_checks
from instructor import build_lessons, lesson_includes, lesson_namespace
from tests.conftest import REPO

SOURCE = REPO / "source" / "workshop3"
INCLUDES = {  # lesson -> (cell, file, renamed names) that show golden code instead of pasting it
    "05_heat_equation_jax": ("numpy_solver", "solutions/golden/heat.py", {"heat_step", "solve"}),
    "06_deep_learning_jax": ("numpy_mlp", "solutions/golden/mlp.py",
                             {"init_params", "forward", "_log_softmax", "loss_and_grads", "sgd_step",
                              "train", "accuracy"}),
}
COUNTER = re.compile(r"^nb\d\d_|_(code|md)_\d+$|^cell-")


def lesson_text(stem):
    return build_lessons.lesson_path(stem).read_text(encoding="utf-8")


def built(stem, text=None):
    return build_lessons.notebook_text(build_lessons.notebook(stem, build_lessons.read_lesson(stem, text)))


def grade_id(cell):
    return cell.metadata["nbgrader"]["grade_id"]


@pytest.mark.parametrize("stem", STEMS)
def test_committed_answers_are_the_lesson_solution_cells(stem):
    """solutions/answers/ is generated: edit the lesson's solution cell, then `make notebooks`."""
    nb = build_lessons.notebook(stem, build_lessons.read_lesson(stem))
    path = build_lessons.answers_path(stem)
    assert path.read_text(encoding="utf-8") == build_lessons.answers_text(stem, nb), (
        f"{path.relative_to(REPO)} is stale or was edited by hand: edit source/lessons/{stem}.py, "
        "then `make notebooks`")
    body = path.read_text(encoding="utf-8")
    for cell in nb.cells:
        if cell.metadata["nbgrader"]["solution"]:
            assert "### BEGIN SOLUTION" in cell.source
            for line in cell.source.splitlines():
                assert "SOLUTION" in line or line in body.splitlines(), f"{grade_id(cell)}: {line!r}"


@pytest.mark.parametrize("stem", STEMS)
def test_lesson_is_in_jupytext_canonical_form(stem):
    """What Jupyter (jupytext) writes back is the file as committed: no churn on save."""
    text = lesson_text(stem)
    assert jupytext.writes(jupytext.reads(text, fmt="py:percent"), fmt="py:percent") == text


@pytest.mark.parametrize("stem", STEMS)
def test_lesson_names_its_cells_and_holds_no_generated_cell(stem):
    lesson = build_lessons.read_lesson(stem)
    ids = [grade_id(c) for c in lesson.cells]
    assert len(ids) == len(set(ids)), f"duplicate names in {stem}"
    assert not [i for i in ids if COUNTER.search(i)], "names say what a cell holds, not its position"
    assert not [i for i in ids if i.startswith(build_lessons.GENERATED)], "hidden cells are generated"
    assert not [c for c in lesson.cells if c.metadata["nbgrader"].get("grade")], "points live in hidden cells"
    for exercise in assignment.part(stem).exercises:
        for role in ("task", "solution", "visible"):
            assert f"{exercise.name}_{role}" in ids
    solutions = [i for i, c in zip(ids, lesson.cells) if c.metadata["nbgrader"]["solution"]]
    assert solutions == [f"{ex.name}_solution" for ex in assignment.part(stem).exercises]


@pytest.mark.parametrize("stem", STEMS)
def test_built_notebook_ids_are_the_names(stem):
    nb = nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4)
    assert [c.id for c in nb.cells] == [grade_id(c) for c in nb.cells]
    assert not [c.id for c in nb.cells if COUNTER.search(c.id)]
    hidden = [c.id for c in nb.cells if c.id.startswith("hidden_")]
    assert hidden == [f"hidden_{t.name}" for t in assignment.part(stem).tests]
    for exercise in assignment.part(stem).exercises:  # right after the exercise's visible checks
        at = [c.id for c in nb.cells].index(f"{exercise.name}_visible") + 1
        expected = [f"hidden_{t.name}" for t in exercise.tests]
        assert [c.id for c in nb.cells[at : at + len(expected)]] == expected


@pytest.mark.parametrize("stem", INCLUDES)
def test_golden_code_is_included_not_pasted(stem):
    """The NumPy code notebooks 05 and 06 show is solutions/golden/, renamed, in lesson and notebook."""
    name, path, renamed = INCLUDES[stem]
    cell = next(c for c in build_lessons.read_lesson(stem).cells if grade_id(c) == name)
    assert cell.metadata["include"] == path and set(cell.metadata["rename"]) == renamed
    code = lesson_includes.included_code(path, cell.metadata["rename"])
    assert cell.source == code, f"source/lessons/{stem}.py: cell {name} is stale: run `make notebooks`"
    nb = nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4)
    assert next(c for c in nb.cells if c.id == name).source == code
    golden = (REPO / path).read_text(encoding="utf-8")
    for old, new in cell.metadata["rename"].items():
        assert f"def {old}(" in golden and f"def {new}(" in code and f"def {old}(" not in code
    assert "__main__" not in code and "import numpy" not in code
    # Later cells call the renamed names: a student's own `forward` or `accuracy` breaks nothing.
    later = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and c.id != name)
    for old in cell.metadata["rename"]:
        assert not re.search(rf"(?<![\w.]){old}\(", later) or f"def {old}(" in later, f"{stem} calls {old}"


def test_renaming_changes_names_only():
    code = 'def forward(x):\n    """forward pass"""\n    return forward(x) + mlp_forward  # forward\n'
    assert lesson_includes.renamed(code, {"forward": "numpy_forward"}) == (
        'def numpy_forward(x):\n    """forward pass"""\n    return numpy_forward(x) + mlp_forward  # forward\n')
    with pytest.raises(SystemExit, match="never uses"):
        lesson_includes.renamed(code, {"backward": "numpy_backward"})


def test_build_refreshes_a_stale_copy_of_included_code():
    stem, (name, path, _) = next(iter(INCLUDES.items()))
    lesson = build_lessons.read_lesson(stem)
    cell = next(c for c in lesson.cells if grade_id(c) == name)
    cell.source = "def numpy_solve():\n    pass  # an edit that belongs in the golden file"
    assert build_lessons.notebook_text(build_lessons.notebook(stem, lesson)) == built(stem)
    assert lesson_includes.refresh(lesson) == [name]
    assert jupytext.writes(lesson, fmt="py:percent") == lesson_text(stem)


@pytest.mark.parametrize("stem", STEMS)
def test_a_lesson_written_back_from_the_built_notebook_builds_the_same(stem):
    """jupytext from the .ipynb side (hidden cells, full metadata, a header) changes nothing."""
    text = jupytext.writes(jupytext.read(SOURCE / f"{stem}.ipynb"), fmt="py:percent")
    assert "BEGIN HIDDEN TESTS" in text
    assert built(stem, text) == (SOURCE / f"{stem}.ipynb").read_text(encoding="utf-8")


def test_jupyter_edits_the_lesson_through_the_pairing(tmp_path, monkeypatch):
    """Jupyter's own contents manager, started in a course root, with source/jupytext.toml:
    opening the built notebook (even when it is newer) shows the lesson; saving writes the edit
    into the lesson and nothing else."""
    stem = "05_heat_equation_jax"
    source = tmp_path / "source"
    for folder in ("lessons", "workshop3"):
        (source / folder).mkdir(parents=True)
    shutil.copy(REPO / "source" / "jupytext.toml", source / "jupytext.toml")
    lesson_file = source / "lessons" / f"{stem}.py"
    lesson_file.write_text(lesson_text(stem), encoding="utf-8")
    notebook_file = source / "workshop3" / f"{stem}.ipynb"
    shutil.copy(SOURCE / f"{stem}.ipynb", notebook_file)
    later = lesson_file.stat().st_mtime + 3600
    os.utime(notebook_file, (later, later))  # a freshly cloned or rebuilt notebook
    monkeypatch.chdir(tmp_path)  # where `jupyter lab` is started

    manager = TextFileContentsManager(root_dir=str(tmp_path))
    opened = manager.get(f"source/workshop3/{stem}.ipynb")["content"]
    lesson = build_lessons.read_lesson(stem)
    assert [c.source for c in opened.cells] == [c.source for c in lesson.cells]
    assert [c.id for c in opened.cells] == [grade_id(c) for c in lesson.cells]

    # What an instructor does in Jupyter: edit prose, add a named cell, run cells.
    def edit(nb):
        summary = next(c for c in nb.cells if grade_id(c) == "summary")
        summary.source += "\n\nEdited in Jupyter."
        nb.cells.insert(nb.cells.index(summary), nbformat.v4.new_code_cell(
            "print(ALPHA)", metadata={"nbgrader": {"grade_id": "alpha_again"}}))
    edit(opened)
    for cell in opened.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
            cell.execution_count = 1
            cell.metadata.update(scrolled=True, tags=["run"], ExecuteTime={"start": "now"})
    opened.metadata["language_info"] = {"name": "python", "version": "3.12.1"}
    manager.save({"type": "notebook", "format": "json", "content": opened}, f"source/workshop3/{stem}.ipynb")

    saved = lesson_file.read_text(encoding="utf-8")
    edit(lesson)
    assert saved == jupytext.writes(lesson, fmt="py:percent"), "the lesson holds the edit and only the edit"
    assert 'include="solutions/golden/heat.py"' in saved
    jupyter_only = ("scrolled", "ExecuteTime", '"run"', "3.12.1", "kernelspec")
    assert not [word for word in jupyter_only if word in saved]
    expected = build_lessons.notebook_text(build_lessons.notebook(stem, lesson))
    assert built(stem, saved) == expected
    assert "alpha_again" in expected and "hidden_simulate_matches_reference" in expected
    # Jupyter wrote the .ipynb too, without the hidden cells: `make notebooks` rebuilds it.
    assert "BEGIN HIDDEN TESTS" not in notebook_file.read_text(encoding="utf-8")
    assert manager.get(f"source/lessons/{stem}.py")["type"] == "notebook"  # the lesson opens as a notebook
    assert sorted(os.listdir(source / "lessons")) == [f"{stem}.py"]  # no stray pairs
    # Outside source/ nothing is paired: a released notebook saved in Jupyter stays one file.
    (tmp_path / "release" / "workshop3").mkdir(parents=True)
    shutil.copy(REPO / "release" / "workshop3" / f"{stem}.ipynb", tmp_path / "release" / "workshop3")
    student = manager.get(f"release/workshop3/{stem}.ipynb")
    manager.save({"type": "notebook", "format": "json", "content": student["content"]},
                 f"release/workshop3/{stem}.ipynb")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.py")) == [
        f"source/lessons/{stem}.py"]


@pytest.mark.parametrize("cells, message", [
    ('# %%\nx = 1\n', "has no name"),
    ('# %% nbgrader={"grade_id": "a"}\nx = 1\n\n# %% nbgrader={"grade_id": "a"}\ny = 2\n', "two cells are named 'a'"),
    ('# %% nbgrader={"grade_id": "a", "grade": true, "points": 3}\nx = 1\n', "is graded"),
    ('# %% nbgrader={"grade_id": "a"}\nx = 1\n', "no cell set_boundary_task"),
])
def test_a_broken_lesson_fails_the_build_with_the_fix(cells, message):
    with pytest.raises(SystemExit, match=message):
        build_lessons.notebook("01_jax_intro", jupytext.reads(cells, fmt="py:percent"))


def test_cells_named_in_short_form_get_the_locked_defaults():
    text = lesson_text("01_jax_intro").replace(
        '# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, '
        '"schema_version": 3, "solution": false}', '# %% [markdown] nbgrader={"grade_id": "summary"}')
    assert text != lesson_text("01_jax_intro")
    assert built("01_jax_intro", text) == built("01_jax_intro")


def test_hidden_cell_runs_the_grader_test_for_its_points():
    test = assignment.part("05_heat_equation_jax").tests[0]
    cell = build_lessons.hidden_cell("05_heat_equation_jax", test)
    assert cell.id == f"hidden_{test.name}"
    assert cell.metadata["nbgrader"] == {"grade": True, "grade_id": f"hidden_{test.name}", "locked": True,
                                         "points": test.points, "schema_version": 3, "solution": False}
    assert cell.source.splitlines()[0].startswith(f"# Hidden check ({test.points} pt, value): ")
    assert f'check_hidden("05_heat_equation_jax", "{test.name}")' in cell.source


HEADER = re.compile(r"^# Hidden check \((\d+) pt, (value|structure|speed)(?:, GPU only: (.+))?\): (\S.*)$")


@pytest.mark.parametrize("stem", STEMS)
def test_every_hidden_check_header_says_points_kind_and_where_it_counts(stem):
    """One format throughout, from the assignment table: `# Hidden check (2 pt, value): ...`,
    and for speed `# Hidden check (4 pt, speed, GPU only: at most 8x the time of ...): ...`."""
    nb = nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4)
    hidden = {c.id: c for c in nb.cells if c.id.startswith("hidden_")}
    for test in assignment.part(stem).tests:
        header = hidden[f"hidden_{test.name}"].source.splitlines()[0]
        found = HEADER.match(header)
        assert found, f"{stem}: {header!r} is not in the hidden-check header format"
        points, kind, where, checks = found.groups()
        assert (int(points), kind) == (test.points, test.kind), header
        assert where == (test.threshold.describe() if test.speed else None), header
        assert checks.rstrip(".") == what_it_checks(stem, test.name).rstrip("."), header


@pytest.mark.parametrize("stem", STEMS)
def test_the_notebook_opens_with_how_it_is_graded(stem):
    """The opening cell is generated from the assignment table (never held by the lesson): points
    per exercise, the GPU-only speed points and their thresholds, the totals on a GPU and on a
    CPU, the command that checks the notebook, how to get a GPU, and the reserved names."""
    part = assignment.part(stem)
    lesson = build_lessons.read_lesson(stem)
    assert build_lessons.OVERVIEW not in [grade_id(c) for c in lesson.cells], "the overview is generated"
    nb = nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4)
    assert nb.cells[0].id == grade_id(lesson.cells[0]) == "intro"
    overview = nb.cells[1]
    assert overview.id == build_lessons.OVERVIEW and overview.cell_type == "markdown"
    assert overview.metadata["nbgrader"] == {"grade": False, "grade_id": build_lessons.OVERVIEW, "locked": True,
                                             "schema_version": 3, "solution": False}
    text = overview.source
    rows = dict(re.findall(r"^\| `(\w+)` \| (\d+) \|", text, re.M))
    assert rows == {ex.name: str(sum(t.points for t in ex.tests)) for ex in part.exercises}
    assert f"| **total** | **{part.points}** |" in text
    speed = [t for t in part.tests if t.speed]
    for t in speed:
        assert f"{t.points}: {t.threshold.describe()}" in text
    cpu_total = part.points - sum(t.points for t in speed)
    assert (f"out of {cpu_total} points" in text) == bool(speed)
    assert ("no speed points" in text) == (not speed)
    assert f"`python -m autograder check {stem}.ipynb`" in text and "`python -m autograder grade`" in text
    for needed in ("srun --gres=gpu:1", "Colab", "Kaggle", 'pip install "jax[cuda13]"',
                   "jax.default_backend()", "jax.devices()", "`demo_`", "`check_`"):
        assert needed in text, needed
    cpu_time, _ = build_lessons.TIMES[stem]
    assert cpu_time in text


@pytest.mark.parametrize("stem", STEMS)
def test_a_visible_check_names_an_earlier_exercise_before_it_relies_on_it(stem):
    """Issue 12: a visible check judges its own exercise. Where it calls an earlier exercise's
    function (its task builds on it), it does so first, in a check whose message says to fix that
    function first; it never calls a later exercise's function."""
    names = [ex.name for ex in assignment.part(stem).exercises]
    cells = {grade_id(c): c.source for c in build_lessons.read_lesson(stem).cells}
    for k, own in enumerate(names):
        tree = ast.parse(cells[f"{own}_visible"])
        calls = [(n.lineno, n.func.id) for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names]
        own_first = min(line for line, name in calls if name == own)
        said = {line: ast.unparse(n.msg) for n in ast.walk(tree)
                if isinstance(n, ast.Assert) and n.msg is not None for line in [n.lineno]}
        for line, name in calls:
            assert names.index(name) <= k, f"{stem} {own}_visible calls {name}, a later exercise"
            if name != own:
                assert line < own_first, f"{stem} {own}_visible calls {name} after {own}: check {name} first"
                assert any(f"fix {name} first" in msg and at < own_first for at, msg in said.items()), (
                    f"{stem} {own}_visible relies on {name} without a check saying 'fix {name} first'")


@pytest.mark.parametrize("stem", STEMS)
def test_solution_cells_carry_no_leftover_headings(stem):
    for cell in build_lessons.read_lesson(stem).cells:
        assert "Notes from the reference answer" not in cell.source, grade_id(cell)


def test_jupytext_config_pairs_the_lessons_only():
    config = load_jupytext_configuration_file(str(REPO / "source" / "jupytext.toml"))
    assert config.formats == ["workshop3///ipynb,lessons///py:percent"]
    assert config.outdated_text_notebook_margin == float("inf")
    release = json.loads((REPO / "release" / "workshop3" / "05_heat_equation_jax.ipynb").read_text())
    assert "jupytext" not in release["metadata"]


@pytest.mark.parametrize("stem", STEMS)
def test_cells_below_the_exercises_leave_the_students_names_alone(stem):
    """Issue 11: the graders call the student's functions after the whole notebook ran, so no
    read-only cell after the first solution cell may rebind a name a student could use for a
    helper (`loss`, `params`, `step`, `key`, `math`): only `demo_...` and `check_...`, the prefixes
    the notebook's opening reserves. The hidden cells the build adds keep to it too."""
    for cells, where in ((build_lessons.read_lesson(stem).cells, f"source/lessons/{stem}.py"),
                         (nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4).cells,
                          f"source/workshop3/{stem}.ipynb")):
        found = lesson_namespace.foreign_names(cells)
        assert not found, lesson_namespace.problem(where, found)


def test_top_level_bindings_sees_every_way_to_bind_a_name():
    code = """
import math, os.path
from jax import numpy as jnp, lax
loss = 1
a, (b, *c) = 1, (2, 3)
d += 1
e: int = 2
for f, g in []: pass
with open("x") as h, open("y") as (i, j): pass
def k(arg=(default := 3)):
    global l
    local = 1
class m: attribute = 1
try: pass
except ValueError as n: pass
[(o := x) for x in range(3)]
lambda q: q
del r
match 1:
    case [s, *t]: pass
    case {"k": u, **v}: pass
"""
    assert lesson_namespace.top_level_bindings(code) == {
        "math", "os", "jnp", "lax", "loss", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
        "default", "l", "m", "n", "o", "r", "s", "t", "u", "v"}


def test_a_lesson_cell_that_rebinds_a_name_stops_the_build():
    text = lesson_text("03_jax_grad").replace(
        "# %% [markdown] nbgrader={\"grade\": false, \"grade_id\": \"summary\"",
        "# %% nbgrader={\"grade_id\": \"stray\"}\nfor step in range(3):\n    loss = step\n\n"
        "# %% [markdown] nbgrader={\"grade\": false, \"grade_id\": \"summary\"")
    assert "stray" in text
    with pytest.raises(SystemExit, match=r"cell stray binds loss, step"):
        built("03_jax_grad", text)
