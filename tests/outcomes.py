"""What a grading result must look like when some tests are meant to fail: one rule for every
grader test module of tests/ (the value rule of autograder/assignment.py included)."""

from __future__ import annotations

from autograder import assignment

MAX_MESSAGE_CHARS = 1200  # JAX's own messages are quoted whole (autograder/messages.py)


def by_name(result: dict) -> dict[str, dict]:
    return {t["name"]: t for t in result["tests"]}


def assert_outcome(result: dict, stem: str, failed: dict[str, str], *, on_gpu: bool) -> None:
    """Exactly the tests in ``failed`` fail, each with its message fragment; the structure and
    speed tests of an exercise whose VALUE test is in ``failed`` fail too, "not counted"; every
    other test passes. Speed tests are skipped on a CPU; on a GPU those of an exercise that
    ``failed`` breaks may go either way (a wrong or slow function fails them)."""
    tests = by_name(result)
    assert set(failed) <= set(tests), f"unknown test names: {set(failed) - set(tests)}"
    wrong_values = {assignment.exercise_of(n) for n in failed if assignment.test(n).kind == assignment.VALUE}
    broken = {assignment.exercise_of(n) for n in failed}
    lost = 0.0
    for name, entry in tests.items():
        seed = result.get("seed")
        test = assignment.test(name)
        if test.speed and not on_gpu:
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
    most = assignment.part(stem).points - (0 if on_gpu else sum(t.points for t in assignment.part(stem).tests if t.speed))
    assert result["max_score"] == most
    assert result["score"] == most - lost
