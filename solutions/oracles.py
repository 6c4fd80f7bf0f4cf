"""Independent NumPy references for every graded name of SPEC.md that has a deterministic value.

Everything is computed in float64 from float64 copies of the inputs, and every gradient is
derived by hand: no JAX here, so a bug in a JAX answer cannot hide in its own reference.
Parameters use SPEC.md's structures (dicts of arrays, lists of (W, b) tuples) and so do the
results, as float64 NumPy arrays; scalar results (losses, sums) are float64 NumPy scalars.
"""

import numpy as np

from solutions.golden import heat as golden_heat


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def _f64_tree(params):
    """A float64 copy of a {"w": ..., ...} dict or a [(W, b), ...] list."""
    if isinstance(params, dict):
        return {name: _f64(value) for name, value in params.items()}
    return [(_f64(W), _f64(b)) for W, b in params]


# --- 01_jax_intro -------------------------------------------------------------------------------


def set_boundary(u, value):
    out = _f64(u).copy()
    out[0, :] = out[-1, :] = out[:, 0] = out[:, -1] = value
    return out


def standardize(x):
    x = _f64(x)
    return (x - x.mean(axis=0)) / x.std(axis=0)


# --- 02_jax_jit ---------------------------------------------------------------------------------


def gelu(x):
    x = _f64(x)
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def clipped_sum(x, threshold):
    x = _f64(x)
    return np.sum(x[np.abs(x) <= threshold])


# --- 03_jax_grad --------------------------------------------------------------------------------


def _residual(params, x, y):
    return _f64(x) @ _f64(params["w"]) + _f64(params["b"]) - _f64(y)


def mse_loss(params, x, y):
    return np.mean(_residual(params, x, y) ** 2)


def mse_grad(params, x, y):
    # d/dw mean(r**2) = 2/n x^T r and d/db = 2 mean(r), with r = x @ w + b - y.
    r = _residual(params, x, y)
    return {"w": 2.0 * _f64(x).T @ r / r.size, "b": np.asarray(2.0 * r.mean())}


def fit_linear(x, y, learning_rate, n_steps):
    x = _f64(x)
    params = {"w": np.zeros(x.shape[1]), "b": np.asarray(0.0)}
    for _ in range(n_steps):
        grads = mse_grad(params, x, y)
        params = {k: params[k] - learning_rate * grads[k] for k in params}
    return params


# --- 04_jax_vmap --------------------------------------------------------------------------------


def predict(params, x):
    p = _f64_tree(params)
    return np.tanh(_f64(x) @ p["w"] + p["b"]) @ p["v"]


def batched_predict(params, xs):
    # Row-wise, the same formula as predict: (n, d) @ (d, h) broadcasts over the rows.
    p = _f64_tree(params)
    return np.tanh(_f64(xs) @ p["w"] + p["b"]) @ p["v"]


def per_example_grads(params, xs, ys):
    # Loss_k = (v . tanh(a_k) - y_k)**2 with a_k = x_k @ w + b, so with e_k = 2 (pred_k - y_k):
    # dv = e_k tanh(a_k), db = e_k v (1 - tanh(a_k)**2), dw = outer(x_k, db).
    p = _f64_tree(params)
    xs = _f64(xs)
    hidden = np.tanh(xs @ p["w"] + p["b"])  # (n, h)
    err = 2.0 * (hidden @ p["v"] - _f64(ys))  # (n,)
    d_pre = err[:, None] * p["v"] * (1.0 - hidden**2)  # (n, h)
    return {
        "w": xs[:, :, None] * d_pre[:, None, :],
        "b": d_pre,
        "v": err[:, None] * hidden,
    }


# --- 05_heat_equation_jax -----------------------------------------------------------------------


def heat_step(u, alpha, dt, dx):
    return golden_heat.heat_step(_f64(u), alpha, dt, dx)


def simulate(u0, alpha, dt, dx, n_steps):
    # No stability check here: the reference computes the formula, stable or not.
    u = _f64(u0).copy()
    for _ in range(n_steps):
        u = golden_heat.heat_step(u, alpha, dt, dx)
    return u


# --- 06_deep_learning_jax -----------------------------------------------------------------------


def _forward_with_cache(params, x):
    """Logits and, per layer, its input; ReLU after every layer but the last."""
    params = _f64_tree(params)
    layer_inputs = []
    h = _f64(x)
    for i, (W, b) in enumerate(params):
        layer_inputs.append(h)
        h = h @ W + b
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h, layer_inputs


def mlp_forward(params, x):
    return _forward_with_cache(params, x)[0]


def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(params, x, labels):
    log_probs = _log_softmax(mlp_forward(params, x))
    labels = np.asarray(labels)
    return -np.mean(log_probs[np.arange(labels.size), labels])


def cross_entropy_grad(params, x, labels):
    """Backprop by hand; a list of (dW, db) shaped like params."""
    logits, layer_inputs = _forward_with_cache(params, x)
    labels = np.asarray(labels)
    n = labels.size
    delta = np.exp(_log_softmax(logits))  # softmax
    delta[np.arange(n), labels] -= 1.0
    delta /= n  # d mean-loss / d logits
    params = _f64_tree(params)
    grads = []
    for i in reversed(range(len(params))):
        grads.append((layer_inputs[i].T @ delta, delta.sum(axis=0)))
        if i > 0:
            # The input of layer i is relu(z) of layer i-1, and relu(z) > 0 exactly where z > 0.
            delta = (delta @ params[i][0].T) * (layer_inputs[i] > 0)
    return grads[::-1]


def train_step(params, x, labels, learning_rate):
    loss = cross_entropy(params, x, labels)
    grads = cross_entropy_grad(params, x, labels)
    new_params = [
        (W - learning_rate * dW, b - learning_rate * db)
        for (W, b), (dW, db) in zip(_f64_tree(params), grads)
    ]
    return new_params, loss
