"""Graders for 03_jax_grad: mse_loss, mse_grad, fit_linear."""

import numpy as np

from autograder.graders.asserts import (assert_close, assert_dtype, assert_on_device, assert_traceable,
                                        compiled_loop_problem, fmt_call)
from autograder.graders.marks import graded
from solutions import oracles

# (n, d) of the data sets: one row, one feature, more features than rows, a wide batch.
SHAPES = [(20, 3), (1, 4), (7, 1), (3, 8), (64, 10)]


def _problem(rng, n, d, noise=0.1):
    """x (n, d), y (n,) from a random linear model plus noise, and random params to evaluate at."""
    x = rng.standard_normal((n, d)).astype(np.float32)
    w_true, b_true = rng.uniform(-2, 2, size=d), rng.uniform(-2, 2)
    y = (x @ w_true + b_true + noise * rng.standard_normal(n)).astype(np.float32)
    params = {"w": rng.standard_normal(d).astype(np.float32),
              "b": np.asarray(rng.standard_normal(), dtype=np.float32)}
    return params, x, y


def _as_params(value, d, call) -> dict:
    """The student's params-shaped result as {"w": (d,), "b": ()} float arrays, or a clear failure."""
    if not isinstance(value, dict) or set(value) != {"w", "b"}:
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise AssertionError(f"{call} returned {got}, expected a dict with keys 'w' and 'b' "
                             "shaped like params")
    out = {k: np.asarray(v) for k, v in value.items()}
    if out["w"].shape != (d,) or out["b"].shape != ():
        raise AssertionError(f"{call} returned w of shape {out['w'].shape} and b of shape "
                             f"{out['b'].shape}, expected ({d},) and ()")
    return out


# ----------------------------------------------------------------------------------------------
# mse_loss (4 points)


def _loss_hint(got, expected, n) -> str:
    got = np.asarray(got, dtype=np.float64)
    if got.size != 1:
        return "the loss is one number: the mean over the rows of (x @ w + b - y)**2"
    got = float(got.reshape(()))
    if n > 1 and np.isclose(got, n * expected, rtol=1e-4):
        return "looks like a sum, not a mean: use jnp.mean over the rows"
    if np.isclose(got, np.sqrt(expected), rtol=1e-4):
        return "that is the root of the mean square: drop the sqrt"
    if np.isclose(got, expected / 2, rtol=1e-4):
        return "a factor 1/2 too many: the loss is the plain mean of the squared residuals"
    return "mean over the rows of (x @ w + b - y)**2"


@graded
def test_mse_loss_matches_reference(submission, rng):
    """mse_loss is the mean (not the sum) of the squared residuals, at several shapes."""
    for n, d in SHAPES:
        params, x, y = _problem(rng, n, d)
        call = fmt_call("mse_loss", params, x, y)
        got = submission.call("mse_loss", params, x, y)
        expected = oracles.mse_loss(params, x, y)
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
        assert_close(got.value, expected, call=call, rtol=1e-4, atol=1e-6,
                     hint=_loss_hint(got.value, float(expected), n))


@graded
def test_mse_loss_is_traceable(submission, rng):
    """mse_loss traces with params, x and y all abstract, as jax.grad needs."""
    params, x, y = _problem(rng, 6, 2)
    submission.call("mse_loss", params, x, y)  # a function that raises says so before tracing
    assert_traceable(submission.trace("mse_loss", params, x, y), name="mse_loss")


# ----------------------------------------------------------------------------------------------
# mse_grad (4 points)


@graded
def test_mse_grad_returns_params_shaped_dict(submission, rng):
    """mse_grad returns a dict with keys w and b shaped like params, float32 JAX arrays."""
    params, x, y = _problem(rng, 9, 3)
    call = fmt_call("mse_grad", params, x, y)
    got = submission.call("mse_grad", params, x, y)
    grads = _as_params(got.value, 3, call + " (differentiate with respect to params: jax.grad(mse_loss))")
    assert_on_device(got, call=call)
    for k in ("w", "b"):
        assert_dtype(grads[k], np.float32, call=f"{call}[{k!r}]")


def _grad_hint(got, expected, n) -> str:
    g = np.concatenate([np.ravel(got["w"]), np.ravel(got["b"])]).astype(np.float64)
    e = np.concatenate([np.ravel(expected["w"]), np.ravel(expected["b"])])
    if np.allclose(2 * g, e, rtol=1e-3, atol=1e-5):
        return "half the true gradient: d/dr of r**2 is 2*r"
    if n > 1 and np.allclose(g, n * e, rtol=1e-3, atol=1e-5):
        return "the gradient of a sum, not of the mean"
    return "use mse_grad = jax.grad(mse_loss), which differentiates with respect to params"


@graded
def test_mse_grad_matches_analytic_gradient(submission, rng):
    """mse_grad equals the hand-derived gradient 2/n x^T r and 2 mean(r), at several shapes."""
    for n, d in SHAPES:
        params, x, y = _problem(rng, n, d)
        call = fmt_call("mse_grad", params, x, y)
        grads = _as_params(submission.call("mse_grad", params, x, y).value, d, call)
        expected = oracles.mse_grad(params, x, y)
        hint = _grad_hint(grads, expected, n)
        scale = float(np.abs(expected["w"]).max(initial=0.0) + np.abs(expected["b"]))
        for k in ("w", "b"):
            assert_close(grads[k], expected[k], call=f"{call}[{k!r}]", rtol=1e-4,
                         atol=1e-5 * scale + 1e-6, hint=hint)


# ----------------------------------------------------------------------------------------------
# fit_linear (8 points)


@graded
def test_fit_linear_follows_gradient_descent(submission, rng):
    """A few steps of fit_linear from w = 0, b = 0 land where plain gradient descent does."""
    for (n, d), n_steps in zip([(30, 3), (12, 1), (40, 4), (1, 2)], [1, 5, 25, 3]):
        _, x, y = _problem(rng, n, d)
        learning_rate = float(rng.uniform(0.02, 0.1))
        call = fmt_call("fit_linear", x, y, learning_rate, n_steps)
        got = _as_params(submission.call("fit_linear", x, y, learning_rate, n_steps).value, d, call)
        expected = oracles.fit_linear(x, y, learning_rate, n_steps)
        for k in ("w", "b"):
            assert_close(got[k], expected[k], call=f"{call}[{k!r}]", rtol=1e-4, atol=1e-5,
                         hint="start from w = 0, b = 0 and take exactly n_steps steps of "
                              "params - learning_rate * grad, with grad from jax.grad(mse_loss)")


@graded
def test_fit_linear_recovers_least_squares_fit(submission, rng):
    """On well-conditioned data, enough steps of fit_linear reach the least-squares solution."""
    n, d = 256, 3
    _, x, y = _problem(rng, n, d, noise=0.05)
    learning_rate, n_steps = 0.1, 200
    call = fmt_call("fit_linear", x, y, learning_rate, n_steps)
    got = _as_params(submission.call("fit_linear", x, y, learning_rate, n_steps).value, d, call)
    design = np.hstack([x.astype(np.float64), np.ones((n, 1))])
    solution = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]
    hint = "gradient descent on the mean squared error should converge here; check the update's sign"
    assert_close(got["w"], solution[:d], call=f"{call}['w']", rtol=0, atol=1e-3, hint=hint)
    assert_close(got["b"], solution[d], call=f"{call}['b']", rtol=0, atol=1e-3, hint=hint)


@graded
def test_fit_linear_runs_in_jax(submission, rng):
    """fit_linear computes in JAX: its result is float32 JAX arrays, not host NumPy."""
    _, x, y = _problem(rng, 16, 2)
    call = fmt_call("fit_linear", x, y, 0.05, 10)
    got = submission.call("fit_linear", x, y, 0.05, 10)
    params = _as_params(got.value, 2, call)
    if "numpy" in got.kinds:
        raise AssertionError(f"{call} returned NumPy arrays: the descent ran on the host; take the "
                             "gradient with jax.grad (mse_grad) and update the params with jnp")
    for k in ("w", "b"):
        assert_dtype(params[k], np.float32, call=f"{call}[{k!r}]")


@graded
def test_fit_linear_loop_is_compiled(submission, rng):
    """fit_linear is jit-compiled with its loop inside (jax.lax.fori_loop): its program does not
    grow with n_steps."""
    _, x, y = _problem(rng, 12, 3)
    submission.call("fit_linear", x, y, 0.05, 3)  # a function that raises says so before tracing
    counts = (3, 30)
    short, long = (submission.trace("fit_linear", x, y, 0.05, n, static=(2, 3)) for n in counts)
    problem = compiled_loop_problem("fit_linear", short, long, counts)
    if problem:
        raise AssertionError(f"{problem}; the task asks for the descent loop written with "
                             "jax.lax.fori_loop inside jax.jit")
