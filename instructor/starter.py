"""Write the student starter repository: ready to push as a GitHub template or a student's repo.

    python -m instructor.starter DIR          (make student-repo DIR=...)

DIR (new or empty) gets:

* ``workshop3/NN_name.ipynb``: the release notebooks exactly as nbgrader wrote them. Their hidden
  check cells hold only a comment saying what the hidden grading tests and for how many points;
  nbgrader puts the tests back in when it autogrades a collected repository, so the cells stay;
* ``course/``: the student-facing package the notebooks import, with its data;
* ``autograder/``: only the engine that ``python -m autograder check`` needs (the command line,
  the sandbox, the runner, the assignment table, visible_checks.py): no grader, no nbgrader
  bridge, no oracle, no reference answer;
* from ``instructor/templates/starter/``: the student README, ``pyproject.toml`` (the course's
  pins), ``.gitignore`` and ``.github/workflows/feedback.yml`` (the visible checks on every push).

Nothing from solutions/, source/, tests/, benchmarks/, instructor/, autograder/graders/ or
autograder/nbgrader_bridge/ is copied; ``leaks`` re-checks the written tree and the build fails
if it finds any of it (tests/test_starter.py checks the same from outside).
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
from pathlib import Path

import nbformat

from autograder import assignment
from autograder.assignment import ASSIGNMENT_ID, HIDDEN_CELL_PREFIX
from instructor.lesson_answers import MARKERS

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "templates" / "starter"

# The check command's engine: these modules and every module of autograder/ they import (followed
# by _engine_files). Everything else of autograder/ stays behind.
ENGINE_SEEDS = ("autograder/__main__.py", "autograder/runner.py", "autograder/visible_checks.py",
                "autograder/command/*.py", "autograder/sandbox/*.py")
COURSE = ("course/*.py", "course/data/*")
# Paths no starter may hold (relative, as prefixes) and text no starter file may contain.
FORBIDDEN_PATHS = ("autograder/graders", "autograder/nbgrader_bridge", "solutions", "source", "tests",
                   "instructor", "benchmarks", "release", "nbgrader_config.py", "gradebook.db")
FORBIDDEN_TEXT = (*MARKERS, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


class StarterError(ValueError):
    """The starter cannot be written; the message names the folder or file and the fix."""


def _is_hidden(cell) -> bool:
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    return grade_id.startswith(HIDDEN_CELL_PREFIX) or cell.get("id", "").startswith(HIDDEN_CELL_PREFIX)


def _code_in(cell) -> list[str]:
    """The lines of a cell that are not comments or blank: a hidden check cell has none."""
    return [ln for ln in cell.source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def student_notebook(stem: str, release: Path = REPO / "release"):
    """The release notebook of ``stem`` as the starter ships it (an nbformat node): unchanged,
    after checking that its hidden check cells carry no test."""
    path = release / ASSIGNMENT_ID / f"{stem}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if _is_hidden(cell) and _code_in(cell):
            raise StarterError(f"{path}: hidden cell {cell.id} holds code; rebuild the release "
                               "(make notebooks release)")
    return nb


def _forbidden(rel: str) -> bool:
    """Whether the relative path ``rel`` is one of FORBIDDEN_PATHS or lies under one."""
    return any(rel == f or rel.startswith(f + "/") for f in FORBIDDEN_PATHS)


def _module_file(module: str) -> Path | None:
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path) -> set[str]:
    """The modules of this repository that ``path`` imports (anywhere in it, lazily too)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # `from . import assignment`
    return {m for m in found if m.split(".")[0] in ("autograder", "course", "solutions", "instructor")}


def _engine_files() -> list[Path]:
    """The seeds and the closure of their imports within this repository, package __init__ files
    included. Raises StarterError if that reaches code no student may have."""
    todo = [p for pattern in ENGINE_SEEDS for p in sorted(REPO.glob(pattern))]
    files: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in files:
            continue
        rel = path.relative_to(REPO).as_posix()
        if _forbidden(rel) or not rel.startswith("autograder/"):
            raise StarterError(f"{rel}: the check command's engine reaches it, but it is not the students'; "
                               "make the engine stop importing it")
        files.add(path)
        for parent in path.relative_to(REPO).parents[:-1]:  # the packages it lives in
            todo.append(REPO / parent / "__init__.py")
        for module in _imported_modules(path):
            found = _module_file(module)
            if found is not None:
                todo.append(found)
            elif module.split(".")[0] in ("solutions", "instructor"):
                raise StarterError(f"{rel} imports {module}: the engine must not need instructor code")
    return sorted(files)


def _copy(paths, dest: Path) -> list[Path]:
    """Copy each of ``paths`` (files of this repository) to the same place under ``dest``."""
    written = []
    for src in paths:
        target = dest / src.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        written.append(target)
    return written


def _copy_globs(patterns, dest: Path) -> list[Path]:
    return _copy((src for pattern in patterns for src in sorted(REPO.glob(pattern)) if src.is_file()), dest)


def _parts_table() -> str:
    rows = ["| Notebook | Exercises (graded names) | Visible checks | Hidden grading |", "|---|---|---|---|"]
    for part in assignment.PARTS:
        speed = sum(t.points for t in part.tests if t.speed)
        names = ", ".join(f"`{ex.name}`" for ex in part.exercises)
        gpu = f" ({speed} of them speed, on a GPU)" if speed else ""
        rows.append(f"| `{part.stem}.ipynb` | {names} | {len(part.exercises)} | {part.points} points{gpu} |")
    total = sum(p.points for p in assignment.PARTS)
    rows.append(f"| all | | {sum(len(p.exercises) for p in assignment.PARTS)} | {total} points |")
    return "\n".join(rows)


def leaks(root: Path) -> list[str]:
    """What in ``root`` must not be in a starter: forbidden paths, solution or hidden-test markers,
    hidden check cells holding code."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if _forbidden(rel):
            found.append(f"{rel}: an instructor file")
            continue
        if "__pycache__" in rel:
            found.append(f"{rel}: a compiled cache")
            continue
        if path.suffix in (".py", ".ipynb", ".md", ".toml", ".yml", ".txt"):
            text = path.read_text(encoding="utf-8")
            found += [f"{rel}: contains {marker!r}" for marker in FORBIDDEN_TEXT if marker in text]
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            found += [f"{rel}: hidden cell {c.get('id')} holds code" for c in nb.cells
                      if _is_hidden(c) and _code_in(c)]
    return found


def build(dest: Path, release: Path = REPO / "release") -> list[Path]:
    """Write the starter into ``dest`` (new or empty); return the files written."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StarterError(f"{dest}: exists and is not an empty folder; pass a new or empty folder "
                           "(nothing was written)")
    for stem in assignment.STEMS:  # read everything before writing anything
        if not (release / ASSIGNMENT_ID / f"{stem}.ipynb").exists():
            raise StarterError(f"{release / ASSIGNMENT_ID / stem}.ipynb: missing; run `make release` first")
    for stem in assignment.STEMS:
        student_notebook(stem, release)  # checked: no test in a hidden cell
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in assignment.STEMS:  # byte for byte, so that nbgrader can grade what comes back
        path = dest / ASSIGNMENT_ID / f"{stem}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(release / ASSIGNMENT_ID / f"{stem}.ipynb", path)
        written.append(path)
    written += _copy(_engine_files(), dest)
    written += _copy_globs(COURSE, dest)
    for src in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        target = dest / src.relative_to(TEMPLATES)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8")
        if src.name == "README.md" and src.parent == TEMPLATES:
            text = text.replace("<!-- parts -->", _parts_table())
        target.write_text(text, encoding="utf-8")
        written.append(target)
    problems = leaks(dest)
    if problems:
        raise StarterError(f"{dest}: the starter would leak: " + "; ".join(problems))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor.starter", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, metavar="DIR", help="a new or empty folder")
    args = parser.parse_args(argv)
    try:
        written = build(args.dest)
    except StarterError as bad:
        print(f"python -m instructor.starter: error: {bad}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files to {args.dest}. To publish it:\n"
          f"  cd {args.dest} && git init -b main && git add -A && git commit -m 'Workshop 3 starter'\n"
          "  then push it to an (organisation's) repository, e.g. one marked as a template repository.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
