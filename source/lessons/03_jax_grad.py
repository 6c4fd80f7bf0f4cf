# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # 03 · `jax.grad`: derivatives without the pain
#
# Workshop 3, notebook 3 of 6 — Part 3, the transformations: `jit`, **`grad`**, `vmap`.
#
# Derivatives are everywhere in research code: fitting a model to data, sensitivity
# analysis, optimal control, Newton's method, training a neural network. This notebook
# shows how `jax.grad` computes them for you:
#
# 1. three ways to get a derivative, and why automatic differentiation wins;
# 2. `jax.grad` on scalar functions, higher derivatives, `argnums`;
# 3. `jax.value_and_grad`;
# 4. gradients of *pytrees*: parameters stored in dicts and lists;
# 5. checking a gradient against finite differences;
# 6. gradient descent, first as a Python loop, then inside one compiled program with
#    `jax.lax.fori_loop`;
# 7. exercises: `mse_loss`, `mse_grad`, `fit_linear` — linear regression by gradient descent.
#
# **How this notebook works.** Read the prose and run the worked examples from top to bottom
# (*Run → Run All Cells* is fine). The exercises come at the end. In each exercise cell, replace
# the lines `# YOUR CODE HERE` / `raise NotImplementedError()` with your code and keep the name
# and signature exactly as given: the graders look them up by name. The cell under each exercise
# runs *visible checks*; when one fails, its message says what is wrong. When you hand in, *hidden
# graders* test the same functions on fresh random inputs at several shapes, with tolerances for
# float32 on a GPU, so write general functions rather than ones tuned to the visible examples.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from course.timing import device_summary, format_table

print(f"JAX {jax.__version__} on {device_summary()}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "three_ways", "locked": true, "schema_version": 3, "solution": false}
# ## 1 · Three ways to get a derivative
#
# * **By hand.** Exact and fast, but slow to write and easy to get wrong. The backward pass
#   of the series' NumPy neural network is a page of careful index juggling, and every
#   change to the model means redoing it.
# * **Finite differences**, $f'(x) \approx \bigl(f(x+h) - f(x-h)\bigr) / 2h$. Easy, but
#   approximate (too large an $h$: truncation error; too small: rounding error, worse in
#   float32), and a gradient with respect to $n$ parameters costs $2n$ evaluations.
# * **Automatic differentiation (autodiff).** The program that computes $f$ is itself
#   differentiated, operation by operation, with the chain rule. The result is exact up to
#   floating-point rounding. In *reverse mode*, which `jax.grad` uses, the full gradient of
#   a scalar function costs a small multiple (typically 2–4×) of one evaluation of $f$ —
#   whether there are 3 parameters or 3 million. This is what makes training neural
#   networks possible.
#
# ## 2 · `jax.grad` of a scalar function
#
# `jax.grad(f)` is a **new function** that computes $f'$. Because it is a function, you can
# transform it again: `jax.grad(jax.grad(f))` is $f''$.

# %% nbgrader={"grade": false, "grade_id": "grad_of_cubic", "locked": true, "schema_version": 3, "solution": false}
def f(x):
    return x**3 + 2.0 * x          # f'(x) = 3x^2 + 2,  f''(x) = 6x

df = jax.grad(f)
d2f = jax.grad(jax.grad(f))
print("f'(2)  =", df(2.0), "  exact:", 3 * 2.0**2 + 2)
print("f''(2) =", d2f(2.0), "  exact:", 6 * 2.0)
print("jit works too:", jax.jit(df)(2.0))


# %% [markdown] nbgrader={"grade": false, "grade_id": "three_rules", "locked": true, "schema_version": 3, "solution": false}
# Three rules to remember:
#
# 1. **`grad` differentiates with respect to the first argument** unless you say otherwise
#    with `argnums`.
# 2. **The function must return a scalar** (a loss, an energy, a log-likelihood). For a
#    vector-valued function, take `jax.grad` of a scalar summary, or differentiate one
#    output per input with `jax.vmap` (notebook 04), or use `jax.jacobian`.
# 3. **Differentiate with respect to floats.** Integers have no derivative: `df(2)` fails,
#    `df(2.0)` works.

# %% nbgrader={"grade": false, "grade_id": "argnums_and_errors", "locked": true, "schema_version": 3, "solution": false}
def g(x, y):
    return x * y**2

print("dg/dx         :", jax.grad(g)(3.0, 2.0), "  (= y^2)")
print("dg/dy         :", jax.grad(g, argnums=1)(3.0, 2.0), "  (= 2xy)")
print("(dg/dx, dg/dy):", tuple(float(d) for d in jax.grad(g, argnums=(0, 1))(3.0, 2.0)))

for bad_call, why in [(lambda: df(2), "an integer input"),
                      (lambda: jax.grad(jnp.sin)(jnp.ones(3)), "a non-scalar output")]:
    try:
        bad_call()
    except TypeError as err:
        print(f"{why:22s} -> TypeError: {str(err).splitlines()[0][:70]}...")

# %% [markdown] nbgrader={"grade": false, "grade_id": "value_and_grad", "locked": true, "schema_version": 3, "solution": false}
# ## 3 · `value_and_grad`: the loss and its gradient in one pass
#
# An optimiser needs both the loss (to report progress) and its gradient (to take a step).
# Reverse-mode autodiff computes the value on the way anyway, so `jax.value_and_grad`
# returns both for the price of the gradient:

# %% nbgrader={"grade": false, "grade_id": "value_and_grad_example", "locked": true, "schema_version": 3, "solution": false}
value, slope = jax.value_and_grad(f)(1.0)
print(f"f(1) = {value}, f'(1) = {slope}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "pytrees", "locked": true, "schema_version": 3, "solution": false}
# ## 4 · Gradients of pytrees: parameters in dicts and lists
#
# Real models have many parameters, conveniently kept in a dict, a list of layers, or a
# tuple. JAX calls any nesting of lists, tuples and dicts with arrays at the leaves a
# **pytree**, and `jax.grad` differentiates with respect to the whole tree: the gradient
# is a tree of the **same structure**, one array per parameter.
#
# A worked example: fit an exponential decay $y \approx A\,e^{-k t}$ (a radioactive sample,
# a cooling body, a discharging capacitor) to noisy measurements.

# %% nbgrader={"grade": false, "grade_id": "decay_loss_grads", "locked": true, "schema_version": 3, "solution": false}
key_noise = jax.random.key(0)
t = jnp.linspace(0.0, 5.0, 50)
y_obs = 2.0 * jnp.exp(-0.7 * t) + 0.02 * jax.random.normal(key_noise, t.shape)   # A = 2, k = 0.7

def decay_loss(params, t, y):
    """Mean squared misfit of A * exp(-k t); params = {"amplitude": A, "rate": k}."""
    model = params["amplitude"] * jnp.exp(-params["rate"] * t)
    return jnp.mean((model - y) ** 2)

params = {"amplitude": jnp.array(1.0), "rate": jnp.array(1.0)}
grads = jax.grad(decay_loss)(params, t, y_obs)
print("params:", jax.tree.map(float, params))
print("grads: ", jax.tree.map(float, grads))
print("same structure:", jax.tree.structure(grads) == jax.tree.structure(params))

# %% [markdown] nbgrader={"grade": false, "grade_id": "tree_map", "locked": true, "schema_version": 3, "solution": false}
# The `jax.tree` module works on any pytree. Most useful: `jax.tree.map(fn, tree, *others)`
# applies `fn` leaf by leaf (to matching leaves of several trees), and
# `jax.tree.leaves(tree)` lists the arrays. One line then updates every parameter of a
# model, however deeply nested — the gradient-descent step:

# %% nbgrader={"grade": false, "grade_id": "tree_map_step", "locked": true, "schema_version": 3, "solution": false}
learning_rate = 0.5
stepped = jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)
print("after one step:", jax.tree.map(float, stepped))
print("leaves:", jax.tree.leaves(stepped))   # a list of the arrays, in a fixed order

# %% [markdown] nbgrader={"grade": false, "grade_id": "gradient_check", "locked": true, "schema_version": 3, "solution": false}
# ## 5 · Trust, but verify: a gradient check
#
# Autodiff is exact for the function you *wrote*, which may not be the function you
# *meant*. Comparing with central finite differences, computed in float64 NumPy
# independently of JAX, is the standard sanity check for any gradient code:

# %% nbgrader={"grade": false, "grade_id": "finite_differences", "locked": true, "schema_version": 3, "solution": false}
t64, y64 = np.asarray(t, np.float64), np.asarray(y_obs, np.float64)

def decay_loss64(amplitude, rate):
    return np.mean((amplitude * np.exp(-rate * t64) - y64) ** 2)

eps = 1e-6
fd = {"amplitude": (decay_loss64(1 + eps, 1.0) - decay_loss64(1 - eps, 1.0)) / (2 * eps),
      "rate": (decay_loss64(1.0, 1 + eps) - decay_loss64(1.0, 1 - eps)) / (2 * eps)}
print(format_table(["parameter", "jax.grad (float32)", "finite diff (float64)", "rel. error"], [
    [name, f"{float(grads[name]):.6f}", f"{fd[name]:.6f}",
     f"{abs(float(grads[name]) - fd[name]) / abs(fd[name]):.1e}"] for name in fd]))


# %% [markdown] nbgrader={"grade": false, "grade_id": "gradient_descent", "locked": true, "schema_version": 3, "solution": false}
# Relative errors around 10⁻⁷–10⁻⁶ are float32 rounding: the gradient is right.
#
# ## 6 · Gradient descent, then the whole loop compiled
#
# Gradient descent repeats `params ← params − learning_rate · ∇loss(params)`. The
# straightforward version jits one step and calls it from a Python loop:

# %% nbgrader={"grade": false, "grade_id": "decay_step_loop", "locked": true, "schema_version": 3, "solution": false}
@jax.jit
def decay_step(params, t, y, learning_rate):
    loss, grads = jax.value_and_grad(decay_loss)(params, t, y)
    return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss

params = {"amplitude": jnp.array(1.0), "rate": jnp.array(1.0)}
for step in range(301):
    params, loss = decay_step(params, t, y_obs, 0.5)
    if step % 100 == 0:
        print(f"step {step:3d}  loss {float(loss):.6f}")
print("fitted:", {name: round(float(v), 3) for name, v in params.items()}, " (true: A = 2, k = 0.7)")


# %% [markdown] nbgrader={"grade": false, "grade_id": "fori_loop", "locked": true, "schema_version": 3, "solution": false}
# Every iteration here goes back to Python: launch the step, get the result, launch again.
# For a cheap step that overhead dominates, and on a GPU it also leaves the device idle
# between steps. **`jax.lax.fori_loop(lower, upper, body, init)`** moves the loop itself
# into the compiled program. `body(i, carry)` receives the iteration number and the current
# state (any pytree) and returns the new state of the same shape:
#
# ```python
# carry = init
# for i in range(lower, upper):      # what fori_loop computes, without Python in the loop
#     carry = body(i, carry)
# ```
#
# Under `jit` the bounds may be traced values: a new number of steps then reuses the same
# compiled program (XLA compiles it as a `while` loop). Learning rate and data are ordinary
# traced arguments as well.

# %% nbgrader={"grade": false, "grade_id": "fit_decay_compiled", "locked": true, "schema_version": 3, "solution": false}
@jax.jit
def fit_decay(t, y, learning_rate, n_steps):
    def body(i, params):
        grads = jax.grad(decay_loss)(params, t, y)
        return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)

    start = {"amplitude": jnp.array(1.0), "rate": jnp.array(1.0)}
    return jax.lax.fori_loop(0, n_steps, body, start)

for n_steps in [0, 10, 100, 300]:          # one compilation serves every n_steps
    fitted = fit_decay(t, y_obs, 0.5, n_steps)
    print(f"{n_steps:3d} steps: A = {float(fitted['amplitude']):.3f}, "
          f"k = {float(fitted['rate']):.3f}, loss {float(decay_loss(fitted, t, y_obs)):.6f}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "exercises", "locked": true, "schema_version": 3, "solution": false}
# ## Exercises
#
# Linear regression, $y \approx X w + b$, the simplest model there is — and a template
# for every gradient-based fit you will write: a loss function of a parameter pytree, its
# gradient from `jax.grad`, and a compiled loop of update steps.

# %% [markdown] nbgrader={"grade": false, "grade_id": "mse_loss_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 1 · `mse_loss(params, x, y)`
#
# The mean squared error of the linear model, which predicts `x @ w + b` for each row of `x`.
#
# * **input:** `params = {"w": w, "b": b}`, with `w` of shape `(d,)` and `b` a scalar (shape
#   `()`); data `x` of shape `(n, d)` and targets `y` of shape `(n,)`; all float32;
# * **output:** a float32 scalar, the **mean** over the `n` rows of `(x @ w + b - y)**2`;
# * write it with `jax.numpy` (`jnp.mean`; `@` works on JAX arrays), so that JAX can trace it:
#   Exercise 2 differentiates it with `jax.grad`.

# %% nbgrader={"grade": false, "grade_id": "mse_loss_solution", "locked": false, "schema_version": 3, "solution": true}
def mse_loss(params, x, y):
    """Mean squared error of the linear model x @ w + b.

    params: {"w": (d,) float32, "b": () float32}. x: (n, d) float32. y: (n,) float32.
    Returns a float32 scalar: the mean over the n rows of (x @ w + b - y)**2.
    """
    ### BEGIN SOLUTION
    residual = x @ params["w"] + params["b"] - y
    return jnp.mean(residual**2)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "mse_loss_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for mse_loss.
def check_mse_loss():
    x = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = jnp.array([1.0, 2.0, 3.0])
    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(0.5)}
    # predictions x @ w + b = [1.5, 2.5, 3.5]: every residual is 0.5, so the loss is 0.25
    loss = mse_loss(params, x, y)
    assert jnp.shape(loss) == (), f"the loss must be a scalar, got shape {jnp.shape(loss)}: average over the rows"
    assert not np.isclose(loss, 0.75), "got 0.75, the SUM of the squared residuals: take the mean"
    assert not np.isclose(loss, 0.0), "got 0: the prediction must include the bias params['b']"
    assert np.isclose(loss, 0.25), f"mse_loss = {loss}, expected 0.25 (predictions 1.5, 2.5, 3.5; targets 1, 2, 3)"

    rng = np.random.default_rng(0)
    xr, yr, wr = (rng.standard_normal(s).astype(np.float32) for s in [(7, 3), (7,), (3,)])
    expected = np.mean((xr.astype(np.float64) @ wr + 0.3 - yr) ** 2)
    got = mse_loss({"w": jnp.asarray(wr), "b": jnp.array(0.3)}, jnp.asarray(xr), jnp.asarray(yr))
    # (tolerances here and below leave room for GPUs, whose float32 matrix products may use TF32)
    assert np.isclose(got, expected, rtol=2e-3), f"on random (7, 3) data: got {got}, expected {expected:.6f}"
    assert isinstance(got, jax.Array) and got.dtype == jnp.float32, \
        f"the loss is a {type(got).__name__} of {np.asarray(got).dtype}, expected a float32 JAX array: use jnp"
    try:
        jax.make_jaxpr(mse_loss)(params, x, y)
    except jax.errors.TracerArrayConversionError:
        raise AssertionError("mse_loss calls NumPy on its inputs, which jax.grad cannot trace: use jnp") from None


check_mse_loss()
print("mse_loss: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "mse_grad_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 2 · `mse_grad`
#
# Define `mse_grad`, the gradient of `mse_loss` with respect to its first argument,
# `params`: `jax.grad(mse_loss)` is the whole answer. (The graders compare its values with the
# exact gradient, so they cannot tell how you got it; `jax.grad` is what spares you the
# algebra below.) Called as `mse_grad(params, x, y)`, it returns a dict of float32
# JAX arrays with the keys and shapes of `params`: `{"w": dL/dw of shape (d,), "b": dL/db of
# shape ()}`.
#
# For this loss you could derive the gradient by hand — with residuals
# $r = Xw + b - y$, $\;\partial L/\partial w = \tfrac{2}{n} X^\top r$ and
# $\partial L/\partial b = \tfrac{2}{n}\sum_i r_i$; the visible checks do exactly that.
# The point is that you do not have to.

# %% nbgrader={"grade": false, "grade_id": "mse_grad_solution", "locked": false, "schema_version": 3, "solution": true}
# mse_grad(params, x, y): the gradient of mse_loss with respect to params, from jax.grad.
# Returns a dict shaped like params: {"w": (d,), "b": ()}, float32.
### BEGIN SOLUTION
# The gradient with respect to the first argument: a dict shaped like params.
mse_grad = jax.grad(mse_loss)
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "mse_grad_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for mse_grad.
def check_mse_grad():
    assert "mse_grad" in globals(), "mse_grad is not defined yet: fill in and run the cell above"
    x = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = jnp.array([1.0, 2.0, 3.0])
    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(0.5)}
    assert np.isclose(mse_loss(params, x, y), 0.25), \
        "mse_grad differentiates your mse_loss, which is wrong here (see the checks of Exercise 1): fix mse_loss first"
    g = mse_grad(params, x, y)
    assert isinstance(g, dict) and set(g) == {"w", "b"}, \
        f"mse_grad must return a dict like params, with keys 'w' and 'b'; got {type(g).__name__}"
    assert g["w"].shape == (2,) and jnp.shape(g["b"]) == (), \
        f"gradient shapes must match params: w {g['w'].shape} (expected (2,)), b {jnp.shape(g['b'])} (expected ())"
    # residuals r = [0.5, 0.5, 0.5]: dL/dw = 2/3 * x.T @ r = [2/3, 2/3], dL/db = 2/3 * sum(r) = 1
    assert np.allclose(g["w"], [2 / 3, 2 / 3], atol=1e-6), f"dL/dw = {g['w']}, expected [0.6667, 0.6667]"
    assert np.isclose(g["b"], 1.0, atol=1e-6), f"dL/db = {g['b']}, expected 1.0"
    assert all(isinstance(v, jax.Array) and v.dtype == jnp.float32 for v in g.values()), \
        "the gradient must be float32 JAX arrays: take it with jax.grad"


check_mse_grad()
print("mse_grad: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "fit_linear_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 3 · `fit_linear(x, y, learning_rate, n_steps)`
#
# Fit the linear model by gradient descent:
#
# * start from `w = 0` (shape `(d,)`) and `b = 0` (a scalar), float32;
# * repeat `n_steps` times: `params ← params − learning_rate · mse_grad(params, x, y)`,
#   for every leaf of the dict;
# * return the fitted dict `{"w": (d,), "b": ()}` of float32 JAX arrays (zero steps leave
#   it at the start);
# * compile the whole descent: keep the skeleton's `@jax.jit`, and write the loop inside it
#   with `jax.lax.fori_loop`.
#
# `x` is `(n, d)` and `y` is `(n,)`, float32; `learning_rate` is a float and `n_steps` an
# int. Under `@jax.jit` all of them arrive as tracers, which is why the loop is a
# `fori_loop`: a Python `range(n_steps)` cannot take a tracer. The update of every leaf is one
# `jax.tree.map`, as in section 6. (If you would rather start with a plain Python loop,
# remove the decorator first; once that works, put it back and switch to `fori_loop`: the
# hidden checks give points for the compiled loop.)

# %% nbgrader={"grade": false, "grade_id": "fit_linear_solution", "locked": false, "schema_version": 3, "solution": true}
@jax.jit
def fit_linear(x, y, learning_rate, n_steps):
    """Linear regression by gradient descent, the whole loop compiled.

    x: (n, d) float32, y: (n,) float32. learning_rate: float. n_steps: int (traced).
    Starts from w = 0 (d,), b = 0 () and applies n_steps updates
    params <- params - learning_rate * mse_grad(params, x, y).
    Returns {"w": (d,) float32, "b": () float32}; n_steps = 0 returns the start.
    """
    ### BEGIN SOLUTION
    # The whole loop is one compiled program; n_steps and learning_rate are traced, so other
    # values reuse it without recompiling.
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y, jnp.float32)
    params = {"w": jnp.zeros(x.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}

    def step(_, params):
        grads = mse_grad(params, x, y)
        return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)

    return jax.lax.fori_loop(0, n_steps, step, params)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "fit_linear_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for fit_linear.
def check_fit_linear():
    x = jnp.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, -1.0], [-1.0, 0.5]])
    true_w, true_b = jnp.array([2.0, -1.0]), 0.5
    y = x @ true_w + true_b                    # noise-free: gradient descent can find w and b exactly
    g0 = {"w": -2 / 5 * (x.T @ y), "b": -2 / 5 * y.sum()}      # the gradient at w = 0, b = 0, by hand
    g = mse_grad({"w": jnp.zeros(2), "b": jnp.zeros(())}, x, y)
    assert isinstance(g, dict) and np.allclose(g["w"], g0["w"], atol=1e-4) and np.isclose(g["b"], g0["b"], atol=1e-4), \
        "fit_linear steps with your mse_grad, which is wrong here (see the checks of Exercise 2): fix mse_grad first"

    try:
        start = fit_linear(x, y, 0.1, 0)
    except jax.errors.TracerIntegerConversionError:
        raise AssertionError("fit_linear loops over range(n_steps) under @jax.jit, where n_steps is a tracer: "
                             "use jax.lax.fori_loop") from None
    assert isinstance(start, dict) and set(start) == {"w", "b"}, "return a dict {'w': ..., 'b': ...}"
    assert start["w"].shape == (2,) and jnp.shape(start["b"]) == (), \
        f"w must have shape (d,) = (2,) and b shape (); got {start['w'].shape} and {jnp.shape(start['b'])}"
    assert np.allclose(start["w"], 0.0) and np.isclose(start["b"], 0.0), \
        "n_steps = 0 must return the starting point w = 0, b = 0"

    one = fit_linear(x, y, 0.1, 1)
    assert np.allclose(one["w"], -0.1 * g0["w"], atol=1e-5) and np.isclose(one["b"], -0.1 * g0["b"], atol=1e-5), \
        "one step from zero must give -learning_rate * gradient: check the sign and the learning rate"

    fitted = fit_linear(x, y, 0.1, 1000)
    assert np.allclose(fitted["w"], true_w, atol=5e-3) and np.isclose(fitted["b"], true_b, atol=5e-3), \
        f"after 1000 steps: w = {fitted['w']}, b = {fitted['b']}; expected w = {true_w}, b = {true_b}"
    assert isinstance(fitted["w"], jax.Array) and fitted["w"].dtype == jnp.float32, \
        f"parameters are {type(fitted['w']).__name__} of {np.asarray(fitted['w']).dtype}, expected float32 JAX arrays"

    assert hasattr(fit_linear, "lower"), "fit_linear is not compiled: keep the skeleton's @jax.jit"
    program = str(jax.make_jaxpr(fit_linear)(x, y, 0.1, 30))
    assert "while" in program or "scan" in program, \
        "the compiled program has no loop in it: write the descent with jax.lax.fori_loop inside fit_linear"


check_fit_linear()
print("fit_linear: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "payoff_regression", "locked": true, "schema_version": 3, "solution": false}
# ## Putting it together: regression on noisy data
#
# Fit 2 000 noisy points with three features, and compare with the exact least-squares
# answer from NumPy (float64). Because `n_steps` is a traced argument, asking your
# `fit_linear` for 0, 1, 2, 5, ... steps reuses a single compiled program — a cheap way to
# draw the convergence curve.

# %% nbgrader={"grade": false, "grade_id": "regression_fit", "locked": true, "schema_version": 3, "solution": false}
def demo_regression(n):
    """Fit n noisy points with your fit_linear; compare with least squares; plot the loss."""
    key_x, key_noise = jax.random.split(jax.random.key(42))
    true_w, true_b = jnp.array([2.0, -1.0, 0.5]), 0.3
    x = jax.random.normal(key_x, (n, 3))
    y = x @ true_w + true_b + 0.1 * jax.random.normal(key_noise, (n,))

    design = np.column_stack([np.asarray(x, np.float64), np.ones(n)])
    exact, *_ = np.linalg.lstsq(design, np.asarray(y, np.float64), rcond=None)
    best_loss = np.mean((design @ exact - np.asarray(y, np.float64)) ** 2)

    steps = [0, 1, 2, 5, 10, 20, 50, 100, 200]
    fits = [fit_linear(x, y, 0.1, s) for s in steps]
    losses = [float(mse_loss(fit, x, y)) for fit in fits]
    fitted = fits[-1]                   # the longest run, 200 steps
    print(format_table(["", "true", "gradient descent", "least squares"], [
        *[[f"w[{i}]", f"{float(true_w[i]):.3f}", f"{float(fitted['w'][i]):.4f}", f"{exact[i]:.4f}"] for i in range(3)],
        ["b", f"{true_b:.3f}", f"{float(fitted['b']):.4f}", f"{exact[3]:.4f}"],
    ]))

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.semilogy(steps, losses, "o-", label="fit_linear(x, y, 0.1, steps)")
    ax.axhline(best_loss, color="k", ls="--", lw=1, label="least squares (exact)")
    ax.set_xlabel("gradient-descent steps")
    ax.set_ylabel("mean squared error")
    ax.set_title("fit_linear converges to the least-squares answer")
    ax.grid(alpha=0.3)
    ax.legend()
    plt.tight_layout()
    plt.show()


demo_regression(n=2000)

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# On a GPU try `demo_regression(n=10_000_000)`: each step is then a matrix-vector product over
# 10 million rows, and the compiled loop keeps the data on the device for all the steps.
#
# ## Summary
#
# * `jax.grad(f)` returns a function computing the gradient of a scalar `f` with respect to
#   its first argument (`argnums` for others); transformations compose (`grad(grad(f))`,
#   `jit(grad(f))`).
# * `jax.value_and_grad` gives the loss and the gradient in one pass.
# * Parameters can be any pytree; the gradient has the same structure, and `jax.tree.map`
#   updates all leaves in one line.
# * Check new gradient code against finite differences once.
# * `jax.lax.fori_loop` inside `jax.jit` compiles a whole optimisation loop; traced bounds
#   mean a new number of steps does not recompile.
#
# **Next:** notebook 04, `jax.vmap` — write a function for one example, run it on a batch.
