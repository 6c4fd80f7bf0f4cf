"""Fixtures every grader module shares: the sandboxed submission, fresh randomness, the device."""

import secrets

import numpy as np
import pytest

from autograder.sandbox.notebook_run import Limits, unclean_cell_records
from autograder.submission import Submission


def pytest_addoption(parser):
    parser.addoption("--notebook", required=True, help="the student's notebook to grade")
    parser.addoption("--seed", type=int, default=None, help="replay a grading run's random inputs")


def pytest_configure(config):
    for line in ("graded(name): the assignment table's entry this test grades (autograder/assignment.py)",
                 "gpu: a speed test, run only where the notebook's JAX computes on a GPU"):
        config.addinivalue_line("markers", line)


@pytest.fixture(scope="session")
def submission(request):
    limits = getattr(request.config, "autograder_limits", Limits())  # set by autograder.runner
    sub = Submission.from_notebook(request.config.getoption("--notebook"), limits)
    yield sub
    # What the report says about the notebook's own cells (autograder.runner reads it back).
    request.config.autograder_cells = unclean_cell_records(sub.cells)
    request.config.autograder_timings = sub.timings
    sub.close()


@pytest.fixture(scope="session")
def seed(request) -> int:
    """Fresh inputs every grading run; the seed is reported so a run can be replayed."""
    given = request.config.getoption("--seed")
    return given if given is not None else secrets.randbits(32)


@pytest.fixture
def rng(seed, request) -> np.random.Generator:
    # One stream per test, so adding a test does not change another test's inputs.
    return np.random.default_rng([seed, *request.node.name.encode()])


@pytest.fixture(scope="session")
def device(submission) -> dict:
    return submission.platform()


@pytest.fixture(autouse=True)
def _gpu_only(request, device):
    if request.node.get_closest_marker("gpu") and device["platform"] != "gpu":
        pytest.skip(f"speed test: needs a GPU, the notebook ran on {device['platform']}")
