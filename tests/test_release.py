"""source/workshop3/ is what the lesson build (instructor/build_lessons.py) writes, release/ is what
nbgrader makes of it, and neither carries outputs, solutions (release) or hidden tests (release)."""

import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder import assignment
from autograder.assignment import STEMS
from instructor import build_lessons
from tests.conftest import REPO

SOURCE = REPO / "source" / "workshop3"
RELEASE = REPO / "release" / "workshop3"


@pytest.mark.parametrize("stem", STEMS)
def test_source_notebooks_are_what_the_lesson_build_writes(stem):
    """Edit source/lessons/<stem>.py, then `make notebooks`: the JSON is never edited by hand."""
    nb = build_lessons.notebook(stem, build_lessons.read_lesson(stem))
    assert (SOURCE / f"{stem}.ipynb").read_text() == build_lessons.notebook_text(nb), (
        f"source/workshop3/{stem}.ipynb is stale: run `make notebooks` (after saving in Jupyter too)")


@pytest.mark.parametrize("stem", STEMS)
def test_hidden_points_add_up_to_the_scheme(stem):
    """Every point nbgrader can give sits in a hidden cell that calls one grader test."""
    nb = nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all("nbgrader_bridge import check" in c.source for c in graded)
    assert sum(c.metadata["nbgrader"]["points"] for c in graded) == assignment.part(stem).points


@pytest.mark.slow
def test_fresh_release_equals_committed_release(tmp_path):
    """`make release` in a scratch course reproduces release/ byte for byte."""
    shutil.copytree(REPO / "source", tmp_path / "source")
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), "generate_assignment",
                    "workshop3", "--force", "--db", f"sqlite:///{tmp_path}/g.db", "--log-level=WARN"],
                   cwd=tmp_path, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "instructor.clean_notebooks", "release"],
                   cwd=tmp_path, check=True, capture_output=True)
    released = sorted(p.name for p in (tmp_path / "release" / "workshop3").iterdir())
    assert released == [f"{stem}.ipynb" for stem in STEMS], "only the notebooks are released, no lesson"
    for stem in STEMS:
        fresh = (tmp_path / "release" / "workshop3" / f"{stem}.ipynb").read_text()
        assert fresh == (RELEASE / f"{stem}.ipynb").read_text(), f"release/{stem}.ipynb is stale: run `make release`"


@pytest.mark.parametrize("stem", STEMS)
def test_release_holds_no_solution_and_no_hidden_test(stem):
    nb = nbformat.read(RELEASE / f"{stem}.ipynb", as_version=4)
    text = json.dumps([c.source for c in nb.cells])
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "nbgrader_bridge", "check("):
        assert marker not in text, f"release/{stem}.ipynb contains {marker!r}"
    assert set(nb.metadata) == {"kernelspec", "language_info"}, "no jupytext or other metadata"
    assert not [c.id for c in nb.cells if set(c.metadata) - {"nbgrader", "editable", "deletable"}]
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and all("raise NotImplementedError()" in c.source for c in solutions)
    source = {c.id: c.source for c in nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4).cells}
    for cell in solutions:  # no line of the answer's body survives, only its docstring
        body = source[cell.id].split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
        leaked = [ln for ln in body.splitlines() if ln.strip() and len(ln.strip()) > 12 and ln in cell.source]
        assert not leaked, f"release/{stem}.ipynb {cell.id} leaks solution lines {leaked[:2]}"


@pytest.mark.parametrize("stem", STEMS)
def test_release_opens_with_the_grading_overview_and_shows_every_hidden_header(stem):
    """Students see how the notebook is graded (the build's overview, right after the title) and,
    where each hidden check sits, its header line: points, kind, and for speed where it counts."""
    source = nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4)
    release = nbformat.read(RELEASE / f"{stem}.ipynb", as_version=4)
    assert [c.id for c in release.cells[:2]] == ["intro", build_lessons.OVERVIEW]
    assert release.cells[1].source == source.cells[1].source
    headers = {c.id: c.source.splitlines()[0] for c in source.cells if c.id.startswith("hidden_")}
    assert {c.id: c.source for c in release.cells if c.id.startswith("hidden_")} == headers
    assert all(line.startswith("# Hidden check (") for line in headers.values())


def test_notebooks_are_clean_and_the_check_catches_dirt(tmp_path):
    """No outputs, counts or machine metadata in git; the check fails on a dirty notebook."""
    check = [sys.executable, "-m", "instructor.clean_notebooks", "--check"]
    assert subprocess.run([*check, str(REPO / "source"), str(REPO / "release")]).returncode == 0
    nb = nbformat.read(SOURCE / "01_jax_intro.ipynb", as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    code.execution_count = 3
    nb.metadata["widgets"] = {"state": {}}
    dirty = tmp_path / "dirty.ipynb"
    nbformat.write(nb, dirty)
    result = subprocess.run([*check, str(dirty)], capture_output=True, text=True)
    assert result.returncode == 1 and "outputs" in result.stdout and "widgets" in result.stdout
    subprocess.run([sys.executable, "-m", "instructor.clean_notebooks", str(dirty)], check=True)
    assert subprocess.run([*check, str(dirty)]).returncode == 0
