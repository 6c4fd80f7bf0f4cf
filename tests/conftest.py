"""Shared fixtures: notebooks built on the fly from reference answers or arbitrary code."""

import zlib
from pathlib import Path

import nbformat
import numpy as np
import pytest

from solutions.answers import answer_source

REPO = Path(__file__).resolve().parents[1]
MASTER_SEED = 20261125  # fixed, so a failing test of the repository itself replays exactly


@pytest.fixture
def rng(request) -> np.random.Generator:
    """Seeded from the master seed and the test's id: reproducible whatever the test order."""
    return np.random.default_rng([MASTER_SEED, zlib.crc32(request.node.nodeid.encode())])


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A plain nbformat-4 notebook with one code cell per source string."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def make_notebook(tmp_path):
    """make_notebook(stem, cells) -> path of `<tmp>/<stem>.ipynb` holding those code cells."""

    def make(stem: str, cells: list[str], folder: str = "") -> Path:
        return write_notebook(tmp_path / folder / f"{stem}.ipynb", cells)

    return make


@pytest.fixture
def answer_notebook(make_notebook):
    """answer_notebook(stem, extra_cells=()) -> a notebook holding the reference answer."""

    def make(stem: str, extra_cells: tuple[str, ...] = ()) -> Path:
        return make_notebook(stem, [answer_source(stem), *extra_cells])

    return make
