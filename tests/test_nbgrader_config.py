"""nbgrader_config.py: JAX/XLA warnings on stderr cost no points; anything else still does."""

import re
import runpy

import nbformat
import pytest
from nbgrader.preprocessors import IgnorePattern
from traitlets.config import Config

from tests.conftest import REPO


@pytest.fixture(scope="module")
def config() -> Config:
    cfg = Config()
    runpy.run_path(str(REPO / "nbgrader_config.py"), init_globals={"get_config": lambda: cfg})
    return cfg


def _stderr_cell(text: str):
    cell = nbformat.v4.new_code_cell("check(...)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=text)]
    return cell


@pytest.mark.parametrize("text, kept", [
    ("WARNING:jax._src.xla_bridge:An NVIDIA GPU may be present on this machine, but a CUDA-enabled jaxlib is not installed. Falling back to cpu.\n", False),
    ("W1125 13:00:00.000000 1234 cpu_client.cc:123] TfrtCpuClient created.\n", False),
    ("E0000 00:00:1732539600.123 ptxas warning : Registers are spilled to local memory\n", False),
    ("Traceback (most recent call last):\n  boom\n", True),
    ("student wrote this to stderr\n", True),
    ("WARNING:jax:fine\nbut this line is the student's\n", True),
])
def test_only_jax_warnings_are_dropped_before_grading(config, text, kept):
    """A stderr output made only of JAX/XLA log lines is removed, so the cell keeps its points;
    anything else stays, and nbgrader scores the cell as failed, as it always has."""
    cell, _ = IgnorePattern(config=config).preprocess_cell(_stderr_cell(text), {}, 0)
    assert len(cell.outputs) == (1 if kept else 0)


def test_gradebook_and_limits(config, monkeypatch):
    """SQLite in the course root by default; a URL from the environment for Postgres."""
    assert config.CourseDirectory.db_url == "sqlite:///" + str(REPO / "gradebook.db")
    assert config.Execute.timeout >= 120
    assert config.IgnorePattern.enabled is True
    monkeypatch.setenv("WORKSHOP3_GRADEBOOK_URL", "postgresql://grader@db/workshop3")
    cfg = Config()
    runpy.run_path(str(REPO / "nbgrader_config.py"), init_globals={"get_config": lambda: cfg})
    assert cfg.CourseDirectory.db_url == "postgresql://grader@db/workshop3"


def test_pattern_is_linear_on_long_output(config):
    """A million-character student stderr must not make the pattern backtrack for minutes."""
    text = ("x" * 999 + "\n") * 1000
    assert re.search(config.IgnorePattern.pattern, text) is None
