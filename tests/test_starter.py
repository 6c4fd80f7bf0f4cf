"""The student starter repository (instructor/starter.py) and the repository's own workflows.

The starter is built into a temporary folder and judged from outside: it holds the release
notebooks without their hidden cells, the course package, the check command's engine and the
feedback workflow, and nothing of the solutions, hidden tests, oracles, answers or instructor
tools; its environment pins are the course's; every workflow passes actionlint (pinned, see
tests/workflow_lint.py). tests/test_feedback.py runs the starter's grading step.
"""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from autograder import assignment
from instructor import starter
from tests.conftest import REPO
from tests.workflow_lint import lint

WORKFLOW = Path(".github/workflows/feedback.yml")
SHA_PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def build_starter(folder: Path) -> Path:
    starter.build(folder)
    return folder


def student_python(folder: Path, starter_dir: Path) -> Path:
    """A Python that sees the course's third-party packages but none of this repository: a fresh
    venv reading this environment's site-packages (not its .pth files, so not the editable
    install of autograder/solutions/instructor), with the starter installed as its README says
    (`pip install -e .`, offline: no dependencies, no build isolation)."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "jax").is_dir())
    (next((venv / "lib").glob("python3*")) / "site-packages" / "course-packages.pth").write_text(f"{site}\n")
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--disable-pip-version-check", "--no-deps", "--no-build-isolation", "-e", str(starter_dir)],
                   check=True, capture_output=True, timeout=300)
    return python


def workflow_env(text: str, name: str) -> str:
    """A workflow-level env value written as a folded block (`NAME: >-` and indented lines)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{name}: >-")
    indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
    values = []
    for line in lines[start + 1:]:
        if len(line) - len(line.lstrip()) < indent or not line.strip():
            break
        values.append(line.strip())
    return " ".join(values)


def step_run(text: str, step_id: str) -> str:
    """The `run: |` script of the step with `id: step_id` (a tiny reader: the workflows are ours)."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == f"id: {step_id}")
    run = next(i for i in range(at, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[run + 1]) - len(lines[run + 1].lstrip())
    body = []
    for line in lines[run + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        body.append(line[indent:])
    return "\n".join(body).strip() + "\n"


def uses(text: str) -> list[str]:
    return re.findall(r"uses:\s*(\S+)", text)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_starter(tmp_path_factory.mktemp("starter") / "workshop3-starter")


def files_of(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# ---- what the starter holds

def test_starter_holds_the_release_notebooks_byte_for_byte_with_no_test_in_them(built):
    """What nbgrader released, so that nbgrader can autograde a collected repository (it puts the
    hidden tests back into their cells); the hidden check cells hold only their comment."""
    for stem in assignment.STEMS:
        shipped = built / "workshop3" / f"{stem}.ipynb"
        assert shipped.read_bytes() == (REPO / "release" / "workshop3" / f"{stem}.ipynb").read_bytes(), stem
        hidden = [c for c in nbformat.read(shipped, as_version=4).cells if c.id.startswith("hidden_")]
        assert len(hidden) == len(assignment.part(stem).tests), stem
        for cell in hidden:
            assert all(ln.startswith("#") for ln in cell.source.splitlines()), (stem, cell.source)


def test_starter_holds_the_course_package_and_the_engine_only(built):
    files = files_of(built)
    assert "course/data/digits.npz" in files and "course/timing.py" in files
    assert {".github/workflows/feedback.yml", "README.md", "pyproject.toml", ".gitignore"} <= set(files)
    assert {f"workshop3/{stem}.ipynb" for stem in assignment.STEMS} <= set(files)
    engine = {f for f in files if f.startswith("autograder/")}
    assert {"autograder/visible_checks.py", "autograder/command/cli.py", "autograder/sandbox/kernel.py",
            "autograder/runner.py", "autograder/assignment.py"} <= engine
    tops = {f.split("/")[0] for f in files}
    assert tops == {".github", ".gitignore", "README.md", "pyproject.toml", "workshop3", "course", "autograder"}, tops


def test_starter_holds_no_instructor_file_or_import(built):
    files = files_of(built)
    for forbidden in ("autograder/graders", "autograder/nbgrader_bridge", "solutions", "source", "tests",
                      "instructor", "benchmarks", "release"):
        assert not [f for f in files if f == forbidden or f.startswith(forbidden + "/")], forbidden
    assert not [f for f in files if f.endswith((".db", ".csv", ".pyc")) or "__pycache__" in f]
    assert starter.leaks(built) == []
    for path in built.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(solutions|instructor|autograder\.graders|autograder\.nbgrader_bridge)\b",
                             text, re.M), path
        assert "from .graders" not in text and "from .nbgrader_bridge" not in text, path


def _solution_lines() -> set[str]:
    """Lines only the instructor has: inside the source notebooks' solution blocks and in
    solutions/ (oracles, reference answers, golden code), less any line students have anyway."""
    lines = set()
    for path in (REPO / "source" / "workshop3").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if line.strip() == "### BEGIN SOLUTION":
                    inside = True
                elif line.strip() == "### END SOLUTION":
                    inside = False
                elif inside:
                    lines.add(line.strip())
    for path in (REPO / "solutions").rglob("*.py"):
        lines |= {line.strip() for line in path.read_text().splitlines()}
    public = set()  # what students have anyway: the release, and the shipped code in this repository
    for path in (REPO / "release" / "workshop3").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            public |= {line.strip() for line in cell.source.splitlines()}
    for path in [*starter._engine_files(), *(REPO / "course").glob("*.py")]:
        public |= {line.strip() for line in path.read_text().splitlines()}
    # Short or generic lines (`return u`, `"""`, imports) say nothing about a solution.
    return {line for line in lines - public if len(line) >= 24 and not line.startswith(("#", "import ", "from "))}


def test_starter_holds_no_solution_code(built):
    secret = _solution_lines()
    assert len(secret) > 50  # the comparison has something to find
    for path in built.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".toml", ".yml"):
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
            shipped = {line.strip() for line in text.splitlines()}
            leaked = sorted(secret & shipped)
            assert not leaked, f"{path.relative_to(built)} holds solution lines: {leaked[:3]}"


def test_build_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    proc = subprocess.run([sys.executable, "-m", "instructor.starter", str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path) in lines[0] and "empty folder" in lines[0], proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"] and (tmp_path / "mine.txt").read_text() == "keep me"


def test_make_student_repo_writes_the_starter(tmp_path):
    dest = tmp_path / "repo"
    # --assume-old: the tests run inside .venv, which `make test` has just brought up to date.
    proc = subprocess.run(["make", "--no-print-directory", "--assume-old=.venv/.installed", "student-repo",
                           f"DIR={dest}"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (dest / WORKFLOW).is_file() and starter.leaks(dest) == []


# ---- the student's environment

def _requirements(pyproject: Path, extras: tuple[str, ...] = ()) -> dict[str, Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = list(project["dependencies"]) + [r for e in extras for r in project["optional-dependencies"][e]]
    return {Requirement(r).name.lower().replace("_", "-"): Requirement(r) for r in lines}


def test_student_environment_has_the_course_pins(built):
    course = _requirements(REPO / "pyproject.toml", ("test",))
    student = _requirements(built / "pyproject.toml")
    course_base = _requirements(REPO / "pyproject.toml")
    assert set(course_base) <= set(student), set(course_base) - set(student)
    assert set(student) - set(course_base) == {"pytest"}  # the runner child imports it
    for name, req in student.items():
        assert req.specifier == course[name].specifier, f"{name}: starter '{req.specifier}', course '{course[name].specifier}'"
    cuda = lambda p: tomllib.loads(p.read_text())["project"]["optional-dependencies"]["cuda"]  # noqa: E731
    assert cuda(built / "pyproject.toml") == cuda(REPO / "pyproject.toml")
    packages = tomllib.loads((built / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert packages["include"] == ["autograder*", "course*"]


def test_starter_readme_says_how_to_work_and_what_the_feedback_is(built):
    readme = (built / "README.md").read_text()
    for stem in assignment.STEMS:
        assert f"`{stem}.ipynb`" in readme
    for heading in ("## How to work", "## Reading the feedback", "## What the hidden grading adds",
                    "## What this feedback is, and is not"):
        assert heading in readme
    assert "never the\ngrade" in readme or "never the grade" in readme
    assert "<!-- parts -->" not in readme
    assert f"{sum(p.points for p in assignment.PARTS)} points" in readme


# ---- workflows: actionlint and policy

def test_the_linter_reports_real_problems(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ secret.TOKEN }}\n      - uses: actions/checkout@v4\n"
                   "        with:\n          fetch-dept: 1\n")
    problems = lint(bad)
    assert any('undefined variable "secret"' in p for p in problems), problems
    assert any('"fetch-dept" is not defined' in p for p in problems), problems


def test_starter_workflow_passes_actionlint_and_the_policy(built):
    path = built / WORKFLOW
    assert lint(path) == []
    text = path.read_text()
    assert "permissions:\n  contents: read\n" in text
    assert "secrets." not in text and "self-hosted" not in text and "pull_request_target" not in text
    assert re.search(r"^on:\n  push:\n", text, re.M)
    assert all(SHA_PINNED.match(u) for u in uses(text)), uses(text)
    assert 'python-version: "3.12"' in text and "pip install --disable-pip-version-check -e ." in text
    assert workflow_env(text, "NOTEBOOKS").split() == [f"workshop3/{stem}.ipynb" for stem in assignment.STEMS]
    assert "python -m autograder check" in step_run(text, "checks") and "--github" in step_run(text, "checks")


def test_repository_workflows_pass_actionlint(tmp_path):
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert {p.name for p in workflows} >= {"ci.yml", "gpu.yml"}
    for path in workflows:
        assert lint(path) == [], path
        text = path.read_text()
        assert "permissions:\n  contents: read\n" in text, path
        assert all(SHA_PINNED.match(u) for u in uses(text)), (path, uses(text))
    ci = (REPO / ".github/workflows/ci.yml").read_text()
    assert "run: bash .ci/run" in ci and "make test" in (REPO / ".ci/run").read_text()
    gpu = (REPO / ".github/workflows/gpu.yml").read_text()
    assert "workflow_dispatch:" in gpu and re.search(r"schedule:\n\s+- cron: ", gpu)
    assert 'runs-on: [self-hosted, linux, "${{ vars.GPU_RUNNER_LABEL }}"]' in gpu
    assert "EXTRAS=cuda," in gpu and "pytest -m gpu" in gpu and "autograder grade" in gpu
    assert "actions/upload-artifact@" in gpu
