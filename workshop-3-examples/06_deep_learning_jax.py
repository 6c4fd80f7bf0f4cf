"""06 - The golden from-scratch MLP, rewritten in JAX.

What this script teaches
------------------------
The series' multilayer perceptron (ReLU hidden layers, softmax cross-entropy, minibatch SGD,
backprop written by hand in NumPy: ``solutions.golden.mlp``), now in JAX, on the 8x8 digits:

1. ``init_mlp`` / ``mlp_forward`` / ``cross_entropy``: the same model as plain functions of a
   params pytree (a list of ``(W, b)``); no backward pass is written at all.
2. ``jax.value_and_grad`` replaces the hand-written backprop; we check it gives the same
   gradients as the golden NumPy code.
3. ``train_step``: one jit-compiled SGD step. ``train_epoch``: a whole epoch (shuffle, cut
   into minibatches, all the steps) fused into one compiled program with ``jax.lax.scan``.
4. Both versions are trained and compared: test accuracy and time per epoch.

Run
---
    python workshop-3-examples/06_deep_learning_jax.py [--epochs E] [--hidden H] [--plot FILE]

Flags
-----
--epochs E       training epochs for both versions (default 30)
--hidden H       hidden units; the network is 64-H-H-10 (default 64; try 2048 on a GPU)
--batch-size B   minibatch size (default 32; try 256 with a large --hidden on a GPU)
--lr LR          SGD learning rate (default 0.1)
--repeats R      timed repeats of one epoch; the median is reported (default 5)
--plot FILE      save training-loss and test-accuracy curves as an image (PNG)
"""

from __future__ import annotations

import argparse
import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from course.digits import load_digits
from solutions.golden import mlp as golden  # the hand-written NumPy MLP from the earlier workshops
from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call


def section(title: str) -> None:
    print(f"\n-- {title} " + "-" * max(0, 66 - len(title)))


# ---------------------------------------------------------------------- the JAX model
def init_mlp(key, sizes):
    """He-initialised W (sizes[i], sizes[i+1]) and zero b per layer, as the golden code does."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (fan_in, fan_out)) * jnp.sqrt(2.0 / fan_in), jnp.zeros(fan_out))
        for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:])
    ]


def mlp_forward(params, x):
    """Logits (n, sizes[-1]): ReLU between layers, nothing after the last one."""
    h = x
    for W, b in params[:-1]:
        h = jax.nn.relu(h @ W + b)
    W, b = params[-1]
    return h @ W + b


def cross_entropy(params, x, labels):
    """Mean softmax cross-entropy; log_softmax is the numerically stable form."""
    log_probs = jax.nn.log_softmax(mlp_forward(params, x))
    return -jnp.mean(jnp.take_along_axis(log_probs, labels[:, None], axis=1))


def sgd_update(params, x, labels, learning_rate):
    """(new_params, loss before the step). The gradient comes from autodiff, not by hand."""
    loss, grads = jax.value_and_grad(cross_entropy)(params, x, labels)
    return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss


train_step = jax.jit(sgd_update)


def shuffled_batches(key, x, labels, batch_size):
    """Shuffle, then cut into (n_batches, batch_size, ...) stacks of equal-sized batches.

    Equal sizes keep shapes fixed (one compilation), so the remainder (n % batch_size rows,
    different ones each epoch) sits this epoch out."""
    n_batches = x.shape[0] // batch_size
    order = jax.random.permutation(key, x.shape[0])[: n_batches * batch_size]
    return x[order].reshape(n_batches, batch_size, -1), labels[order].reshape(n_batches, batch_size)


@functools.partial(jax.jit, static_argnames="batch_size")
def train_epoch(params, key, x, labels, learning_rate, batch_size):
    """One epoch in one compiled call: lax.scan runs the SGD step over the stacked batches.

    batch_size is static because it fixes array shapes."""

    def step(p, batch):
        return sgd_update(p, *batch, learning_rate)

    params, losses = jax.lax.scan(step, params, shuffled_batches(key, x, labels, batch_size))
    return params, losses.mean()


def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):
    """Minibatch SGD from init_mlp; a fresh shuffle key from `key` every epoch."""
    key, init_key = jax.random.split(key)
    params = init_mlp(init_key, sizes)
    for _ in range(epochs):
        key, epoch_key = jax.random.split(key)
        params, _ = train_epoch(params, epoch_key, x, labels, learning_rate, batch_size)
    return params


@jax.jit
def accuracy(params, x, labels):
    return jnp.mean(jnp.argmax(mlp_forward(params, x), axis=1) == labels)


# ---------------------------------------------------------------------- the baselines
def numpy_epoch(params, rng, x, labels, learning_rate, batch_size):
    """One epoch of golden.train's loop (unrolled here to record the loss)."""
    order = rng.permutation(x.shape[0])
    losses = []
    for start in range(0, x.shape[0], batch_size):
        batch = order[start : start + batch_size]
        params, loss = golden.sgd_step(params, x[batch], labels[batch], learning_rate)
        losses.append(loss)
    return params, float(np.mean(losses))


def python_loop_epoch(step_fn, params, key, x, labels, learning_rate, batch_size):
    """The same epoch as train_epoch, but a Python loop calls step_fn (eager or jitted) per batch."""
    x_batches, label_batches = shuffled_batches(key, x, labels, batch_size)
    losses = [None] * len(x_batches)
    for i, (xb, yb) in enumerate(zip(x_batches, label_batches)):
        params, losses[i] = step_fn(params, xb, yb, learning_rate)
    return params, jnp.mean(jnp.stack(losses))


def save_plot(path, curves, epochs):
    import matplotlib

    matplotlib.use("Agg")  # files only: works on headless machines and in CI
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    steps = np.arange(1, epochs + 1)
    for name, (losses, accs) in curves.items():
        ax_loss.plot(steps, losses, label=name)
        ax_acc.plot(steps, accs, label=name)
    ax_loss.set(xlabel="epoch", ylabel="mean training loss", yscale="log", title="training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units, network 64-H-H-10 (default 64)")
    parser.add_argument("--batch-size", type=int, default=32, help="minibatch size (default 32)")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default 0.1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of one epoch (default 5)")
    parser.add_argument("--plot", metavar="FILE", help="save loss/accuracy curves to this PNG file")
    args = parser.parse_args(argv)

    print("06 - The MLP in JAX: autodiff, jit train step, lax.scan epoch")
    print(f"Device: {device_summary()}   jax.devices() = {jax.devices()}")

    # ------------------------------------------------------------------ data and model
    section("1. Data and model")
    data = load_digits()
    sizes = [data.x_train.shape[1], args.hidden, args.hidden, 10]
    n_params = sum(m * k + k for m, k in zip(sizes[:-1], sizes[1:]))
    print(f"digits: {len(data.x_train)} train / {len(data.x_test)} test images of 8x8 = 64 pixels")
    print(f"network {'-'.join(map(str, sizes))} ({n_params:,} parameters), batch {args.batch_size}, lr {args.lr}")
    x_train, y_train = jnp.asarray(data.x_train), jnp.asarray(data.y_train)  # on the device once
    x_test, y_test = jnp.asarray(data.x_test), jnp.asarray(data.y_test)

    # ------------------------------------------------------------------ autodiff vs backprop
    section("2. jax.grad vs the hand-written backprop")
    np_params = golden.init_params(np.random.default_rng(0), sizes)
    batch_x, batch_y = data.x_train[:128], data.y_train[:128]
    np_loss, np_grads = golden.loss_and_grads(np_params, batch_x, batch_y)
    scale = max(float(np.max(np.abs(g))) for g in jax.tree.leaves(np_grads))

    def relative_gap():
        jax_grads = jax.grad(cross_entropy)(
            jax.tree.map(jnp.asarray, np_params), jnp.asarray(batch_x), jnp.asarray(batch_y))
        return max(float(np.max(np.abs(np.asarray(j) - n)))
                   for j, n in zip(jax.tree.leaves(jax_grads), jax.tree.leaves(np_grads))) / scale

    # On NVIDIA GPUs JAX runs float32 matmuls on TF32 tensor cores by default (~3 decimal
    # digits): fast, fine for training, but too coarse for a 1e-5 comparison. Check at full
    # float32 precision, and show the default's gap too.
    gap_default = relative_gap()
    with jax.default_matmul_precision("highest"):
        gap = relative_gap()
    print(f"loss (hand-written NumPy): {np_loss:.6f}")
    print("max |jax.grad - hand-written backprop| / max |grad|:")
    print(f"  {gap_default:.1e} at the default matmul precision, {gap:.1e} at precision 'highest'")
    print(f"autodiff matches the hand-written backprop: {'OK' if gap < 1e-5 else 'MISMATCH'}")

    # ------------------------------------------------------------------ training
    section(f"3. Training both for {args.epochs} epochs")
    rng = np.random.default_rng(0)
    np_params = golden.init_params(rng, sizes)
    key, init_key = jax.random.split(jax.random.key(0))
    params = init_mlp(init_key, sizes)
    curves = {"NumPy (golden)": ([], []), "JAX (lax.scan epoch)": ([], [])}
    for _ in range(args.epochs):
        np_params, np_epoch_loss = numpy_epoch(np_params, rng, data.x_train, data.y_train, args.lr, args.batch_size)
        curves["NumPy (golden)"][0].append(np_epoch_loss)
        curves["NumPy (golden)"][1].append(golden.accuracy(np_params, data.x_test, data.y_test))
        key, epoch_key = jax.random.split(key)
        params, epoch_loss = train_epoch(params, epoch_key, x_train, y_train, args.lr, args.batch_size)
        curves["JAX (lax.scan epoch)"][0].append(float(epoch_loss))
        curves["JAX (lax.scan epoch)"][1].append(float(accuracy(params, x_test, y_test)))
    report_epochs = sorted({1, max(args.epochs // 3, 1), max(2 * args.epochs // 3, 1), args.epochs})
    rows = [[str(e)] + [f"{curves[name][i][e - 1]:.4f}" for name in curves for i in (0, 1)] for e in report_epochs]
    print(format_table(["epoch", "NumPy loss", "NumPy acc", "JAX loss", "JAX acc"], rows))
    np_acc, jax_acc = curves["NumPy (golden)"][1][-1], curves["JAX (lax.scan epoch)"][1][-1]
    print(f"test accuracy after {args.epochs} epochs: NumPy {np_acc:.3f}, JAX {jax_acc:.3f}")
    # train_mlp splits its key exactly as the loop above did: same key, same model.
    again = train_mlp(jax.random.key(0), x_train, y_train, sizes, args.epochs, args.batch_size, args.lr)
    same = all(bool(jnp.array_equal(a, b)) for a, b in zip(jax.tree.leaves(again), jax.tree.leaves(params)))
    print(f"train_mlp(jax.random.key(0), ...) reproduces the loop's parameters exactly: {same}")

    # ------------------------------------------------------------------ timing
    section("4. Time per epoch")
    fresh_rng = np.random.default_rng(1)
    seeds = itertools.count()

    def numpy_args():
        return (golden.init_params(fresh_rng, sizes), fresh_rng, data.x_train, data.y_train, args.lr, args.batch_size)

    def jax_args():
        k1, k2 = jax.random.split(jax.random.key(next(seeds)))  # fresh params and shuffle every run
        return (init_mlp(k1, sizes), k2, x_train, y_train, args.lr, args.batch_size)

    candidates = {
        "NumPy (golden, hand backprop)": (numpy_epoch, numpy_args),
        "JAX eager step, Python loop": (functools.partial(python_loop_epoch, sgd_update), jax_args),
        "JAX jit(train_step), Python loop": (functools.partial(python_loop_epoch, train_step), jax_args),
        "JAX train_epoch (lax.scan)": (train_epoch, jax_args),
    }
    jax.clear_caches()  # training compiled everything: start cold so the compile column is real
    timings = {name: time_call(fn, make, repeats=args.repeats) for name, (fn, make) in candidates.items()}
    base = timings["NumPy (golden, hand backprop)"].median_s
    rows = [[name, fmt_time(t.median_s), fmt_time(t.min_s), fmt_time(t.max_s),
             "-" if name.startswith("NumPy") else fmt_time(t.compile_s), fmt_speedup(base, t.median_s)]
            for name, t in timings.items()]
    print(format_table(["", "median", "min", "max", "compile*", "vs NumPy"], rows))
    print(f"* compile = first call minus a steady call, not in the median. Median of {args.repeats}.")
    # Why the Python loops lose on a small network: every minibatch pays Python and dispatch
    # overhead (take the next batch, launch the step), while lax.scan pays it once per epoch.
    print("Small network: per-call overhead dominates, and the Python loops pay it per minibatch,\n"
          "lax.scan once per epoch. On a GPU try --hidden 2048 --batch-size 256.")

    if args.plot:
        save_plot(args.plot, curves, args.epochs)
        print(f"saved plot: {args.plot}")


if __name__ == "__main__":
    main()
