"""Lesson cells whose code is another file of the repository, included rather than pasted.

A lesson cell carrying ``include="solutions/golden/heat.py"`` (and optionally
``rename={"heat_step": "numpy_heat_step"}``) on its ``# %%`` line shows that file's code. What
is included: everything after the module docstring and the imports, up to (not including) an
``if __name__ == "__main__":`` block; the notebook imports what the code needs in its set-up
cell. ``rename`` renames names only (tokens, via ``tokenize``), never text in strings or
comments, so that ``forward`` becomes ``numpy_forward`` while "forward pass" stays prose.

The lesson keeps a copy of the code, so that the lesson runs as it is when opened in Jupyter;
the build refreshes that copy from the file (``refresh``) and fills the notebook from the file,
so neither can drift from it.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _is_kept(node: ast.stmt, index: int) -> bool:
    if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
            and isinstance(node.value.value, str):
        return False  # the module docstring
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return False
    return not (isinstance(node, ast.If) and ast.unparse(node.test) in
                ("__name__ == '__main__'", "'__main__' == __name__"))


def included_code(path: str, rename: dict[str, str] | None = None) -> str:
    """The code a cell with ``include=path`` and ``rename`` shows, exactly."""
    source = (REPO / path).read_text(encoding="utf-8")
    lines = source.splitlines()
    kept = [node for i, node in enumerate(ast.parse(source).body) if _is_kept(node, i)]
    if not kept:
        raise SystemExit(f"{path}: nothing to include (only a docstring, imports and a main block)")
    first = min([kept[0].lineno] + [d.lineno for d in getattr(kept[0], "decorator_list", [])]) - 1
    while first > 0 and lines[first - 1].lstrip().startswith("#"):  # comments above it belong to it
        first -= 1
    code = "\n".join(lines[first : kept[-1].end_lineno])
    return renamed(code, rename or {}, path)


def renamed(code: str, rename: dict[str, str], where: str = "<code>") -> str:
    """``code`` with every name token in ``rename`` replaced; strings and comments unchanged."""
    lines = code.splitlines(keepends=True)
    edits = [(tok.start, tok.end[1], rename[tok.string])
             for tok in tokenize.generate_tokens(io.StringIO(code).readline)
             if tok.type == tokenize.NAME and tok.string in rename]
    unused = set(rename) - {lines[row - 1][col:end] for (row, col), end, _ in edits}
    if unused:
        raise SystemExit(f"{where}: rename names {sorted(unused)}, which its code never uses")
    for (row, col), end, new in reversed(edits):  # right to left: earlier columns stay valid
        lines[row - 1] = lines[row - 1][:col] + new + lines[row - 1][end:]
    return "".join(lines)


def is_included(cell) -> bool:
    return "include" in cell.metadata


def fill(cell) -> str:
    """The source an included lesson cell gets from its file."""
    return included_code(cell.metadata["include"], cell.metadata.get("rename"))


def refresh(lesson) -> list[str]:
    """Bring the lesson's copies of included code up to date; the grade_ids of changed cells."""
    changed = []
    for cell in lesson.cells:
        if is_included(cell) and cell.source != (code := fill(cell)):
            cell.source = code
            changed.append(cell.metadata.get("nbgrader", {}).get("grade_id", "?"))
    return changed
