"""otter-grader: the bundles of instructor/otter_bundle.py, run by the real ``otter run``.

``otter run`` grades the four sample students (instructor/samples.py: alice = the solutions,
carol = the stubs as released, bob = partial, mallory = hostile cells and a wrong redefinition)
on 01 and 05 and must give each notebook the score and maximum ``python -m autograder grade``
gives it, test by test. Two notebooks: 01 (no speed test) and 05 (speed tests, which otter must
count as the command line does on a CPU), the two cheapest to run; about two and a half minutes
on two cores, the command line grading in the background meanwhile.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
import zipfile

import pytest
import yaml

from autograder import assignment
from instructor import demo, otter_bundle, samples
from tests.conftest import REPO

STEMS = ("01_jax_intro", "05_heat_equation_jax")


def _env() -> dict:
    return {**os.environ, "PATH": f"{demo.BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _otter_run(bundle, notebook, out, cache) -> dict:
    """``otter run``'s results.json for one notebook.

    The kernels share a JAX compilation cache (``cache``): the four students' notebooks compile
    the same lesson programs; these are our own samples, so a shared cache is safe here."""
    out.mkdir(parents=True)
    proc = subprocess.run([str(demo.BIN / "otter"), "run", "-a", str(bundle), str(notebook), "-o", str(out),
                           "--no-logo"], cwd=out, env={**_env(), **demo.jax_cache_env(cache)},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    tests = {t["name"]: t for t in results["tests"] if "max_score" in t}  # not otter's "Public Tests" summary
    assert tests, f"otter graded nothing: {results['tests'][:2]}"
    return tests


def test_the_bundle_holds_one_test_file_per_grader_test_and_the_projects_pins(tmp_path):
    stem = "05_heat_equation_jax"
    bundle = otter_bundle.build(stem, tmp_path)
    assert bundle == tmp_path / f"{stem}-autograder.zip"
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        tests = {n.removeprefix("tests/").removesuffix(".py"): zf.read(n).decode() for n in names
                 if n.startswith("tests/")}
        environment = yaml.safe_load(zf.read("environment.yml"))
    part = assignment.part(stem)
    assert sorted(tests) == sorted(t.name for t in part.tests), "one otter test per grader test, no other"
    for t in part.tests:
        text = tests[t.name]
        assert f'check("{stem}", "{t.name}", user_ns=env)' in text, "the grader test itself, not a copy"
        assert (f"points = {t.points} if" in text) if t.speed else (f"points = {t.points}\n" in text)
        assert "assert" not in text, f"{t.name}: a test written a second time"
    for package in otter_bundle.PACKAGES:
        assert any(n.startswith(f"files/{package}/") for n in names), f"{package} is not in the bundle"
    assert "files/autograder/graders/test_05_heat_equation_jax.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert set(project["dependencies"]) <= set(pip), "the bundle must install the project's pins"
    assert "otter-grader[grading,plugins]==7.0.0" in pip and f"python={otter_bundle.PYTHON_VERSION}" in (
        environment["dependencies"])


@pytest.mark.slow
def test_otter_run_gives_every_sample_the_command_lines_scores(tmp_path):
    course = tmp_path / "course"
    demo.prepare_course(course, STEMS)
    notebooks = demo.submitted_notebooks(course, STEMS)
    # one notebook at a time, without the course's JAX cache: the command line as a user runs it
    cli, reader = demo.start_cli(course, notebooks, jobs=1, jax_cache=False)
    try:
        bundles = {stem: otter_bundle.build(stem, tmp_path / "dist") for stem in STEMS}
        otter = {(student, stem): _otter_run(bundles[stem], course / "submitted" / student / "workshop3" /
                                             f"{stem}.ipynb", tmp_path / "otter" / student / stem, tmp_path)
                 for student in samples.STUDENTS for stem in STEMS}
        results = demo.wait_cli(course, cli, reader)  # StepFailed, naming its log, unless it exits 0
    finally:
        cli.kill()
    by_key = {(r["notebook"].split("/")[1], r["notebook"].split("/")[-1].removesuffix(".ipynb")): r
              for r in results}

    for (student, stem), tests in otter.items():
        result = by_key[(student, stem)]
        score = sum(float(t["score"]) for t in tests.values())
        top = sum(float(t["max_score"]) for t in tests.values())
        assert (score, top) == (result["score"], result["max_score"]), (
            f"{student}/{stem}: otter {score:g}/{top:g}, the command line {result['score']:g}/{result['max_score']:g}")
        assert score == samples.expected_score(student, stem), (student, stem, score)
        for t in result["tests"]:  # test by test, with the command line's skipped speed tests worth 0 here
            mine = tests[t["name"]]
            assert (float(mine["score"]), float(mine["max_score"])) == (t["score"], t["max_score"]), (
                student, stem, t["name"], mine["score"], t["status"])
            if t["status"] == "skipped":
                assert "speed not measured" in mine["output"], mine["output"][-300:]
            elif t["status"] == "failed":
                assert "AssertionError" in mine["output"], f"otter shows no reason for {t['name']}"

    for stem in STEMS:
        counted = sum(t.points for t in assignment.part(stem).tests if not t.speed)
        alice = otter[("alice", stem)]
        assert sum(float(t["score"]) for t in alice.values()) == counted, "the solutions: full marks"
        assert sum(float(t["score"]) for t in otter[("carol", stem)].values()) == 0, "the stubs: zero"
