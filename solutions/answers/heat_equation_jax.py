"""05_heat_equation_jax: reference answers (the golden heat solver, rewritten for XLA)."""

import jax
import jax.numpy as jnp

# Steps per iteration of simulate's outer loop; see simulate.
_CHUNK = 8


@jax.jit
def _step(u, r):
    # One whole-array expression (neighbours from a zero-padded copy, the update kept only on the
    # interior) that XLA compiles to a single read-u-write-out kernel. The textbook
    # `u.at[1:-1, 1:-1].set(...)` compiled to a copy of u, four materialised slices and an
    # update: 3x slower on an H100 at 4096**2 (benchmarks/results/references-h100.md).
    padded = jnp.pad(u, 1)
    laplacian = (
        padded[2:, 1:-1] + padded[:-2, 1:-1] + padded[1:-1, 2:] + padded[1:-1, :-2] - 4 * u
    )
    rows = jax.lax.broadcasted_iota(jnp.int32, u.shape, 0)
    cols = jax.lax.broadcasted_iota(jnp.int32, u.shape, 1)
    interior = (rows > 0) & (rows < u.shape[0] - 1) & (cols > 0) & (cols < u.shape[1] - 1)
    return jnp.where(interior, u + r * laplacian, u)


def heat_step(u, alpha, dt, dx):
    """One explicit (FTCS) step; the edges keep their values (Dirichlet).

    alpha*dt/dx**2 is folded before the compiled call, so one scalar goes to the device per call
    instead of three; under jit (as in simulate) the same line is simply traced.
    """
    return _step(jnp.asarray(u), alpha * dt / dx**2)


@jax.jit
def simulate(u0, alpha, dt, dx, n_steps):
    """The grid after n_steps steps, the time loop compiled with the step.

    n_steps is traced, so one compiled program serves every n_steps. On a GPU, each iteration of
    a loop whose trip count is only known at run time costs about as much as a 1024**2 step
    (the host checks the condition every time), so each iteration runs _CHUNK steps as an inner
    loop of fixed length and only the n_steps % _CHUNK left over run one per iteration.
    """
    n_steps = jnp.maximum(n_steps, 0)  # floor division would turn a negative count into steps

    def one_step(_, u):
        return heat_step(u, alpha, dt, dx)

    def chunk(_, u):
        return jax.lax.fori_loop(0, _CHUNK, one_step, u)

    u = jax.lax.fori_loop(0, n_steps // _CHUNK, chunk, jnp.asarray(u0))
    return jax.lax.fori_loop(0, n_steps % _CHUNK, one_step, u)
