"""04_jax_vmap: reference answers (write for one example, batch with jax.vmap)."""

import jax
import jax.numpy as jnp


def predict(params, x):
    """One example: params = {"w": (d, h), "b": (h,), "v": (h,)}, x (d,), a scalar out."""
    return params["v"] @ jnp.tanh(x @ params["w"] + params["b"])


# Same params for every row (None), rows of xs mapped (0): xs (n, d) -> (n,).
batched_predict = jax.vmap(predict, in_axes=(None, 0))


def _squared_error(params, x, y):
    return (predict(params, x) - y) ** 2


# grad of one example's loss, mapped over (x, y): each leaf gains a leading axis n.
per_example_grads = jax.vmap(jax.grad(_squared_error), in_axes=(None, 0, 0))
