"""``python -m autograder grade`` as a user meets it: a real subprocess, SPEC.md's contract.

Bad input exits 2 with one line on stderr that names the file and the problem, before any
kernel starts (fast). The other tests grade stub notebooks (every graded name raises
NotImplementedError), which fail quickly, and check the JSON, the GitHub outputs and ``-j``.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import assignment
from tests.conftest import write_notebook
from tests.corpus.cases import GRADED_NAMES
from tests.outcomes import speed_tests

STATUSES = {"passed", "failed", "error", "skipped"}
RESULT_KEYS = {"notebook": str, "score": float, "max_score": float, "tests": list}
EXTRA_KEYS = {"cells": list, "isolation": dict, "timings": dict}  # SPEC.md's optional fields, and ours
TEST_KEYS = {"name": str, "exercise": str, "score": float, "max_score": float, "status": str, "output": str}


def cli(*args, env=None, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout)


def stub_cells(stem: str) -> list[str]:
    return [f"def {name}(*args, **kwargs):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
            for name in sorted(GRADED_NAMES[stem])]


def check_result(result: dict, stem: str, notebook: Path) -> None:
    """Every key and type of SPEC.md's results object, and how skipped tests count."""
    assert set(RESULT_KEYS) <= set(result) <= set(RESULT_KEYS) | set(EXTRA_KEYS)
    for key, kind in {**RESULT_KEYS, **EXTRA_KEYS}.items():
        assert key not in result or type(result[key]) is kind, (key, result[key])
    assert Path(result["notebook"]).resolve() == notebook.resolve()
    assert result["tests"], "a notebook is graded by at least one test"
    for t in result["tests"]:
        assert set(t) == set(TEST_KEYS), t
        for key, kind in TEST_KEYS.items():
            assert type(t[key]) is kind, (key, t)
        assert t["status"] in STATUSES, t
        assert t["exercise"] in GRADED_NAMES[stem], t
        assert 0.0 <= t["score"] <= t["max_score"], t
        if t["status"] == "skipped":
            assert t["score"] == t["max_score"] == 0.0, t  # counts in neither
        if t["status"] != "passed":
            assert t["score"] == 0.0 and t["output"], t
    names = {t["name"] for t in result["tests"]}
    assert set(speed_tests(stem)) <= names
    assert all("speed" in name for name in speed_tests(stem))
    assert {t["exercise"] for t in result["tests"]} == GRADED_NAMES[stem]
    counted = [t for t in result["tests"] if t["status"] != "skipped"]
    assert result["score"] == sum(t["score"] for t in counted)
    assert result["max_score"] == sum(t["max_score"] for t in counted)
    skipped = [t for t in result["tests"] if t["status"] == "skipped"]
    assert result["max_score"] + sum(speed_tests(stem)[t["name"]] for t in skipped) == assignment.part(stem).points


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# ---- bad input: exit 2, one line naming the file and the problem (no kernel starts)


def _missing(tmp):
    path = tmp / "nowhere" / "01_jax_intro.ipynb"
    return [path], "no such file", path


def _directory(tmp):
    (tmp / "submission").mkdir()
    return [tmp / "submission"], "is a directory", tmp / "submission"


def _not_json(tmp):
    path = tmp / "01_jax_intro.ipynb"
    path.write_text('{"cells": [ oops')
    return [path], "not valid JSON", path


def _binary(tmp):
    path = tmp / "01_jax_intro.ipynb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    return [path], "not a text file", path


def _json_list(tmp):
    path = tmp / "01_jax_intro.ipynb"
    path.write_text("[1, 2, 3]")
    return [path], "not a Jupyter notebook", path


def _json_object(tmp):
    path = tmp / "01_jax_intro.ipynb"
    path.write_text('{"name": "not a notebook"}')
    return [path], "not a Jupyter notebook", path


def _nbformat3(tmp):
    path = tmp / "01_jax_intro.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1",
                                                           "language": "python", "outputs": []}]}]}))
    return [path], "nbformat 3", path


def _invalid_v4(tmp):
    path = tmp / "01_jax_intro.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                "cells": [{"cell_type": "code"}]}))
    return [path], "not a valid notebook", path


def _invalid_v4_with_ids(tmp):
    path = tmp / "01_jax_intro.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                "cells": [{"cell_type": "code", "id": "a1", "metadata": {}, "source": 42,
                                           "outputs": [], "execution_count": None}]}))
    return [path], "not a valid notebook", path


def _unknown_stem(tmp):
    path = write_notebook(tmp / "homework.ipynb", stub_cells("01_jax_intro"))
    return [path], "--as", path


def _unknown_as(tmp):
    path = write_notebook(tmp / "homework.ipynb", stub_cells("01_jax_intro"))
    return [path, "--as", "07_jax_nope"], "unknown part", "07_jax_nope"


def _as_with_two(tmp):
    a = write_notebook(tmp / "a.ipynb", stub_cells("01_jax_intro"))
    b = write_notebook(tmp / "b.ipynb", stub_cells("01_jax_intro"))
    return [a, b, "--as", "01_jax_intro"], "--as names the part of a single notebook", None


def _one_good_one_bad(tmp):
    good = write_notebook(tmp / "01_jax_intro.ipynb", stub_cells("01_jax_intro"))
    bad = tmp / "02_jax_jit.ipynb"
    bad.write_text("not json")
    return [good, bad], "not valid JSON", bad


def _zero_jobs(tmp):
    path = write_notebook(tmp / "01_jax_intro.ipynb", stub_cells("01_jax_intro"))
    return [path, "-j", "0"], "-j", None


def _no_notebook(tmp):
    return [], "NOTEBOOK", None


BAD_INPUTS = [_missing, _directory, _not_json, _binary, _json_list, _json_object, _nbformat3,
              _invalid_v4,
              _invalid_v4_with_ids, _unknown_stem, _unknown_as, _as_with_two, _one_good_one_bad, _zero_jobs, _no_notebook]


@pytest.mark.parametrize("make", BAD_INPUTS, ids=lambda f: getattr(f, "__name__", "").strip("_"))
def test_bad_input_exits_2_with_one_line(make, tmp_path):
    args, problem, named = make(tmp_path)
    started = time.monotonic()
    proc = cli(*args, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    line = one_line(proc.stderr)
    assert problem in line, line
    if named is not None:
        assert str(named) in line, line  # which file (or which --as) is the problem
    assert proc.stdout == ""  # nothing graded, no report
    assert time.monotonic() - started < 60  # checked before any kernel starts


# ---- grading stubs: the report's shape (slow: kernels)


@pytest.fixture(scope="module")
def stubs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("stubs")
    return [write_notebook(folder / f"{stem}.ipynb", stub_cells(stem)) for stem in ("01_jax_intro", "02_jax_jit")]


@pytest.fixture(scope="module")
def parallel_run(stubs, tmp_path_factory):
    """Two stubs graded with -j 2, --json and --github, as a GitHub Actions job would."""
    tmp = tmp_path_factory.mktemp("parallel")
    paths = {"json": tmp / "results.json", "summary": tmp / "summary.md", "output": tmp / "output.txt"}
    env = {"GITHUB_STEP_SUMMARY": str(paths["summary"]), "GITHUB_OUTPUT": str(paths["output"])}
    proc = cli(*stubs, "-j", "2", "--json", paths["json"], "--github", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, {k: p.read_text() for k, p in paths.items()}


def essentials(results: list[dict]) -> list[list[tuple]]:
    return [[(t["name"], t["exercise"], t["status"], t["score"], t["max_score"]) for t in r["tests"]]
            for r in results]


@pytest.mark.slow
def test_json_for_two_notebooks_is_a_list_in_spec_shape(parallel_run, stubs):
    _, files = parallel_run
    results = json.loads(files["json"])
    assert isinstance(results, list) and len(results) == 2
    for result, nb in zip(results, stubs):
        check_result(result, nb.stem, nb)
        assert result["score"] == 0.0 and result["max_score"] > 0
        assert all(t["status"] in ("failed", "skipped") for t in result["tests"]), result
        assert any("NotImplementedError" in t["output"] for t in result["tests"])


@pytest.mark.slow
def test_github_outputs_agree_with_the_json(parallel_run, stubs):
    proc, files = parallel_run
    results = json.loads(files["json"])
    score = sum(r["score"] for r in results)
    top = sum(r["max_score"] for r in results)
    lines = proc.stdout.splitlines()
    assert [line for line in lines if line.startswith("Points")] == [f"Points {score:g}/{top:g}"]
    assert f"points={score:g}/{top:g}" in files["output"].splitlines()
    failed = [(r, t) for r in results for t in r["tests"] if t["status"] in ("failed", "error")]
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == len(failed) > 0
    for (r, t), line in zip(failed, errors):
        assert line.startswith(f"::error file={r['notebook']},title=") and t["name"] in line, line
    summary = files["summary"].splitlines()
    assert "| Notebook | Exercise | Test | Status | Points |" in summary
    rows = [row for row in summary if row.startswith("| ") and not row.startswith("| Notebook")]
    assert len(rows) == sum(len(r["tests"]) for r in results)
    for r in results:
        for t in r["tests"]:
            assert any(f"| {t['name']} | {t['status']} |" in row and Path(r["notebook"]).name in row for row in rows), t


@pytest.mark.slow
def test_parallel_progress_and_results_match_a_serial_run(parallel_run, stubs, tmp_path):
    proc, files = parallel_run
    progress = [m for m in (re.match(r"^\[(\d)/2\] (.+?): ", line) for line in proc.stderr.splitlines()) if m]
    assert sorted(m.group(1) for m in progress) == ["1", "2"], proc.stderr
    assert sorted(m.group(2) for m in progress) == sorted(str(nb) for nb in stubs)
    serial = cli(*stubs, "-j", "1", "--json", tmp_path / "serial.json")
    assert serial.returncode == 0, serial.stderr[-3000:]
    assert essentials(json.loads((tmp_path / "serial.json").read_text())) == essentials(json.loads(files["json"]))


@pytest.mark.slow
def test_json_for_one_notebook_is_one_object_and_as_names_the_part(tmp_path):
    nb = write_notebook(tmp_path / "my homework.ipynb", stub_cells("02_jax_jit"))
    proc = cli(nb, "--as", "02_jax_jit", "--json", tmp_path / "out.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "out.json").read_text())
    assert isinstance(result, dict)
    check_result(result, "02_jax_jit", nb)
    assert result["score"] == 0.0


@pytest.mark.slow
def test_empty_notebook_gets_a_normal_report_of_zero(tmp_path):
    nb = tmp_path / "05_heat_equation_jax.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)  # no cells at all
    proc = cli(nb, "--json", tmp_path / "out.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "out.json").read_text())
    check_result(result, "05_heat_equation_jax", nb)
    assert result["score"] == 0.0 and result["max_score"] > 0
    counted = [t for t in result["tests"] if t["status"] != "skipped"]
    assert all(t["status"] == "failed" and "is not defined" in t["output"] for t in counted), counted
    assert "05_heat_equation_jax.ipynb: 0/" in proc.stdout


def _scores(path: Path) -> dict[str, list]:
    return {Path(r["notebook"]).parent.parent.name: [(t["name"], t["score"]) for t in r["tests"]]
            for r in json.loads(path.read_text())}


@pytest.mark.slow
def test_compile_cache_is_warmed_once_by_the_reference_and_changes_no_score(tmp_path):
    """--compile-cache: one warm-up per part (the reference notebook graded, writing the cache), later
    gradings only read it; every score the same as without it; unused without the jail."""
    from instructor import samples

    stem = "01_jax_intro"
    samples.write_samples(tmp_path / "s", [stem], ("alice", "bob"))
    notebooks = sorted((tmp_path / "s").glob(f"*/workshop3/{stem}.ipynb"))
    cache = tmp_path / "xla-cache"
    runs = {}
    for name, extra in [("plain", []), ("warming", ["--compile-cache", cache]), ("warm", ["--compile-cache", cache]),
                        ("open", ["--compile-cache", tmp_path / "unused", "--isolation", "none"])]:
        proc = cli(*notebooks, "-j", "2", "--json", tmp_path / f"{name}.json", *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[name] = proc.stderr
        assert _scores(tmp_path / f"{name}.json") == _scores(tmp_path / "plain.json"), name
        if name == "warming":
            entries = sorted(p.name for p in cache.iterdir() if p.name.endswith("-cache"))
    assert _scores(tmp_path / "plain.json")["alice"] != _scores(tmp_path / "plain.json")["bob"]
    warmed = [line for line in runs["warming"].splitlines() if "warmed by the reference" in line]
    assert len(warmed) == 1 and stem in warmed[0] and "12/12" in warmed[0], runs["warming"]
    assert len(entries) > 20 and [p.name for p in (cache / "warmed").iterdir()][0].startswith(stem)
    # The second run warmed nothing and the students' kernels added nothing (they cannot write).
    assert "warmed by the reference" not in runs["warm"]
    assert sorted(p.name for p in cache.iterdir() if p.name.endswith("-cache")) == entries
    assert "--compile-cache" in runs["open"] and "not used" in runs["open"] and not (tmp_path / "unused").exists()
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("")
    proc = cli(notebooks[0], "--compile-cache", not_a_folder)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"python -m autograder: error: --compile-cache {not_a_folder} is a file: name a folder (it is created if missing)"]
