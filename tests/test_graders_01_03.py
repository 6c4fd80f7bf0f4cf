"""The graders of 01_jax_intro, 02_jax_jit and 03_jax_grad judge submissions as intended.

The reference answers get full marks, stubs get zero with a short message per test, and each
realistic wrong answer loses exactly the tests of the exercise it breaks, with a message that
names the bug. Wrong answers of independent exercises share one notebook to save kernel starts.
"""

import secrets

import pytest

from autograder import assignment
from autograder.runner import grade
from tests import outcomes

pytestmark = pytest.mark.slow

GRADED = {stem: assignment.GRADED_NAMES[stem] for stem in ("01_jax_intro", "02_jax_jit", "03_jax_grad")}


def run_grade(path, stem):
    seed = secrets.randbits(32)
    result = grade(path, stem, seed=seed)
    result["seed"] = seed  # printed with any failure, to replay the same inputs
    return result


@pytest.mark.parametrize("stem", sorted(GRADED))
def test_reference_answer_gets_full_marks(stem, answer_notebook):
    outcomes.assert_full_marks(run_grade(answer_notebook(stem), stem), stem)


@pytest.mark.parametrize("stem", sorted(GRADED))
def test_stub_gets_zero_with_short_messages(stem, make_notebook):
    stub = "".join(f"def {name}(*a, **k):\n    raise NotImplementedError\n\n" for name in GRADED[stem])
    outcomes.assert_stub_scores_zero(run_grade(make_notebook(stem, [stub]), stem), stem)


# Each entry: the extra cells that break some exercises of the reference answer, and for every
# test that must now fail, a phrase its message must contain. Every other test must pass.
WRONG = {
    "01_jax_intro": [(
        [
            # set_boundary: only the top and bottom rows.
            "def set_boundary(u, value):\n"
            "    u = jnp.asarray(u)\n"
            "    return u.at[0, :].set(value).at[-1, :].set(value)\n",
            # standardize: the sample standard deviation.
            "def standardize(x):\n"
            "    x = jnp.asarray(x)\n"
            "    return (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)\n",
            # sample_normal: draws with the key it was given.
            "def sample_normal(key, shape):\n"
            "    new_key, _ = jax.random.split(key)\n"
            "    return new_key, jax.random.normal(key, shape)\n",
        ],
        {
            "set_boundary_matches_reference": "all four edges",
            "standardize_matches_reference": "ddof=1",
            "standardize_columns_have_mean_0_std_1": "ddof=1",
            "sample_normal_splits_before_drawing": "reused the input key: split it first",
        },
    ), (
        [
            # set_boundary: writes into a NumPy view of its argument.
            "import numpy as np\n"
            "def set_boundary(u, value):\n"
            "    u = np.asarray(u)\n"
            "    u[0, :] = u[-1, :] = u[:, 0] = u[:, -1] = value\n"
            "    return jnp.asarray(u)\n",
            # standardize: along the rows.
            "def standardize(x):\n"
            "    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)\n",
            # sample_normal: draws with the key it returns.
            "def sample_normal(key, shape):\n"
            "    new_key, _ = jax.random.split(key)\n"
            "    return new_key, jax.random.normal(new_key, shape)\n",
        ],
        {
            "set_boundary_matches_reference": "read-only",
            "set_boundary_leaves_input_unchanged": "changed its input array",
            "set_boundary_works_under_jit": "read-only",
            "standardize_matches_reference": "axis=1",
            "standardize_columns_have_mean_0_std_1": "axis=1",
            "sample_normal_splits_before_drawing": "drew the samples with the key it returns",
        },
    )],
    "02_jax_jit": [
        (
            [
                # gelu_jit: the (correct) eager gelu, never compiled.
                "gelu_jit = gelu\n",
                # gelu: a wrong constant in the cubic term.
                "def gelu(x):\n"
                "    x = jnp.asarray(x)\n"
                "    return 0.5 * x * (1.0 + jnp.tanh(math.sqrt(2.0 / math.pi) * (x + 0.04715 * x**3)))\n",
                # clipped_sum: `<` instead of `<=`.
                "def clipped_sum(x, threshold):\n"
                "    x = jnp.asarray(x)\n"
                "    return jnp.sum(jnp.where(jnp.abs(x) < threshold, x, 0))\n",
            ],
            {
                "gelu_matches_reference": "0.044715",
                "gelu_jit_is_jit_compiled": "gelu_jit is not jit-compiled: define it as jax.jit(gelu)",
                "clipped_sum_edge_cases": "use <=, not <",
            },
        ),
        (
            [
                # gelu: host NumPy (gelu_jit still compiles the reference gelu).
                "import numpy as np\n"
                "def gelu(x):\n"
                "    x = np.asarray(x)\n"
                "    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))\n",
                # clipped_sum: a Python loop with an `if` on array values.
                "def clipped_sum(x, threshold):\n"
                "    total = jnp.float32(0.0)\n"
                "    for v in jnp.ravel(x):\n"
                "        if jnp.abs(v) <= threshold:\n"
                "            total = total + v\n"
                "    return total\n",
            ],
            {
                "gelu_matches_reference": "returned a NumPy array",
                "gelu_is_traceable": "gelu cannot be traced by JAX",
                "clipped_sum_works_under_jit": "use jnp.where (or jax.lax.cond)",
            },
        ),
    ],
    "03_jax_grad": [
        (
            [
                # mse_loss: the sum of the squares (mse_grad still differentiates the reference).
                "def mse_loss(params, x, y):\n"
                "    return jnp.sum((x @ params['w'] + params['b'] - y) ** 2)\n",
                # fit_linear: gradient descent in host NumPy with a hand-derived gradient.
                "import numpy as np\n"
                "def fit_linear(x, y, learning_rate, n_steps):\n"
                "    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)\n"
                "    w, b = np.zeros(x.shape[1]), 0.0\n"
                "    for _ in range(n_steps):\n"
                "        r = x @ w + b - y\n"
                "        w, b = w - learning_rate * 2 * x.T @ r / len(y), b - learning_rate * 2 * r.mean()\n"
                "    return {'w': w, 'b': np.asarray(b)}\n",
            ],
            {
                "mse_loss_matches_reference": "looks like a sum, not a mean",
                "fit_linear_runs_in_jax": "returned NumPy arrays",
                "fit_linear_loop_is_compiled": "its loop runs in Python, copying the array to the host",
            },
        ),
        (
            [
                # mse_grad: hand-derived, missing the factor 2. fit_linear gets its own correct
                # gradient so that only mse_grad is wrong in this notebook.
                "def mse_grad(params, x, y):\n"
                "    r = x @ params['w'] + params['b'] - y\n"
                "    return {'w': x.T @ r / r.shape[0], 'b': jnp.mean(r)}\n",
                "_true_grad = jax.grad(mse_loss)\n"
                "@jax.jit\n"
                "def fit_linear(x, y, learning_rate, n_steps):\n"
                "    params = {'w': jnp.zeros(x.shape[1], jnp.float32), 'b': jnp.zeros((), jnp.float32)}\n"
                "    def step(_, params):\n"
                "        grads = _true_grad(params, x, y)\n"
                "        return {k: params[k] - learning_rate * grads[k] for k in params}\n"
                "    return jax.lax.fori_loop(0, n_steps, step, params)\n",
            ],
            {"mse_grad_matches_analytic_gradient": "half the true gradient"},
        ),
    ],
}

WRONG_CASES = [pytest.param(stem, i, id=f"{stem}-{i}") for stem, cases in WRONG.items()
               for i in range(len(cases))]


@pytest.mark.parametrize("stem,index", WRONG_CASES)
def test_wrong_answers_lose_exactly_their_tests(stem, index, answer_notebook):
    cells, must_fail = WRONG[stem][index]
    result = run_grade(answer_notebook(stem, tuple(cells)), stem)
    outcomes.assert_outcome(result, stem, must_fail)
