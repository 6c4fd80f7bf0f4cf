"""03_jax_grad: reference answers (gradients with jax.grad, a training loop inside jit)."""

import jax
import jax.numpy as jnp


def mse_loss(params, x, y):
    """Mean squared error of the linear model x @ w + b; params = {"w": (d,), "b": ()}."""
    residual = x @ params["w"] + params["b"] - y
    return jnp.mean(residual**2)


# The gradient with respect to the first argument: a dict shaped like params.
mse_grad = jax.grad(mse_loss)


@jax.jit
def fit_linear(x, y, learning_rate, n_steps):
    """Gradient descent from w = 0, b = 0. The whole loop is one compiled program; n_steps and
    learning_rate are traced, so other values reuse it without recompiling."""
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y, jnp.float32)
    params = {"w": jnp.zeros(x.shape[1], jnp.float32), "b": jnp.zeros((), jnp.float32)}

    def step(_, params):
        grads = mse_grad(params, x, y)
        return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)

    return jax.lax.fori_loop(0, n_steps, step, params)
