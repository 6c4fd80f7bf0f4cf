"""The JAX reference answers against the NumPy oracles (float32 tolerances, fresh random inputs,
several shapes), the structural facts SPEC.md asks for, and the answer files' packaging."""

import ast
import importlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from solutions import answers, oracles
from course.digits import load_digits

GRADED_NAMES = {
    "01_jax_intro": {"set_boundary", "standardize", "sample_normal"},
    "02_jax_jit": {"gelu", "gelu_jit", "clipped_sum"},
    "03_jax_grad": {"mse_loss", "mse_grad", "fit_linear"},
    "04_jax_vmap": {"predict", "batched_predict", "per_example_grads"},
    "05_heat_equation_jax": {"heat_step", "simulate"},
    "06_deep_learning_jax": {"init_mlp", "mlp_forward", "cross_entropy", "train_step",
                             "train_mlp"},
}
ALLOWED_IMPORTS = {"jax", "numpy", "functools", "math"}




def answer(stem):
    return importlib.import_module(answers.answer_module_name(stem))


intro = answer("01_jax_intro")
jitting = answer("02_jax_jit")
grad = answer("03_jax_grad")
vmap = answer("04_jax_vmap")
heat = answer("05_heat_equation_jax")
mlp = answer("06_deep_learning_jax")


def f32(a):
    return np.asarray(a, dtype=np.float32)


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected)
    assert np.all(np.isfinite(actual))
    np.testing.assert_allclose(actual.astype(np.float64), expected, rtol=rtol, atol=atol)


def assert_tree_close(actual, expected, rtol=1e-5, atol=1e-6):
    leaves, structure = jax.tree.flatten(actual)
    expected_leaves, expected_structure = jax.tree.flatten(expected)
    assert structure == expected_structure
    for leaf, expected_leaf in zip(leaves, expected_leaves):
        assert_close(leaf, expected_leaf, rtol=rtol, atol=atol)


def is_jitted(f):
    """jax.jit's wrapper can be lowered to XLA; a plain Python function cannot."""
    return callable(getattr(f, "lower", None)) and callable(getattr(f, "trace", None))


# --- 01_jax_intro -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (3, 3), (6, 9), (17, 4)])
def test_set_boundary(rng, shape):
    u = f32(rng.normal(size=shape))
    before = u.copy()
    value = float(rng.normal())
    expected = oracles.set_boundary(u, value)
    assert_close(intro.set_boundary(u, value), expected, rtol=0, atol=1e-7)
    assert_close(jax.jit(intro.set_boundary)(u, value), expected, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(u, before)


@pytest.mark.parametrize("shape", [(2, 1), (5, 3), (64, 10)])
def test_standardize(rng, shape):
    x = f32(rng.normal(5.0, 3.0, size=shape))
    assert_close(intro.standardize(x), oracles.standardize(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make_key", [jax.random.key, jax.random.PRNGKey])
@pytest.mark.parametrize("shape", [(3,), (4, 5)])
def test_sample_normal_splits_and_is_reproducible(rng, make_key, shape):
    key = make_key(int(rng.integers(2**31)))
    new_key, samples = intro.sample_normal(key, shape)
    again_key, again = intro.sample_normal(key, shape)
    assert samples.shape == shape and samples.dtype == jnp.float32
    np.testing.assert_array_equal(samples, again)
    np.testing.assert_array_equal(jax.random.key_data(new_key), jax.random.key_data(again_key))
    assert not np.array_equal(jax.random.key_data(new_key), jax.random.key_data(key))
    # The samples come from a split-off key, never from key itself (which a caller may reuse).
    assert not np.array_equal(samples, jax.random.normal(key, shape))
    _, following = intro.sample_normal(new_key, shape)
    assert not np.array_equal(samples, following)


def test_sample_normal_is_standard_normal(rng):
    _, samples = intro.sample_normal(jax.random.key(int(rng.integers(2**31))), (20_000,))
    samples = np.asarray(samples, dtype=np.float64)
    # 5 standard errors: fails by chance about once in 10**6 runs.
    assert abs(samples.mean()) < 5 / np.sqrt(samples.size)
    assert abs(samples.std() - 1) < 5 * np.sqrt(0.5 / samples.size)


# --- 02_jax_jit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 5)])
def test_gelu_and_gelu_jit(rng, shape):
    x = f32(rng.uniform(-8, 8, size=shape))
    expected = oracles.gelu(x)
    assert_close(jitting.gelu(x), expected, rtol=2e-6, atol=1e-6)
    assert_close(jitting.gelu_jit(x), expected, rtol=2e-6, atol=1e-6)


def test_gelu_jit_is_the_jitted_gelu():
    assert is_jitted(jitting.gelu_jit)
    assert jitting.gelu_jit.__wrapped__ is jitting.gelu
    assert not is_jitted(jitting.gelu)


@pytest.mark.parametrize("shape", [(1,), (10,), (5, 6)])
def test_clipped_sum_eager_and_under_jit(rng, shape):
    x = f32(rng.normal(size=shape))
    jitted = jax.jit(jitting.clipped_sum)  # the threshold is traced: no Python branching on it
    for threshold in (float(abs(x.flat[0])), 0.7, 0.0, -1.0, 10.0):
        expected = oracles.clipped_sum(x, threshold)
        assert_close(jitting.clipped_sum(x, threshold), expected, atol=1e-5)
        assert_close(jitted(x, threshold), expected, atol=1e-5)


# --- 03_jax_grad --------------------------------------------------------------------------------


def linear_problem(rng, n, d):
    params = {"w": f32(rng.normal(size=d)), "b": f32(rng.normal())}
    x = f32(rng.normal(size=(n, d)))
    return params, x, f32(x @ rng.normal(size=d) + 0.3 + 0.1 * rng.normal(size=n))


@pytest.mark.parametrize("n, d", [(1, 1), (1, 4), (8, 3), (50, 6)])
def test_mse_loss_and_grad(rng, n, d):
    params, x, y = linear_problem(rng, n, d)
    assert_close(grad.mse_loss(params, x, y), oracles.mse_loss(params, x, y), rtol=1e-5)
    grads = grad.mse_grad(params, x, y)
    assert set(grads) == {"w", "b"}
    assert_tree_close(grads, oracles.mse_grad(params, x, y), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n, d, n_steps", [(1, 2, 3), (20, 1, 50), (64, 5, 200)])
def test_fit_linear(rng, n, d, n_steps):
    _, x, y = linear_problem(rng, n, d)
    lr = float(rng.uniform(0.01, 0.1))
    fitted = grad.fit_linear(x, y, lr, n_steps)
    assert set(fitted) == {"w", "b"} and fitted["w"].shape == (d,) and fitted["b"].shape == ()
    assert_tree_close(fitted, oracles.fit_linear(x, y, lr, n_steps), rtol=1e-4, atol=1e-5)


def test_fit_linear_is_one_program_for_every_n_steps(rng):
    _, x, y = linear_problem(rng, 10, 3)
    assert is_jitted(grad.fit_linear)
    short = grad.fit_linear.lower(x, y, 0.1, 3).as_text()
    assert short == grad.fit_linear.lower(x, y, 0.1, 3000).as_text()


# --- 04_jax_vmap --------------------------------------------------------------------------------


def tanh_params(rng, d, h):
    return {"w": f32(rng.normal(size=(d, h)) / np.sqrt(d)), "b": f32(rng.normal(size=h)),
            "v": f32(rng.normal(size=h))}


@pytest.mark.parametrize("n, d, h", [(1, 2, 3), (5, 4, 8), (33, 7, 16)])
def test_predict_and_batched_predict(rng, n, d, h):
    params, xs = tanh_params(rng, d, h), f32(rng.normal(size=(n, d)))
    expected = oracles.batched_predict(params, xs)
    assert_close(vmap.predict(params, xs[0]), expected[0], rtol=1e-5, atol=1e-5)
    assert_close(vmap.batched_predict(params, xs), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n, d, h", [(1, 2, 3), (5, 4, 8), (33, 7, 16)])
def test_per_example_grads(rng, n, d, h):
    params, xs = tanh_params(rng, d, h), f32(rng.normal(size=(n, d)))
    ys = f32(rng.normal(size=n))
    grads = vmap.per_example_grads(params, xs, ys)
    assert set(grads) == {"w", "b", "v"}
    assert_tree_close(grads, oracles.per_example_grads(params, xs, ys), rtol=1e-4, atol=1e-5)


def test_batched_predict_has_no_python_loop_over_examples(rng):
    params = tanh_params(rng, 3, 4)

    def n_equations(n):
        return len(jax.make_jaxpr(vmap.batched_predict)(params, f32(rng.normal(size=(n, 3)))).eqns)

    # A Python loop over rows would add equations per row; vmap's program is the same for any n.
    assert n_equations(1) == n_equations(2) == n_equations(50)


# --- 05_heat_equation_jax -----------------------------------------------------------------------

HEAT_CASES = [((3, 3), 1.0), ((5, 8), 0.1), ((16, 9), 2.0), ((32, 32), 0.5)]


def heat_problem(rng, shape, dx):
    u = f32(rng.uniform(-20, 100, size=shape))  # random edges too: they must be kept as they are
    alpha = float(rng.uniform(0.1, 2.0))
    return u, alpha, float(rng.uniform(0.2, 1.0)) * dx**2 / (4 * alpha)


@pytest.mark.parametrize("shape, dx", HEAT_CASES)
def test_heat_step(rng, shape, dx):
    u, alpha, dt = heat_problem(rng, shape, dx)
    before = u.copy()
    result = heat.heat_step(u, alpha, dt, dx)
    assert result.dtype == jnp.float32
    assert_close(result, oracles.heat_step(u, alpha, dt, dx), rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(u, before)


@pytest.mark.parametrize("shape, dx", HEAT_CASES)
def test_simulate(rng, shape, dx):
    u, alpha, dt = heat_problem(rng, shape, dx)
    before = u.copy()
    # Counts below, at and past whole unrolled iterations of the compiled loop (8 on a GPU).
    for n_steps in (0, 1, 7, 8, 9, 21):
        expected = oracles.simulate(u, alpha, dt, dx, n_steps)
        assert_close(heat.simulate(u, alpha, dt, dx, n_steps), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(u, before)


def test_simulate_is_one_compiled_loop_whatever_n_steps(rng):
    """n_steps is static (each value compiles once), and the compiled program holds the time loop
    instead of growing with it: 5 and 5000 steps give programs of the same size."""
    u, alpha, dt = heat_problem(rng, (8, 8), 1.0)
    assert is_jitted(heat.simulate)
    few, many = (str(jax.make_jaxpr(heat.simulate, static_argnums=4)(u, alpha, dt, 1.0, n)) for n in (5, 5000))
    assert len(few.splitlines()) == len(many.splitlines())
    assert "scan" in few or "while" in few  # the time loop is inside the program, not unrolled
    assert "while" in heat.simulate.lower(u, alpha, dt, 1.0, 5000).as_text()


# --- 06_deep_learning_jax -----------------------------------------------------------------------

NETWORKS = [(1, [3, 2]), (6, [5, 8, 4]), (32, [64, 32, 16, 10])]


def network(rng, sizes):
    return [(f32(rng.normal(size=(m, k)) / np.sqrt(m)), f32(0.1 * rng.normal(size=k)))
            for m, k in zip(sizes[:-1], sizes[1:])]


@pytest.mark.parametrize("sizes", [[3, 2], [64, 128, 10], [8, 300, 5, 4]])
def test_init_mlp_shapes_scale_and_keys(rng, sizes):
    key = jax.random.key(int(rng.integers(2**31)))
    params = mlp.init_mlp(key, sizes)
    assert isinstance(params, list) and len(params) == len(sizes) - 1
    for (W, b), m, k in zip(params, sizes[:-1], sizes[1:]):
        assert W.shape == (m, k) and b.shape == (k,)
        assert W.dtype == jnp.float32 and b.dtype == jnp.float32
        np.testing.assert_array_equal(b, 0)
        if W.size >= 500:  # He scale: std sqrt(2 / fan_in), to about 10%
            assert abs(float(np.std(W)) / np.sqrt(2 / m) - 1) < 0.1
    same = mlp.init_mlp(key, sizes)
    for (W, _), (W2, _) in zip(params, same):
        np.testing.assert_array_equal(W, W2)


def test_init_mlp_uses_a_different_key_per_layer(rng):
    params = mlp.init_mlp(jax.random.key(int(rng.integers(2**31))), [6, 6, 6, 6])
    assert not np.allclose(params[0][0], params[1][0])
    assert not np.allclose(params[1][0], params[2][0])


@pytest.mark.parametrize("n, sizes", NETWORKS)
def test_mlp_forward_and_cross_entropy(rng, n, sizes):
    params, x = network(rng, sizes), f32(rng.normal(size=(n, sizes[0])))
    labels = rng.integers(0, sizes[-1], size=n).astype(np.int32)
    assert_close(mlp.mlp_forward(params, x), oracles.mlp_forward(params, x), rtol=1e-4,
                 atol=1e-5)
    assert_close(mlp.cross_entropy(params, x, labels), oracles.cross_entropy(params, x, labels),
                 rtol=1e-5, atol=1e-6)


def test_cross_entropy_is_finite_for_huge_logits(rng):
    params = [(f32(np.eye(3) * 1e4), f32(np.zeros(3)))]
    x, labels = f32(rng.normal(size=(4, 3))), np.array([0, 1, 2, 0], np.int32)
    assert_close(mlp.cross_entropy(params, x, labels), oracles.cross_entropy(params, x, labels),
                 rtol=1e-5)


@pytest.mark.parametrize("n, sizes", NETWORKS)
def test_train_step(rng, n, sizes):
    params, x = network(rng, sizes), f32(rng.normal(size=(n, sizes[0])))
    labels = rng.integers(0, sizes[-1], size=n).astype(np.int32)
    lr = float(rng.uniform(0.05, 0.5))
    new_params, loss = mlp.train_step(params, x, labels, lr)
    expected_params, expected_loss = oracles.train_step(params, x, labels, lr)
    assert_close(loss, expected_loss, rtol=1e-5, atol=1e-6)
    assert isinstance(new_params, list) and all(isinstance(p, tuple) for p in new_params)
    assert_tree_close(new_params, expected_params, rtol=1e-4, atol=1e-5)


def test_train_step_is_jitted():
    assert is_jitted(mlp.train_step)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_train_mlp_learns_the_digits(digits):
    key = jax.random.key(0)
    params = mlp.train_mlp(key, digits.x_train, digits.y_train, [64, 64, 10], epochs=25,
                           batch_size=32, learning_rate=0.1)
    assert [(W.shape, b.shape) for W, b in params] == [((64, 64), (64,)), ((64, 10), (10,))]
    assert all(isinstance(p, tuple) for p in params)
    predicted = np.argmax(np.asarray(mlp.mlp_forward(params, digits.x_test)), axis=1)
    assert np.mean(predicted == digits.y_test) >= 0.90
    # Same key, same training: the data order comes from the key, not from global state.
    again = mlp.train_mlp(key, digits.x_train, digits.y_train, [64, 64, 10], epochs=25,
                          batch_size=32, learning_rate=0.1)
    np.testing.assert_array_equal(params[0][0], again[0][0])


def test_train_mlp_reshuffles_with_the_key(digits):
    x, y = digits.x_train[:200], digits.y_train[:200]

    def train(seed):
        return mlp.train_mlp(jax.random.key(seed), x, y, [64, 10], epochs=2, batch_size=50,
                             learning_rate=0.1)

    assert not np.allclose(train(1)[0][0], train(2)[0][0])


# --- the answer files ----------------------------------------------------------------------------


def test_stems_are_the_six_notebooks():
    assert answers.STEMS == tuple(GRADED_NAMES)


@pytest.mark.parametrize("stem", answers.STEMS)
def test_answer_source_round_trips(stem):
    module = answer(stem)
    source = answers.answer_source(stem)
    assert source == Path(module.__file__).read_text(encoding="utf-8")
    namespace = {}
    exec(compile(source, f"<{stem}>", "exec"), namespace)  # as a notebook cell or worker would
    public = {name for name in namespace if not name.startswith("_")}
    imported = {name for name, value in namespace.items()
                if getattr(value, "__name__", None) in ALLOWED_IMPORTS | {"jax.numpy"}}
    assert public - imported == GRADED_NAMES[stem]


def test_pasted_source_computes_the_same(rng):
    namespace = {}
    exec(answers.answer_source("05_heat_equation_jax"), namespace)
    u, alpha, dt = heat_problem(rng, (6, 7), 0.3)
    assert_close(namespace["simulate"](u, alpha, dt, 0.3, 9),
                 oracles.simulate(u, alpha, dt, 0.3, 9), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("stem", answers.STEMS)
def test_answer_imports_only_allowed_modules(stem):
    tree = ast.parse(answers.answer_source(stem))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{stem}: relative import"
            roots = {node.module.split(".")[0]}
        else:
            continue
        assert roots <= ALLOWED_IMPORTS, f"{stem} imports {roots - ALLOWED_IMPORTS}"


def test_a_bad_stem_names_the_valid_ones():
    with pytest.raises(ValueError, match="01_jax_intro"):
        answers.answer_source("07_nothing")
    with pytest.raises(ValueError, match="05_heat_equation_jax"):
        answers.answer_module_name("heat_equation_jax")
