# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # 06 · The neural network in JAX: no more hand-written backprop
#
# Workshop 3, notebook 6 of 6 — Part 4, the golden examples. Second: the multilayer
# perceptron (MLP) you trained from scratch in NumPy, rewritten in JAX.
#
# 1. the data (handwritten digits) and the NumPy MLP, as you know it;
# 2. the building blocks in JAX: parameter pytrees, a stable log-softmax, picking each
#    example's class, fixed-shape minibatches, `lax.scan`;
# 3. exercises: `init_mlp`, `mlp_forward`, `cross_entropy`, `train_step`, `train_mlp`;
# 4. the payoff: `jax.grad` vs the hand-written backward pass, training curves of both
#    versions, and their speed.
#
# **How this notebook works.** Read the prose and run the worked examples from top to bottom
# (*Run → Run All Cells* is fine). The exercises come at the end. In each exercise cell, replace
# the lines `# YOUR CODE HERE` / `raise NotImplementedError()` with your code and keep the name
# and signature exactly as given: the graders look them up by name. The cell under each exercise
# runs *visible checks*; when one fails, its message says what is wrong. When you hand in, *hidden
# graders* test the same functions on fresh random inputs at several shapes, with tolerances for
# float32 on a GPU, so write general functions rather than ones tuned to the visible examples.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import functools
import math

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from course.digits import load_digits
from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

ON_GPU = jax.default_backend() == "gpu"
print(f"JAX {jax.__version__} on {device_summary()}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "digits_data", "locked": true, "schema_version": 3, "solution": false}
# ## 1 · The data and the NumPy network
#
# 8 × 8 images of handwritten digits (UCI, 1 797 images), flattened to 64 pixel values in
# [0, 1], with a fixed train/test split. `load_digits()` returns NumPy arrays: `x_train`
# `(1438, 64)` float32, `y_train` `(1438,)` int32 in 0–9, and the same for the test set.

# %% nbgrader={"grade": false, "grade_id": "show_digits", "locked": true, "schema_version": 3, "solution": false}
data = load_digits()
print({name: (a.shape, str(a.dtype)) for name, a in data._asdict().items()})

fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for ax, image, label in zip(axes, data.x_train[:10], data.y_train[:10]):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
plt.show()


# %% [markdown] nbgrader={"grade": false, "grade_id": "numpy_mlp_intro", "locked": true, "schema_version": 3, "solution": false}
# The golden NumPy MLP from the earlier workshops: ReLU hidden layers, a linear output
# layer, mean softmax cross-entropy, minibatch SGD — and a backward pass written by hand.
# Read `numpy_loss_and_grads` once more: every line of it is what `jax.grad` will do for us.

# %% nbgrader={"grade": false, "grade_id": "numpy_mlp", "locked": true, "schema_version": 3, "solution": false} include="solutions/golden/mlp.py" rename={"init_params": "numpy_init_params", "forward": "numpy_forward", "_log_softmax": "_numpy_log_softmax", "loss_and_grads": "numpy_loss_and_grads", "sgd_step": "numpy_sgd_step", "train": "numpy_train", "accuracy": "numpy_accuracy"}
def numpy_init_params(rng, sizes):
    """He initialisation (std sqrt(2/fan_in), suited to ReLU) and zero biases, float32."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        scale = np.float32(np.sqrt(2.0 / fan_in))
        W = rng.standard_normal((fan_in, fan_out), dtype=np.float32) * scale
        b = np.zeros(fan_out, dtype=np.float32)
        params.append((W, b))
    return params


def numpy_forward(params, x):
    """Logits (n, sizes[-1]) and a cache for backprop: the input of each layer and the
    pre-activations of the hidden layers."""
    inputs, pre_activations = [], []
    h = x
    for W, b in params[:-1]:
        inputs.append(h)
        z = h @ W + b
        pre_activations.append(z)
        h = np.maximum(z, 0)
    W, b = params[-1]
    inputs.append(h)
    logits = h @ W + b
    return logits, {"inputs": inputs, "pre_activations": pre_activations}


def _numpy_log_softmax(logits):
    # Subtracting the row maximum keeps exp from overflowing; the result is unchanged.
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def numpy_loss_and_grads(params, x, labels):
    """Mean softmax cross-entropy and its gradient with respect to every (W, b)."""
    n = x.shape[0]
    logits, cache = numpy_forward(params, x)
    log_probs = _numpy_log_softmax(logits)
    loss = -log_probs[np.arange(n), labels].mean()

    # d loss / d logits = (softmax - one_hot) / n
    delta = np.exp(log_probs)
    delta[np.arange(n), labels] -= 1
    delta /= n

    grads = [None] * len(params)
    for layer in reversed(range(len(params))):
        W, _ = params[layer]
        grads[layer] = (cache["inputs"][layer].T @ delta, delta.sum(axis=0))
        if layer > 0:
            # Back through W, then through the ReLU: zero where the unit was off.
            delta = (delta @ W.T) * (cache["pre_activations"][layer - 1] > 0)
    return loss, grads


def numpy_sgd_step(params, x, labels, learning_rate):
    """One gradient-descent step on a batch. Returns (new_params, loss before the step)."""
    loss, grads = numpy_loss_and_grads(params, x, labels)
    new_params = [
        (W - learning_rate * dW, b - learning_rate * db)
        for (W, b), (dW, db) in zip(params, grads)
    ]
    return new_params, loss


def numpy_train(rng, x, labels, sizes, epochs, batch_size, learning_rate):
    """Minibatch SGD from init_params(rng, sizes), the data reshuffled every epoch."""
    params = numpy_init_params(rng, sizes)
    n = x.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            params, _ = numpy_sgd_step(params, x[batch], labels[batch], learning_rate)
    return params


def numpy_accuracy(params, x, labels):
    """Fraction of rows whose largest logit is the true class."""
    logits, _ = numpy_forward(params, x)
    return float(np.mean(logits.argmax(axis=1) == labels))


# %% [markdown] nbgrader={"grade": false, "grade_id": "params_pytree", "locked": true, "schema_version": 3, "solution": false}
# ## 2 · Building blocks in JAX
#
# ### Parameters as a pytree
#
# The NumPy code already keeps its parameters as a list of `(W, b)` tuples: a pytree
# (notebook 03). `jax.grad` of a loss with respect to that list returns a list of
# `(dW, db)` tuples of the same shapes, and one `jax.tree.map` updates all of them.

# %% nbgrader={"grade": false, "grade_id": "params_pytree_example", "locked": true, "schema_version": 3, "solution": false}
params = numpy_init_params(np.random.default_rng(0), [64, 32, 10])
print("shapes:", jax.tree.map(np.shape, params))
print("leaves:", len(jax.tree.leaves(params)), "arrays,",
      sum(p.size for p in jax.tree.leaves(params)), "numbers")
halved = jax.tree.map(lambda p: p / 2, params)     # same structure, every array halved

# %% [markdown] nbgrader={"grade": false, "grade_id": "stable_log_softmax", "locked": true, "schema_version": 3, "solution": false}
# ### A numerically stable log-softmax
#
# The softmax turns logits $z$ into probabilities $e^{z_c} / \sum_k e^{z_k}$. Computed
# literally, `exp` overflows float32 for logits above ~88 and the loss becomes `nan`. The
# cure is to subtract the largest logit first, which the NumPy code does by hand;
# `jax.nn.log_softmax` does it for you, and its gradient is stable too.

# %% nbgrader={"grade": false, "grade_id": "log_softmax_overflow", "locked": true, "schema_version": 3, "solution": false}
logits = jnp.array([[1000.0, 0.0, -5.0]])
naive = jnp.log(jnp.exp(logits) / jnp.exp(logits).sum(axis=1, keepdims=True))
print("naive log(softmax):", naive)
print("jax.nn.log_softmax:", jax.nn.log_softmax(logits))

# %% [markdown] nbgrader={"grade": false, "grade_id": "true_class_log_prob", "locked": true, "schema_version": 3, "solution": false}
# ### Each example's log-probability of its true class
#
# The loss needs, for row `i`, the entry `log_probs[i, labels[i]]`. NumPy's
# `log_probs[np.arange(n), labels]` works in JAX as well; `jnp.take_along_axis` says the
# same thing directly, and a one-hot mask is a third way:

# %% nbgrader={"grade": false, "grade_id": "pick_true_class", "locked": true, "schema_version": 3, "solution": false}
log_probs = jax.nn.log_softmax(jnp.array([[2.0, 0.5, 0.1], [0.2, 0.1, 3.0]]))
labels = jnp.array([0, 2])
print(log_probs[jnp.arange(2), labels])
print(jnp.take_along_axis(log_probs, labels[:, None], axis=1)[:, 0])
print(jnp.sum(log_probs * jax.nn.one_hot(labels, 3), axis=1))

# %% [markdown] nbgrader={"grade": false, "grade_id": "fixed_shape_batches", "locked": true, "schema_version": 3, "solution": false}
# ### Minibatches with a fixed shape
#
# Every new input shape compiles a new program (notebook 02). An epoch of 1 438 examples cut
# into batches of 32 leaves a ragged last batch of 30: a second compilation, and a batch
# weighted differently from the rest. The usual fix: shuffle, then keep
# `n_batches = n // batch_size` full batches and let the few leftover examples sit this
# epoch out — a fresh shuffle next epoch leaves out different ones. A random permutation
# reshaped to `(n_batches, batch_size)` gives the indices of every batch at once:

# %% nbgrader={"grade": false, "grade_id": "batches_example", "locked": true, "schema_version": 3, "solution": false}
n, batch_size = 10, 4
order = jax.random.permutation(jax.random.key(0), n)
n_batches = n // batch_size
batches = order[: n_batches * batch_size].reshape(n_batches, batch_size)
print("permutation:", order, "\nbatches:\n", batches, "\nleft out this epoch:", order[n_batches * batch_size:])


# %% [markdown] nbgrader={"grade": false, "grade_id": "lax_scan", "locked": true, "schema_version": 3, "solution": false}
# ### `lax.scan`: a loop that carries state and collects outputs
#
# A training epoch is a loop over batches that *carries* the parameters from one step to
# the next and *collects* a loss per step. `jax.lax.scan(f, init, xs)` is exactly that:
# it calls `carry, y = f(carry, x)` for each slice `x` of `xs` along its first axis, and
# returns the final carry and the stacked `y`s — in one compiled loop:
#
# ```python
# carry = init
# ys = []
# for x in xs:                       # what scan computes, without Python in the loop
#     carry, y = f(carry, x)
#     ys.append(y)
# return carry, stack(ys)
# ```
#
# A small example: an exponential moving average of a noisy signal, returning every
# intermediate value.

# %% nbgrader={"grade": false, "grade_id": "ema_scan", "locked": true, "schema_version": 3, "solution": false}
def ema_step(average, x):
    new = 0.9 * average + 0.1 * x
    return new, new                     # (carry to the next step, output of this step)

signal = 1.0 + 0.3 * jax.random.normal(jax.random.key(1), (200,))
final, history = jax.lax.scan(ema_step, 0.0, signal)
print("final average:", float(final), "  history shape:", history.shape)


# %% [markdown] nbgrader={"grade": false, "grade_id": "exercises", "locked": true, "schema_version": 3, "solution": false}
# The `xs` of a scan can be any array, or pytree of arrays, with a common leading axis. For
# an epoch of training it can simply be the `(n_batches, batch_size)` array of batch
# indices from above: each step receives one row of indices, gathers its examples with
# `x[rows]`, and takes an SGD step.
#
# ## Exercises
#
# The network maps 64 pixels to 10 logits (one per digit); `sizes = [64, 64, 64, 10]`
# means two hidden layers of 64 units. Build it, its loss, its training step and its
# training loop.

# %% [markdown] nbgrader={"grade": false, "grade_id": "init_mlp_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 1 · `init_mlp(key, sizes)`
#
# * **input:** a PRNG key and the layer sizes as a list of ints, e.g. `[64, 128, 10]`
#   (64 inputs, one hidden layer of 128 units, 10 outputs). The key may come from
#   `jax.random.key` or be a raw `jax.random.PRNGKey` (the graders pass raw keys);
# * **output:** a list with one `(W, b)` tuple per layer: `W` of shape
#   `(sizes[i], sizes[i+1])`, random with mean 0 and the standard deviation of He
#   (`sqrt(2 / fan_in)`, suited to ReLU) or Glorot (`sqrt(2 / (fan_in + fan_out))`):
#   standard-normal samples times that scale; `b` zeros of shape `(sizes[i+1],)`; all
#   float32 JAX arrays;
# * every layer draws with its own key split from `key` (never reuse a key), so the same
#   `key` always gives the same network and different keys give different ones.

# %% nbgrader={"grade": false, "grade_id": "init_mlp_solution", "locked": false, "schema_version": 3, "solution": true}
def init_mlp(key, sizes):
    """Random initial parameters of an MLP with layer sizes `sizes`.

    key: a JAX PRNG key. sizes: list of ints [n_inputs, hidden..., n_outputs].
    Returns a list of (W, b) per layer: W (sizes[i], sizes[i+1]) float32, normal with
    He (sqrt(2/fan_in)) or Glorot scaling; b (sizes[i+1],) float32 zeros. One key per
    layer, split from `key`: the same key gives the same parameters.
    """
    ### BEGIN SOLUTION
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (fan_in, fan_out), jnp.float32) * jnp.sqrt(2.0 / fan_in),
         jnp.zeros(fan_out, jnp.float32))
        for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:])
    ]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "init_mlp_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for init_mlp.
def check_init_mlp():
    params = init_mlp(jax.random.key(0), [4, 8, 3])
    assert isinstance(params, list) and len(params) == 2, \
        f"sizes [4, 8, 3] means 2 layers: expected a list of 2 (W, b) tuples, got {type(params).__name__} of length {len(params)}"
    (W1, b1), (W2, b2) = params
    assert (W1.shape, b1.shape, W2.shape, b2.shape) == ((4, 8), (8,), (8, 3), (3,)), \
        f"W is (sizes[i], sizes[i+1]) and b is (sizes[i+1],); got {W1.shape}, {b1.shape}, {W2.shape}, {b2.shape}"
    assert all(isinstance(p, jax.Array) and p.dtype == jnp.float32 for p in jax.tree.leaves(params)), \
        "all parameters must be float32 JAX arrays (jax.random.normal, jnp.zeros)"
    assert not np.any(b1) and not np.any(b2), "biases must start at zero"

    big = init_mlp(jax.random.key(1), [256, 512, 10])
    std = float(big[0][0].std())
    he, glorot = math.sqrt(2 / 256), math.sqrt(2 / (256 + 512))
    assert 0.8 * glorot < std < 1.2 * he, \
        f"first-layer W has std {std:.4f}: scale normal samples by He sqrt(2/fan_in) = {he:.4f} or Glorot sqrt(2/(fan_in+fan_out)) = {glorot:.4f}"
    square = init_mlp(jax.random.key(2), [5, 5, 5])
    assert not np.allclose(square[0][0], square[1][0]), "two layers got identical weights: split the key, one per layer"
    again = init_mlp(jax.random.key(0), [4, 8, 3])
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(again))), \
        "the same key must give the same parameters: draw only with keys split from `key`"
    other = init_mlp(jax.random.key(3), [4, 8, 3])
    assert not np.array_equal(other[0][0], W1), "a different key must give a different network: draw with `key`"


check_init_mlp()
print("init_mlp: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "mlp_forward_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 2 · `mlp_forward(params, x)`
#
# * **input:** `params` from `init_mlp` (a list of `(W, b)`), a batch `x` of shape
#   `(n, sizes[0])`;
# * **output:** the logits, a float32 array of shape `(n, sizes[-1])`: each layer computes
#   `h @ W + b`, and a ReLU (`jax.nn.relu`) follows every layer **except the last** (logits
#   may be negative).
#
# No cache is needed: JAX records what the backward pass needs by itself.

# %% nbgrader={"grade": false, "grade_id": "mlp_forward_solution", "locked": false, "schema_version": 3, "solution": true}
def mlp_forward(params, x):
    """The MLP's logits for a batch.

    params: list of (W, b) from init_mlp. x: (n, sizes[0]) float32.
    Returns (n, sizes[-1]) float32 logits: h -> h @ W + b for every layer, with a ReLU
    after every layer except the last.
    """
    ### BEGIN SOLUTION
    *hidden, (W_out, b_out) = params
    h = x
    for W, b in hidden:
        h = jax.nn.relu(h @ W + b)
    return h @ W_out + b_out
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "mlp_forward_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for mlp_forward.
def check_mlp_forward():
    eye = jnp.eye(3)
    x = jnp.array([[1.0, -2.0, 3.0]])
    one_layer = [(eye, jnp.zeros(3))]
    assert np.allclose(mlp_forward(one_layer, x), x), \
        "with a single identity layer the logits are x itself: no ReLU after the last layer (logits may be negative)"
    two_layers = [(eye, jnp.zeros(3)), (eye, jnp.array([0.0, 0.0, 1.0]))]
    assert np.allclose(mlp_forward(two_layers, x), [[1.0, 0.0, 4.0]]), \
        "two identity layers: relu(x) + b2 = [1, 0, 4]; a ReLU between the layers, the bias added"

    rng = np.random.default_rng(0)
    sizes = [6, 5, 4, 3]
    p = [(rng.standard_normal((m, k)), rng.standard_normal(k)) for m, k in zip(sizes[:-1], sizes[1:])]
    xs = rng.standard_normal((7, 6))
    expected, _ = numpy_forward(p, xs)                 # the golden NumPy forward pass, float64
    got = mlp_forward([(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32)) for W, b in p],
                      jnp.asarray(xs, jnp.float32))
    assert got.shape == (7, 3), f"logits must have shape (n, sizes[-1]) = (7, 3), got {got.shape}"
    assert isinstance(got, jax.Array) and got.dtype == jnp.float32, \
        f"logits are a {type(got).__name__} of {np.asarray(got).dtype}, expected a float32 JAX array"
    # (the tolerance leaves room for GPUs, whose float32 matrix products may use TF32)
    assert np.allclose(got, expected, rtol=2e-3, atol=2e-3), "three layers: logits differ from relu(relu(x W1 + b1) W2 + b2) W3 + b3"


check_mlp_forward()
print("mlp_forward: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "cross_entropy_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 3 · `cross_entropy(params, x, labels)`
#
# * **input:** `params`, a batch `x` of shape `(n, sizes[0])`, and integer class labels
#   `labels` of shape `(n,)` with values in `0 … sizes[-1]-1`;
# * **output:** a float32 scalar, the mean over the batch of
#   `-log_softmax(logits)[i, labels[i]]`.
#
# `jax.nn.log_softmax` is the safe way to get there: `log(exp(z) / sum(exp(z)))` overflows
# for large logits (section 2), and training can produce them.

# %% nbgrader={"grade": false, "grade_id": "cross_entropy_solution", "locked": false, "schema_version": 3, "solution": true}
def cross_entropy(params, x, labels):
    """Mean softmax cross-entropy of the MLP on a labelled batch.

    params: list of (W, b). x: (n, sizes[0]) float32. labels: (n,) integer class ids.
    Returns a float32 scalar: mean over i of -log_softmax(mlp_forward(params, x))[i, labels[i]].
    (jax.nn.log_softmax keeps it finite for large logits.)
    """
    ### BEGIN SOLUTION
    log_probs = jax.nn.log_softmax(mlp_forward(params, x))
    picked = jnp.take_along_axis(log_probs, jnp.asarray(labels)[:, None], axis=1)
    return -jnp.mean(picked)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "cross_entropy_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for cross_entropy.
def check_cross_entropy():
    x = jnp.array([[2.0, 0.0, 0.0]])
    identity = [(jnp.eye(3), jnp.zeros(3))]            # logits = x
    assert np.allclose(mlp_forward(identity, x), x), \
        "cross_entropy needs your mlp_forward, which is wrong (see the checks of Exercise 2): fix mlp_forward first"
    loss = cross_entropy(identity, x, jnp.array([0]))
    expected = math.log(1 + 2 * math.exp(-2.0))         # -log(e^2 / (e^2 + 1 + 1))
    assert jnp.shape(loss) == (), f"the loss must be a scalar, got shape {jnp.shape(loss)}: average over the batch"
    assert isinstance(loss, jax.Array) and loss.dtype == jnp.float32, \
        f"the loss is a {type(loss).__name__} of {np.asarray(loss).dtype}, expected a float32 JAX array"
    assert np.isclose(loss, expected, atol=1e-6), f"logits [2, 0, 0], label 0: loss {loss}, expected -log softmax = {expected:.6f}"
    assert np.isclose(cross_entropy(identity, x, jnp.array([1])), 2 + expected, atol=1e-5), \
        "label 1 must pick the log-probability of class 1: index the log-softmax with the labels"
    zeros = [(jnp.zeros((3, 4)), jnp.zeros(4))]
    assert np.isclose(cross_entropy(zeros, jnp.ones((5, 3)), jnp.array([0, 1, 2, 3, 0])), math.log(4), atol=1e-6), \
        "all logits equal: every class has probability 1/4 and the loss is log 4; is it a mean over the batch?"
    twice = jnp.concatenate([x, x])
    assert np.isclose(cross_entropy(identity, twice, jnp.array([0, 0])), expected, atol=1e-6), \
        "two copies of the same example must give the same loss as one: take the mean, not the sum"
    huge = cross_entropy([(1000.0 * jnp.eye(3), jnp.zeros(3))], jnp.array([[1.0, 0.0, -1.0]]), jnp.array([2]))
    if not (np.isfinite(huge) and np.isclose(huge, 2000.0, rtol=1e-4)):   # advice, not graded
        print(f"a tip: with logits [1000, 0, -1000] your loss is {huge}, not 2000; "
              "jax.nn.log_softmax would keep it right")


check_cross_entropy()
print("cross_entropy: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "train_step_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 4 · `train_step(params, x, labels, learning_rate)`
#
# One step of stochastic gradient descent on a minibatch, compiled:
#
# * **output:** a tuple `(new_params, loss)`: `new_params` is
#   `params − learning_rate · ∇ cross_entropy(params, x, labels)` for every `W` and `b`
#   (float32), with the same structure as `params`; `loss` is the loss **before** the step;
# * it must be compiled: keep the skeleton's `@jax.jit`, so that forward pass, backward pass
#   and update become one program.
#
# `jax.value_and_grad` gives the loss and the gradient in one pass, and one `jax.tree.map`
# updates every leaf. On a GPU part of the points are for speed (the table at the top says
# how many): your step races the reference answer's jitted step.

# %% nbgrader={"grade": false, "grade_id": "train_step_solution", "locked": false, "schema_version": 3, "solution": true}
@jax.jit
def train_step(params, x, labels, learning_rate):
    """One jit-compiled SGD step on a minibatch.

    params: list of (W, b). x: (batch, sizes[0]) float32. labels: (batch,) ints.
    learning_rate: float (traced). Returns (new_params, loss): new_params has params'
    structure, each leaf p - learning_rate * d cross_entropy / d p; loss is the
    cross-entropy BEFORE the step.
    """
    ### BEGIN SOLUTION
    loss, grads = jax.value_and_grad(cross_entropy)(params, x, labels)
    new_params = jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)
    return new_params, loss
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_step_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for train_step.
def check_train_step():
    np_params = numpy_init_params(np.random.default_rng(0), [4, 8, 3])
    x_np = np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32)
    labels_np = np.arange(16) % 3
    params, x, labels = jax.tree.map(jnp.asarray, np_params), jnp.asarray(x_np), jnp.asarray(labels_np)
    loss_ref, grads_ref = numpy_loss_and_grads(np_params, x_np, labels_np)   # the hand-written backprop
    # (tolerances leave room for GPUs, whose float32 matrix products may use TF32)
    assert np.isclose(cross_entropy(params, x, labels), loss_ref, atol=2e-3), \
        "train_step differentiates your cross_entropy, which is wrong (see the checks of Exercise 3): fix cross_entropy first"

    new_params, loss = train_step(params, x, labels, 0.1)
    assert np.isclose(loss, loss_ref, atol=2e-3), "the returned loss must be the loss BEFORE the step, at the old params"
    assert jax.tree.structure(new_params) == jax.tree.structure(params), \
        "new_params must have the structure of params: a list of (W, b) tuples (jax.tree.map keeps it)"
    for p, g, q in zip(jax.tree.leaves(np_params), jax.tree.leaves(grads_ref), jax.tree.leaves(new_params)):
        assert q.dtype == jnp.float32, f"new parameters are {q.dtype}, expected float32"
        assert np.allclose(q, p - 0.1 * g, atol=1e-3), \
            "each parameter must become p - learning_rate * gradient: check the sign and the learning rate"
    for _ in range(30):
        params, last = train_step(params, x, labels, 0.5)
    assert last < loss, f"30 steps on one batch should lower the loss: {float(loss):.3f} -> {float(last):.3f}"
    assert hasattr(train_step, "lower"), "train_step is not compiled: decorate it with @jax.jit"


check_train_step()
print("train_step: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "train_mlp_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 5 · `train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate)`
#
# Minibatch SGD from start to finish:
#
# 1. split `key`: one key for `init_mlp`, another for the shuffling (never draw with `key`
#    itself);
# 2. in each of the `epochs` epochs, shuffle the `n` examples afresh
#    (`jax.random.permutation`), with a new key every epoch, all of them taken from `key`,
#    and cut the permutation into minibatches;
# 3. run your `train_step` on every minibatch;
# 4. return the trained `params`. The hidden check trains a network on the digits with
#    your `train_mlp` and expects at least 90 % accuracy on the test split.
#
# Minibatches of exactly `batch_size` examples, `n // batch_size` of them with the few
# leftover examples sitting this epoch out (section 2), keep every batch the same shape: one
# compilation of `train_step`. `x` is a `(n, d)` float32 array and `labels` `(n,)` ints;
# `sizes`, `epochs` and `batch_size` are ints, `learning_rate` a float.
#
# The skeleton offers a helper, `_train_epoch`, that does one whole epoch (shuffle, cut into
# batches, `lax.scan` of `train_step` over them) as a single compiled program instead of one
# Python call per minibatch; `batch_size` is a static argument there because it fixes array
# shapes. Fill it in and use it, or write the epoch as a Python loop over batches first and
# come back to the helper when that works.

# %% nbgrader={"grade": false, "grade_id": "train_mlp_solution", "locked": false, "schema_version": 3, "solution": true}
@functools.partial(jax.jit, static_argnames="batch_size")
def _train_epoch(params, key, x, labels, learning_rate, batch_size):
    """One epoch as one compiled program: shuffle, cut into batches, lax.scan of train_step.

    params: list of (W, b). key: PRNG key for this epoch's shuffle. x: (n, d) float32.
    labels: (n,) ints. learning_rate: float. batch_size: int (static).
    Uses the n // batch_size full batches of a random permutation (the leftover
    examples sit this epoch out). Returns (params after the epoch, losses (n_batches,)).
    """
    ### BEGIN SOLUTION
    # One epoch as one program: shuffle, cut into batches (the ragged last one dropped) and
    # lax.scan train_step over them. Outside jit the shuffle and gathers were eager operations
    # that cost more than the training steps themselves on an H100.
    n_batches = x.shape[0] // batch_size
    order = jax.random.permutation(key, x.shape[0])[: n_batches * batch_size]

    def step(params, batch_rows):
        return train_step(params, x[batch_rows], labels[batch_rows], learning_rate)

    return jax.lax.scan(step, params, order.reshape(n_batches, batch_size))
    ### END SOLUTION


def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):
    """Train an MLP with minibatch SGD.

    key: JAX PRNG key. x: (n, d) float32, labels: (n,) ints (JAX; NumPy works too).
    sizes: layer sizes (sizes[0] == d). epochs, batch_size: ints. learning_rate: float.
    Starts from init_mlp with a key taken from `key`; every epoch reshuffles with a new
    key taken from `key` and runs train_step on n // batch_size full minibatches.
    Returns the trained params (a list of (W, b)). The same key gives the same result.
    """
    ### BEGIN SOLUTION
    init_key, shuffle_key = jax.random.split(key)
    params = init_mlp(init_key, sizes)
    x = jnp.asarray(x, jnp.float32)
    labels = jnp.asarray(labels, jnp.int32)
    batch_size = min(batch_size, x.shape[0])  # a batch larger than the data is the whole data
    for epoch_key in jax.random.split(shuffle_key, epochs):
        params, _ = _train_epoch(params, epoch_key, x, labels, learning_rate, batch_size)
    return params
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_mlp_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for train_mlp: three well-separated blobs in 2-D, easy for an MLP.
def check_train_mlp():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]], dtype=np.float32)
    blob_labels = rng.integers(0, 3, size=300).astype(np.int32)
    blobs = centres[blob_labels] + rng.standard_normal((300, 2)).astype(np.float32)
    x, labels = jnp.asarray(blobs), jnp.asarray(blob_labels)

    start = init_mlp(jax.random.key(0), [2, 16, 3])
    assert [np.shape(W) for W, _ in start] == [(2, 16), (16, 3)], \
        "train_mlp starts from your init_mlp, which is wrong (see the checks of Exercise 1): fix init_mlp first"
    stepped, _ = train_step(start, x[:32], labels[:32], 0.1)
    by_numpy, _ = numpy_sgd_step(jax.tree.map(np.asarray, start), blobs[:32], blob_labels[:32], 0.1)
    assert all(np.allclose(a, b, atol=1e-3) for a, b in zip(jax.tree.leaves(stepped), jax.tree.leaves(by_numpy))), \
        "train_mlp runs your train_step, which is wrong (see the checks of Exercise 4): fix train_step first"

    trained = train_mlp(jax.random.key(0), x, labels, [2, 16, 3], 20, 32, 0.1)
    assert isinstance(trained, list) and len(trained) == 2, "return the params: a list of (W, b), one per layer"
    assert trained[0][0].shape == (2, 16) and trained[1][0].shape == (16, 3), "parameter shapes must follow sizes"
    accuracy = numpy_accuracy(jax.tree.map(np.asarray, trained), blobs, blob_labels)
    assert accuracy > 0.9, \
        f"training accuracy {accuracy:.2f} on three separated blobs, expected > 0.9: does every epoch run train_step on every minibatch?"
    again = train_mlp(jax.random.key(0), x, labels, [2, 16, 3], 20, 32, 0.1)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(trained), jax.tree.leaves(again))), \
        "the same key must give the same trained params: take every random key from `key`"
    other = train_mlp(jax.random.key(1), x, labels, [2, 16, 3], 20, 32, 0.1)
    assert not np.allclose(other[0][0], trained[0][0]), "a different key must give a different network"


check_train_mlp()
print("train_mlp: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "payoff_gradients", "locked": true, "schema_version": 3, "solution": false}
# ## The payoff
#
# ### `jax.grad` agrees with the hand-written backward pass
#
# Same parameters, same batch: the gradients of your `cross_entropy` from `jax.grad` and the
# gradients from `numpy_loss_and_grads` should agree to float32 rounding, about 10⁻⁷. On a
# recent NVIDIA GPU the default gap is closer to 10⁻³: there, float32 matrix products use
# TensorFloat-32 unless told otherwise (notebook 01). The second line repeats the check
# with full float32 matrix products.

# %% nbgrader={"grade": false, "grade_id": "grad_vs_backprop", "locked": true, "schema_version": 3, "solution": false}
demo_sizes = [64, 64, 64, 10]      # the payoff's network: two hidden layers of 64 units


def demo_grad_vs_backprop(batch=128):
    np_params = numpy_init_params(np.random.default_rng(0), demo_sizes)
    x, labels = data.x_train[:batch], data.y_train[:batch]
    np_loss, np_grads = numpy_loss_and_grads(np_params, x, labels)
    print(f"NumPy loss {np_loss:.6f}")

    # Jitted: one compilation per precision, instead of every operation compiled on its own.
    value_and_grad = jax.jit(jax.value_and_grad(cross_entropy))

    def compare(label):
        jax_loss, jax_grads = value_and_grad(
            jax.tree.map(jnp.asarray, np_params), jnp.asarray(x), jnp.asarray(labels))
        gap = max(float(np.max(np.abs(np.asarray(j) - n)))
                  for j, n in zip(jax.tree.leaves(jax_grads), jax.tree.leaves(np_grads)))
        print(f"{label:32s} JAX loss {float(jax_loss):.6f}, max |jax.grad - backprop| {gap:.1e}")

    compare("default matmul precision:")
    with jax.default_matmul_precision("highest"):
        compare('precision "highest":')


demo_grad_vs_backprop()

# %% [markdown] nbgrader={"grade": false, "grade_id": "training_both", "locked": true, "schema_version": 3, "solution": false}
# ### Training both, epoch by epoch
#
# The NumPy network with its own training loop, and the JAX network with your `init_mlp`
# and `train_step`, called from a Python loop so that we can record the mean training loss
# and the test accuracy after every epoch.

# %% nbgrader={"grade": false, "grade_id": "training_curves", "locked": true, "schema_version": 3, "solution": false}
demo_epochs, demo_batch, demo_lr = 30, 32, 0.1
demo_x_train, demo_y_train = jnp.asarray(data.x_train), jnp.asarray(data.y_train)   # on the device, once
demo_x_test, demo_y_test = jnp.asarray(data.x_test), jnp.asarray(data.y_test)


@jax.jit
def demo_accuracy(params, x, labels):
    return jnp.mean(jnp.argmax(mlp_forward(params, x), axis=1) == labels)


def demo_numpy_epoch(params, rng, batch):
    """One epoch of the NumPy network: shuffled with `rng`, numpy_sgd_step on each of the
    n // batch full minibatches. Returns (params, the loss of every step)."""
    n_batches = len(data.x_train) // batch
    order = rng.permutation(len(data.x_train))[: n_batches * batch].reshape(n_batches, batch)
    losses = []
    for idx in order:
        params, loss = numpy_sgd_step(params, data.x_train[idx], data.y_train[idx], demo_lr)
        losses.append(loss)
    return params, losses


def demo_jax_loop_epoch(params, key, batch):
    """One epoch of the JAX network: shuffled with `key`, your jitted train_step called from
    Python on each of the n // batch full minibatches. Returns (params, the loss of every step)."""
    n_batches = len(demo_x_train) // batch
    order = jax.random.permutation(key, len(demo_x_train))[: n_batches * batch].reshape(n_batches, batch)
    losses = []
    for idx in order:
        params, loss = train_step(params, demo_x_train[idx], demo_y_train[idx], demo_lr)
        losses.append(loss)
    return params, losses


def demo_train_both():
    """Both networks, epoch by epoch: {name: (mean training losses, test accuracies)}."""
    curves = {"NumPy (hand-written backprop)": ([], []), "JAX (jax.grad, jit)": ([], [])}
    rng = np.random.default_rng(0)
    np_params = numpy_init_params(rng, demo_sizes)
    key, init_key = jax.random.split(jax.random.key(0))
    params = init_mlp(init_key, demo_sizes)
    for _ in range(demo_epochs):
        np_params, losses = demo_numpy_epoch(np_params, rng, demo_batch)
        curves["NumPy (hand-written backprop)"][0].append(np.mean(losses))
        curves["NumPy (hand-written backprop)"][1].append(numpy_accuracy(np_params, data.x_test, data.y_test))

        key, epoch_key = jax.random.split(key)
        params, losses = demo_jax_loop_epoch(params, epoch_key, demo_batch)
        curves["JAX (jax.grad, jit)"][0].append(float(jnp.mean(jnp.stack(losses))))
        curves["JAX (jax.grad, jit)"][1].append(float(demo_accuracy(params, demo_x_test, demo_y_test)))
    return curves


def demo_plot_curves(curves):
    for name, (losses, accs) in curves.items():
        print(f"{name:31s} final training loss {losses[-1]:.4f}, test accuracy {accs[-1]:.3f}")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    for name, (losses, accs) in curves.items():
        epochs = np.arange(1, len(losses) + 1)
        ax_loss.plot(epochs, losses, label=name)
        ax_acc.plot(epochs, accs, label=name)
    ax_loss.set(xlabel="epoch", ylabel="mean training loss", yscale="log", title="training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    plt.show()


demo_plot_curves(demo_train_both())

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_mlp_end_to_end", "locked": true, "schema_version": 3, "solution": false}
# The two curves are not identical (different random initialisations and shuffles), but
# they behave the same way: the same model, trained the same way — without a single line
# of backward pass in the JAX version.
#
# ### Your `train_mlp`, end to end

# %% nbgrader={"grade": false, "grade_id": "train_mlp_accuracy", "locked": true, "schema_version": 3, "solution": false}
demo_trained = train_mlp(jax.random.key(0), demo_x_train, demo_y_train, demo_sizes,
                         demo_epochs, demo_batch, demo_lr)
print(f"train_mlp, {demo_epochs} epochs: test accuracy "
      f"{float(demo_accuracy(demo_trained, demo_x_test, demo_y_test)):.3f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "payoff_speed", "locked": true, "schema_version": 3, "solution": false}
# ### Time per epoch
#
# Three ways to run one epoch: the NumPy loop, your jitted `train_step` called once per
# minibatch from Python, and your `train_mlp` (whose epoch, if you used `_train_epoch`, is
# a single compiled `lax.scan`), timed over 5 epochs and divided by 5.
#
# This network is tiny (~9 000 parameters, batches of 32), so on any device the time goes
# into per-call overheads rather than arithmetic: the fewer trips through Python, the
# faster. Do not be surprised if the Python loop of jitted steps loses to NumPy on a CPU:
# each minibatch pays a JAX dispatch for the gather `x[idx]` and another for the
# step, which costs more than NumPy's whole step on such small matrices. One compiled
# epoch pays those costs once. On a GPU try `demo_time_epochs(hidden=2048, batch=256)`: the
# matrix products then become big enough for the GPU's arithmetic to show.

# %% nbgrader={"grade": false, "grade_id": "epoch_timing", "locked": true, "schema_version": 3, "solution": false}
def demo_time_epochs(hidden=64, batch=demo_batch):
    """Time one epoch three ways for the network [64, hidden, hidden, 10]; print the table."""
    sizes = [64, hidden, hidden, 10]
    rng = np.random.default_rng(1)
    seeds = iter(range(1000))

    def numpy_epoch(params):            # the params only: the clock waits for them, not the losses
        return demo_numpy_epoch(params, rng, batch)[0]

    def jax_loop_epoch(params, key):
        return demo_jax_loop_epoch(params, key, batch)[0]

    def fresh_jax():
        k1, k2 = jax.random.split(jax.random.key(next(seeds)))
        return init_mlp(k1, sizes), k2

    per_epoch = {
        "NumPy": time_call(numpy_epoch, lambda: (numpy_init_params(rng, sizes),), repeats=5).median_s,
        "jit(train_step),\nPython loop": time_call(jax_loop_epoch, fresh_jax, repeats=5).median_s,
        "train_mlp": time_call(lambda k: train_mlp(k, demo_x_train, demo_y_train, sizes, 5, batch, demo_lr),
                               lambda: (jax.random.key(next(seeds)),), repeats=3).median_s / 5,
    }
    base = per_epoch["NumPy"]
    print(f"network {'-'.join(map(str, sizes))}, batch {batch}, {device_summary()}")
    print(format_table(["", "per epoch", "vs NumPy"], [
        [name.replace("\n", " "), fmt_time(t), fmt_speedup(base, t)] for name, t in per_epoch.items()]))


demo_time_epochs()

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * The JAX MLP is the NumPy MLP minus its backward pass: parameters as a pytree,
#   `mlp_forward` and `cross_entropy` as plain functions, and `jax.value_and_grad` for the
#   gradients — checked against the hand-written backprop.
# * `@jax.jit` on the training step compiles forward pass, backward pass and update into one
#   program; `lax.scan` can compile a whole epoch.
# * Fixed-shape minibatches (drop the ragged remainder) keep it to one compilation, and
#   explicit keys make the whole training run reproducible from one seed.
#
# That completes Workshop 3: the same two golden examples, now running on CPU or GPU from
# the same code, faster, and checked against the originals.
