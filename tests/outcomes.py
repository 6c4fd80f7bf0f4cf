"""What a grading result must look like when some tests are meant to fail: one rule for every
grader test module of tests/ (the value rule of autograder/assignment.py included), with the
reference's full marks and a stub's zero, and what the speed tests are worth and whether they
run here."""

from __future__ import annotations

import functools

import jax

from autograder import assignment

MAX_MESSAGE_CHARS = 1200  # JAX's own messages are quoted whole (autograder/messages.py)
STUB_MESSAGE_CHARS = 400  # a stub's NotImplementedError, said in one short line


@functools.cache
def on_gpu() -> bool:
    """Whether notebooks graded here compute on a GPU (the kernel sees this process's devices),
    so that the speed tests run. Asked when first needed: importing this module starts no JAX
    backend."""
    return jax.default_backend() == "gpu"


def speed_tests(stem: str) -> dict[str, int]:
    """Name -> points of the part's GPU-only speed tests (the assignment table)."""
    return {t.name: t.points for t in assignment.part(stem).tests if t.speed}


def speed_points(stem: str) -> int:
    """Points of the part's speed tests: skipped off a GPU, and then out of score and maximum."""
    return sum(speed_tests(stem).values())


def by_name(result: dict) -> dict[str, dict]:
    return {t["name"]: t for t in result["tests"]}


def assert_outcome(result: dict, stem: str, failed: dict[str, str]) -> None:
    """Exactly the tests in ``failed`` fail, each with its message fragment; the structure and
    speed tests of an exercise whose VALUE test is in ``failed`` fail too, "not counted"; every
    other test passes. Speed tests are skipped on a CPU; on a GPU those of an exercise that
    ``failed`` breaks may go either way (a wrong or slow function fails them)."""
    gpu = on_gpu()
    tests = by_name(result)
    assert set(failed) <= set(tests), f"unknown test names: {set(failed) - set(tests)}"
    wrong_values = {assignment.exercise_of(n) for n in failed if assignment.test(n).kind == assignment.VALUE}
    broken = {assignment.exercise_of(n) for n in failed}
    lost = 0.0
    for name, entry in tests.items():
        seed = result.get("seed")
        test = assignment.test(name)
        if test.speed and not gpu:
            assert entry["status"] == "skipped" and "needs a GPU" in entry["output"], (seed, name, entry)
            continue
        if name in failed:
            assert entry["status"] == "failed" and entry["score"] == 0.0, (seed, name, entry)
            assert failed[name] in entry["output"], (seed, name, entry["output"])
            assert len(entry["output"]) < MAX_MESSAGE_CHARS, (name, len(entry["output"]), entry["output"])
        elif test.exercise in wrong_values and test.kind != assignment.VALUE:
            assert entry["status"] == "failed", (seed, name, entry)
            assert entry["output"].startswith(f"not counted: {test.exercise} returns wrong values"), entry
        elif test.speed and test.exercise in broken and entry["status"] != "passed":
            assert entry["status"] == "failed", (seed, name, entry)
        else:
            assert entry["status"] == "passed" and entry["score"] == entry["max_score"] > 0, (seed, name, entry)
            continue
        lost += entry["max_score"]
    most = assignment.part(stem).points - (0 if gpu else speed_points(stem))
    assert result["max_score"] == most
    assert result["score"] == most - lost


def assert_full_marks(result: dict, stem: str) -> None:
    """The reference answer: every exercise of the part graded, every test passed (the speed
    tests skipped off a GPU), full marks."""
    assert {t["exercise"] for t in result["tests"]} == set(assignment.GRADED_NAMES[stem]), result
    assert_outcome(result, stem, {})


def assert_stub_scores_zero(result: dict, stem: str) -> None:
    """A stub (every graded name raises NotImplementedError): every test but the speed tests
    fails naming NotImplementedError, every counted test fails in a short message without a
    traceback, and the notebook scores 0."""
    graded = [t["name"] for t in result["tests"] if not assignment.test(t["name"]).speed]
    assert graded
    assert_outcome(result, stem, {name: "NotImplementedError" for name in graded})
    assert result["score"] == 0.0
    for t in result["tests"]:
        if t["status"] == "skipped":
            continue
        assert t["status"] == "failed", (result.get("seed"), t)
        assert "NotImplementedError" in t["output"], t
        assert len(t["output"]) < STUB_MESSAGE_CHARS and "Traceback" not in t["output"], t
