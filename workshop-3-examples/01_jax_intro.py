"""01 - Thinking in JAX: arrays, immutability, dtypes, random keys and devices.

What this script teaches
------------------------
1. ``jax.numpy`` looks like NumPy: same function names, same broadcasting rules.
2. JAX arrays are immutable: ``x[0] = 1`` fails; ``x.at[0].set(1)`` returns a new array.
3. dtypes: JAX defaults to float32 / int32 (GPUs are fast at 32-bit); ``--x64`` turns on
   64-bit types the way you would in a research script.
4. Random numbers come from explicit keys: the same key always gives the same numbers,
   and you ``split`` a key to get new, independent ones (no hidden global state).
5. Device placement: ``jax.devices()`` lists where arrays can live, ``jax.device_put``
   moves a NumPy array there, ``np.asarray`` brings it back; then a NumPy vs JAX matmul,
   timed and checked for accuracy (GPUs use TF32 for float32 matmuls unless told not to).

Run
---
    python workshop-3-examples/01_jax_intro.py [--size N] [--repeats R] [--x64]

Flags
-----
--size N      side of the square matrices in the matmul timing (default 800; try 8192 on a GPU)
--repeats R   timed repeats per measurement; the median is reported (default 5)
--x64         enable 64-bit floats/ints (jax_enable_x64) before any array is made
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from course.timing import device_summary, fmt_time, format_table, time_call


def section(title: str) -> None:
    print(f"\n-- {title} " + "-" * max(0, 66 - len(title)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=800, help="matmul matrix side (default 800)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    parser.add_argument("--x64", action="store_true", help="enable 64-bit types (jax_enable_x64)")
    args = parser.parse_args(argv)

    # The x64 switch must be flipped before any array is created: it changes the default dtypes.
    if args.x64:
        jax.config.update("jax_enable_x64", True)

    print("01 - JAX intro: arrays, immutability, dtypes, keys, devices")
    print(f"Device: {device_summary()}   jax.devices() = {jax.devices()}")

    # ------------------------------------------------------------------ 1. NumPy-like API
    section("1. The NumPy-like API")
    x_np = np.arange(12.0).reshape(3, 4)
    x = jnp.arange(12.0).reshape(3, 4)
    print(f"type(x)            = {type(x).__name__} (a jax.Array), shape {x.shape}")
    print(f"x.mean(axis=0)     = {x.mean(axis=0)}")
    print(f"x @ x.T [0]        = {(x @ x.T)[0]}")
    # Same names, same broadcasting: most NumPy code ports by changing `np.` to `jnp.`.
    same = np.allclose(np.sin(x_np) + x_np.mean(axis=1, keepdims=True),
                       jnp.sin(x) + x.mean(axis=1, keepdims=True), atol=1e-6)
    print(f"np and jnp agree on sin(x) + row means: {same}")

    # ------------------------------------------------------------------ 2. immutability
    section("2. Arrays are immutable: use .at[...]")
    grid = jnp.zeros((4, 6))
    try:
        grid[1, 1] = 100.0
    except TypeError as err:
        # JAX refuses in-place writes: a compiled program may share or reuse the buffer.
        print(f"grid[1, 1] = 100.0  ->  TypeError: {str(err).splitlines()[0][:70]}...")
    hot = grid.at[1:3, 2:4].set(100.0)  # a NEW array; `grid` is untouched
    hot = hot.at[0, :].add(1.0)  # .add/.mul/.min/.max work the same way
    print(f"after .at[1:3, 2:4].set(100) and .at[0, :].add(1):\n{hot}")
    print(f"original grid still all zeros: {bool((grid == 0).all())}")

    # ------------------------------------------------------------------ 3. dtypes
    section("3. dtypes: float32 by default")
    print(f"jnp.array(1.0).dtype          = {jnp.array(1.0).dtype}")
    print(f"jnp.arange(3).dtype           = {jnp.arange(3).dtype}")
    print(f"np.ones(3) (float64) in JAX   = {jnp.asarray(np.ones(3)).dtype}"
          + ("" if args.x64 else "   (silently narrowed; run with --x64 to keep float64)"))
    # float32 has ~7 significant digits: small increments vanish, big integers round.
    one = jnp.array(1.0)
    big = jnp.array(2.0**24)
    dtype = one.dtype
    print(f"1 + 1e-8 == 1 in {dtype}       : {bool(one + 1e-8 == one)}"
          f"   (NumPy float64: {1.0 + 1e-8 == 1.0})")
    print(f"2**24 + 1 in {dtype}           = {float(big + 1):.0f}"
          f"   (NumPy float64: {2.0**24 + 1:.0f})")

    # ------------------------------------------------------------------ 4. PRNG keys
    section("4. Random numbers from explicit keys")
    key = jax.random.key(42)
    a = jax.random.normal(key, (3,))
    b = jax.random.normal(key, (3,))
    print(f"normal(key)       = {a}")
    print(f"normal(key) again = {b}   identical: {bool((a == b).all())}")
    # Never reuse a key for two different purposes: split it into fresh subkeys.
    key, subkey = jax.random.split(key)
    c = jax.random.normal(subkey, (3,))
    print(f"normal(subkey)    = {c}   different: {bool((a != c).all())}")
    keys = jax.random.split(key, 4)  # many keys at once, e.g. one per experiment
    print(f"split(key, 4) gives {keys.shape[0]} keys; first draws:"
          f" {[round(float(jax.random.uniform(k)), 3) for k in keys]}")

    # ------------------------------------------------------------------ 5. devices
    section("5. Where arrays live")
    print(f"jax.default_backend() = {jax.default_backend()}")
    host = np.random.default_rng(0).standard_normal((args.size, args.size), dtype=np.float32)
    on_device = jax.device_put(host)  # copies host memory to the default device
    print(f"jax.device_put(numpy array) -> lives on {on_device.devices()}")
    back = np.asarray(on_device)  # copies back to host memory (NumPy)
    print(f"np.asarray(jax array) -> {type(back).__name__}, equal to original: {np.array_equal(host, back)}")

    # A first timing: the same matmul in NumPy and in JAX (both multithreaded on a CPU).
    rng = np.random.default_rng(1)
    n = args.size

    def host_pair():
        return rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)

    def device_pair():
        return tuple(jax.device_put(m) for m in host_pair())

    def matmul_highest(a, b):
        return jnp.matmul(a, b, precision="highest")  # full float32 on every device

    t_np = time_call(np.matmul, host_pair, repeats=args.repeats)
    t_jax = time_call(jnp.matmul, device_pair, repeats=args.repeats)
    t_high = time_call(matmul_highest, device_pair, repeats=args.repeats)
    t_put = time_call(jax.device_put, lambda: (host,), repeats=args.repeats)

    # Accuracy against a float64 reference, on a block of rows to keep the reference cheap.
    a, b = host_pair()
    reference = a[:64].astype(np.float64) @ b.astype(np.float64)

    def rel_error(product):
        return f"{np.max(np.abs(np.asarray(product)[:64] - reference)) / np.max(np.abs(reference)):.0e}"

    gflops = 2 * n**3 / 1e9
    rows = [
        ["NumPy (np.matmul)", fmt_time(t_np.median_s), f"{gflops / t_np.median_s:.1f}", rel_error(a @ b)],
        ["JAX (jnp.matmul)", fmt_time(t_jax.median_s), f"{gflops / t_jax.median_s:.1f}",
         rel_error(jnp.matmul(a, b))],
        ["JAX, precision='highest'", fmt_time(t_high.median_s), f"{gflops / t_high.median_s:.1f}",
         rel_error(matmul_highest(a, b))],
        ["jax.device_put (host->device)", fmt_time(t_put.median_s), "", ""],
    ]
    print(f"\n{n}x{n} float32 matmul, median of {args.repeats} runs:")
    print(format_table(["", "time", "GFLOP/s", "rel. error"], rows))
    print("On a GPU the matmul gets much faster while the copy does not: keep data on the device.\n"
          "NVIDIA GPUs run float32 matmuls on TF32 tensor cores by default (faster, ~1e-3 error);\n"
          "precision='highest' (or jax.default_matmul_precision) asks for full float32.")

if __name__ == "__main__":
    main()
