"""04 - Automatic vectorisation with jax.vmap.

What this script teaches
------------------------
1. Write a function for ONE example; ``jax.vmap`` turns it into a function for a batch,
   without a Python loop and without rewriting the maths for an extra axis.
2. ``in_axes`` says which argument is batched (and along which axis); ``None`` means
   "shared by every example", e.g. the model parameters.
3. Timing: a Python loop over examples vs ``vmap`` vs ``jit(vmap)``.
4. Per-example gradients: ``vmap(grad(loss))`` gives one gradient per example (for
   gradient clipping, influence diagnostics, ...) in a single call; their mean equals the
   gradient of the mean loss.

Run
---
    python workshop-3-examples/04_jax_vmap.py [--size N] [--hidden H] [--repeats R]

Flags
-----
--size N      number of examples in the batch (default 1000; try 1000000 on a GPU)
--hidden H    hidden units of the small model (default 32)
--repeats R   timed repeats per measurement; the median is reported (default 5)
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

# The Python-loop baselines are slow by design; time them on at most this many examples
# and scale, so the script stays quick at GPU-sized --size.
LOOP_LIMIT = 200


def section(title: str) -> None:
    print(f"\n-- {title} " + "-" * max(0, 66 - len(title)))


# ---------------------------------------------------------------------- the model
def predict(params, x):
    """ONE example: x (d,) -> scalar v @ tanh(x @ w + b). No batch axis anywhere."""
    return params["v"] @ jnp.tanh(x @ params["w"] + params["b"])


# params shared (None), x batched along axis 0.
batched_predict = jax.vmap(predict, in_axes=(None, 0))
batched_predict_jit = jax.jit(batched_predict)


def squared_error(params, x, y):
    return (predict(params, x) - y) ** 2


# grad w.r.t. params for one example, then vmap over examples (params shared).
per_example_grads = jax.jit(jax.vmap(jax.grad(squared_error), in_axes=(None, 0, 0)))


def loop_predict(params, xs):
    """The baseline: one call per example, stacked at the end."""
    return jnp.stack([predict(params, x) for x in xs])


def init_params(key, d, h):
    kw, kv = jax.random.split(key)
    return {"w": jax.random.normal(kw, (d, h)) / jnp.sqrt(d), "b": jnp.zeros(h),
            "v": jax.random.normal(kv, (h,)) / jnp.sqrt(h)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="examples in the batch (default 1000)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units (default 32)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    args = parser.parse_args(argv)
    n, d, h = args.size, 8, args.hidden

    print("04 - jax.vmap: batching, in_axes, per-example gradients")
    print(f"Device: {device_summary()}   jax.devices() = {jax.devices()}")

    # ------------------------------------------------------------------ 1. vmap basics
    section("1. vmap a one-example function")
    a = jnp.arange(6.0).reshape(2, 3)
    b = jnp.ones((2, 3))
    print(f"jnp.dot on two (3,) vectors -> scalar; vmap(jnp.dot)(a, b) on (2, 3) -> {jax.vmap(jnp.dot)(a, b)}")
    # in_axes: batch `a` along axis 0, share one vector c between all rows.
    c = jnp.array([1.0, 0.0, -1.0])
    print(f"vmap(jnp.dot, in_axes=(0, None))(a, c) = {jax.vmap(jnp.dot, in_axes=(0, None))(a, c)}")
    # Batch along columns instead (axis 1), and put the batch axis last in the output.
    outer_cols = jax.vmap(jnp.outer, in_axes=(1, 1), out_axes=2)(a, b)
    print(f"vmap(jnp.outer, in_axes=(1, 1), out_axes=2)(a, b).shape = {outer_cols.shape}")

    # ------------------------------------------------------------------ 2. a model
    section(f"2. batched_predict = vmap(predict, in_axes=(None, 0)), {n} examples")
    key_p, key_x, key_y = jax.random.split(jax.random.key(0), 3)
    params = init_params(key_p, d, h)
    xs = jax.random.normal(key_x, (n, d))
    ys = jax.random.normal(key_y, (n,))
    by_hand = jnp.tanh(xs @ params["w"] + params["b"]) @ params["v"]  # the batched maths written out
    out = batched_predict(params, xs)
    err = float(jnp.max(jnp.abs(out - by_hand)))
    print(f"output shape {out.shape}; max |vmap - hand-batched matmul| = {err:.1e}"
          f" -> {'OK' if err < 1e-4 else 'MISMATCH'}")
    eqns = jax.make_jaxpr(batched_predict)(params, xs).jaxpr.eqns
    print("jax.make_jaxpr(batched_predict) records these primitives (no loop, whole batch at once):")
    for eqn in eqns:
        print(f"  {eqn.primitive.name:<18} -> {eqn.outvars[0].aval.str_short()}")

    # ------------------------------------------------------------------ 3. timing
    loop_n = min(n, LOOP_LIMIT)
    section(f"3. Timing: loop vs vmap ({n} examples, loops timed on {loop_n} and scaled)")
    rng = np.random.default_rng(0)

    def fresh_batch(m):
        return lambda: (params, jnp.asarray(rng.standard_normal((m, d), dtype=np.float32)))

    predict_jit = jax.jit(predict)
    scale = n / loop_n
    timings = {
        "Python loop, eager predict": (time_call(loop_predict, fresh_batch(loop_n), repeats=args.repeats), scale),
        "Python loop, jit(predict)": (time_call(lambda p, x: [predict_jit(p, row) for row in x],
                                                fresh_batch(loop_n), repeats=args.repeats), scale),
        "vmap(predict), eager": (time_call(batched_predict, fresh_batch(n), repeats=args.repeats), 1.0),
        "jit(vmap(predict))": (time_call(batched_predict_jit, fresh_batch(n), repeats=args.repeats), 1.0),
    }
    base = timings["Python loop, eager predict"][0].median_s * scale
    rows = [[name, fmt_time(t.median_s * k), fmt_time(t.median_s * k / n), fmt_speedup(base, t.median_s * k)]
            for name, (t, k) in timings.items()]
    print(format_table([f"{n} predictions", "median", "per example", "speedup"], rows))

    # ------------------------------------------------------------------ 4. per-example grads
    section("4. Per-example gradients: vmap(grad(loss), in_axes=(None, 0, 0))")
    grads = per_example_grads(params, xs, ys)
    print(f"param shapes : {jax.tree.map(jnp.shape, params)}")
    print(f"grads shapes : {jax.tree.map(jnp.shape, grads)}   (leading axis = example)")
    # Sanity check: the mean of per-example gradients is the gradient of the mean loss.
    mean_loss_grad = jax.grad(lambda p: jnp.mean(jax.vmap(squared_error, (None, 0, 0))(p, xs, ys)))(params)
    gap = max(float(jnp.max(jnp.abs(g.mean(axis=0) - m)))
              for g, m in zip(jax.tree.leaves(grads), jax.tree.leaves(mean_loss_grad)))
    print(f"max |mean of per-example grads - grad of mean loss| = {gap:.1e} -> {'OK' if gap < 1e-4 else 'MISMATCH'}")
    norms = jnp.sqrt(sum(jnp.sum(g.reshape(n, -1) ** 2, axis=1) for g in jax.tree.leaves(grads)))
    print(f"per-example gradient norms: median {float(jnp.median(norms)):.3f}, max {float(norms.max()):.3f}"
          f" (example {int(norms.argmax())} pulls hardest)")

    jax.clear_caches()  # per_example_grads was compiled above: start cold so compile shows
    grad_one = jax.jit(jax.grad(squared_error))
    t_loop = time_call(lambda p, x, y: [grad_one(p, xi, yi) for xi, yi in zip(x[:loop_n], y[:loop_n])],
                       lambda: (params, xs, ys), repeats=args.repeats)
    t_vmap = time_call(per_example_grads, lambda: (params, xs, ys), repeats=args.repeats)
    print(format_table([f"{n} gradients", "median", "compile*"], [
        ["Python loop of jit(grad)", fmt_time(t_loop.median_s * scale), fmt_time(t_loop.compile_s)],
        ["jit(vmap(grad))", fmt_time(t_vmap.median_s), fmt_time(t_vmap.compile_s)],
    ]))
    print("* compile = first call minus a steady call, not in the median.")


if __name__ == "__main__":
    main()
