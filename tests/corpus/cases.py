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
from solutions.golden import golden_source

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
    # The whole notebook must score 0, on CPU and on a GPU (right structure, wrong values).
    zero: bool = False
    why: str = ""


def case(name, stem, *cells, before=(), lose=(), keep=(), gpu_only_lose=(), **kw) -> Case:
    """A Case whose notebook is ``before`` cells, the reference answer, then ``cells``."""
    return Case(name, stem, (*before, answer_source(stem), *cells), frozenset(lose), frozenset(keep),
                frozenset(gpu_only_lose), **kw)


def stub_case(name, stem, *cells, why) -> Case:
    """A notebook of ``cells`` alone (no reference answer) that must score 0 everywhere."""
    return Case(name, stem, (IMPORTS, *cells), lose=GRADED_NAMES[stem], zero=True, why=why)


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

# ---- what a lesson asks and the graders check, and the usual slips (issue 12)

FIT_LINEAR_PYTHON_LOOP = '''
def fit_linear(x, y, learning_rate, n_steps):
    # right values, but the loop the task asks for (jax.lax.fori_loop inside jax.jit) is a Python loop
    params = {"w": jnp.zeros(x.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}
    for _ in range(n_steps):
        grads = mse_grad(params, x, y)
        params = {k: params[k] - learning_rate * grads[k] for k in params}
    return params
'''

TRAIN_MLP_ONE_KEY = '''
def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):
    # one shuffle key for every epoch: each epoch visits the batches in the same order
    init_key, shuffle_key = jax.random.split(key)
    params = init_mlp(init_key, sizes)
    x, labels = jnp.asarray(x, jnp.float32), jnp.asarray(labels, jnp.int32)
    batch_size = min(batch_size, x.shape[0])
    for _ in range(epochs):
        params, _ = _train_epoch(params, shuffle_key, x, labels, learning_rate, batch_size)
    return params
'''

VMAP_WITHOUT_IN_AXES = '''
batched_predict = jax.vmap(predict)  # in_axes missing: params is mapped too
per_example_grads = jax.vmap(jax.grad(_squared_error))  # the same slip around jax.grad
'''

# ---- more ways of writing the timed functions, correct or slow, for the speed calibration
# (benchmarks/calibrate_speed.py races each through the real sandbox)

GELU_ITSELF_JITTED = "gelu = jax.jit(gelu)\ngelu_jit = jax.jit(gelu)  # a jitted gelu, jitted again"

BATCHED_PREDICT_JIT_VMAP = "batched_predict = jax.jit(jax.vmap(predict, in_axes=(None, 0)))"

BATCHED_PREDICT_LAX_MAP = '''
def batched_predict(params, xs):
    # one example after another inside a compiled loop: no batching
    return jax.lax.map(lambda x: predict(params, x), xs)
'''

SIMULATE_PLAIN_FORI = '''
@jax.jit
def simulate(u0, alpha, dt, dx, n_steps):
    # the first program a student writes: one fori_loop, n_steps traced
    return jax.lax.fori_loop(0, n_steps, lambda _, u: heat_step(u, alpha, dt, dx), jnp.asarray(u0))
'''

SIMULATE_STATIC_N = '''
import functools


@functools.partial(jax.jit, static_argnames="n_steps")
def simulate(u0, alpha, dt, dx, n_steps):
    # n_steps static, the loop not unrolled
    return jax.lax.fori_loop(0, n_steps, lambda _, u: heat_step(u, alpha, dt, dx), jnp.asarray(u0))
'''

SIMULATE_CHUNKS = '''
@jax.jit
def simulate(u0, alpha, dt, dx, n_steps):
    # the former reference: 8-step chunks (an inner loop of fixed length), n_steps traced
    one = lambda _, u: heat_step(u, alpha, dt, dx)
    u = jax.lax.fori_loop(0, n_steps // 8, lambda _, u: jax.lax.fori_loop(0, 8, one, u), jnp.asarray(u0))
    return jax.lax.fori_loop(0, n_steps % 8, one, u)
'''

SIMULATE_NO_JIT = '''
def simulate(u0, alpha, dt, dx, n_steps):
    # no jit anywhere: every array operation of every step dispatched from Python
    u = jnp.asarray(u0)
    r = alpha * dt / dx**2
    for _ in range(n_steps):
        c = u[1:-1, 1:-1]
        u = u.at[1:-1, 1:-1].set(c + r * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * c))
    return u
'''

TRAIN_STEP_TWO_PASSES = '''
@jax.jit
def train_step(params, x, labels, learning_rate):
    # the loss and the gradient in two separate calls: the forward pass twice
    loss = cross_entropy(params, x, labels)
    grads = jax.grad(cross_entropy)(params, x, labels)
    return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss
'''

TRAIN_STEP_HOST_NUMPY = golden_source("mlp") + '''

import jax.numpy as jnp


def train_step(params, x, labels, learning_rate):
    # the golden NumPy step on the host, its results handed back as JAX arrays
    host = [(np.asarray(W), np.asarray(b)) for W, b in params]
    new, loss = sgd_step(host, np.asarray(x), np.asarray(labels), learning_rate)
    return [(jnp.asarray(W), jnp.asarray(b)) for W, b in new], jnp.asarray(loss)
'''


@dataclasses.dataclass(frozen=True)
class SpeedVariant:
    """A way of writing a timed function, raced by one speed test in the calibration."""

    label: str
    test: str  # the speed test (assignment table) that races it
    cells: tuple[str, ...]  # appended to the reference answer of the test's part
    expect: str  # "pass" or "fail": the timing verdict it must get; "any": structure judges it
    structure_fails: bool = False  # also loses the speed points by the credit rule, whatever the clock


def _v(label, test, *cells, expect, structure_fails=False):
    return SpeedVariant(label, test, cells, expect, structure_fails)


SPEED_VARIANTS: tuple[SpeedVariant, ...] = (
    _v("reference", "gelu_jit_speed_vs_eager", expect="pass"),
    _v("gelu itself jitted", "gelu_jit_speed_vs_eager", GELU_ITSELF_JITTED, expect="pass"),
    _v("gelu_jit = gelu (not compiled)", "gelu_jit_speed_vs_eager", GELU_JIT_NOT_COMPILED, expect="fail",
       structure_fails=True),
    _v("reference", "batched_predict_speed_vs_python_loop", expect="pass"),
    _v("jax.jit(jax.vmap(predict))", "batched_predict_speed_vs_python_loop", BATCHED_PREDICT_JIT_VMAP,
       expect="pass"),
    _v("Python loop over examples", "batched_predict_speed_vs_python_loop", BATCHED_PREDICT_LOOP, expect="fail",
       structure_fails=True),
    _v("lax.map over examples", "batched_predict_speed_vs_python_loop", BATCHED_PREDICT_LAX_MAP, expect="fail",
       structure_fails=True),
    _v("reference", "simulate_speed_vs_plain_loop", expect="pass"),
    _v("plain fori_loop, n_steps traced", "simulate_speed_vs_plain_loop", SIMULATE_PLAIN_FORI, expect="pass"),
    _v("static n_steps, no unroll", "simulate_speed_vs_plain_loop", SIMULATE_STATIC_N, expect="pass"),
    _v("textbook .at[].set step", "simulate_speed_vs_plain_loop", HEAT_STEP_TEXTBOOK, SIMULATE_PLAIN_FORI,
       expect="pass"),
    _v("8-step chunks (the former reference)", "simulate_speed_vs_plain_loop", SIMULATE_CHUNKS, expect="pass"),
    # One dispatch per step is as fast as a plain fori_loop's host check per step (2-4x at most
    # here, H200): only structure tells them apart, and structure withholds its speed points.
    _v("Python loop over the jitted step", "simulate_speed_vs_plain_loop", SIMULATE_PYTHON_LOOP, expect="any",
       structure_fails=True),
    _v("no jit anywhere", "simulate_speed_vs_plain_loop", SIMULATE_NO_JIT, expect="fail", structure_fails=True),
    _v("jax.pure_callback to a NumPy step", "simulate_speed_vs_plain_loop", SIMULATE_PURE_CALLBACK, expect="fail"),
    _v("jax.debug.callback reading the grid", "simulate_speed_vs_plain_loop", SIMULATE_DEBUG_CALLBACK,
       expect="fail"),
    _v("reference", "train_step_speed_vs_reference", expect="pass"),
    _v("loss and gradient in two calls", "train_step_speed_vs_reference", TRAIN_STEP_TWO_PASSES, expect="pass"),
    _v("not jitted", "train_step_speed_vs_reference", TRAIN_STEP_NOT_JITTED, expect="fail", structure_fails=True),
    _v("host NumPy step", "train_step_speed_vs_reference", TRAIN_STEP_HOST_NUMPY, expect="fail",
       structure_fails=True),
)


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


# ---- right structure, wrong values: every graded name has the signature, shapes, dtypes and JAX
# structure the structure tests look for (jitted, fori_loop, vmap, grad, keys split), but computes
# nothing that was asked. The value rule (autograder/assignment.py) must leave them 0 points.

IMPORTS = "import jax\nimport jax.numpy as jnp"

STUB_01 = '''
def set_boundary(u, value):
    return jnp.asarray(u) * 1.0  # the input returned: a new array, traceable, not in place


def standardize(x):
    return jnp.zeros_like(jnp.asarray(x))


def sample_normal(key, shape):
    key, _ = jax.random.split(key)  # a new key, as asked
    return key, jnp.zeros(shape, jnp.float32)
'''

STUB_02 = '''
def gelu(x):
    return 0.5 * jnp.asarray(x)


gelu_jit = jax.jit(gelu)


def clipped_sum(x, threshold):
    return jnp.sum(jnp.zeros_like(jnp.asarray(x)))
'''

STUB_03 = '''
def mse_loss(params, x, y):
    return jnp.mean(jnp.zeros_like(y)) + 0.0 * params["b"]  # a constant loss


mse_grad = jax.grad(mse_loss)


@jax.jit
def fit_linear(x, y, learning_rate, n_steps):
    params = {"w": jnp.zeros(x.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}
    return jax.lax.fori_loop(0, n_steps, lambda _, p: p, params)  # params returned unchanged
'''

STUB_04 = '''
def predict(params, x):
    return 0.0 * jnp.sum(x) + 0.0 * jnp.sum(params["v"])


batched_predict = jax.vmap(predict, in_axes=(None, 0))
per_example_grads = jax.vmap(jax.grad(lambda p, x, y: (predict(p, x) - y) ** 2), in_axes=(None, 0, 0))
'''

STUB_05 = '''
def heat_step(u, alpha, dt, dx):
    return jnp.asarray(u) + 0.0  # the input returned: the boundary is kept, the interior too


@jax.jit
def simulate(u0, alpha, dt, dx, n_steps):
    return jax.lax.fori_loop(0, n_steps, lambda _, u: heat_step(u, alpha, dt, dx), jnp.asarray(u0))
'''

STUB_06 = '''
def init_mlp(key, sizes):
    return [(jnp.zeros((i, o), jnp.float32), jnp.zeros(o, jnp.float32)) for i, o in zip(sizes[:-1], sizes[1:])]


def mlp_forward(params, x):
    return jnp.zeros((x.shape[0], params[-1][1].shape[0]), jnp.float32)


def cross_entropy(params, x, labels):
    return jnp.log(10.0) + 0.0 * jnp.sum(x)  # a constant loss


@jax.jit
def train_step(params, x, labels, learning_rate):
    return params, cross_entropy(params, x, labels)  # params returned unchanged


def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):
    keys = jax.random.split(key, epochs + 1)
    for k in keys[1:]:
        jax.random.permutation(k, len(labels))  # shuffled every epoch with a fresh key, then unused
    return init_mlp(keys[0], sizes)
'''

# The same stubs after patching what a grader in the kernel might compare with.
PATCH_ASSERTIONS = (
    "import numpy\n"
    "numpy.allclose = lambda *a, **k: True\n"
    "numpy.testing.assert_allclose = lambda *a, **k: None\n"
    "numpy.array_equal = lambda *a, **k: True"
)

STUBS = {"01_jax_intro": STUB_01, "02_jax_jit": STUB_02, "03_jax_grad": STUB_03, "04_jax_vmap": STUB_04,
         "05_heat_equation_jax": STUB_05, "06_deep_learning_jax": STUB_06}

ALL_01 = GRADED_NAMES["01_jax_intro"]

CASES: tuple[Case, ...] = (
    # -- right structure, wrong values: 0 points in every notebook, on CPU and on a GPU
    *(stub_case(f"stub_{stem[:2]}", stem, src, why="right signature, shapes, dtypes and JAX structure; "
                "wrong values (zeros, the input returned, a constant loss, params unchanged)")
      for stem, src in STUBS.items()),
    *(stub_case(f"stub_{stem[:2]}_patched", stem, PATCH_ASSERTIONS, src,
                why="the stub, after patching numpy's comparison helpers in the kernel")
      for stem, src in STUBS.items() if stem in ("02_jax_jit", "05_heat_equation_jax")),
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
    # -- what the task text asks is what is checked, with the message the usual slip deserves
    case("fit_linear_python_loop", "03_jax_grad", FIT_LINEAR_PYTHON_LOOP,
         lose={"fit_linear"}, keep={"mse_loss", "mse_grad"},
         messages=(("fit_linear", "fit_linear is not jit-compiled: the loop runs in Python"),),
         why="a Python loop, no jit: the values are right, the fori_loop inside jax.jit that the task "
             "asks for is not there"),
    case("train_mlp_one_key_for_every_epoch", "06_deep_learning_jax", TRAIN_MLP_ONE_KEY,
         lose={"train_mlp"}, keep={"init_mlp", "mlp_forward", "cross_entropy", "train_step"},
         messages=(("train_mlp", "a key reused across epochs shuffles every epoch the same way"),),
         why="one shuffle key reused for every epoch: trains well, but the task asks for a new key each epoch"),
    case("vmap_without_in_axes", "04_jax_vmap", VMAP_WITHOUT_IN_AXES,
         lose={"batched_predict", "per_example_grads"}, keep={"predict"},
         messages=(("batched_predict", "jax.vmap maps EVERY argument along axis 0"),
                   ("per_example_grads", "jax.vmap maps EVERY argument along axis 0")),
         why="jax.vmap(predict) and jax.vmap(jax.grad(loss)) without in_axes map params too"),
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
