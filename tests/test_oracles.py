"""The NumPy oracles against computations that share no code with them: explicit Python loops
over scalars (math module), central finite differences for every gradient, and the closed-form
least-squares solution for fit_linear."""

import math
import statistics

import numpy as np
import pytest

from solutions import oracles

FD_EPS = 1e-6




def central_difference(f, x):
    """d f / d x for a scalar function f of the float64 array x (perturbed in place)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + FD_EPS
        up = f()
        x[index] = saved - FD_EPS
        down = f()
        x[index] = saved
        grad[index] = (up - down) / (2 * FD_EPS)
    return grad


def assert_close(actual, expected, rtol=1e-9, atol=1e-9):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol)


# --- 01_jax_intro -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (2, 2), (3, 3), (5, 8), (9, 4)])
def test_set_boundary_matches_a_cell_by_cell_loop(rng, shape):
    u = rng.normal(size=shape)
    before = u.copy()
    value = float(rng.normal())
    ny, nx = shape
    expected = np.array([[value if i in (0, ny - 1) or j in (0, nx - 1) else u[i, j]
                          for j in range(nx)] for i in range(ny)])
    assert_close(oracles.set_boundary(u, value), expected, rtol=0, atol=0)
    np.testing.assert_array_equal(u, before)


@pytest.mark.parametrize("shape", [(2, 1), (5, 3), (40, 7)])
def test_standardize_matches_statistics_module(rng, shape):
    x = rng.normal(3.0, 2.0, size=shape)
    expected = np.empty(shape)
    for j in range(shape[1]):
        column = [float(v) for v in x[:, j]]
        mean, std = statistics.fmean(column), statistics.pstdev(column)
        expected[:, j] = [(v - mean) / std for v in column]
    assert_close(oracles.standardize(x), expected)


# --- 02_jax_jit ---------------------------------------------------------------------------------


def scalar_gelu(x):
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 5)])
def test_gelu_matches_math_module_loop(rng, shape):
    x = rng.uniform(-6, 6, size=shape)
    expected = np.vectorize(scalar_gelu)(x)
    assert_close(oracles.gelu(x), expected, rtol=1e-13, atol=1e-15)


def test_gelu_is_finite_and_saturates_far_out():
    x = np.array([-40.0, 40.0])
    assert_close(oracles.gelu(x), [scalar_gelu(-40.0), 40.0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(1,), (10,), (4, 6)])
def test_clipped_sum_matches_a_loop(rng, shape):
    x = rng.normal(size=shape)
    threshold = float(abs(x.flat[0]))  # an entry exactly at the threshold counts (<=)
    for t in (threshold, 0.5, 0.0, -1.0, math.inf):
        expected = math.fsum(v for v in x.flat if abs(v) <= t)
        assert_close(oracles.clipped_sum(x, t), expected, rtol=1e-12, atol=1e-12)


# --- 03_jax_grad --------------------------------------------------------------------------------


def linear_params(rng, d):
    return {"w": rng.normal(size=d), "b": np.asarray(rng.normal())}


def loop_mse(params, x, y):
    n, d = x.shape
    residuals = [sum(x[i, k] * params["w"][k] for k in range(d)) + float(params["b"]) - y[i]
                 for i in range(n)]
    return math.fsum(r * r for r in residuals) / n


@pytest.mark.parametrize("n, d", [(1, 1), (1, 4), (7, 3), (30, 5)])
def test_mse_loss_matches_a_loop(rng, n, d):
    params, x, y = linear_params(rng, d), rng.normal(size=(n, d)), rng.normal(size=n)
    assert_close(oracles.mse_loss(params, x, y), loop_mse(params, x, y), rtol=1e-12)


@pytest.mark.parametrize("n, d", [(1, 1), (1, 4), (7, 3), (30, 5)])
def test_mse_grad_matches_finite_differences(rng, n, d):
    params, x, y = linear_params(rng, d), rng.normal(size=(n, d)), rng.normal(size=n)
    grads = oracles.mse_grad(params, x, y)
    assert set(grads) == {"w", "b"}
    for name in ("w", "b"):
        expected = central_difference(lambda: oracles.mse_loss(params, x, y), params[name])
        assert np.shape(grads[name]) == np.shape(params[name])
        assert_close(grads[name], expected, rtol=1e-6, atol=1e-8)


def test_fit_linear_with_no_steps_is_the_zero_start(rng):
    fitted = oracles.fit_linear(rng.normal(size=(5, 3)), rng.normal(size=5), 0.1, 0)
    assert_close(fitted["w"], np.zeros(3), atol=0)
    assert_close(fitted["b"], 0.0, atol=0)


def test_fit_linear_first_step_is_minus_learning_rate_times_the_gradient(rng):
    x, y, lr = rng.normal(size=(6, 2)), rng.normal(size=6), 0.05
    zero = {"w": np.zeros(2), "b": np.asarray(0.0)}
    fitted = oracles.fit_linear(x, y, lr, 1)
    for name in ("w", "b"):
        expected = -lr * central_difference(lambda: loop_mse(zero, x, y), zero[name])
        assert_close(fitted[name], expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n, d", [(20, 1), (50, 3), (80, 6)])
def test_fit_linear_converges_to_least_squares(rng, n, d):
    x = rng.normal(size=(n, d))
    y = x @ rng.normal(size=d) + rng.normal() + 0.1 * rng.normal(size=n)
    design = np.column_stack([x, np.ones(n)])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    # 1 / (largest curvature of the loss) is a step size that converges for any data.
    curvature = np.linalg.eigvalsh(2 / n * design.T @ design)
    fitted = oracles.fit_linear(x, y, 1 / curvature[-1], 4000)
    assert_close(fitted["w"], solution[:-1], rtol=1e-7, atol=1e-8)
    assert_close(fitted["b"], solution[-1], rtol=1e-7, atol=1e-8)


# --- 04_jax_vmap --------------------------------------------------------------------------------


def mlp_params(rng, d, h):
    return {"w": rng.normal(size=(d, h)), "b": rng.normal(size=h), "v": rng.normal(size=h)}


def loop_predict(params, x):
    d, h = params["w"].shape
    return math.fsum(params["v"][k] * math.tanh(
        math.fsum(x[i] * params["w"][i, k] for i in range(d)) + params["b"][k]) for k in range(h))


@pytest.mark.parametrize("n, d, h", [(1, 2, 3), (4, 3, 5), (6, 1, 1)])
def test_predict_and_batched_predict_match_a_loop(rng, n, d, h):
    params, xs = mlp_params(rng, d, h), rng.normal(size=(n, d))
    expected = [loop_predict(params, x) for x in xs]
    assert_close(oracles.predict(params, xs[0]), expected[0], rtol=1e-12)
    batched = oracles.batched_predict(params, xs)
    assert np.shape(batched) == (n,)
    assert_close(batched, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n, d, h", [(1, 2, 3), (4, 3, 5), (3, 1, 1)])
def test_per_example_grads_match_finite_differences(rng, n, d, h):
    params, xs, ys = mlp_params(rng, d, h), rng.normal(size=(n, d)), rng.normal(size=n)
    grads = oracles.per_example_grads(params, xs, ys)
    assert set(grads) == {"w", "b", "v"}
    for k in range(n):
        for name in ("w", "b", "v"):
            expected = central_difference(
                lambda: (loop_predict(params, xs[k]) - ys[k]) ** 2, params[name])
            assert grads[name].shape == (n,) + params[name].shape
            assert_close(grads[name][k], expected, rtol=1e-6, atol=1e-8)


# --- 05_heat_equation_jax -----------------------------------------------------------------------


def loop_heat_step(u, alpha, dt, dx):
    ny, nx = u.shape
    r = alpha * dt / dx**2
    out = [[float(u[i, j]) for j in range(nx)] for i in range(ny)]
    for i in range(1, ny - 1):
        for j in range(1, nx - 1):
            out[i][j] = u[i, j] + r * (u[i + 1, j] + u[i - 1, j] + u[i, j + 1] + u[i, j - 1]
                                       - 4 * u[i, j])
    return np.array(out)


HEAT_CASES = [((3, 3), 0.1), ((4, 7), 1.0), ((9, 5), 0.25), ((16, 16), 2.5)]


@pytest.mark.parametrize("shape, dx", HEAT_CASES)
def test_heat_step_matches_a_cell_by_cell_loop(rng, shape, dx):
    u = rng.uniform(-50, 100, size=shape)
    alpha = float(rng.uniform(0.1, 3.0))
    dt = float(rng.uniform(0.1, 1.0)) * dx**2 / (4 * alpha)
    before = u.copy()
    result = oracles.heat_step(u, alpha, dt, dx)
    assert result.dtype == np.float64
    assert_close(result, loop_heat_step(u, alpha, dt, dx), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(u, before)


@pytest.mark.parametrize("shape, dx", HEAT_CASES)
@pytest.mark.parametrize("n_steps", [0, 1, 5])
def test_simulate_repeats_the_looped_step(rng, shape, dx, n_steps):
    u = rng.uniform(0, 100, size=shape).astype(np.float32)
    alpha, dt = 0.7, 0.2 * dx**2 / 0.7
    expected = u.astype(np.float64)
    for _ in range(n_steps):
        expected = loop_heat_step(expected, alpha, dt, dx)
    assert_close(oracles.simulate(u, alpha, dt, dx, n_steps), expected, rtol=1e-12, atol=1e-10)


# --- 06_deep_learning_jax -----------------------------------------------------------------------


def network(rng, sizes):
    return [(rng.normal(size=(m, k)) / math.sqrt(m), rng.normal(size=k) * 0.1)
            for m, k in zip(sizes[:-1], sizes[1:])]


def loop_forward(params, row):
    h = [float(v) for v in row]
    for layer, (W, b) in enumerate(params):
        h = [math.fsum(h[i] * W[i, j] for i in range(len(h))) + b[j] for j in range(W.shape[1])]
        if layer < len(params) - 1:
            h = [max(v, 0.0) for v in h]
    return h


def loop_cross_entropy(params, x, labels):
    losses = []
    for row, label in zip(x, labels):
        logits = loop_forward(params, row)
        top = max(logits)
        log_norm = top + math.log(math.fsum(math.exp(v - top) for v in logits))
        losses.append(log_norm - logits[label])
    return math.fsum(losses) / len(losses)


NETWORKS = [(1, [3, 2]), (5, [4, 6, 3]), (8, [5, 7, 4, 3])]


@pytest.mark.parametrize("n, sizes", NETWORKS)
def test_mlp_forward_and_cross_entropy_match_loops(rng, n, sizes):
    params, x = network(rng, sizes), rng.normal(size=(n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    logits = oracles.mlp_forward(params, x)
    assert logits.shape == (n, sizes[-1])
    assert_close(logits, [loop_forward(params, row) for row in x], rtol=1e-12, atol=1e-12)
    assert_close(oracles.cross_entropy(params, x, labels), loop_cross_entropy(params, x, labels),
                 rtol=1e-12)


def test_cross_entropy_is_finite_for_huge_logits(rng):
    params = [(np.eye(3) * 1e4, np.zeros(3))]
    x, labels = rng.normal(size=(4, 3)), np.array([0, 1, 2, 0])
    assert math.isfinite(float(oracles.cross_entropy(params, x, labels)))


@pytest.mark.parametrize("n, sizes", NETWORKS)
def test_cross_entropy_grad_matches_finite_differences(rng, n, sizes):
    params, x = network(rng, sizes), rng.normal(size=(n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    grads = oracles.cross_entropy_grad(params, x, labels)
    assert len(grads) == len(params)
    for (W, b), (dW, db) in zip(params, grads):
        for array, grad in ((W, dW), (b, db)):
            expected = central_difference(lambda: loop_cross_entropy(params, x, labels), array)
            assert grad.shape == array.shape
            assert_close(grad, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n, sizes", NETWORKS)
def test_train_step_is_one_descent_step_and_reports_the_loss_before(rng, n, sizes):
    params, x = network(rng, sizes), rng.normal(size=(n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    lr = float(rng.uniform(0.01, 0.5))
    snapshot = [(W.copy(), b.copy()) for W, b in params]
    probe = [(W.copy(), b.copy()) for W, b in params]  # perturbed by the finite differences
    new_params, loss = oracles.train_step(params, x, labels, lr)
    assert_close(loss, loop_cross_entropy(snapshot, x, labels), rtol=1e-12)
    for (W, b), (new_W, new_b) in zip(probe, new_params):
        for old, new in ((W, new_W), (b, new_b)):
            grad = central_difference(lambda: loop_cross_entropy(probe, x, labels), old)
            assert_close(new, old - lr * grad, rtol=1e-6, atol=1e-8)
    for (W, b), (W0, b0) in zip(params, snapshot):  # the inputs are left as they were
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
