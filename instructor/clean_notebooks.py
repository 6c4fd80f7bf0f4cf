"""Keep notebooks in git diff-able: no outputs, no execution counts, no machine metadata.

    python instructor/clean_notebooks.py source release          # clean in place
    python instructor/clean_notebooks.py --check source release  # exit 1 and list what is dirty

Only instructor notebooks in this repository are cleaned; a student's submission is never
rewritten (the graders only read those).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

NOTEBOOK_METADATA_KEPT = {"kernelspec", "language_info"}
CELL_METADATA_KEPT = {"nbgrader", "tags", "deletable", "editable"}


def problems(nb) -> list[str]:
    found = []
    extra = set(nb.metadata) - NOTEBOOK_METADATA_KEPT
    if extra:
        found.append(f"notebook metadata {sorted(extra)}")
    if set(nb.metadata.get("language_info", {})) - {"name"}:
        found.append("language_info beyond its name (a Python version)")
    for i, cell in enumerate(nb.cells):
        if cell.get("outputs"):
            found.append(f"cell {i} has outputs")
        if cell.get("execution_count"):
            found.append(f"cell {i} has an execution count")
        extra = set(cell.metadata) - CELL_METADATA_KEPT
        if extra:
            found.append(f"cell {i} metadata {sorted(extra)}")
    return found


def clean(nb) -> None:
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in NOTEBOOK_METADATA_KEPT}
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name", "python")}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in CELL_METADATA_KEPT}


def notebooks(paths: list[str]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        out += sorted(p.rglob("*.ipynb")) if p.is_dir() else [p]
    return [p for p in out if ".ipynb_checkpoints" not in p.parts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    dirty = 0
    for path in notebooks(args.paths):
        nb = nbformat.read(path, as_version=4)
        found = problems(nb)
        if not found:
            continue
        dirty += 1
        if args.check:
            print(f"{path}: {'; '.join(found)} (run `make clean-notebooks`)")
        else:
            clean(nb)
            nbformat.write(nb, path)
            print(f"cleaned {path}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
