"""The assignment table (autograder/assignment.py) is whole, adds up, and agrees with the
grader modules and with SPEC.md, the contract."""

import functools
import inspect
import re

import pytest

from autograder import assignment
from autograder.nbgrader_bridge.hidden_cells import grader_test_function, what_it_checks
from tests.conftest import REPO


def spec_rows() -> list[tuple[str, str]]:
    """(notebook, graded name as written) for every row of SPEC.md's table of graded names."""
    rows = re.findall(r"^\| (\d\d_\w+) \| `([^`]+)` \|", (REPO / "SPEC.md").read_text(), re.M)
    assert rows, "SPEC.md has no table of graded names"
    return rows


def test_assignment_is_worth_100():
    assert sum(p.points for p in assignment.PARTS) == assignment.ASSIGNMENT_POINTS == 100


def test_table_equals_the_contract():
    """Every part, graded name and signature of SPEC.md, in its order, and nothing else."""
    table = [(p.stem, ex.signature) for p in assignment.PARTS for ex in p.exercises]
    assert table == spec_rows()


@pytest.mark.parametrize("stem", assignment.STEMS)
def test_grader_module_has_exactly_the_tables_tests(stem):
    """Each test of the table has its grader function, tagged @graded; the module has no other."""
    module = grader_test_function(stem, assignment.part(stem).tests[0].name).__module__
    functions = {name.removeprefix("test_") for name, fn in inspect.getmembers(__import__(module, fromlist=["_"]))
                 if name.startswith("test_") and inspect.isfunction(fn)}
    assert functions == {t.name for t in assignment.part(stem).tests}
    for t in assignment.part(stem).tests:
        marks = {m.name: m for m in getattr(grader_test_function(stem, t.name), "pytestmark", [])}
        assert marks["graded"].args == (t.name,)
        assert ("gpu" in marks) == t.speed, f"{t.name}: speed tests, and only they, skip off a GPU"


@pytest.mark.parametrize("stem", assignment.STEMS)
def test_every_test_is_worth_points_and_says_what_it_checks(stem):
    part = assignment.part(stem)
    for t in part.tests:
        assert t.points > 0, f"{t.name} is worth no points"
        assert t.kind in (assignment.VALUE, assignment.STRUCTURE, assignment.SPEED)
        assert t.speed == ("speed" in t.name) == (t.threshold is not None), t.name
        assert what_it_checks(stem, t.name), f"{t.name}: the docstring's first line says what it checks"
    for ex in part.exercises:
        assert assignment.value_tests(stem, ex.name), f"{ex.name} has a value test: the value rule needs one"


def result_entry(name: str, status: str, output: str = "", *, points: float = 1.0) -> dict:
    """A SPEC result entry for test ``name``: full ``points`` when passed, else 0."""
    return {"name": name, "exercise": assignment.exercise_of(name), "score": points if status == "passed" else 0.0,
            "max_score": points, "status": status, "output": output}


def test_credit_rule_withholds_structure_and_speed_points_of_wrong_values():
    """A passed structure or speed test of an exercise whose value test failed earns nothing."""
    entry = functools.partial(result_entry, points=2.0)
    results = [entry("simulate_matches_reference", "failed", "simulate(...) differs from the reference"),
               entry("simulate_is_jitted", "passed"), entry("simulate_speed_vs_plain_loop", "passed", "[speed] x"),
               entry("heat_step_interior_matches_reference", "passed"), entry("heat_step_is_traceable", "passed")]
    ruled = {t["name"]: t for t in assignment.credit_rule(results)}
    for name in ("simulate_is_jitted", "simulate_speed_vs_plain_loop"):
        assert ruled[name]["status"] == "failed" and ruled[name]["score"] == 0.0
        assert ruled[name]["output"].startswith("not counted: simulate returns wrong values "
                                                "(simulate_matches_reference: simulate(...) differs")
    assert ruled["simulate_speed_vs_plain_loop"]["output"].endswith("[speed] x"), "the measured ratio stays"
    assert ruled["heat_step_is_traceable"]["status"] == "passed", "another exercise keeps its points"


def test_credit_rule_gives_speed_only_to_the_structure_asked_for():
    """Right values but no jit: structure fails, and the speed test, passed or not, earns nothing;
    a speed test skipped on a CPU stays skipped."""
    results = [result_entry("train_step_matches_reference", "passed"),
               result_entry("train_step_is_jitted", "failed", "train_step is not jit-compiled"),
               result_entry("train_step_speed_vs_reference", "passed")]
    ruled = {t["name"]: t for t in assignment.credit_rule(results)}
    assert ruled["train_step_matches_reference"]["status"] == "passed"
    assert ruled["train_step_speed_vs_reference"]["status"] == "failed"
    assert ruled["train_step_speed_vs_reference"]["output"].startswith(
        "not counted: train_step is not built as the task asks (train_step_is_jitted: train_step is not jit")
    skipped = assignment.credit_rule([*results[:2], result_entry("train_step_speed_vs_reference", "skipped")])
    assert skipped[2]["status"] == "skipped"
