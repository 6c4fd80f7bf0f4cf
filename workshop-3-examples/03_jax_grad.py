"""03 - Automatic differentiation with jax.grad.

What this script teaches
------------------------
1. ``jax.grad(f)`` is a new function that returns df/dx (of a scalar-valued ``f``, with
   respect to its first argument); grads compose, so ``grad(grad(f))`` is f''.
2. ``jax.value_and_grad`` returns the loss and its gradient in one pass (what a training
   loop needs).
3. Parameters can be any pytree (nested dicts/lists/tuples of arrays): the gradient has
   the same structure, and ``jax.tree.map`` updates every leaf at once.
4. Trust, but verify: compare the gradient against central finite differences.
5. Linear regression by gradient descent with a jitted update step, checked against the
   closed-form least-squares answer.

Run
---
    python workshop-3-examples/03_jax_grad.py [--size N] [--steps S] [--repeats R]

Flags
-----
--size N      number of data points in the regression (default 2000; try 10000000 on a GPU)
--steps S     gradient-descent steps (default 300)
--repeats R   timed repeats for the per-step timing; the median is reported (default 5)
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from course.timing import device_summary, fmt_time, format_table, time_call

TRUE_W = np.array([2.0, -1.0, 0.5], dtype=np.float32)
TRUE_B = 0.3


def section(title: str) -> None:
    print(f"\n-- {title} " + "-" * max(0, 66 - len(title)))


# ---------------------------------------------------------------------- the functions
def cubic(x):
    return x**3 + 2.0 * x  # f'(x) = 3x^2 + 2, f''(x) = 6x


def mse_loss(params, x, y):
    """Mean squared error of the linear model x @ w + b; params is a dict (a pytree)."""
    residual = x @ params["w"] + params["b"] - y
    return jnp.mean(residual**2)


mse_grad = jax.grad(mse_loss)  # returns {"w": dL/dw, "b": dL/db}


def gd_step_eager(params, x, y, learning_rate):
    """One gradient-descent step; returns (new_params, loss before the step)."""
    loss, grads = jax.value_and_grad(mse_loss)(params, x, y)
    # One line updates every leaf of the pytree, however deeply nested.
    new_params = jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)
    return new_params, loss


gd_step = jax.jit(gd_step_eager)  # the same step, compiled


def fit_linear(x, y, learning_rate, n_steps, report_every=0):
    """Gradient descent from w = 0, b = 0; optionally prints the loss on the way."""
    params = {"w": jnp.zeros(x.shape[1]), "b": jnp.array(0.0)}
    for step in range(n_steps):
        params, loss = gd_step(params, x, y, learning_rate)
        if report_every and step % report_every == 0:
            print(f"  step {step:4d}  loss {float(loss):.5f}")
    return params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2000, help="regression data points (default 2000)")
    parser.add_argument("--steps", type=int, default=300, help="gradient-descent steps (default 300)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    args = parser.parse_args(argv)

    print("03 - jax.grad: derivatives, pytrees, gradient checks, regression")
    print(f"Device: {device_summary()}   jax.devices() = {jax.devices()}")

    # ------------------------------------------------------------------ 1. grad
    section("1. jax.grad of a scalar function")
    d_cubic = jax.grad(cubic)
    d2_cubic = jax.grad(jax.grad(cubic))
    print(f"f(x) = x^3 + 2x at x = 2:  f' = {d_cubic(2.0)} (exact 14),  f'' = {d2_cubic(2.0)} (exact 12)")
    # grad needs float inputs: integers have no derivative.
    try:
        d_cubic(2)
    except TypeError as err:
        print(f"d_cubic(2) with an int -> TypeError: {str(err).split(' (')[0]}")

    # ------------------------------------------------------------------ 2. value_and_grad
    section("2. value_and_grad: loss and gradient together")
    value, slope = jax.value_and_grad(cubic)(1.0)
    print(f"value_and_grad(cubic)(1.0) = ({value}, {slope})")

    # ------------------------------------------------------------------ 3. pytrees
    section("3. Gradients of dict parameters (pytrees)")
    key_x, key_noise, key_p = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(key_x, (args.size, 3))
    y = x @ TRUE_W + TRUE_B + 0.1 * jax.random.normal(key_noise, (args.size,))
    params = {"w": jax.random.normal(key_p, (3,)), "b": jnp.array(0.0)}
    grads = mse_grad(params, x, y)
    print(f"params: {jax.tree.map(jnp.shape, params)}   grads: {jax.tree.map(jnp.shape, grads)}")
    print(f"dL/dw = {grads['w']},  dL/db = {grads['b']:.4f}")

    # ------------------------------------------------------------------ 4. finite differences
    section("4. Checking the gradient against finite differences")
    # Central differences in float64 NumPy: an independent answer, no autodiff involved.
    # A subset keeps float32 round-off in the 1-million-term sums of --size out of the comparison.
    m = min(args.size, 1000)
    grads = mse_grad(params, x[:m], y[:m])
    x64, y64 = np.asarray(x[:m], np.float64), np.asarray(y[:m], np.float64)
    p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}

    def loss64(w, b):
        return np.mean((x64 @ w + b - y64) ** 2)

    eps = 1e-5
    rows, worst = [], 0.0
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        fd = (loss64(p64["w"] + step, p64["b"]) - loss64(p64["w"] - step, p64["b"])) / (2 * eps)
        rows.append((f"w[{i}]", float(grads["w"][i]), fd))
    fd_b = (loss64(p64["w"], p64["b"] + eps) - loss64(p64["w"], p64["b"] - eps)) / (2 * eps)
    rows.append(("b", float(grads["b"]), fd_b))
    table = []
    for name, auto, fd in rows:
        rel = abs(auto - fd) / max(abs(fd), 1e-6)
        worst = max(worst, rel)
        table.append([name, f"{auto:.6f}", f"{fd:.6f}", f"{rel:.1e}"])
    print(f"on the first {m} data points:")
    print(format_table(["param", "jax.grad (f32)", "finite diff (f64)", "rel. error"], table))
    ok = worst < 1e-3  # float32 autodiff vs float64 differences: ~1e-6 expected
    print(f"gradient check: worst relative error {worst:.1e} -> {'OK' if ok else 'FAILED'}")
    if not ok:
        raise SystemExit("gradient check failed")

    # ------------------------------------------------------------------ 5. regression
    section(f"5. Linear regression by gradient descent ({args.size} points, {args.steps} steps)")
    fitted = fit_linear(x, y, learning_rate=0.1, n_steps=args.steps, report_every=max(args.steps // 5, 1))
    design = np.column_stack([np.asarray(x), np.ones(args.size)]).astype(np.float64)
    exact, *_ = np.linalg.lstsq(design, np.asarray(y, np.float64), rcond=None)
    rows = [[f"w[{i}]", f"{TRUE_W[i]:.3f}", f"{float(fitted['w'][i]):.4f}", f"{exact[i]:.4f}"] for i in range(3)]
    rows.append(["b", f"{TRUE_B:.3f}", f"{float(fitted['b']):.4f}", f"{exact[3]:.4f}"])
    print(format_table(["", "true", "gradient descent", "least squares"], rows))
    gap = max(np.max(np.abs(np.asarray(fitted["w"]) - exact[:3])), abs(float(fitted["b"]) - exact[3]))
    print(f"max |gradient descent - least squares| = {gap:.1e} -> {'OK' if gap < 1e-2 else 'NOT CONVERGED'}")

    # Time one update step: eager (op by op) vs jitted, with fresh parameters every run.
    rng = np.random.default_rng(0)

    def fresh_params():
        return ({"w": jnp.asarray(rng.standard_normal(3, dtype=np.float32)), "b": jnp.array(0.0)}, x, y, 0.1)

    jax.clear_caches()  # so the jitted step's compile cost shows up again below
    t_eager = time_call(gd_step_eager, fresh_params, repeats=args.repeats)
    t_jit = time_call(gd_step, fresh_params, repeats=args.repeats)
    print("\nOne gradient-descent step:")
    print(format_table(["", "median", "min", "max", "compile*"], [
        ["eager (no jit)", fmt_time(t_eager.median_s), fmt_time(t_eager.min_s), fmt_time(t_eager.max_s),
         fmt_time(t_eager.compile_s)],
        ["jax.jit", fmt_time(t_jit.median_s), fmt_time(t_jit.min_s), fmt_time(t_jit.max_s),
         fmt_time(t_jit.compile_s)],
    ]))
    print("* compile = first call minus a steady call, not in the median; eager JAX also compiles\n"
          "  each primitive once, jit compiles the whole step into one program.")


if __name__ == "__main__":
    main()
