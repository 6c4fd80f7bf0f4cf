"""A multilayer perceptron trained from scratch in NumPy: hand-written backprop, minibatch SGD.

ReLU hidden layers, a linear output layer, mean softmax cross-entropy on integer labels.
Parameters are a list of (W, b) per layer, W of shape (fan_in, fan_out). This is the series'
golden example as written before Workshop 3; it is self-contained (NumPy and the standard library
only) because it also serves as a speed baseline. It works in float32, the dtype it initialises
with; every function keeps the dtype of the arrays it is given.
"""

import numpy as np


def init_params(rng, sizes):
    """He initialisation (std sqrt(2/fan_in), suited to ReLU) and zero biases, float32."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        scale = np.float32(np.sqrt(2.0 / fan_in))
        W = rng.standard_normal((fan_in, fan_out), dtype=np.float32) * scale
        b = np.zeros(fan_out, dtype=np.float32)
        params.append((W, b))
    return params


def forward(params, x):
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


def _log_softmax(logits):
    # Subtracting the row maximum keeps exp from overflowing; the result is unchanged.
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def loss_and_grads(params, x, labels):
    """Mean softmax cross-entropy and its gradient with respect to every (W, b)."""
    n = x.shape[0]
    logits, cache = forward(params, x)
    log_probs = _log_softmax(logits)
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


def sgd_step(params, x, labels, learning_rate):
    """One gradient-descent step on a batch. Returns (new_params, loss before the step)."""
    loss, grads = loss_and_grads(params, x, labels)
    new_params = [
        (W - learning_rate * dW, b - learning_rate * db)
        for (W, b), (dW, db) in zip(params, grads)
    ]
    return new_params, loss


def train(rng, x, labels, sizes, epochs, batch_size, learning_rate):
    """Minibatch SGD from init_params(rng, sizes), the data reshuffled every epoch."""
    params = init_params(rng, sizes)
    n = x.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            params, _ = sgd_step(params, x[batch], labels[batch], learning_rate)
    return params


def accuracy(params, x, labels):
    """Fraction of rows whose largest logit is the true class."""
    logits, _ = forward(params, x)
    return float(np.mean(logits.argmax(axis=1) == labels))


if __name__ == "__main__":
    # A self-contained demo on synthetic blobs, so the file runs without the course data.
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 2), dtype=np.float32) * 3
    labels = rng.integers(0, 3, size=600)
    x = centers[labels] + rng.standard_normal((600, 2), dtype=np.float32)
    trained = train(rng, x, labels, sizes=[2, 32, 3], epochs=20, batch_size=32, learning_rate=0.1)
    print(f"training accuracy: {accuracy(trained, x, labels):.3f}")
