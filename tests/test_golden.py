"""The golden NumPy examples: the physics of the heat solver (boundaries kept, maximum principle,
decay to the boundary value, the stability limit), the MLP's hand-written gradients against
finite differences and its accuracy on the digits, and that each file stands alone."""

import ast
import math
import sys
import time

import numpy as np
import pytest

from course.digits import load_digits
from solutions.golden import golden_source, heat, mlp

FD_EPS = 1e-6




def edges(u):
    return np.concatenate([u[0], u[-1], u[1:-1, 0], u[1:-1, -1]])


# --- heat ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, dx", [((4, 4), 1.0), ((7, 12), 0.1), ((20, 9), 2.5)])
def test_heat_step_keeps_edges_dtype_and_input(rng, shape, dx):
    u = rng.uniform(-10, 100, size=shape).astype(np.float32)
    before = u.copy()
    alpha = float(rng.uniform(0.5, 2.0))
    new = heat.heat_step(u, alpha, heat.stable_dt(alpha, dx), dx)
    assert new.dtype == np.float32 and new is not u
    np.testing.assert_array_equal(edges(new), edges(u))
    np.testing.assert_array_equal(u, before)
    assert not np.array_equal(new[1:-1, 1:-1], u[1:-1, 1:-1])


@pytest.mark.parametrize("shape", [(3, 3), (8, 6), (16, 16)])
def test_hot_square_is_hot_inside_and_cold_on_the_edges(shape):
    u = heat.hot_square(*shape, hot=80.0, cold=5.0)
    assert u.shape == shape and u.dtype == np.float32
    np.testing.assert_array_equal(edges(u), 5.0)
    assert u[shape[0] // 2, shape[1] // 2] == 80.0
    assert heat.hot_square(*shape, dtype=np.float64).dtype == np.float64


def test_solve_keeps_boundaries_and_obeys_the_maximum_principle(rng):
    dx, alpha = 0.5, 1.3
    dt = heat.stable_dt(alpha, dx)
    u = heat.hot_square(24, 18, hot=100.0, cold=20.0)
    u[0] = rng.uniform(0, 30, size=u.shape[1]).astype(np.float32)  # a non-constant edge
    peaks = []
    for _ in range(60):
        new = heat.solve(u, alpha, dt, dx, 1)
        np.testing.assert_array_equal(edges(new), edges(u))
        peaks.append(float(new[1:-1, 1:-1].max()))
        u = new
    assert all(b <= a + 1e-4 for a, b in zip(peaks, peaks[1:]))  # never heats up
    assert peaks[-1] < peaks[0]


@pytest.mark.parametrize("cold", [0.0, 20.0])
def test_solve_decays_to_the_boundary_value(cold):
    dx, alpha = 1.0, 0.8
    u0 = heat.hot_square(12, 10, hot=100.0, cold=cold)
    final = heat.solve(u0, alpha, heat.stable_dt(alpha, dx), dx, 1500)
    assert np.max(np.abs(final - cold)) < 0.01 * (100.0 - cold)
    assert u0.max() == 100.0  # the input is left as it was


def test_solve_is_repeated_heat_step(rng):
    u0 = rng.uniform(0, 50, size=(9, 11)).astype(np.float32)
    dt = 0.5 * heat.stable_dt(2.0, 0.3)
    expected = u0
    for _ in range(13):
        expected = heat.heat_step(expected, 2.0, dt, 0.3)
    np.testing.assert_array_equal(heat.solve(u0, 2.0, dt, 0.3, 13), expected)


@pytest.mark.parametrize("alpha, dx", [(1.0, 1.0), (0.3, 0.05), (2.0, 3.0)])
def test_stable_dt_is_the_real_stability_limit(alpha, dx):
    # A checkerboard is the mode that grows first when dt is too large.
    u0 = np.indices((16, 16)).sum(axis=0) % 2 * 2.0 - 1.0
    u0[0] = u0[-1] = u0[:, 0] = u0[:, -1] = 0.0
    limit = heat.stable_dt(alpha, dx)

    def peak_after(dt):
        u = u0
        for _ in range(200):
            u = heat.heat_step(u, alpha, dt, dx)
        return np.abs(u).max()

    assert peak_after(limit) <= 1.0
    assert peak_after(1.1 * limit) > 10.0


@pytest.mark.parametrize("alpha, dx", [(1.0, 1.0), (0.3, 0.05)])
def test_unstable_dt_is_refused_with_a_message_about_dt(alpha, dx):
    limit = heat.stable_dt(alpha, dx)
    heat.check_stability(alpha, limit, dx)  # the limit itself is allowed
    unstable = 1.2 * limit
    with pytest.raises(ValueError, match="dt") as caught:
        heat.check_stability(alpha, unstable, dx)
    assert str(unstable) in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="dt"):
        heat.solve(heat.hot_square(6, 6), alpha, unstable, dx, 3)


@pytest.mark.parametrize("alpha, dt, dx", [(0.0, 0.1, 1.0), (1.0, -0.1, 1.0), (1.0, 0.1, 0.0)])
def test_non_positive_inputs_are_refused(alpha, dt, dx):
    with pytest.raises(ValueError):
        heat.check_stability(alpha, dt, dx)


# --- mlp ----------------------------------------------------------------------------------------


def as_float64(params):
    return [(W.astype(np.float64), b.astype(np.float64)) for W, b in params]


@pytest.mark.parametrize("sizes", [[4, 3], [5, 7, 3], [6, 8, 5, 4]])
def test_init_params(rng, sizes):
    params = mlp.init_params(rng, sizes)
    assert len(params) == len(sizes) - 1
    for (W, b), m, k in zip(params, sizes[:-1], sizes[1:]):
        assert W.shape == (m, k) and b.shape == (k,)
        assert W.dtype == np.float32 and b.dtype == np.float32
        np.testing.assert_array_equal(b, 0)


def test_init_params_has_he_scale(rng):
    W, _ = mlp.init_params(rng, [200, 300])[0]
    assert abs(W.std() / math.sqrt(2 / 200) - 1) < 0.05


@pytest.mark.parametrize("n, sizes", [(1, [4, 3]), (5, [5, 7, 3]), (9, [6, 8, 5, 4])])
def test_gradients_match_finite_differences(rng, n, sizes):
    # In float64 (the code keeps its inputs' dtype), where finite differences are accurate.
    params = as_float64(mlp.init_params(rng, sizes))
    params = [(W, b + 0.1 * rng.normal(size=b.shape)) for W, b in params]
    x, labels = rng.normal(size=(n, sizes[0])), rng.integers(0, sizes[-1], size=n)
    _, grads = mlp.loss_and_grads(params, x, labels)
    for (W, b), (dW, db) in zip(params, grads):
        for array, grad in ((W, dW), (b, db)):
            expected = np.zeros_like(array)
            for index in np.ndindex(array.shape):
                saved = array[index]
                array[index] = saved + FD_EPS
                up = mlp.loss_and_grads(params, x, labels)[0]
                array[index] = saved - FD_EPS
                down = mlp.loss_and_grads(params, x, labels)[0]
                array[index] = saved
                expected[index] = (up - down) / (2 * FD_EPS)
            assert grad.shape == array.shape
            np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


def test_loss_is_stable_for_huge_logits(rng):
    params = [(np.eye(3, dtype=np.float32) * 1e4, np.zeros(3, np.float32))]
    loss, grads = mlp.loss_and_grads(params, rng.normal(size=(4, 3)).astype(np.float32),
                                     np.array([0, 1, 2, 0]))
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for pair in grads for g in pair)


def test_sgd_step_descends_and_reports_the_loss_before(rng):
    params = mlp.init_params(rng, [6, 10, 4])
    x = rng.normal(size=(16, 6)).astype(np.float32)
    labels = rng.integers(0, 4, size=16)
    loss_before, grads = mlp.loss_and_grads(params, x, labels)
    new_params, reported = mlp.sgd_step(params, x, labels, 0.05)
    assert reported == loss_before
    for (W, b), (dW, db), (nW, nb) in zip(params, grads, new_params):
        np.testing.assert_allclose(nW, W - 0.05 * dW, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(nb, b - 0.05 * db, rtol=1e-6, atol=1e-7)
        assert nW.dtype == np.float32
    assert mlp.loss_and_grads(new_params, x, labels)[0] < loss_before


def test_accuracy_counts_argmax_hits(rng):
    params = mlp.init_params(rng, [5, 3])
    x, labels = rng.normal(size=(40, 5)).astype(np.float32), rng.integers(0, 3, size=40)
    logits, _ = mlp.forward(params, x)
    assert mlp.accuracy(params, x, labels) == pytest.approx(np.mean(logits.argmax(1) == labels))


def test_training_on_the_digits_is_accurate_and_quick():
    digits = load_digits()
    start = time.perf_counter()
    params = mlp.train(np.random.default_rng(0), digits.x_train, digits.y_train,
                       sizes=[64, 128, 10], epochs=60, batch_size=32, learning_rate=0.2)
    elapsed = time.perf_counter() - start
    assert mlp.accuracy(params, digits.x_test, digits.y_test) >= 0.95
    assert elapsed < 20.0, f"training took {elapsed:.1f} s"
    assert params[0][0].dtype == np.float32  # float32 throughout: it is the speed baseline
    again = mlp.train(np.random.default_rng(0), digits.x_train, digits.y_train,
                      sizes=[64, 128, 10], epochs=1, batch_size=32, learning_rate=0.2)
    other = mlp.train(np.random.default_rng(1), digits.x_train, digits.y_train,
                      sizes=[64, 128, 10], epochs=1, batch_size=32, learning_rate=0.2)
    assert not np.allclose(again[0][0], other[0][0])


# --- self-contained sources (the grader sends their text to a worker) --------------------------


@pytest.mark.parametrize("name", ["heat", "mlp"])
def test_golden_source_stands_alone(rng, name):
    source = golden_source(name)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0
            roots = {node.module.split(".")[0]}
        elif isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        else:
            continue
        assert roots <= {"numpy"} | set(sys.stdlib_module_names), roots
    namespace = {"__name__": "golden_worker"}
    exec(compile(source, f"<golden {name}>", "exec"), namespace)
    if name == "heat":
        u = rng.uniform(0, 1, size=(5, 6)).astype(np.float32)
        np.testing.assert_array_equal(namespace["heat_step"](u, 1.0, 0.2, 1.0),
                                      heat.heat_step(u, 1.0, 0.2, 1.0))
    else:
        params = namespace["init_params"](np.random.default_rng(3), [4, 3])
        x = rng.normal(size=(2, 4)).astype(np.float32)
        np.testing.assert_array_equal(namespace["forward"](params, x)[0],
                                      mlp.forward(params, x)[0])
