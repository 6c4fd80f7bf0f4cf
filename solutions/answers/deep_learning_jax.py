"""06_deep_learning_jax: reference answers (the golden MLP with jax.grad in place of backprop)."""

import functools

import jax
import jax.numpy as jnp


def init_mlp(key, sizes):
    """He initialisation (suited to ReLU), one key per layer, zero biases."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (fan_in, fan_out), jnp.float32) * jnp.sqrt(2.0 / fan_in),
         jnp.zeros(fan_out, jnp.float32))
        for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:])
    ]


def mlp_forward(params, x):
    """Logits (n, sizes[-1]): ReLU between layers, none after the last."""
    *hidden, (W_out, b_out) = params
    h = x
    for W, b in hidden:
        h = jax.nn.relu(h @ W + b)
    return h @ W_out + b_out


def cross_entropy(params, x, labels):
    """Mean softmax cross-entropy; labels are integer class ids (n,)."""
    log_probs = jax.nn.log_softmax(mlp_forward(params, x))
    picked = jnp.take_along_axis(log_probs, jnp.asarray(labels)[:, None], axis=1)
    return -jnp.mean(picked)


@jax.jit
def train_step(params, x, labels, learning_rate):
    """One SGD step; returns (new_params, loss before the step). One compiled program."""
    loss, grads = jax.value_and_grad(cross_entropy)(params, x, labels)
    new_params = jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)
    return new_params, loss


@functools.partial(jax.jit, static_argnames="batch_size")
def _train_epoch(params, key, x, labels, learning_rate, batch_size):
    """One epoch as one program: shuffle, cut into batches (the ragged last one dropped) and
    lax.scan train_step over them. Outside jit the shuffle and gathers were eager operations
    that cost more than the training steps themselves on an H100."""
    n_batches = x.shape[0] // batch_size
    order = jax.random.permutation(key, x.shape[0])[: n_batches * batch_size]

    def step(params, batch_rows):
        return train_step(params, x[batch_rows], labels[batch_rows], learning_rate)

    return jax.lax.scan(step, params, order.reshape(n_batches, batch_size))


def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):
    """Minibatch SGD from init_mlp, reshuffled every epoch; returns the list of (W, b)."""
    init_key, shuffle_key = jax.random.split(key)
    params = init_mlp(init_key, sizes)
    x = jnp.asarray(x, jnp.float32)
    labels = jnp.asarray(labels, jnp.int32)
    batch_size = min(batch_size, x.shape[0])  # a batch larger than the data is the whole data
    for epoch_key in jax.random.split(shuffle_key, epochs):
        params, _ = _train_epoch(params, epoch_key, x, labels, learning_rate, batch_size)
    return params
