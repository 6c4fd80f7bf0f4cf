"""How a grader test joins the assignment: ``@graded`` looks it up in the assignment table.

The table (autograder/assignment.py) says which exercise a test is about, what it is worth and
whether it is a value, structure or speed test; the decorator only checks that the test is in
the table and tags it, so that the runner, nbgrader's hidden cells and the tests all read the
same entry.
"""

import pytest

from autograder import assignment


def graded(fn):
    """Tag ``test_<name>`` as the grader of the table's entry ``<name>``."""
    name = fn.__name__.removeprefix("test_")
    entry = assignment.test(name)  # KeyError names the table when a test is missing from it
    fn = pytest.mark.graded(name)(fn)
    return pytest.mark.gpu(fn) if entry.speed else fn
