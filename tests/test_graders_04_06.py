"""The graders of 04_jax_vmap, 05_heat_equation_jax and 06_deep_learning_jax judge fairly.

For each notebook: the reference answer scores full marks (on CPU the speed tests are skipped
with the reason and count in neither score nor maximum; on a GPU they run and pass); a stub
scores 0 with a short message naming NotImplementedError; and for every graded name a realistic
wrong version loses that name's points and keeps the others. Independent mistakes share a
notebook to keep kernel starts few.

A wrong version rebinds one graded name; the others come from a private copy of the reference
answer (`_ok`), so that, say, a wrong `mlp_forward` does not also break `cross_entropy` through the
global name and each test is about one exercise. The speed graders are also called directly
(bypassing their GPU-only skip, so on CPU too): they must run end to end, and code that is
clearly slow anywhere (a Python loop over examples, host NumPy, an un-jitted step) must fail them.
"""

import importlib
from pathlib import Path

import numpy as np
import pytest

from autograder import assignment
from autograder.runner import grade
from autograder.submission import Submission
from solutions.answers import answer_source
from tests import outcomes

pytestmark = pytest.mark.slow

GRADED = {stem: assignment.GRADED_NAMES[stem] for stem in ("04_jax_vmap", "05_heat_equation_jax", "06_deep_learning_jax")}


def grader_module(stem):
    return importlib.import_module(f"autograder.graders.test_{stem}")


def reference_copy(stem):
    """A cell that runs the reference answer in a private module and binds every graded name."""
    lines = ["import types as _types", "_ok = _types.ModuleType('_ok')",
             f"exec(compile({answer_source(stem)!r}, '<reference>', 'exec'), _ok.__dict__)"]
    lines += [f"{name} = _ok.{name}" for name in GRADED[stem]]
    return "\n".join(lines)


def run_speed_test(stem, notebook: Path, test_name: str, seed: int = 0) -> str:
    """Call one speed grader directly (no GPU skip): '' when it passes, else its message."""
    fn = getattr(grader_module(stem), test_name)
    sub = Submission.from_notebook(notebook)
    try:
        fn(sub, np.random.default_rng(seed))
    except AssertionError as exc:
        return str(exc) or "failed without a message"
    finally:
        sub.close()
    return ""


# ----- the reference answers and the stubs


@pytest.mark.parametrize("stem", sorted(GRADED))
def test_reference_answer_scores_full_marks(stem, answer_notebook):
    result = grade(answer_notebook(stem), stem)
    outcomes.assert_full_marks(result, stem)
    assert result["score"] > 0


@pytest.mark.parametrize("stem", sorted(GRADED))
def test_stub_scores_zero_with_short_messages(stem, make_notebook):
    cells = ["import jax\nimport jax.numpy as jnp"] + [
        f"def {name}(*args, **kwargs):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
        for name in GRADED[stem]]
    outcomes.assert_stub_scores_zero(grade(make_notebook(stem, cells), stem), stem)


# ----- 04_jax_vmap

BATCHED_LOOP_AND_MEAN_GRADS = '''
def batched_predict(params, xs):
    return jnp.stack([predict(params, x) for x in xs])


def per_example_grads(params, xs, ys):
    def loss(p):
        return jnp.mean((batched_predict(p, xs) - ys) ** 2)
    return jax.grad(loss)(params)
'''

PREDICT_WITHOUT_BIAS = '''
def predict(params, x):
    return params["v"] @ jnp.tanh(x @ params["w"])
'''


def test_04_python_loop_and_batch_gradient_lose_their_points(make_notebook):
    stem = "04_jax_vmap"
    nb = make_notebook(stem, [reference_copy(stem), "import jax\nimport jax.numpy as jnp",
                              BATCHED_LOOP_AND_MEAN_GRADS])
    outcomes.assert_outcome(grade(nb, stem), stem, failed={
        "batched_predict_is_vectorized":
            "batched_predict loops in Python over examples: build it with "
            "jax.vmap(predict, in_axes=(None, 0))",
        "per_example_grads_match_reference": "one gradient for the whole batch",
    })
    message = run_speed_test(stem, nb, "test_batched_predict_speed_vs_python_loop")
    assert "faster than a Python loop" in message, message


def test_04_predict_without_bias_loses_its_points(make_notebook):
    stem = "04_jax_vmap"
    nb = make_notebook(stem, [reference_copy(stem), "import jax.numpy as jnp", PREDICT_WITHOUT_BIAS])
    outcomes.assert_outcome(grade(nb, stem), stem, failed={"predict_matches_reference": "differs from the reference"})


def test_04_speed_grader_runs_on_the_reference(answer_notebook):
    message = run_speed_test("04_jax_vmap", answer_notebook("04_jax_vmap"),
                             "test_batched_predict_speed_vs_python_loop")
    assert message == "" or (not outcomes.on_gpu() and "faster than a Python loop" in message), message


# ----- 05_heat_equation_jax

ROLL_STEP_AND_PYTHON_LOOP = '''
def heat_step(u, alpha, dt, dx):
    r = alpha * dt / dx**2
    return u + r * (jnp.roll(u, 1, 0) + jnp.roll(u, -1, 0) + jnp.roll(u, 1, 1) + jnp.roll(u, -1, 1) - 4 * u)


def simulate(u0, alpha, dt, dx, n_steps):
    u = u0
    for _ in range(n_steps):
        u = _ok.heat_step(u, alpha, dt, dx)
    return u
'''

DX_STEP_AND_UNROLLED_JIT = '''
from functools import partial


def heat_step(u, alpha, dt, dx):
    r = alpha * dt / dx
    lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
    return u.at[1:-1, 1:-1].add(r * lap)


@partial(jax.jit, static_argnums=4)
def simulate(u0, alpha, dt, dx, n_steps):
    u = u0
    for _ in range(n_steps):
        u = _ok.heat_step(u, alpha, dt, dx)
    return u
'''

HOST_SIMULATE = '''
def simulate(u0, alpha, dt, dx, n_steps):
    u = np.array(u0)
    r = alpha * dt / dx**2
    for _ in range(n_steps):
        new = u.copy()
        new[1:-1, 1:-1] += r * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1])
        u = new
    return u
'''


def test_05_boundary_and_python_loop_lose_their_points(make_notebook):
    stem = "05_heat_equation_jax"
    nb = make_notebook(stem, [reference_copy(stem), "import jax.numpy as jnp", ROLL_STEP_AND_PYTHON_LOOP])
    outcomes.assert_outcome(grade(nb, stem), stem, failed={
        "heat_step_keeps_boundary": "boundary changed: Dirichlet edges must keep their values",
        "simulate_is_jitted": "simulate is not jit-compiled: the loop runs in Python",
        "simulate_loop_is_compiled": "simulate is not jit-compiled: the loop runs in Python",
    })


def test_05_dx_coefficient_and_unrolled_jit_lose_their_points(make_notebook):
    stem = "05_heat_equation_jax"
    nb = make_notebook(stem, [reference_copy(stem), "import jax", DX_STEP_AND_UNROLLED_JIT])
    outcomes.assert_outcome(grade(nb, stem), stem, failed={
        "heat_step_interior_matches_reference": "dx instead of dx**2",
        "simulate_loop_is_compiled": "simulate unrolls a Python loop inside jit: use jax.lax.fori_loop",
    })


def test_05_host_numpy_simulate_loses_its_points(make_notebook):
    stem = "05_heat_equation_jax"
    nb = make_notebook(stem, [reference_copy(stem), "import numpy as np", HOST_SIMULATE])
    outcomes.assert_outcome(grade(nb, stem), stem, failed={
        "simulate_matches_reference": "returned a NumPy array: the work ran on the host",
        "simulate_is_jitted": "its loop runs in Python, copying the array to the host",
        "simulate_loop_is_compiled": "its loop runs in Python, copying the array to the host",
    })


def test_05_speed_grader_runs_on_the_reference(answer_notebook):
    # On a GPU the reference passes. On a (shared, loaded) CPU the grader must get as far as the
    # timing; the bars are set for a GPU, so the verdict there is not asserted.
    nb = answer_notebook("05_heat_equation_jax")
    message = run_speed_test("05_heat_equation_jax", nb, "test_simulate_speed_vs_plain_loop")
    assert message == "" or (not outcomes.on_gpu() and "a plain jitted fori_loop" in message), message


# ----- 06_deep_learning_jax

UNSCALED_INIT_SUM_LOSS_UNJITTED_STEP_FIXED_LR = '''
def init_mlp(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [(jax.random.normal(k, (m, n)), jnp.zeros(n)) for k, m, n in zip(keys, sizes[:-1], sizes[1:])]


def cross_entropy(params, x, labels):
    log_probs = jax.nn.log_softmax(mlp_forward(params, x))
    return -jnp.sum(log_probs[jnp.arange(labels.shape[0]), labels])


def train_step(params, x, labels, learning_rate):
    loss, grads = jax.value_and_grad(_ok.cross_entropy)(params, x, labels)
    return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss


def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):
    init_key, key = jax.random.split(key)
    params = _ok.init_mlp(init_key, sizes)
    for _ in range(epochs):
        key, sub = jax.random.split(key)
        order = jax.random.permutation(sub, x.shape[0])
        for start in range(0, x.shape[0], batch_size):
            batch = order[start:start + batch_size]
            params, _ = _ok.train_step(params, x[batch], labels[batch], 1e-3)
    return params
'''

BIASED_INIT_RELU_LOGITS_LOSS_AFTER_ASCENT = '''
def init_mlp(key, sizes):
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        key, k_w, k_b = jax.random.split(key, 3)
        W = jax.random.normal(k_w, (m, n)) * jnp.sqrt(2.0 / m)
        params.append((W, 0.1 * jax.random.normal(k_b, (n,))))
    return params


def mlp_forward(params, x):
    h = x
    for W, b in params:
        h = jax.nn.relu(h @ W + b)
    return h


@jax.jit
def train_step(params, x, labels, learning_rate):
    grads = jax.grad(_ok.cross_entropy)(params, x, labels)
    new_params = jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)
    return new_params, _ok.cross_entropy(new_params, x, labels)


def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):
    init_key, key = jax.random.split(key)
    params = _ok.init_mlp(init_key, sizes)
    grad = jax.jit(jax.grad(_ok.cross_entropy))
    for _ in range(epochs):
        key, sub = jax.random.split(key)
        order = jax.random.permutation(sub, x.shape[0])
        for start in range(0, x.shape[0], batch_size):
            batch = order[start:start + batch_size]
            grads = grad(params, x[batch], labels[batch])
            params = jax.tree.map(lambda p, g: p + learning_rate * g, params, grads)
    return params
'''


def test_06_scale_sum_jit_and_step_size_mistakes_lose_their_points(make_notebook):
    stem = "06_deep_learning_jax"
    nb = make_notebook(stem, [reference_copy(stem), "import jax\nimport jax.numpy as jnp",
                              UNSCALED_INIT_SUM_LOSS_UNJITTED_STEP_FIXED_LR])
    outcomes.assert_outcome(grade(nb, stem), stem, failed={
        "init_mlp_scaling_and_keys": "standard deviation",
        "cross_entropy_matches_reference": "the sum over the batch, not the mean",
        "train_step_is_jitted": "train_step is not jit-compiled",
        "train_mlp_reaches_accuracy": "accuracy on the held-out digits, expected at least 90%",
    })
    message = run_speed_test(stem, nb, "test_train_step_speed_vs_reference")
    assert "the reference's" in message, message


def test_06_bias_relu_loss_and_ascent_mistakes_lose_their_points(make_notebook):
    stem = "06_deep_learning_jax"
    nb = make_notebook(stem, [reference_copy(stem), "import jax\nimport jax.numpy as jnp",
                              BIASED_INIT_RELU_LOGITS_LOSS_AFTER_ASCENT])
    outcomes.assert_outcome(grade(nb, stem), stem, failed={
        "init_mlp_shapes_and_zero_biases": "biases start at zero",
        "mlp_forward_matches_reference": "ReLU on the logits",
        "train_step_matches_reference": "it is the loss AFTER the step",
        "train_mlp_reaches_accuracy": "the training diverged; check the update sign",
    })


def test_06_speed_grader_runs_on_the_reference(answer_notebook):
    nb = answer_notebook("06_deep_learning_jax")
    message = run_speed_test("06_deep_learning_jax", nb, "test_train_step_speed_vs_reference")
    assert message == "" or (not outcomes.on_gpu() and "the reference's" in message), message
