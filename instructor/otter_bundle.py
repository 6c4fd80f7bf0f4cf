"""`make otter`: an otter-grader autograder bundle per notebook, from the same graders.

    python -m instructor.otter_bundle [--out dist/otter] [--stems STEM ...]

writes ``OUT/<stem>-autograder.zip`` for ``otter run -a OUT/<stem>-autograder.zip NB.ipynb`` and
for Gradescope (upload the zip as the programming assignment's autograder), built by the real
``otter generate`` from:

* ``tests/<test>.py``: one otter test file per grader test of the assignment table
  (``autograder/assignment.py``), worth that test's points, whose one test case calls
  ``autograder.nbgrader_bridge.check(stem, test, user_ns=env)``: the very grader function, its
  message and the value rule, as nbgrader's hidden cells do; no test is written twice;
* ``files/``: the ``autograder``, ``solutions`` and ``course`` packages (otter puts them beside
  the submission, on its ``sys.path``);
* the requirements: ``pyproject.toml``'s dependencies and its pytest pin (the graders are pytest
  modules), so the bundle's pins are the project's; Python 3.12, the GPU image's.

Speed tests (decision): otter runs the notebook and the tests in one kernel, wherever the bundle
runs. A speed test's file sets its points when otter loads it there: the table's points where
that kernel computes on a GPU, 0 elsewhere, where its check fails with "speed not measured".
On a CPU (Gradescope's machines, a laptop) score and maximum are then the command line's, which
skips speed tests and leaves them out of both; on a GPU they count, as in the command line. One
bundle serves both, and no point is given that was not measured.

Like nbgrader's, otter's checks run inside the student's kernel, without the command line's
sandbox (autograder/README.md): this path is as safe as otter is, no more.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from autograder import assignment

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("autograder", "solutions", "course")  # what the test files and the notebooks import
PYTHON_VERSION = "3.12"
OTTER_CONFIG = {"lang": "python", "show_stdout": False}

TEST_FILE = '''\
"""otter test: {stem} / {name} ({points} points). Written by instructor/otter_bundle.py from
autograder/assignment.py: the check is the grader test itself (autograder/graders/test_{stem}.py)."""

from otter.test_files import test_case

from autograder.nbgrader_bridge import check{extra_import}

OK_FORMAT = False  # otter's exception-based format (not OK's)
name = "{name}"
{points_line}


@test_case()
def {function}(env):
    check("{stem}", "{name}", user_ns=env)
'''

SPEED_POINTS = '''\
# A speed test counts only where this kernel computes on a GPU; elsewhere it is worth 0 points and
# fails "speed not measured": score and maximum are then the command line's, which skips it.
points = {points} if Submission.in_process({{}}).platform()["platform"] == "gpu" else 0'''


def test_file(stem: str, test: assignment.Test) -> str:
    """The otter test file of one grader test."""
    points_line = SPEED_POINTS.format(points=test.points) if test.speed else f"points = {test.points}"
    extra_import = "\nfrom autograder.submission import Submission" if test.speed else ""
    return TEST_FILE.format(stem=stem, name=test.name, points=test.points, points_line=points_line,
                            function=f"test_{test.name}", extra_import=extra_import)


def requirements() -> list[str]:
    """pyproject.toml's dependencies and its pytest pin: the bundle installs what the project pins."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pytest_pin = [r for r in project["optional-dependencies"]["test"] if r.startswith("pytest")][:1]
    return [*project["dependencies"], *pytest_pin]


def build(stem: str, out: Path) -> Path:
    """``out/<stem>-autograder.zip``, made by ``otter generate`` in a staging folder."""
    part = assignment.part(stem)
    out.mkdir(parents=True, exist_ok=True)
    zip_path = (out / f"{stem}-autograder.zip").resolve()
    with tempfile.TemporaryDirectory(prefix=f"otter-{stem}-") as tmp:
        stage = Path(tmp)
        (stage / "tests").mkdir()
        for test in part.tests:
            (stage / "tests" / f"{test.name}.py").write_text(test_file(stem, test), encoding="utf-8")
        for package in PACKAGES:
            shutil.copytree(REPO / package, stage / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))
        (stage / "requirements.txt").write_text("\n".join(requirements()) + "\n", encoding="utf-8")
        (stage / "otter_config.json").write_text(json.dumps(OTTER_CONFIG, indent=1), encoding="utf-8")
        # otter generate takes FILES relative to its working directory: hence the staging folder
        proc = subprocess.run([sys.executable, "-m", "otter", "generate", "--tests-dir", "tests",
                               "--output-path", str(zip_path), "--config", "otter_config.json",
                               "--requirements", "requirements.txt", "--no-environment",
                               "--python-version", PYTHON_VERSION, *PACKAGES],
                              cwd=stage, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"otter generate failed for {stem}: {proc.stderr.strip()[-1500:]}")
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor.otter_bundle", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "otter", help="folder for the zips")
    parser.add_argument("--stems", nargs="+", choices=assignment.STEMS, default=list(assignment.STEMS),
                        metavar="STEM", help="the notebooks to build bundles for (default: all)")
    args = parser.parse_args(argv)
    for stem in args.stems:
        path = build(stem, args.out)
        print(f"{path}: {len(assignment.part(stem).tests)} tests, {assignment.part(stem).points} points "
              "(speed tests count only on a GPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
