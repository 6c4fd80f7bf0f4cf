# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # 04 · `jax.vmap`: write it for one, run it for many
#
# Workshop 3, notebook 4 of 6 — Part 3, the transformations: `jit`, `grad`, **`vmap`**.
#
# Research code is full of functions written for *one* thing — one particle, one parameter
# set, one image, one patient — that we then need for thousands. This notebook shows how
# `jax.vmap` turns the one-thing function into a batched one automatically:
#
# 1. the batching problem: loops are slow, hand-batching is error-prone;
# 2. `vmap` basics: `in_axes`, `out_axes`, `None` for shared arguments;
# 3. nesting `vmap`: pairwise distances without a loop;
# 4. what `vmap` really does (no loop in sight);
# 5. composing: `jit(vmap(f))` and `vmap(grad(f))`, per-example gradients;
# 6. exercises: `predict`, `batched_predict`, `per_example_grads`.
#
# **How this notebook works.** Read the prose and run the worked examples from top to bottom
# (*Run → Run All Cells* is fine). The exercises come at the end. In each exercise cell, replace
# the lines `# YOUR CODE HERE` / `raise NotImplementedError()` with your code and keep the name
# and signature exactly as given: the graders look them up by name. The cell under each exercise
# runs *visible checks*; when one fails, its message says what is wrong. When you hand in, *hidden
# graders* test the same functions on fresh random inputs at several shapes, with tolerances for
# float32 on a GPU, so write general functions rather than ones tuned to the visible examples.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

ON_GPU = jax.default_backend() == "gpu"
print(f"JAX {jax.__version__} on {device_summary()}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "batching_problem", "locked": true, "schema_version": 3, "solution": false}
# ## 1 · The batching problem
#
# Say you have a function for a single example. To apply it to a batch you have three
# options:
#
# * **A Python loop** over the examples. Easy and obviously correct, but every iteration
#   pays Python's overhead and, on a GPU, launches tiny kernels that leave almost all of the
#   device idle.
# * **Rewrite it for a batch by hand**: add a leading axis to every array, turn `x @ w`
#   into a batched product, fix every `sum` to use the right `axis`, perhaps reach for
#   `einsum`. Fast, but you now maintain two versions of the maths, and axis bugs are
#   easy to make and hard to see.
# * **`jax.vmap`** (*vectorising map*): keep the one-example function and let JAX derive
#   the batched version.
#
# ## 2 · `vmap` basics
#
# `jax.vmap(f)` is a new function that maps `f` over a leading axis of its arguments. The
# dot product of two vectors `(3,)` → scalar becomes, under `vmap`, a row-wise dot product
# of two matrices `(n, 3)` → `(n,)`:

# %% nbgrader={"grade": false, "grade_id": "vmap_dot", "locked": true, "schema_version": 3, "solution": false}
a = jnp.arange(6.0).reshape(2, 3)
b = jnp.ones((2, 3))
print("jnp.dot(a[0], b[0])    =", jnp.dot(a[0], b[0]))
print("jax.vmap(jnp.dot)(a, b) =", jax.vmap(jnp.dot)(a, b), "  <- one dot product per row")

# %% [markdown] nbgrader={"grade": false, "grade_id": "in_axes_out_axes", "locked": true, "schema_version": 3, "solution": false}
# **`in_axes`** says, argument by argument, which axis to map over; **`None` means "not
# batched: pass the same value to every call"**. That is how you share model parameters, a
# query point, or a constant between all examples. **`out_axes`** says where the batch axis
# goes in the output (default 0).

# %% nbgrader={"grade": false, "grade_id": "in_axes_examples", "locked": true, "schema_version": 3, "solution": false}
c = jnp.array([1.0, 0.0, -1.0])
print("rows of a, shared c:", jax.vmap(jnp.dot, in_axes=(0, None))(a, c))
print("columns instead    :", jax.vmap(jnp.dot, in_axes=(1, 1))(a, b), "  <- map over axis 1")
outer = jax.vmap(jnp.outer, in_axes=(0, 0), out_axes=2)(a, b)
print("outer products, batch axis last:", outer.shape)


# %% [markdown] nbgrader={"grade": false, "grade_id": "nested_vmap", "locked": true, "schema_version": 3, "solution": false}
# ## 3 · Nesting `vmap`: a pairwise distance matrix
#
# `vmap` of a `vmap` maps over two axes. Start from the distance between **two points** and
# build the full distance matrix between two point clouds, with no loop and no broadcasting
# gymnastics:

# %% nbgrader={"grade": false, "grade_id": "distance_matrix", "locked": true, "schema_version": 3, "solution": false}
def distance(p, q):                       # two points (d,) -> a scalar
    return jnp.sqrt(jnp.sum((p - q) ** 2))

one_to_many = jax.vmap(distance, in_axes=(None, 0))        # (d,), (m, d) -> (m,)
many_to_many = jax.vmap(one_to_many, in_axes=(0, None))    # (n, d), (m, d) -> (n, m)

points = jax.random.normal(jax.random.key(0), (5, 3))
D = many_to_many(points, points)
by_broadcasting = jnp.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))
print("shape:", D.shape, "  symmetric:", bool(jnp.allclose(D, D.T)),
      "  zero diagonal:", bool(jnp.allclose(jnp.diag(D), 0.0)))
print("same as hand-broadcast version:", bool(jnp.allclose(D, by_broadcasting, atol=1e-6)))

# %% [markdown] nbgrader={"grade": false, "grade_id": "no_loop_at_all", "locked": true, "schema_version": 3, "solution": false}
# ## 4 · What `vmap` does: no loop at all
#
# `vmap` is not a loop in disguise. It traces the one-example function once, and rewrites
# each primitive into its batched form: an elementwise operation just works on the bigger
# array, a vector dot product becomes a matrix product, a `sum` gets its axis shifted. The
# result is the same program you would have written by hand. Compare the jaxprs:

# %% nbgrader={"grade": false, "grade_id": "batched_jaxpr", "locked": true, "schema_version": 3, "solution": false}
print("one pair of points:")
print(jax.make_jaxpr(distance)(points[0], points[1]))
print("\nall pairs (nested vmap): the same primitives, on (5, 5, 3) arrays")
print(jax.make_jaxpr(many_to_many)(points, points))

# %% [markdown] nbgrader={"grade": false, "grade_id": "vmap_composes", "locked": true, "schema_version": 3, "solution": false}
# ## 5 · `vmap` composes with `jit` and `grad`
#
# `jax.jit(jax.vmap(f))` compiles the batched program. `jax.vmap(jax.grad(f))` computes a
# *separate* gradient for every example — something `jax.grad` alone cannot do, because it
# needs a scalar function. A small example: the derivative of `sin` at many points at once.

# %% nbgrader={"grade": false, "grade_id": "vmap_grad_sin", "locked": true, "schema_version": 3, "solution": false}
xs = jnp.linspace(0.0, jnp.pi, 5)
print("vmap(grad(sin))(xs) =", jax.vmap(jax.grad(jnp.sin))(xs))
print("cos(xs)             =", jnp.cos(xs))


# %% [markdown] nbgrader={"grade": false, "grade_id": "per_example_gradients", "locked": true, "schema_version": 3, "solution": false}
# The same idea gives **per-example gradients** of a loss. Take a one-parameter model
# $\hat y = \theta x$ and its squared error for **one** data point. `jax.grad` with respect
# to `theta` gives that point's gradient; `vmap` over the data points (parameters shared,
# `in_axes=None`) gives all of them at once. Their mean is the gradient of the mean loss:

# %% nbgrader={"grade": false, "grade_id": "point_loss_grads", "locked": true, "schema_version": 3, "solution": false}
def point_loss(theta, x, y):               # ONE data point
    return (theta * x - y) ** 2

xs = jnp.array([1.0, 2.0, 3.0, 4.0])
ys = jnp.array([2.0, 4.1, 5.9, 20.0])          # the last point is an outlier
per_point = jax.vmap(jax.grad(point_loss), in_axes=(None, 0, 0))(2.0, xs, ys)
print("per-point gradients:", per_point, "  <- the outlier pulls hardest")
mean_loss = lambda theta: jnp.mean(jax.vmap(point_loss, in_axes=(None, 0, 0))(theta, xs, ys))
print("mean of them:", per_point.mean(), "  grad of the mean loss:", jax.grad(mean_loss)(2.0))


# %% [markdown] nbgrader={"grade": false, "grade_id": "exercises", "locked": true, "schema_version": 3, "solution": false}
# Per-example gradients are used for gradient clipping (differentially private training),
# influence and outlier diagnostics, and uncertainty estimates; without `vmap` they need a
# loop over the examples.
#
# ## Exercises
#
# A small neural network with one hidden layer and a scalar output, written for **one**
# example; then its batched version and its per-example gradients, both by transformation.

# %% [markdown] nbgrader={"grade": false, "grade_id": "predict_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 1 · `predict(params, x)`: the model for ONE example
#
# $$\mathrm{predict}(x) = v \cdot \tanh(x\,W + b)$$
#
# * **input:** `params = {"w": W, "b": b, "v": v}` with `W` of shape `(d, h)`, `b` of shape
#   `(h,)` and `v` of shape `(h,)`; a single example `x` of shape `(d,)`; all float32;
# * **output:** a float32 scalar (shape `()`): `v @ tanh(x @ W + b)`.
#
# Write it for one example only, with no batch axis anywhere: batching is `vmap`'s job.

# %% nbgrader={"grade": false, "grade_id": "predict_solution", "locked": false, "schema_version": 3, "solution": true}
def predict(params, x):
    """One-hidden-layer network for ONE example: v @ tanh(x @ W + b).

    params: {"w": (d, h), "b": (h,), "v": (h,)} float32. x: (d,) float32.
    Returns a float32 scalar (shape ()).
    """
    ### BEGIN SOLUTION
    return params["v"] @ jnp.tanh(x @ params["w"] + params["b"])
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "predict_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for predict.
def check_predict():
    params = {"w": jnp.array([[1.0, 0.0, 0.0],
                              [0.0, 1.0, 0.0]]),     # d = 2 inputs, h = 3 hidden units
              "b": jnp.array([0.0, 0.0, 0.5]),
              "v": jnp.array([1.0, 1.0, 2.0])}
    x = jnp.array([1.0, -2.0])
    # hidden = tanh([1, -2, 0.5]), so predict = tanh(1) + tanh(-2) + 2 * tanh(0.5)
    expected = math.tanh(1.0) + math.tanh(-2.0) + 2 * math.tanh(0.5)
    out = predict(params, x)
    assert jnp.shape(out) == (), f"predict must return a scalar for one example, got shape {jnp.shape(out)}"
    assert isinstance(out, jax.Array) and out.dtype == jnp.float32, \
        f"predict returned a {type(out).__name__} of {np.asarray(out).dtype}, expected a float32 JAX array"
    assert np.isclose(out, expected, atol=1e-6), f"predict = {out}, expected v @ tanh(x @ w + b) = {expected:.6f}"

    rng = np.random.default_rng(0)
    p = {"w": rng.standard_normal((4, 6)), "b": rng.standard_normal(6), "v": rng.standard_normal(6)}
    x = rng.standard_normal(4)
    expected = p["v"] @ np.tanh(x @ p["w"] + p["b"])
    got = predict({k: jnp.asarray(a, jnp.float32) for k, a in p.items()}, jnp.asarray(x, jnp.float32))
    # (the tolerance leaves room for GPUs, whose float32 matrix products may use TF32)
    assert np.isclose(got, expected, atol=2e-3), f"d = 4, h = 6: got {got}, expected {expected:.6f} (x @ w, not w @ x)"


check_predict()
print("predict: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "batched_predict_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 2 · `batched_predict(params, xs)`
#
# Predict a whole batch: `xs` has shape `(n, d)`, the result is a float32 array of shape
# `(n,)`, and entry `i` equals `predict(params, xs[i])`. `jax.vmap` of your `predict` gives it
# in one line: which argument is mapped, and which is shared by every example? The graders
# check the values and that no loop runs over the examples (no Python loop, no `lax.map` or
# `scan`); there is no need to rewrite the maths for a batch.
#
# On a GPU part of its points are for speed (the table at the top says how many): it races a
# Python loop over your jitted `predict`.

# %% nbgrader={"grade": false, "grade_id": "batched_predict_solution", "locked": false, "schema_version": 3, "solution": true}
# batched_predict(params, xs): xs (n, d) -> (n,), entry i equal to predict(params, xs[i]);
# built from predict with jax.vmap, the same params for every example, no Python loop.
### BEGIN SOLUTION
# Same params for every row (None), rows of xs mapped (0): xs (n, d) -> (n,).
batched_predict = jax.vmap(predict, in_axes=(None, 0))
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "batched_predict_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for batched_predict.
def check_batched_predict():
    assert "batched_predict" in globals(), "batched_predict is not defined yet: fill in and run the cell above"
    k1, k2, k3, k4 = jax.random.split(jax.random.key(1), 4)
    params = {"w": jax.random.normal(k1, (3, 5)), "b": jax.random.normal(k2, (5,)),
              "v": jax.random.normal(k3, (5,))}
    xs = jax.random.normal(k4, (7, 3))
    p = {k: np.asarray(a, np.float64) for k, a in params.items()}
    # predict for every row, computed here in NumPy, one example at a time
    expected = np.array([p["v"] @ np.tanh(x @ p["w"] + p["b"]) for x in np.asarray(xs, np.float64)])
    assert np.isclose(predict(params, xs[0]), expected[0], atol=2e-3), \
        "batched_predict maps your predict, which is wrong (see the checks of Exercise 1): fix predict first"

    out = batched_predict(params, xs)
    assert out.shape == (7,), f"7 examples must give shape (7,), got {out.shape}"
    assert np.allclose(out, expected, atol=2e-3), \
        "batched_predict(params, xs)[i] must equal predict(params, xs[i]): map over the rows of xs, share params"
    assert batched_predict(params, xs[:1]).shape == (1,), "a batch of one must still give shape (1,)"

    def program_size(n):
        return len(jax.make_jaxpr(batched_predict)(params, jnp.ones((n, 3))).jaxpr.eqns)
    assert program_size(4) == program_size(40), \
        "the traced program grows with the batch size, i.e. a Python loop over examples: use jax.vmap"


check_batched_predict()
print("batched_predict: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "per_example_grads_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 3 · `per_example_grads(params, xs, ys)`
#
# For every example `i`, the gradient of its own squared error
# `(predict(params, xs[i]) - ys[i])**2` with respect to `params`.
#
# * **input:** `params` as above, `xs` of shape `(n, d)`, targets `ys` of shape `(n,)`;
# * **output:** a dict with the keys of `params` whose arrays have a leading axis `n`:
#   `"w"` of shape `(n, d, h)`, `"b"` `(n, h)`, `"v"` `(n, h)`; entry `[i]` of each is
#   example `i`'s gradient.
#
# The recipe of section 5: write the loss of *one* example (the skeleton gives its
# signature), take its `jax.grad`, and `jax.vmap` the result.

# %% nbgrader={"grade": false, "grade_id": "per_example_grads_solution", "locked": false, "schema_version": 3, "solution": true}
def _squared_error(params, x, y):
    """Squared error of ONE example: (predict(params, x) - y)**2.

    params as for predict; x: (d,) float32; y: a float32 scalar. Returns a float32 scalar.
    """
    ### BEGIN SOLUTION
    return (predict(params, x) - y) ** 2
    ### END SOLUTION


# per_example_grads(params, xs, ys): xs (n, d), ys (n,). The gradient of _squared_error
# with respect to params for each example: a dict shaped like params with a leading
# axis n, i.e. w (n, d, h), b (n, h), v (n, h).
### BEGIN SOLUTION
# grad of one example's loss, mapped over (x, y): each leaf gains a leading axis n.
per_example_grads = jax.vmap(jax.grad(_squared_error), in_axes=(None, 0, 0))
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "per_example_grads_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for per_example_grads.
def check_per_example_grads():
    assert "per_example_grads" in globals(), "per_example_grads is not defined yet: fill in and run the cell above"
    k1, k2, k3, k4, k5 = jax.random.split(jax.random.key(2), 5)
    params = {"w": jax.random.normal(k1, (3, 4)), "b": jax.random.normal(k2, (4,)),
              "v": jax.random.normal(k3, (4,))}
    xs, ys = jax.random.normal(k4, (5, 3)), jax.random.normal(k5, (5,))
    p = {k: np.asarray(a, np.float64) for k, a in params.items()}

    def by_hand(x, y):
        """One example's gradient, backpropagated by hand in NumPy: the work jax.grad saves you."""
        hidden = np.tanh(x @ p["w"] + p["b"])
        error = p["v"] @ hidden - y
        d_pre = 2 * error * p["v"] * (1 - hidden**2)      # through the tanh
        return {"w": np.outer(x, d_pre), "b": d_pre, "v": 2 * error * hidden}

    x64, y64 = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    assert np.isclose(predict(params, xs[0]), p["v"] @ np.tanh(x64[0] @ p["w"] + p["b"]), atol=2e-3), \
        "per_example_grads differentiates your predict, which is wrong (see the checks of Exercise 1): fix predict first"

    g = per_example_grads(params, xs, ys)
    assert isinstance(g, dict) and set(g) == {"w", "b", "v"}, "return a dict with the keys of params: 'w', 'b', 'v'"
    expected_shapes = {"w": (5, 3, 4), "b": (5, 4), "v": (5, 4)}
    for k, shape in expected_shapes.items():
        assert g[k].shape == shape, (f"g['{k}'] has shape {g[k].shape}, expected {shape}: one gradient per example "
                                     "needs vmap over xs and ys (in_axes 0) with params shared (None)")
    expected = [by_hand(x, y) for x, y in zip(x64, y64)]
    for i in range(len(xs)):
        for k in params:
            assert np.allclose(g[k][i], expected[i][k], atol=2e-3), \
                f"g['{k}'][{i}] is not the gradient of example {i}'s squared error (predict(params, xs[{i}]) - ys[{i}])**2"


check_per_example_grads()
print("per_example_grads: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "payoff_speed", "locked": true, "schema_version": 3, "solution": false}
# ## Putting it together: loop vs `vmap` vs `jit(vmap)`
#
# Time `n` predictions four ways: Python loops over your `predict` and over `jax.jit(predict)`
# (timed on 200 examples and scaled up, because they are slow), your `batched_predict`, and
# `jax.jit(batched_predict)`. On a GPU `n` grows to a million; try
# `demo_time_batching(n=10_000_000)` there.

# %% nbgrader={"grade": false, "grade_id": "payoff_timing", "locked": true, "schema_version": 3, "solution": false}
def demo_model(key, d, h):
    """Random parameters for the exercise's network: d inputs, h hidden units."""
    k1, k2 = jax.random.split(key)
    return {"w": jax.random.normal(k1, (d, h)) / math.sqrt(d), "b": jnp.zeros(h),
            "v": jax.random.normal(k2, (h,)) / math.sqrt(h)}


def demo_time_batching(n, d=8, h=32, loop_n=200):
    """Time n predictions four ways and print the table (the loops run loop_n, scaled to n)."""
    model = demo_model(jax.random.key(0), d, h)
    rng = np.random.default_rng(0)

    def batch(m):
        return lambda: (model, jnp.asarray(rng.standard_normal((m, d), dtype=np.float32)))

    def python_loop(params, xs):
        return jnp.stack([predict(params, x) for x in xs])

    predict_jit = jax.jit(predict)
    batched_jit = jax.jit(batched_predict)
    runs = {   # name: (timing, factor to scale it to n examples)
        "Python loop, predict": (time_call(python_loop, batch(loop_n), repeats=3), n / loop_n),
        "Python loop, jit(predict)": (time_call(lambda p, xs: [predict_jit(p, x) for x in xs],
                                                batch(loop_n), repeats=3), n / loop_n),
        "batched_predict (vmap)": (time_call(batched_predict, batch(n), repeats=9), 1.0),
        "jit(batched_predict)": (time_call(batched_jit, batch(n), repeats=9), 1.0),
    }
    base = runs["Python loop, predict"][0].median_s * runs["Python loop, predict"][1]
    print(f"{n:,} predictions, d = {d}, h = {h}, {device_summary()}")
    print(format_table(["", "time for n", "per example", "speed-up"], [
        [name, fmt_time(t.median_s * k), fmt_time(t.median_s * k / n), fmt_speedup(base, t.median_s * k)]
        for name, (t, k) in runs.items()]))


demo_time_batching(n=1_000_000 if ON_GPU else 10_000)

# %% [markdown] nbgrader={"grade": false, "grade_id": "outlier_gradients", "locked": true, "schema_version": 3, "solution": false}
# And a look at what per-example gradients are good for: on data with a few corrupted
# targets, the gradient norms single out the examples that pull the model hardest.

# %% nbgrader={"grade": false, "grade_id": "outlier_gradients_plot", "locked": true, "schema_version": 3, "solution": false}
def demo_outliers(n=500, d=8, h=32, corrupted=10):
    """Per-example gradient norms on data whose first `corrupted` targets are off by 3."""
    model = demo_model(jax.random.key(0), d, h)
    xs = jax.random.normal(jax.random.key(3), (n, d))
    ys = batched_predict(model, xs) + 0.05 * jax.random.normal(jax.random.key(7), (n,))
    ys = ys.at[:corrupted].add(3.0)
    grads = jax.jit(per_example_grads)(model, xs, ys)
    norms = jnp.sqrt(sum(jnp.sum(g.reshape(n, -1) ** 2, axis=1) for g in jax.tree.leaves(grads)))
    largest = sorted(np.argsort(-np.asarray(norms))[:corrupted].tolist())
    print(f"the {corrupted} largest gradient norms belong to examples", largest)

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(np.asarray(norms[corrupted:]), bins=40, label="clean examples")
    ax.hist(np.asarray(norms[:corrupted]), bins=10, label="corrupted targets")
    ax.set_xlabel("per-example gradient norm")
    ax.set_ylabel("examples")
    ax.legend()
    plt.tight_layout()
    plt.show()


demo_outliers()

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * `jax.vmap(f, in_axes=..., out_axes=...)` turns a function of one example into a
#   function of a batch; `None` in `in_axes` shares an argument between all examples.
# * It is not a loop: each primitive becomes its batched form, so the result is what you
#   would have written by hand — without the axis bugs.
# * It composes: `jit(vmap(f))` for speed, `vmap(grad(loss))` for per-example gradients,
#   nested `vmap` for all pairs.
#
# **Next:** notebook 05 — the heat-equation solver from the earlier workshops, in JAX.
