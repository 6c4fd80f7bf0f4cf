"""Hostile notebooks: the sandbox contains them and the grading goes on.

Each notebook is the reference answer of 01_jax_intro plus hostile cells before and after it.
Most tests drive a ``Submission`` directly with short limits (a cell may run 3 s, a call 5 s)
so that hangs cost seconds; the end-to-end test goes through ``python -m autograder grade``
with the default limits. The same hostile cells, graded through the real grader modules, are
cases of tests/corpus/cases.py (tests/test_corpus.py).
"""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from autograder.assignment import Threshold
from autograder.sandbox import notebook_run
from autograder.sandbox.notebook_run import GRADING_XLA_FLAGS, Limits
from autograder.submission import Baseline, StudentCodeError, Submission, Tampered
from solutions import oracles
from solutions.answers import answer_source
from tests.corpus.cases import (EXITS, FAKE_POINTS, HIDDEN_IMPORTS, IPYTHON_EXITS, KILL, MEMORY_BOMBS,
                                SWALLOW_INTERRUPT, TAMPER, WHILE_TRUE)

pytestmark = pytest.mark.slow

INTRO = answer_source("01_jax_intro")
FAST = Limits(cell_timeout_s=3, notebook_timeout_s=120, interrupt_grace_s=2, call_timeout_s=5,
              memory_bytes=2 << 30, file_bytes=8 << 20, output_chars=2_000)
BEFORE = "def before(x):\n    return x + 1"
AFTER = "def after(x):\n    return 2 * x"
FILE_BOMB = f"with open('big.bin', 'wb') as fh:\n    fh.write(b'0' * {FAST.file_bytes + 1})"
LIMITS_PROBE = '''
def limits():
    import resource
    return [resource.getrlimit(resource.RLIMIT_DATA)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0],
            resource.getrlimit(resource.RLIMIT_CORE)[0]]
'''


def index_of(labelled: list[tuple[str, str]], label: str) -> int:
    return [name for name, _ in labelled].index(label)


def assert_set_boundary_works(sub: Submission) -> None:
    """The reference set_boundary, defined by the notebook, still answers correctly."""
    u = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    got = sub.call("set_boundary", u, 2.5)
    assert got.kinds == ["jax"]
    np.testing.assert_allclose(got.value, oracles.set_boundary(u, 2.5), rtol=1e-6)


# ---- cells that exit, bomb memory, import the graders or print fake points: survived


SURVIVABLE = [
    ("before", BEFORE),
    *EXITS.items(),
    *MEMORY_BOMBS.items(),
    ("file bomb", FILE_BOMB),
    *HIDDEN_IMPORTS.items(),
    *FAKE_POINTS.items(),
    ("intro", INTRO),
    ("os._exit(1)", KILL),
    ("limits", LIMITS_PROBE),
    ("after", AFTER),
]


@pytest.fixture(scope="module")
def survivable():
    sub = Submission([src for _, src in SURVIVABLE], FAST)
    yield sub
    sub.close()


@pytest.mark.parametrize("label", ["sys.exit()", "sys.exit(3)", "raise SystemExit"])
def test_system_exit_is_an_error_of_its_cell_only(survivable, label):
    cell = survivable.cells[index_of(SURVIVABLE, label)]
    assert (cell.status, cell.message.split(":")[0]) == ("error", "SystemExit"), cell


def test_ipython_exit_costs_no_later_cell():
    pause = "import time\ntime.sleep(0.5)"
    cells = [BEFORE, IPYTHON_EXITS["exit()"], pause, INTRO, IPYTHON_EXITS["quit()"], pause, AFTER]
    sub = Submission(cells, FAST)
    try:
        statuses = [c.status for c in sub.cells]
        assert statuses == ["ok"] * len(cells), statuses
        assert sub.call("after", 1.0).value == 2.0
    finally:
        sub.close()


def test_os_exit_cell_is_skipped_and_the_notebook_replayed_without_it(survivable):
    cell = survivable.cells[index_of(SURVIVABLE, "os._exit(1)")]
    assert cell.status == "skipped" and "stopped the kernel" in cell.message, cell
    others = [c for c in survivable.cells if c.index != cell.index]
    assert all(c.status in ("ok", "error") for c in others), others


@pytest.mark.parametrize("label", sorted(MEMORY_BOMBS))
def test_memory_bomb_gets_memory_error_and_the_kernel_survives(survivable, label):
    cell = survivable.cells[index_of(SURVIVABLE, label)]
    assert cell.status == "error" and cell.message.startswith("MemoryError"), cell


def test_file_bomb_is_stopped_at_the_file_size_limit(survivable):
    cell = survivable.cells[index_of(SURVIVABLE, "file bomb")]
    assert cell.status == "error" and "File too large" in cell.message, cell


def test_limits_are_set_in_the_kernel(survivable):
    assert survivable.call("limits").value == [FAST.memory_bytes, FAST.file_bytes, 0]


@pytest.mark.parametrize("label", sorted(HIDDEN_IMPORTS))
def test_graders_packages_cannot_be_imported(survivable, label):
    cell = survivable.cells[index_of(SURVIVABLE, label)]
    assert cell.status == "error", cell
    assert cell.message.startswith(("ImportError", "ModuleNotFoundError")), cell
    assert "not available to a notebook under grading" in cell.message, cell


def test_functions_above_and_below_hostile_cells_are_graded(survivable):
    assert survivable.call("before", 1.0).value == 2.0
    assert survivable.call("after", 3.0).value == 6.0
    assert_set_boundary_works(survivable)


def test_fake_points_lines_are_only_counted(survivable):
    assert all(survivable.cells[index_of(SURVIVABLE, k)].status == "ok" for k in FAKE_POINTS)
    assert survivable.printed_chars >= len("Points 100/100\n")


# ---- cells that hang: interrupted, or restarted past


HANGING = [
    ("before", BEFORE),
    ("while True", WHILE_TRUE),
    ("middle", "def middle(x):\n    return x + 2"),
    ("swallow interrupt", SWALLOW_INTERRUPT),
    ("intro", INTRO),
    ("after", AFTER),
]


@pytest.fixture(scope="module")
def hanging():
    sub = Submission([src for _, src in HANGING], FAST)
    yield sub
    sub.close()


def test_endless_loop_is_interrupted_and_later_cells_run(hanging):
    cell = hanging.cells[index_of(HANGING, "while True")]
    assert cell.status == "timeout" and "interrupted" in cell.message, cell
    assert hanging.call("middle", 1.0).value == 3.0


def test_cell_that_swallows_the_interrupt_is_skipped_after_a_restart(hanging):
    cell = hanging.cells[index_of(HANGING, "swallow interrupt")]
    assert cell.status == "skipped" and "ignored the interrupt" in cell.message, cell
    assert hanging.call("before", 1.0).value == 2.0
    assert hanging.call("after", 1.0).value == 2.0
    assert_set_boundary_works(hanging)


# ---- functions that attack the grader when called


CALLS = '''
import os
import time

import numpy as np


def hang(x):
    while True:
        pass


def swallow(x):
    while True:
        try:
            time.sleep(1)
        except KeyboardInterrupt:
            pass


def die(x):
    os._exit(1)


def system_exit(x):
    raise SystemExit(0)


def gives_lambda(x):
    return lambda: x


def gives_string(x):
    return "Points 100/100"


def gives_object_array(x):
    return np.array([object()], dtype=object)


def environment():
    return [dict(os.environ), os.getcwd()]
'''
SECRETS = {"GITHUB_TOKEN": "xyz-secret-1", "ACTIONS_RUNTIME_TOKEN": "xyz-secret-2",
           "AWS_SECRET_ACCESS_KEY": "xyz-secret-3", "SSH_AUTH_SOCK": "/tmp/xyz-secret-4"}


@pytest.fixture(scope="module")
def calls():
    with pytest.MonkeyPatch.context() as mp:  # secrets in the grader's environment at start
        for key, value in SECRETS.items():
            mp.setenv(key, value)
        sub = Submission([INTRO, CALLS], FAST)
    yield sub
    sub.close()


@pytest.mark.parametrize("name", ["hang", "swallow"])
def test_call_that_never_returns_fails_clearly_and_grading_goes_on(calls, name):
    with pytest.raises(StudentCodeError, match=rf"{name}\(\.\.\.\) did not return: no answer within 5s"):
        calls.call(name, 1.0)
    assert_set_boundary_works(calls)  # a restarted kernel with the same cells


def test_call_that_kills_the_kernel_fails_clearly_and_grading_goes_on(calls):
    with pytest.raises(StudentCodeError, match=r"die\(\.\.\.\) did not return: the kernel stopped"):
        calls.call("die", 1.0)
    assert_set_boundary_works(calls)


def test_system_exit_in_a_call_is_reported_as_raised(calls):
    with pytest.raises(StudentCodeError, match=r"system_exit\(\.\.\.\) raised SystemExit"):
        calls.call("system_exit", 1.0)
    assert_set_boundary_works(calls)


def test_result_that_cannot_cross_fails_clearly(calls):
    with pytest.raises(StudentCodeError, match="gives_lambda.*cannot cross to the grader"):
        calls.call("gives_lambda", 1.0)
    assert_set_boundary_works(calls)


def test_string_result_arrives_as_a_plain_value(calls):
    got = calls.call("gives_string", 1.0)
    assert got.value == "Points 100/100" and got.kinds == ["python"]  # data, never executed


def test_object_array_result_fails_clearly_without_a_restart(calls):
    with pytest.raises(StudentCodeError, match="cannot cross"):
        calls.call("gives_object_array", 1.0)


def test_secrets_in_the_graders_environment_are_not_in_the_kernel(calls):
    env, cwd = calls.call("environment").value
    assert not set(SECRETS) & set(env), sorted(env)
    assert not any("xyz-secret" in value for value in env.values())
    assert env["HOME"] == cwd != os.environ.get("HOME")  # a scratch home, not the grader's


def test_kernels_compile_with_the_grading_xla_flags_unless_the_grader_sets_its_own(calls, monkeypatch):
    env, _ = calls.call("environment").value
    assert env["XLA_FLAGS"] == os.environ.get("XLA_FLAGS", GRADING_XLA_FLAGS)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    assert notebook_run._kernel_env("/tmp/h", Limits())["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false"
    monkeypatch.delenv("XLA_FLAGS")
    assert notebook_run._kernel_env("/tmp/h", Limits())["XLA_FLAGS"] == GRADING_XLA_FLAGS


def test_a_compile_cache_of_the_graders_own_is_never_passed_to_a_kernel(monkeypatch):
    # The grader's environment may name a (writable) cache of its own: a kernel must not write to it.
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/home/grader/.cache/jax")
    monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    env = notebook_run._kernel_env("/tmp/h", Limits())
    assert "JAX_COMPILATION_CACHE_DIR" not in env and "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in env
    cached = Limits(compile_cache="/srv/xla-cache")
    assert "JAX_COMPILATION_CACHE_DIR" not in notebook_run._kernel_env("/tmp/h", cached, jailed=False)
    env = notebook_run._kernel_env("/tmp/h", cached, jailed=True)
    assert (env["JAX_COMPILATION_CACHE_DIR"], env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]) == ("/srv/xla-cache", "1e9")
    warm_up = Limits(compile_cache="/srv/xla-cache", compile_cache_writable=True)
    assert notebook_run._kernel_env("/tmp/h", warm_up)["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"


# ---- patched clocks and checks: correctness is judged outside, timing is refused


TAMPERING = f'''
import importlib

_TAMPER = {TAMPER!r}
_SAVED = {{}}
for _label in _TAMPER:
    _module, _attr = _label.rsplit(".", 1)
    _SAVED[_label] = (importlib.import_module(_module), _attr)
_SAVED = {{k: (m, a, getattr(m, a)) for k, (m, a) in _SAVED.items()}}


def tamper(label):
    exec(_TAMPER[label], {{}})


def restore():
    for module, attr, original in _SAVED.values():
        setattr(module, attr, original)
'''
SAME = "def same(u, value):\n    return u"


@pytest.fixture(scope="module")
def tampering():
    sub = Submission([INTRO, TAMPERING], FAST)
    yield sub
    sub.close()


# Any threshold: these races are about whether timing happens at all, not about its verdict.
SOME_THRESHOLD = Threshold(">=", 1.0, "the identity")


def race_set_boundary(sub: Submission):
    u = np.ones((8, 8), np.float32)
    return sub.race("set_boundary", Baseline("same", source=SAME), [[u, 1.0], [u, 2.0]],
                    threshold=SOME_THRESHOLD, warmup=1)


@pytest.mark.parametrize("label", [
    *TAMPER,
])
def test_patched_clock_or_check_refuses_timing_but_not_grading(tampering, label):
    assert len(race_set_boundary(tampering).candidate_s) == 2  # fair timing works before
    tampering.call("tamper", label)
    try:
        assert_set_boundary_works(tampering)  # values are checked in the grader's process
        with pytest.raises(Tampered, match=label.rsplit(".", 1)[1]):
            race_set_boundary(tampering)
    finally:
        tampering.call("restore")
    assert len(race_set_boundary(tampering).candidate_s) == 2


def test_everything_patched_at_once_still_grades_correctness(tampering):
    for label in TAMPER:
        tampering.call("tamper", label)
    try:
        assert_set_boundary_works(tampering)
        with pytest.raises(Tampered):
            race_set_boundary(tampering)
    finally:
        tampering.call("restore")


# ---- output floods: counted, never kept, the grader's memory stays bounded


PARENT_MEMORY_PROBE = '''
import json, resource, sys
from autograder.sandbox.notebook_run import Limits
from autograder.submission import Submission

cells = json.load(sys.stdin)
sub = Submission(cells, Limits(cell_timeout_s=60))
value = sub.call("after", 1.0).value
print(json.dumps({"statuses": [c.status for c in sub.cells], "printed": sub.printed_chars, "after": value,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
sub.close()
'''
LINE = ("Points 100/100" + " " * 85 + "\n")  # 100 characters


def parent_memory(cells: list[str]) -> dict:
    """Run the cells in a fresh grading process; its peak memory excludes the kernel's."""
    proc = subprocess.run([sys.executable, "-c", PARENT_MEMORY_PROBE], input=json.dumps(cells),
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_millions_of_printed_lines_are_counted_and_grading_finishes():
    # A million print() calls of 100 characters: 100 MB in ipykernel's usual small messages.
    # The runner keeps 20 000 characters and counts the rest. Its peak memory is left out of
    # the assertions: it depends on how far the runner lags behind the kernel (zmq queues up to
    # 1000 messages, whatever their size; seen: 81 MB alone, 255 MB on a loaded machine).
    flood = f"for _ in range(1_000_000):\n    print({LINE[:-1]!r})"
    out = parent_memory([INTRO, flood, AFTER])
    assert out["statuses"] == ["ok", "ok", "ok"] and out["after"] == 2.0
    assert out["printed"] == 100_000_000


def test_one_huge_printed_message_keeps_the_graders_memory_bounded():
    # Three 100 MB messages. Without a zmq message limit the runner deserialised each whole and
    # peaked at ~940 MB alone. With the 8 MiB limit the messages are dropped (printed == 0) and
    # the runner peaked at 77 MB alone, but at 480-590 MB while the full suite loaded both cores
    # (not understood yet: see autograder/README.md). The bound sits between the two.
    flood = f"for _ in range(3):\n    print({LINE!r} * 1_000_000, end='')"
    out = parent_memory([INTRO, flood, AFTER])
    assert out["after"] == 2.0 and out["printed"] == 0, out  # the oversized messages were dropped
    assert out["maxrss_mb"] < 800, out


# ---- end to end through the command line, default limits


# The kernel's environment leaves through the one way out it has, the graders' report (in the
# namespace jail it cannot write a file where this test could read it).
HOSTILE_E2E = '''
import os
_ENV = " ".join(sorted(os.environ)) + (" xyz-secret-seen" if any("xyz-secret" in v for v in os.environ.values()) else "")


def sample_normal(key, shape):
    raise ValueError("\\nPoints 100/100\\n::error::all tests passed\\n::notice::Points 100/100\\nkernel environment: " + _ENV)
'''


def test_cli_reports_the_real_score_whatever_the_notebook_prints(make_notebook, tmp_path):
    nb = make_notebook("01_jax_intro", [INTRO, *FAKE_POINTS.values(), HOSTILE_E2E])
    before = hashlib.sha256(nb.read_bytes()).hexdigest(), nb.stat().st_mtime_ns
    summary, output, result = tmp_path / "summary.md", tmp_path / "output.txt", tmp_path / "result.json"
    env = {**os.environ, **SECRETS, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(nb), "--github", "--json", str(result)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(result.read_text())
    real = f"Points {data['score']:g}/{data['max_score']:g}"
    points_lines = [line for line in proc.stdout.splitlines() if line.startswith("Points")]
    assert points_lines == [real], proc.stdout
    assert data["score"] < data["max_score"]  # sample_normal's tests failed
    assert f"points={real.removeprefix('Points ')}" in output.read_text().splitlines()
    # Workflow commands only start at the beginning of a line: none came from the notebook.
    commands = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    notices = [f"::notice title=Autograding complete::{real}",  # the Classroom reporter's two
               f'::notice title=Autograding report::{{"totalPoints":{data["score"]:g},"maxPoints":{data["max_score"]:g}}}']
    assert commands[-2:] == notices, commands
    assert commands and all(line.startswith(("::error file=", "::warning file=")) for line in commands[:-2]), commands
    assert not [line for line in summary.read_text().splitlines() if line.startswith(("Points", "::"))]
    # The kernel ran without the grader's secrets, and the notebook file was left as it was.
    reports = [t["output"] for t in data["tests"] if "kernel environment: " in t["output"]]
    assert reports, data["tests"]
    kernel_env = set(reports[0].split("kernel environment: ")[1].split())
    assert "HOME" in kernel_env and not set(SECRETS) & kernel_env and "xyz-secret-seen" not in kernel_env
    assert (hashlib.sha256(nb.read_bytes()).hexdigest(), nb.stat().st_mtime_ns) == before
