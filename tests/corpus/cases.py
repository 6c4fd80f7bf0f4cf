"""A corpus of slow and hostile submissions, as data.

Each ``Case`` is a notebook: the reference answer of its part (``answer_source(stem)``) plus
cells that override a graded name with slow or wrong code, or that attack the grader. It says
which exercises must lose points and which must keep them:

* ``lose``: exercises that lose points on any runner (a structural or correctness test fails);
* ``keep``: exercises that keep every point on a CPU runner (speed tests are skipped there);
* ``gpu_only_lose``: exercises among ``keep`` that lose points only where the speed tests run
  (a GPU runner): correct, compiled code that is slow, or a notebook that tampered with the
  clocks so that its speed cannot be measured.

On a GPU runner an exercise is expected to keep its points if it is in ``keep`` and not in
``gpu_only_lose``, and to lose points if it is in ``lose`` or ``gpu_only_lose``.

``tests/test_corpus.py`` grades every case on CPU; ``benchmarks/calibrate_speed.py`` times the
cases with ``speed_relevant`` set (or a ``gpu_only_lose``) on a GPU.
"""

from __future__ import annotations

import dataclasses

from autograder import assignment
from solutions.answers import answer_source

# The graded names by notebook, as sets (the assignment table).
GRADED_NAMES = {stem: frozenset(names) for stem, names in assignment.GRADED_NAMES.items()}


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    stem: str
    cells: tuple[str, ...]
    lose: frozenset[str] = frozenset()
    keep: frozenset[str] = frozenset()
    gpu_only_lose: frozenset[str] = frozenset()
    # (exercise, fragment): some failed test of that exercise says this (the message teaches)
    messages: tuple[tuple[str, str], ...] = ()
    # Hostile cases hang, restart the kernel or flood the output on purpose: graded with short
    # time limits so the corpus stays fast. The others get generous limits (training on CPU).
    hostile: bool = False
    # Worth timing on a GPU even without a gpu_only_lose (the speed tests should also fail, or
    # should pass with a known margin): benchmarks/calibrate_speed.py picks these.
    speed_relevant: bool = False
    why: str = ""


def case(name, stem, *cells, before=(), lose=(), keep=(), gpu_only_lose=(), **kw) -> Case:
    """A Case whose notebook is ``before`` cells, the reference answer, then ``cells``."""
    return Case(name, stem, (*before, answer_source(stem), *cells), frozenset(lose), frozenset(keep),
                frozenset(gpu_only_lose), **kw)


# ---- hostile cells, shared with tests/test_sandbox.py

WHILE_TRUE = "while True:\n    pass"
SWALLOW_INTERRUPT = (
    "import time\n"
    "while True:\n"
    "    try:\n"
    "        time.sleep(1)\n"
    "    except KeyboardInterrupt:\n"
    "        pass"
)
EXITS = {
    "sys.exit()": "import sys\nsys.exit()",
    "sys.exit(3)": "import sys\nsys.exit(3)",
    "raise SystemExit": "raise SystemExit",
}
# IPython's exit()/quit() stop the kernel's event loop 0.1 s later, whatever runs then: see
# tests/test_sandbox.py::test_ipython_exit_costs_no_later_cell (a known weakness, not in CASES).
IPYTHON_EXITS = {"exit()": "exit()", "quit()": "quit()"}
KILL = "import os\nos._exit(1)"
MEMORY_BOMBS = {
    "bytearray(50 GiB)": "x = bytearray(50 * 2**30)",
    "np.ones(10**10)": "import numpy as np\ny = np.ones(10**10)",
}
FAKE_POINTS = {
    "print": "print('Points 100/100')",
    "os.write": "import os\nos.write(1, b'Points 100/100\\n')\nos.write(2, b'Points 100/100\\n')",
}
# "Millions of printed lines": 2 million lines (30 MB) in one write, and many small writes.
FLOOD_ONE_WRITE = "print('Points 100/100\\n' * 2_000_000)"
FLOOD_MANY_LINES = "for _i in range(200_000):\n    print('Points 100/100', _i)"
HIDDEN_IMPORTS = {
    "import solutions.oracles": "import solutions.oracles",
    "from solutions import oracles": "from solutions import oracles",
    "import solutions.answers": "import solutions.answers",
    "import autograder": "import autograder",
    "from autograder.sandbox import worker": "from autograder.sandbox import worker",
}
# What a notebook might rebind to fake its speed (or the graders' checks, were they in the kernel).
TAMPER = {
    "time.perf_counter": "import time\ntime.perf_counter = lambda: 0.0",
    "time.time": "import time\ntime.time = lambda: 0.0",
    "numpy.median": "import numpy\nnumpy.median = lambda a, *args, **kwargs: 0.0",
    "numpy.testing.assert_allclose": (
        "import numpy.testing\nnumpy.testing.assert_allclose = lambda *args, **kwargs: None"),
    "jax.block_until_ready": "import jax\njax.block_until_ready = lambda x: x",
}

# ---- slow or structurally wrong code

GELU_JIT_NOT_COMPILED = "gelu_jit = gelu  # forgot jax.jit"

BATCHED_PREDICT_LOOP = '''
def batched_predict(params, xs):
    # one predict per example, stacked: a Python loop, no vmap
    return jnp.stack([predict(params, x) for x in xs])
'''

SIMULATE_PYTHON_LOOP = '''
def simulate(u0, alpha, dt, dx, n_steps):
    # a jitted step, but the time loop runs in Python: one dispatch per step
    u = jnp.asarray(u0)
    for _ in range(n_steps):
        u = heat_step(u, alpha, dt, dx)
    return u
'''

SIMULATE_PURE_CALLBACK = '''
import numpy as np


def _host_step(u, alpha, dt, dx):
    """The golden NumPy step, on the host."""
    u = np.asarray(u)
    r = alpha * dt / dx**2
    new = u.copy()
    new[1:-1, 1:-1] = u[1:-1, 1:-1] + r * (
        u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1])
    return new.astype(u.dtype)


@jax.jit
def simulate(u0, alpha, dt, dx, n_steps):
    # compiled loop, but every step copies the grid to the host and back
    u0 = jnp.asarray(u0)
    shape = jax.ShapeDtypeStruct(u0.shape, u0.dtype)
    return jax.lax.fori_loop(
        0, n_steps, lambda _, u: jax.pure_callback(_host_step, shape, u, alpha, dt, dx), u0)
'''

SIMULATE_DEBUG_CALLBACK = '''
import numpy as np

_largest = []


def _check_finite(u):
    """A host-side NumPy sanity check of every step (a habit from the NumPy version)."""
    _largest.append(float(np.abs(np.asarray(u)).max()))


@jax.jit
def simulate(u0, alpha, dt, dx, n_steps):
    def body(_, u):
        u = heat_step(u, alpha, dt, dx)
        jax.debug.callback(_check_finite, u)  # syncs with the host every step
        return u

    return jax.lax.fori_loop(0, n_steps, body, jnp.asarray(u0))
'''

HEAT_STEP_TEXTBOOK = '''
@jax.jit
def heat_step(u, alpha, dt, dx):
    # the textbook form: slices of the interior, written back with .at[].set
    u = jnp.asarray(u)
    r = alpha * dt / dx**2
    c = u[1:-1, 1:-1]
    lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * c
    return u.at[1:-1, 1:-1].set(c + r * lap)
'''

TRAIN_STEP_NOT_JITTED = '''
def train_step(params, x, labels, learning_rate):
    # correct, but ~80 operations dispatched one by one
    loss, grads = jax.value_and_grad(cross_entropy)(params, x, labels)
    return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss
'''

TRAIN_STEP_NUMPY_INSIDE = '''
import numpy as np

loss_history = []


@jax.jit
def train_step(params, x, labels, learning_rate):
    loss, grads = jax.value_and_grad(cross_entropy)(params, x, labels)
    loss_history.append(float(np.asarray(loss)))  # a host copy of a traced value: cannot trace
    return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss
'''

# ---- functions that attack the grader when called

CALLS_HANG_AND_EXIT = '''
import os

_reference_set_boundary = set_boundary
_reference_standardize = standardize


def set_boundary(u, value):
    # the first call of the whole grading never returns (the flag file outlives restarts)
    if not os.path.exists("set_boundary-hung"):
        open("set_boundary-hung", "w").close()
        while True:
            pass
    return _reference_set_boundary(u, value)


def standardize(x):
    # the first call of the whole grading kills the kernel
    if not os.path.exists("standardize-exited"):
        open("standardize-exited", "w").close()
        os._exit(1)
    return _reference_standardize(x)
'''

RETURNS_CANNOT_CROSS = '''
_good_gelu = gelu
gelu_jit = jax.jit(_good_gelu)


def gelu(x):
    return "gelu"  # a string crosses, but is no array


def clipped_sum(x, threshold):
    return lambda: 0.0  # a function cannot cross to the grader
'''

ALL_01 = GRADED_NAMES["01_jax_intro"]

CASES: tuple[Case, ...] = (
    # -- slow or structurally wrong, each caught on CPU by a structural test
    case("gelu_jit_not_compiled", "02_jax_jit", GELU_JIT_NOT_COMPILED,
         lose={"gelu_jit"}, keep={"gelu", "clipped_sum"}, speed_relevant=True,
         messages=(("gelu_jit", "not jit-compiled"),),
         why="gelu_jit = gelu: correct values, no compilation"),
    case("batched_predict_python_loop", "04_jax_vmap", BATCHED_PREDICT_LOOP,
         lose={"batched_predict"}, keep={"predict", "per_example_grads"}, speed_relevant=True,
         why="jnp.stack over a Python loop: the traced program grows with the batch"),
    case("simulate_python_loop_over_jitted_step", "05_heat_equation_jax", SIMULATE_PYTHON_LOOP,
         lose={"simulate"}, keep={"heat_step"}, speed_relevant=True,
         why="a jitted step called from a Python loop: not one compiled program"),
    case("train_step_not_jitted", "06_deep_learning_jax", TRAIN_STEP_NOT_JITTED,
         lose={"train_step"}, keep={"init_mlp", "mlp_forward", "cross_entropy", "train_mlp"},
         speed_relevant=True, messages=(("train_step", "not jit-compiled"),),
         why="train_step without jax.jit (train_mlp still compiles it inside its own jit)"),
    case("train_step_numpy_inside_jit", "06_deep_learning_jax", TRAIN_STEP_NUMPY_INSIDE,
         lose={"train_step", "train_mlp"}, keep={"init_mlp", "mlp_forward", "cross_entropy"},
         why="np.asarray of a traced loss inside jit: fails to trace (train_mlp calls it too)"),
    # -- correct and compiled, but slow where it matters: only the GPU speed tests can tell
    case("simulate_pure_callback_each_step", "05_heat_equation_jax", SIMULATE_PURE_CALLBACK,
         keep={"heat_step", "simulate"}, gpu_only_lose={"simulate"},
         why="jax.pure_callback to a host NumPy step inside the compiled loop: two copies of "
             "the grid between device and host per step"),
    case("simulate_debug_callback_each_step", "05_heat_equation_jax", SIMULATE_DEBUG_CALLBACK,
         keep={"heat_step", "simulate"}, gpu_only_lose={"simulate"},
         why="jax.debug.callback to a host NumPy check each step: a device-to-host copy and a "
             "sync per step"),
    case("simulate_textbook_at_set", "05_heat_equation_jax", HEAT_STEP_TEXTBOOK,
         keep={"heat_step", "simulate"}, speed_relevant=True,
         why="the textbook .at[1:-1, 1:-1].set step in the reference fori_loop: correct and "
             "compiled; on an H100 at the speed tests' 1024^2 it ran 0.034 ms/step against the "
             "shipped answer's 0.022 (1.5x; benchmarks/results/references-h100.md), well within "
             "SIMULATE_MAX_SLOWDOWN_VS_REFERENCE and ~130x faster than NumPy, so it keeps its "
             "speed points: gpu_only_lose is empty"),
    # -- hostile cells: the sandbox contains them and every function still gets graded
    case("hostile_exits", "01_jax_intro", KILL, EXITS["sys.exit(3)"],
         before=(EXITS["sys.exit()"], EXITS["raise SystemExit"]),
         keep=ALL_01, hostile=True,
         why="sys.exit and SystemExit are survived; os._exit costs a restart without its cell"),
    case("hostile_hangs", "01_jax_intro", SWALLOW_INTERRUPT, before=(WHILE_TRUE,),
         keep=ALL_01, hostile=True,
         why="an endless loop is interrupted; one that swallows the interrupt is restarted past"),
    case("hostile_noise", "01_jax_intro", *MEMORY_BOMBS.values(), FLOOD_ONE_WRITE, *FAKE_POINTS.values(),
         before=(*HIDDEN_IMPORTS.values(), FLOOD_MANY_LINES),
         keep=ALL_01, hostile=True,
         why="memory bombs, millions of printed lines, fake 'Points' lines, imports of the graders"),
    case("hostile_tamper", "05_heat_equation_jax", *TAMPER.values(),
         keep={"heat_step", "simulate"}, gpu_only_lose={"simulate"}, hostile=True, speed_relevant=True,
         why="rebinds the clocks and checks: correctness is judged in the grader's process, and "
             "the speed tests refuse to time (Tampered)"),
    case("hostile_calls_hang_then_exit", "01_jax_intro", CALLS_HANG_AND_EXIT,
         lose={"set_boundary", "standardize"}, keep={"sample_normal"}, hostile=True,
         messages=(("set_boundary", "did not return"), ("standardize", "did not return")),
         why="a function that hangs when called, one that kills the kernel: those tests fail, "
             "later tests run in a restarted kernel"),
    case("hostile_returns", "02_jax_jit", RETURNS_CANNOT_CROSS,
         lose={"gelu", "clipped_sum"}, keep={"gelu_jit"}, gpu_only_lose={"gelu_jit"}, hostile=True,
         messages=(("clipped_sum", "cannot cross"),),
         why="results that are no arrays; on a GPU gelu_jit also loses its speed test, which "
             "races it against this notebook's own (instant) gelu"),
)

BY_NAME = {c.name: c for c in CASES}
