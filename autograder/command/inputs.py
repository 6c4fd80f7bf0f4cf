"""Reading a submitted notebook, with a one-line reason when it cannot be graded."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat

from ..assignment import STEMS


class UnreadableNotebook(ValueError):
    """The file cannot be graded; the message names the file, the problem and the fix."""


def check_notebook(path: Path) -> None:
    """Raise ``UnreadableNotebook`` unless ``path`` is an nbformat-4 notebook file."""
    if not path.exists():
        raise UnreadableNotebook(f"{path}: no such file; pass the path of a .ipynb notebook")
    if path.is_dir():
        raise UnreadableNotebook(f"{path}: is a directory; pass the notebook file inside it, e.g. {path}/05_heat_equation_jax.ipynb")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UnreadableNotebook(f"{path}: not a text file; pass the .ipynb notebook, not a binary") from None
    except json.JSONDecodeError as exc:
        raise UnreadableNotebook(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); "
                                 "re-download the notebook or restore it from git") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise UnreadableNotebook(f"{path}: JSON but not a Jupyter notebook (no 'cells'); pass the .ipynb file")
    major = raw.get("nbformat")
    if major != 4:
        raise UnreadableNotebook(f"{path}: nbformat {major} notebook; open and save it in a current Jupyter, "
                                 "or run `jupyter nbconvert --to notebook --nbformat 4` on it")
    try:
        with warnings.catch_warnings():  # nbformat warns about cell ids: the one-line reason suffices
            warnings.simplefilter("ignore")
            nbformat.validate(nbformat.from_dict(raw))
    except nbformat.ValidationError as exc:
        raise UnreadableNotebook(f"{path}: not a valid notebook ({str(exc).splitlines()[0][:120]}); "
                                 "open and save it in Jupyter to repair it") from None


def stem_of(path: Path, given: str | None) -> str:
    """Which part a notebook is: ``--as`` if given, else its file name."""
    stem = given or path.stem
    if stem not in STEMS:
        if given:
            raise UnreadableNotebook(f"--as {given}: unknown part; use one of {', '.join(STEMS)}")
        raise UnreadableNotebook(f"{path}: cannot tell which part this is from its name; rename it "
                                 f"(e.g. 05_heat_equation_jax.ipynb) or pass --as with one of {', '.join(STEMS)}")
    return stem
