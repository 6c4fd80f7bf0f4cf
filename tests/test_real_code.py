"""Code re-typed after public JAX sources, wrapped at the signature, is graded as the corpus says.

Each case of ``tests/corpus/real_code.py`` is a release notebook whose solution cells hold the
instructor's answers except the case's own, which hold the code re-typed after its public
sources (our own text, the sources' approach and idioms) and its wrapper. It is
graded once, through ``autograder.runner.grade`` (the real graders, the real sandbox, the
lesson's cells running as they run for a student), and must keep every point where the code
meets the contract and lose points, with a message naming the deviation, where it does not.

The namespace rule (no lesson cell rebinds a name the source's code looks up when the graders
call it) is checked on its own, from the release notebooks, by
``test_no_lesson_cell_rebinds_a_helper``: while a lesson cell still rebinds a helper, the graded
case must show the graders naming that rebinding instead of the deviation, so each test says
something true about the release as it is.
"""

import ast
import re

import nbformat
import pytest

from autograder.assignment import STEMS
from autograder.runner import grade
from tests.corpus import real_code
from tests.corpus.real_code import CASES, DEVIATIONS, GRADED_NAMES, SOURCES, Case
from tests.test_corpus import PLAIN_LIMITS, describe, exercise_points

COMMIT = re.compile(r"\b[0-9a-f]{40}\b")


def failure_outputs(points, exercise: str) -> list[str]:
    return [t["output"] for t in points[exercise][2] if t["status"] in ("failed", "error")]


def expectation(case: Case, rebound: list[tuple[str, str]]) -> dict[str, list[str]]:
    """exercise -> message fragments, for the exercises that must lose points in this grading:
    the case's own, except that while a lesson cell rebinds a helper, the exercises reaching
    it must fail with the graders' note naming the rebinding (autograder/messages.py)."""
    lose: dict[str, list[str]] = {}
    for exercise, fragment in case.lose:
        lose.setdefault(exercise, []).append(fragment)
    for helper, _ in rebound:
        for exercise in case.helpers[helper]:
            lose[exercise] = [f"`{helper}`, which {exercise} uses, is bound again"]
    return lose


# ---- the corpus is well formed (fast)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_is_well_formed(case: Case):
    names = GRADED_NAMES[case.stem]
    assert case.stem in STEMS
    assert case.losing <= names
    assert all(fragment for _, fragment in case.lose)
    assert case.tests and case.gpu and case.sources
    assert case.retyped.startswith("re-typed after ") and "\n" not in case.retyped, "one line: re-typed after ...: ..."
    for exercises in case.helpers.values():
        assert set(exercises) <= names
    nb = real_code.notebook(case)  # LookupError when a cell id is no solution cell of the release
    code = "\n".join(case.cells.values())
    for source in case.sources:
        assert source.code.strip("\n") in code, f"{source.name}: the re-typed code is not kept whole in the case"
    for cell_id, src in case.cells.items():
        assert cell_id.endswith("_solution"), cell_id
        ast.parse(src, filename=f"<{case.name} {cell_id}>")  # plain Python, no IPython magics
    defined = set().union(*(real_code.top_level_names(src) for src in case.cells.values()))
    assert set(case.helpers) <= defined, "a helper the case's cells do not define"
    assert names <= defined | {n for c in nb.cells if c.get("id") not in case.cells
                               for n in real_code.top_level_names(c.source)}


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name[:40])
def test_source_is_named_and_its_code_retyped(source):
    assert COMMIT.search(source.version), "the commit of the version followed"
    assert source.where and source.path and source.url.startswith("https://")
    first = source.code.lstrip("\n").splitlines()[0]
    assert first.startswith("# Re-typed after "), "the code opens by naming what it is re-typed after"
    # our own text, not a copy: no copied licence header or notice travels with it
    for notice in ("Copyright", "Licensed under", "Permission is hereby granted", "verbatim"):
        assert notice not in source.code, f"{source.name}: {notice!r} in the re-typed code"


def test_corpus_covers_the_brief():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert {s.name for c in CASES for s in c.sources} == {s.name for s in SOURCES}
    for deviation, (case_name, exercise) in DEVIATIONS.items():
        assert exercise in real_code.BY_NAME[case_name].losing, deviation
    full = {c.stem for c in CASES if c.full_marks}
    assert {"02_jax_jit", "03_jax_grad", "04_jax_vmap", "05_heat_equation_jax", "06_deep_learning_jax"} <= full
    helpers = {h for c in CASES for h in c.helpers}
    assert {"loss", "forward", "predict_one"} <= helpers


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_lesson_cell_rebinds_a_helper(case: Case):
    """A lesson cell after the case's code binds none of the names the re-typed code calls."""
    rebound = real_code.rebound_helpers(case, real_code.notebook(case))
    assert not rebound, (
        "lesson cells of release/workshop3/" + case.stem + ".ipynb rebind names that public code "
        "uses as helpers, so the graders call it with the lesson's value: "
        + ", ".join(f"`{helper}` in cell {cell}" for helper, cell in rebound))


# ---- every case graded (slow)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_is_graded_as_expected(case: Case, tmp_path, record_property):
    nb = real_code.notebook(case)
    path = tmp_path / f"{case.stem}.ipynb"
    path.write_text(nbformat.writes(nb) + "\n")
    result, rebound = grade(path, case.stem, limits=PLAIN_LIMITS), real_code.rebound_helpers(case, nb)
    points = exercise_points(result)
    record_property("score", f"{result['score']:g}/{result['max_score']:g}")  # for --junitxml reports
    lose = expectation(case, rebound)
    report = (f"{case.name} ({case.stem}): {case.tests}\n"
              f"lesson cells rebinding helpers: {rebound or 'none'}\n{describe(result)}")

    assert set(points) == GRADED_NAMES[case.stem], report  # every exercise was graded
    assert all(t["status"] != "error" for t in result["tests"]), report  # the grader never broke
    for exercise, (score, top, tests) in points.items():
        if exercise in lose:
            assert top > 0 and score < top, f"{exercise} should lose points\n{report}"
            outputs = failure_outputs(points, exercise)
            for fragment in lose[exercise]:
                assert any(fragment in out for out in outputs), \
                    f"{exercise}: no message says {fragment!r}\n{report}"
        else:
            assert top > 0 and score == top, f"{exercise} should keep all its points\n{report}"
            assert all(t["status"] == "passed" for t in tests), report
    if not lose:
        assert result["score"] == result["max_score"], report
