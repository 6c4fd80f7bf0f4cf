"""The solution rule, both ways round.

* Every SOURCE notebook (the instructor's, solutions and hidden checks in place), run top to
  bottom in a real kernel (nbclient), passes every cell: lesson, visible and hidden checks. The
  one exception is a hidden speed check on a machine without a GPU, which must fail saying
  "speed not measured" (nbgrader then gives it 0; the CLI skips it). A hidden cell's stderr must
  be what nbgrader_config.py's IgnorePattern drops, or nbgrader would zero a passing check.
* Every RELEASE notebook (what students get) scores 0 with the CLI, and each failed check says
  why in one short line naming NotImplementedError or a name that is "not defined", never a
  traceback.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config.loader import PyFileConfigLoader

from autograder import assignment
from autograder.assignment import STEMS
from tests.conftest import REPO
from tests.outcomes import on_gpu

pytestmark = pytest.mark.slow

SOURCE = REPO / "source" / "workshop3"
RELEASE = REPO / "release" / "workshop3"


def _ignore_pattern() -> re.Pattern:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    return re.compile(config.IgnorePattern.pattern)


def _execute(stem: str, workdir) -> nbformat.NotebookNode:
    nb = nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4)
    folder = workdir / stem
    folder.mkdir()
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _problems(stem: str, nb, ignore: re.Pattern) -> list[str]:
    speed = {f"hidden_{t.name}" for t in assignment.part(stem).tests if t.speed}
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cid = cell.get("id", "?")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if cid in speed and not on_gpu():
            if not (errors and "speed not measured" in errors[0].evalue):
                found.append(f"{stem} {cid}: a speed check on a CPU must fail with 'speed not measured', "
                             f"got {[(e.ename, e.evalue[:100]) for e in errors] or 'no error'}")
            continue
        if errors:
            found.append(f"{stem} {cid}: {errors[0].ename}: {errors[0].evalue[:300]}")
        if cid.startswith("hidden_"):
            for out in cell.outputs:
                if out.output_type == "stream" and out.name == "stderr" and not ignore.search(out.text):
                    found.append(f"{stem} {cid}: stderr that nbgrader would zero the check for: {out.text[:200]!r}")
    return found


def test_source_notebooks_pass_every_cell_top_to_bottom(tmp_path):
    ignore = _ignore_pattern()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        executed = dict(zip(STEMS, pool.map(lambda stem: _execute(stem, tmp_path), STEMS)))
    problems = [p for stem, nb in executed.items() for p in _problems(stem, nb, ignore)]
    assert not problems, "\n".join(problems)
    for stem, nb in executed.items():  # every hidden cell really ran
        hidden = [c for c in nb.cells if c.get("id", "").startswith("hidden_")]
        assert len(hidden) == len(assignment.part(stem).tests) and all(c.execution_count for c in hidden), stem


def test_release_notebooks_score_zero_with_one_line_reasons(tmp_path):
    out = tmp_path / "release.json"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade",
                           *(str(RELEASE / f"{stem}.ipynb") for stem in STEMS), "-j", "2", "--json", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert [r["notebook"].rsplit("/", 1)[-1] for r in results] == [f"{s}.ipynb" for s in STEMS]
    for res in results:
        assert res["score"] == 0, f"{res['notebook']} scores {res['score']} as released"
        for test in res["tests"]:
            where = f"{res['notebook']} {test['name']}"
            if test["status"] == "skipped":
                assert "speed" in test["name"] and not on_gpu(), f"{where} skipped: {test['output']}"
                continue
            assert test["status"] == "failed", f"{where} is {test['status']}: {test['output'][:300]}"
            msg = test["output"]
            assert len(msg) < 400, f"{where}: {len(msg)} characters: {msg[:400]}"
            assert "NotImplementedError" in msg or "not defined" in msg, f"{where}: {msg}"
            assert "Traceback" not in msg and "\n  File " not in msg, f"{where}: {msg}"
