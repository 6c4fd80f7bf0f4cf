"""Every case of the slow/hostile corpus (tests/corpus/cases.py) is graded as the corpus says.

Each case is graded once through ``autograder.runner.grade`` (the real grader modules, the real
sandbox) and must lose points on the exercises in ``lose`` and keep every point on those in
``keep``. On a CPU runner the speed tests are skipped, so ``gpu_only_lose`` exercises must keep
their points here; on a GPU runner (detected from the results) they must lose them.

Hostile cases hang or restart the kernel on purpose; they are graded with short limits
(``grade(..., limits=...)``) so the file stays fast. The well-formedness checks
of the corpus itself are cheap and not marked slow.
"""

import ast

import pytest

from autograder.assignment import STEMS
from autograder.runner import grade
from autograder.sandbox.notebook_run import Limits
from tests.corpus.cases import CASES, GRADED_NAMES, Case

# Short limits for hostile cases: their functions are tiny, so 6 s per call is plenty, and a
# hang costs seconds. The others train networks on CPU, so their calls get a minute and a half.
HOSTILE_LIMITS = Limits(cell_timeout_s=4, notebook_timeout_s=120, interrupt_grace_s=2, call_timeout_s=6,
                        memory_bytes=3 << 30)
PLAIN_LIMITS = Limits(cell_timeout_s=60, notebook_timeout_s=300, call_timeout_s=90, memory_bytes=3 << 30)


def exercise_points(result: dict) -> dict[str, tuple[float, float, list[dict]]]:
    """exercise -> (score, max_score, counted tests), skipped tests left out as in SPEC.md."""
    out: dict[str, tuple[float, float, list[dict]]] = {}
    for t in result["tests"]:
        if t["status"] == "skipped":
            continue
        score, top, tests = out.get(t["exercise"], (0.0, 0.0, []))
        out[t["exercise"]] = (score + t["score"], top + t["max_score"], [*tests, t])
    return out


def ran_speed_tests(result: dict) -> bool:
    """Whether this grading ran the speed tests (a GPU runner) or skipped them (a CPU runner)."""
    speed = [t for t in result["tests"] if "speed" in t["name"]]
    return bool(speed) and all(t["status"] != "skipped" for t in speed)


def describe(result: dict) -> str:
    return "\n".join(f"  {t['status']:<7} {t['name']} ({t['exercise']}): {t['output'][:200]}"
                     for t in result["tests"])


# ---- the corpus is well formed (fast)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_is_well_formed(case: Case):
    names = GRADED_NAMES[case.stem]
    assert case.stem in STEMS
    assert case.lose | case.keep | case.gpu_only_lose <= names, "exercises not graded in this notebook"
    assert not case.lose & case.keep, "an exercise cannot both lose and keep its points"
    assert case.gpu_only_lose <= case.keep, "gpu_only_lose exercises keep their points on CPU"
    assert case.lose or case.gpu_only_lose or case.keep, "a case must expect something"
    assert {ex for ex, _ in case.messages} <= case.lose, "messages are checked on failed exercises"
    assert case.why, "say what the case is about"
    for i, src in enumerate(case.cells):
        ast.parse(src, filename=f"<{case.name} cell {i}>")  # plain Python, no IPython magics


def test_case_names_are_unique_and_cover_the_brief():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    stems = {c.stem for c in CASES}
    assert {"02_jax_jit", "04_jax_vmap", "05_heat_equation_jax", "06_deep_learning_jax"} <= stems
    assert any(c.gpu_only_lose for c in CASES), "slow-but-correct code that only a GPU can catch"
    assert any(c.hostile for c in CASES)


# ---- every case graded (slow)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_is_graded_as_expected(case: Case, make_notebook):
    limits = HOSTILE_LIMITS if case.hostile else PLAIN_LIMITS
    notebook = make_notebook(case.stem, list(case.cells))
    result = grade(notebook, case.stem, limits=limits)
    points = exercise_points(result)
    on_gpu = ran_speed_tests(result)
    lose = case.lose | case.gpu_only_lose if on_gpu else case.lose
    keep = case.keep - case.gpu_only_lose if on_gpu else case.keep
    report = f"{case.name} ({'GPU' if on_gpu else 'CPU'}): {case.why}\n{describe(result)}"

    assert set(points) == GRADED_NAMES[case.stem], report  # every exercise was graded
    for exercise in sorted(lose):
        score, top, _ = points[exercise]
        assert top > 0 and score < top, f"{exercise} should lose points\n{report}"
    for exercise in sorted(keep):
        score, top, tests = points[exercise]
        assert top > 0 and score == top, f"{exercise} should keep all its points\n{report}"
        assert all(t["status"] == "passed" for t in tests), report
    for exercise, fragment in case.messages:
        outputs = [t["output"] for t in points[exercise][2] if t["status"] in ("failed", "error")]
        assert any(fragment in out for out in outputs), f"{exercise}: no message says {fragment!r}\n{report}"
    # A finding about the submission is "failed"; "error" would mean the grader broke on it.
    assert all(t["status"] != "error" for t in result["tests"]), report
    if case.zero:
        assert result["score"] == 0.0, f"right structure, wrong values must score 0\n{report}"
    assert result["score"] == sum(p[0] for p in points.values())
    assert result["max_score"] == sum(p[1] for p in points.values())
