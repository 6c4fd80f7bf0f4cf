# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # 01 · Why GPUs, and thinking in JAX
#
# *From Scripts to Software: Practical Python for Reproducible Research* — Workshop 3,
# **Accelerating Your Code with GPUs**, notebook 1 of 6.
#
# In the earlier workshops you wrote two programs in NumPy that this series keeps coming back
# to: a solver for the 2-D heat equation and a small neural network trained with hand-written
# backpropagation. In this workshop you rewrite both in **JAX** and run them on a GPU. This
# first notebook lays the ground:
#
# 1. **Part 1 · Why GPUs?** How a GPU differs from a CPU, which research code it speeds up,
#    the CUDA ecosystem, and where JAX fits in.
# 2. **Part 2 · Thinking in JAX.** The NumPy-like API, immutable arrays and `.at[...]`,
#    float32 by default, explicit random keys, and where your arrays live.
# 3. **Exercises:** `set_boundary`, `standardize`, `sample_normal`.
#
# Notebooks 02–04 then teach the three transformations `jax.jit`, `jax.grad` and `jax.vmap`;
# notebooks 05 and 06 rewrite the heat solver and the neural network.
#
# **How this notebook works.** Read the prose and run the worked examples from top to bottom
# (*Run → Run All Cells* is fine). The exercises come at the end. In each exercise cell, replace
# the lines `# YOUR CODE HERE` / `raise NotImplementedError()` with your code and keep the name
# and signature exactly as given: the graders look them up by name. The cell under each exercise
# runs *visible checks*; when one fails, its message says what is wrong. When you hand in, *hidden
# graders* test the same functions on fresh random inputs at several shapes, with tolerances for
# float32 on a GPU, so write general functions rather than ones tuned to the visible examples.
#
# Everything here runs on a laptop CPU in well under a minute. Where a GPU changes the
# picture, the text says so and which sizes to try.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import time

import jax
import jax.numpy as jnp
import numpy as np

from course.timing import device_summary, fmt_time, format_table, time_call

print(f"JAX {jax.__version__} on {device_summary()}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "why_gpus", "locked": true, "schema_version": 3, "solution": false}
# ## Part 1 · Why GPUs?
#
# ### Two designs for two jobs
#
# A **CPU** is built to finish *one* stream of instructions as fast as possible: it is
# optimised for *latency*. Each of its few cores (4–16 in a laptop, up to a hundred or so in a
# server) is big and clever: it predicts which way branches will go, executes instructions out
# of order, and sits behind megabytes of cache so that the next piece of data is usually close
# by already. That is what makes branchy, irregular code fast — parsers, adaptive algorithms
# full of `if`s, the Python interpreter itself.
#
# A **GPU** is built to finish a *huge number of identical small jobs* per second: it is
# optimised for *throughput*. An NVIDIA H100 has 132 *streaming multiprocessors* (SMs) with 128
# float32 units each, almost 17 000 arithmetic lanes in total. Threads run in groups of 32
# (a *warp*) that execute the same instruction on different data, and when a warp waits for
# memory the SM simply switches to another one. There is little cache per thread and no
# cleverness for branches: when the threads of a warp disagree about an `if`, both sides run,
# one after the other.
#
# | | CPU (laptop to server) | data-centre GPU (H100) |
# |---|---|---|
# | compute units | 4–128 big cores | 132 SMs, ~17 000 simple float32 lanes |
# | built for | latency: one thread, branchy code | throughput: one operation on millions of elements |
# | memory bandwidth | ~50–400 GB/s (DDR) | ~2–3.4 TB/s (HBM) |
# | memory size | 16 GB to over 1 TB | 80 GB (H100), 141 GB (H200) |
# | peak float32 | ~1–5 TFLOP/s | ~60 TFLOP/s, far more in 16-bit matrix products |
#
# (Rough orders of magnitude: they move with every hardware generation.)
#
# ### What this means for research code
#
# * **Data-parallel array code wins.** The same update applied to every cell of a grid (the
#   heat equation), to every element of a vector (an activation function) or to every entry
#   of a matrix product (a neural-network layer) maps perfectly onto thousands of lanes.
# * **Memory bandwidth often matters more than FLOP/s.** An explicit stencil update does a
#   handful of additions per value it reads, so its speed is set by how fast memory streams:
#   expect roughly the GPU's bandwidth advantage, about 10×, over a fast CPU. A large matrix
#   product reuses every value many times and can approach the much larger arithmetic
#   advantage.
# * **The GPU has its own memory.** Data must cross the PCIe bus (~25–60 GB/s, slower than
#   either memory) before the GPU can use it. Copy once, compute a lot, copy back only
#   results.
# * **Every kernel launch has a fixed cost** of a few microseconds. For a 100-element array
#   that overhead dwarfs the work: the GPU pays off for big arrays, or when many small
#   operations are *fused* into one kernel — exactly what a compiler like XLA does for you.
# * **Sequential work stays sequential.** If step *n* needs the result of step *n − 1* (a
#   time loop), the steps cannot run in parallel; only the work *within* each step can.
#
# ### The CUDA ecosystem
#
# NVIDIA GPUs are programmed through **CUDA**, a stack of layers:
#
# * the **driver**, installed with the operating system, which talks to the hardware;
# * the **CUDA toolkit**: the `nvcc` compiler for kernels written in CUDA C++, and the runtime
#   that allocates GPU memory, copies data and launches kernels;
# * tuned **libraries**: cuBLAS (dense linear algebra), cuFFT (Fourier transforms), cuSPARSE
#   and cuSOLVER, cuRAND (random numbers), cuDNN (deep-learning primitives), NCCL
#   (communication between GPUs);
# * **tools**: `nvidia-smi` (which GPUs, how busy, how much memory in use), and the profilers
#   Nsight Systems and Nsight Compute.
#
# From Python you rarely write CUDA C++ yourself. The main routes are:
#
# | tool | what you write | good for |
# |---|---|---|
# | **CuPy** | NumPy code with `cp.` instead of `np.` | a drop-in GPU NumPy; one kernel per operation |
# | **Numba** (`numba.cuda.jit`) | GPU kernels in Python syntax, thread by thread | custom kernels with full control |
# | **PyTorch** | tensors and modules | deep learning, with a huge ecosystem |
# | **JAX** | NumPy-style *functions*, transformed by `jit`, `grad`, `vmap` | scientific computing and machine learning, one code base for CPU, GPU and TPU |
#
# ### Why JAX for this workshop?
#
# 1. **A NumPy you already know.** `jax.numpy` has NumPy's function names, broadcasting and
#    indexing; most code ports by changing `np.` to `jnp.`.
# 2. **A compiler.** `jax.jit` hands a whole function to **XLA** (*Accelerated Linear
#    Algebra*), the compiler behind JAX. XLA *fuses* chains of operations into a few kernels,
#    removes temporary arrays and calls cuBLAS or cuDNN where they are fastest — for whatever
#    device you have. The same Python runs on a CPU, an NVIDIA or AMD GPU, or a Google TPU.
# 3. **Composable function transformations.** `jax.grad` turns a function into its
#    derivative, `jax.vmap` turns a function of one example into a function of a batch,
#    `jax.jit` turns it into compiled code, and they combine freely:
#    `jax.jit(jax.vmap(jax.grad(loss)))` is a normal thing to write.
#
# The price is a **functional style**. JAX transforms *functions*, so it wants functions that
# compute their result from their arguments only: no writing into arrays in place, no hidden
# global state such as NumPy's random seed. Part 2 is about exactly these habits.
#
# Installing JAX for an NVIDIA GPU is `pip install "jax[cuda13]"`: the CUDA libraries come as
# pip wheels, and only a recent NVIDIA driver must be on the machine. The course's
# `environment-gpu.yml` pins the versions we tested. What can this kernel see?

# %% nbgrader={"grade": false, "grade_id": "list_devices", "locked": true, "schema_version": 3, "solution": false}
print("default backend:", jax.default_backend())   # 'cpu', 'gpu' or 'tpu'
for d in jax.devices():
    print(f"  device {d.id}: {d.platform} ({d.device_kind})")


# %% [markdown] nbgrader={"grade": false, "grade_id": "under_the_hood", "locked": true, "schema_version": 3, "solution": false}
# ### A first look under the hood
#
# JAX works by **tracing**: it calls your Python function once with placeholder arrays that
# record every operation, and turns the recording into a small program, a *jaxpr*. The
# transformations (`jit`, `grad`, `vmap`) all work on that program, and XLA compiles it. Here
# is the recording of a two-line function:

# %% nbgrader={"grade": false, "grade_id": "first_jaxpr", "locked": true, "schema_version": 3, "solution": false}
def f(x):
    return jnp.sin(x) ** 2 + 1.0

print(jax.make_jaxpr(f)(jnp.ones(3)))

# %% [markdown] nbgrader={"grade": false, "grade_id": "reading_a_jaxpr", "locked": true, "schema_version": 3, "solution": false}
# Each line is one *primitive* operation on `f32[3]` values: float32 arrays of shape `(3,)`.
# Python is no longer involved once this program exists, which is why it can run on a GPU.
# Notebook 02 returns to tracing in detail.

# %% [markdown] nbgrader={"grade": false, "grade_id": "jnp_is_numpy", "locked": true, "schema_version": 3, "solution": false}
# ## Part 2 · Thinking in JAX
#
# ### 2.1 `jax.numpy` is (almost) NumPy

# %% nbgrader={"grade": false, "grade_id": "jnp_like_numpy", "locked": true, "schema_version": 3, "solution": false}
x_np = np.linspace(0.0, 1.0, 6).reshape(2, 3)
x = jnp.linspace(0.0, 1.0, 6).reshape(2, 3)

print(type(x_np).__name__, "vs", type(x).__name__, "| a jax.Array:", isinstance(x, jax.Array))
print(np.sin(x_np) @ x_np.T)
print(jnp.sin(x) @ x.T)                               # same names, same broadcasting
print("column means:", x.mean(axis=0), "  max:", jnp.max(x))

# %% [markdown] nbgrader={"grade": false, "grade_id": "moving_between_worlds", "locked": true, "schema_version": 3, "solution": false}
# Moving between the two worlds is explicit:
#
# * `jnp.asarray(a)` turns a NumPy array (or a list) into a JAX array on the default device
#   (the GPU, if there is one);
# * `np.asarray(x)` turns a JAX array back into a NumPy array: a copy to host memory, which
#   waits for the result to be ready;
# * `float(x)`, `int(x)` or `x.item()` give a Python number from a 0-d array.
#
# A NumPy function applied to a JAX array, such as `np.sin(x)`, works but silently converts
# to NumPy: the computation leaves JAX (and the GPU). Inside functions you want JAX to
# compile or differentiate, use `jnp.` throughout.

# %% nbgrader={"grade": false, "grade_id": "back_to_numpy", "locked": true, "schema_version": 3, "solution": false}
y = np.asarray(jnp.sin(x))             # back to NumPy
print(type(y).__name__, y.dtype)
print(type(np.sin(x)).__name__)        # a NumPy function returns NumPy: off the device

# %% [markdown] nbgrader={"grade": false, "grade_id": "immutable_arrays", "locked": true, "schema_version": 3, "solution": false}
# ### 2.2 Arrays are immutable: `.at[...]` instead of assignment
#
# In NumPy you write into arrays all the time: `u[0, :] = 100.0` sets a boundary,
# `new[1:-1, 1:-1] = ...` updates the interior of a grid. JAX arrays **cannot be changed
# after they are created**:

# %% nbgrader={"grade": false, "grade_id": "assignment_fails", "locked": true, "schema_version": 3, "solution": false}
grid = jnp.zeros((4, 6))
try:
    grid[1, 2] = 100.0
except TypeError as err:
    print("TypeError:", str(err).split(":")[0])

# %% [markdown] nbgrader={"grade": false, "grade_id": "at_updates", "locked": true, "schema_version": 3, "solution": false}
# Why? JAX transforms and compiles *functions*. If a function could modify its inputs, its
# result would depend on who else shares that memory, derivatives would be ill-defined, and
# XLA could not freely reorder and fuse operations. So instead of *changing* an array you
# build a *new* one, through the `.at` property:
#
# | NumPy (in place) | JAX (returns a new array) |
# |---|---|
# | `u[i, j] = v` | `u = u.at[i, j].set(v)` |
# | `u[i, j] += v` | `u = u.at[i, j].add(v)` |
# | `u[i, j] *= v` | `u = u.at[i, j].multiply(v)` |
# | `u[i, j] = np.minimum(u[i, j], v)` | `u = u.at[i, j].min(v)` |
#
# Any NumPy index works inside `.at[...]`: integers, slices, integer arrays, boolean masks.

# %% nbgrader={"grade": false, "grade_id": "at_set_add", "locked": true, "schema_version": 3, "solution": false}
hot = grid.at[1:3, 2:4].set(100.0)    # a new array with a hot 2x2 patch...
hot = hot.at[0, :].add(1.0)           # ...and its first row raised by one
print(hot)
print("grid is unchanged:", bool((grid == 0).all()))

# %% [markdown] nbgrader={"grade": false, "grade_id": "two_more_differences", "locked": true, "schema_version": 3, "solution": false}
# "A new array every time" sounds expensive, but usually is not: inside a `jax.jit`-compiled
# function XLA sees that the old array is never used again and performs the update in place.
# Outside `jit` each `.at[...]` really makes a copy — one more reason to compile (notebook 02).
#
# Two more differences to keep in mind:
#
# * **Out-of-bounds indices do not raise.** NumPy raises an `IndexError`; JAX, which cannot
#   raise errors from inside a GPU kernel, clamps indices when reading and drops updates that
#   fall outside the array. Check your indices yourself.
# * **Functions should be pure.** A function that *returns* a modified copy instead of
#   modifying its argument is exactly what JAX wants. It is a good habit for reproducible
#   research code anyway: a caller's data never changes behind their back.

# %% nbgrader={"grade": false, "grade_id": "out_of_bounds", "locked": true, "schema_version": 3, "solution": false}
v = jnp.arange(5)
print("v[10]            =", v[10], "  (NumPy would raise IndexError)")
print("v.at[10].set(99) =", v.at[10].set(99), "  (the update is silently dropped)")

# %% [markdown] nbgrader={"grade": false, "grade_id": "float32_default", "locked": true, "schema_version": 3, "solution": false}
# ### 2.3 dtypes: float32 by default
#
# NumPy computes in float64 unless told otherwise. JAX defaults to **float32** (and int32):
# GPUs are built for 32-bit arithmetic, and 32-bit arrays need half the memory and half the
# memory bandwidth. Gaming and workstation GPUs do float64 arithmetic 32–64 times more slowly
# than float32; even data-centre GPUs gain about 2× from the halved memory traffic.

# %% nbgrader={"grade": false, "grade_id": "default_dtypes", "locked": true, "schema_version": 3, "solution": false}
print("jnp.array(1.0)          ", jnp.array(1.0).dtype)
print("jnp.arange(3)           ", jnp.arange(3).dtype)
print("from float64 NumPy      ", jnp.asarray(np.ones(3)).dtype, "  <- silently narrowed")
print("float32 * Python float  ", (jnp.ones(3, dtype=jnp.float32) * 2.5).dtype,
      "  <- Python numbers do not widen arrays")

# %% [markdown] nbgrader={"grade": false, "grade_id": "float32_precision", "locked": true, "schema_version": 3, "solution": false}
# float32 keeps about **7 significant digits** (machine epsilon ≈ 1.2 × 10⁻⁷), float64 about
# 16. Simulations and neural networks are usually fine with that, but it bites when you add
# tiny increments to large numbers or compare results with tight tolerances:

# %% nbgrader={"grade": false, "grade_id": "float32_rounding", "locked": true, "schema_version": 3, "solution": false}
one = jnp.array(1.0)
print("1 + 1e-8 == 1 ?   float32:", bool(one + 1e-8 == one), "   float64:", 1.0 + 1e-8 == 1.0)
print("2**24 + 1         float32:", float(jnp.array(2.0**24) + 1), "   float64:", 2.0**24 + 1)
print("float32 epsilon:", jnp.finfo(jnp.float32).eps)

# %% [markdown] nbgrader={"grade": false, "grade_id": "float32_rules", "locked": true, "schema_version": 3, "solution": false}
# Practical rules:
#
# * Compare float32 results with tolerances (`np.allclose(a, b, rtol=1e-5, atol=...)`), never
#   with `==`. The graders of this course do the same.
# * If a computation really needs float64, switch it on **at the very start** of the program,
#   before any array exists: `jax.config.update("jax_enable_x64", True)`, or the environment
#   variable `JAX_ENABLE_X64=1`. This workshop stays in float32.
# * On recent NVIDIA GPUs, JAX by default lets float32 matrix products use TensorFloat-32
#   tensor cores, which round the inputs to about 3 significant digits — fast, and fine for
#   neural networks, surprising elsewhere. For full float32 products pass
#   `precision="highest"` to `jnp.matmul` / `jnp.dot`, or set
#   `jax.config.update("jax_default_matmul_precision", "highest")`.

# %% [markdown] nbgrader={"grade": false, "grade_id": "explicit_keys", "locked": true, "schema_version": 3, "solution": false}
# ### 2.4 Random numbers come from explicit keys
#
# NumPy's random numbers come from hidden state: `np.random.seed(0)`, or a `Generator` object
# that changes every time you draw from it. That is convenient in a script, but a function
# whose result depends on hidden state is not pure, cannot be compiled safely, and gives
# different numbers depending on the order in which parallel work happens to run.
#
# JAX makes the state explicit. A **key** is a small array; every random function takes a key
# and returns numbers that depend *only* on that key and the requested shape:

# %% nbgrader={"grade": false, "grade_id": "same_key_same_numbers", "locked": true, "schema_version": 3, "solution": false}
key = jax.random.key(42)            # a key from a seed
a = jax.random.normal(key, (3,))
b = jax.random.normal(key, (3,))
print(a)
print(b, "<- same key, same numbers: every time, on every device")

# %% [markdown] nbgrader={"grade": false, "grade_id": "split_keys", "locked": true, "schema_version": 3, "solution": false}
# To get *new* numbers you **split** a key into new, statistically independent keys. The
# rule: **never draw twice from the same key**. Once a key has been used to draw, do not use
# it again — not for drawing, not for splitting. The idiom splits off a subkey for each use
# and carries the other key forward:

# %% nbgrader={"grade": false, "grade_id": "split_idiom", "locked": true, "schema_version": 3, "solution": false}
key = jax.random.key(42)
key, subkey = jax.random.split(key)      # carry `key` forward, use `subkey` once
noise = jax.random.normal(subkey, (3,))
key, subkey = jax.random.split(key)
weights = jax.random.uniform(subkey, (2, 2))
print("noise  ", noise)
print("weights", weights.ravel())

keys = jax.random.split(jax.random.key(0), 4)   # many keys at once, e.g. one per experiment
print("one draw per key:", [round(float(jax.random.uniform(k)), 3) for k in keys])

# %% [markdown] nbgrader={"grade": false, "grade_id": "where_arrays_live", "locked": true, "schema_version": 3, "solution": false}
# More typing than `np.random`, but it buys real reproducibility: one seed at the top of a
# script determines every random number, however the work is later split across functions,
# batches or devices; and a function that takes a key is a pure function, which JAX can
# compile and transform. When splitting in sequence is awkward, `jax.random.fold_in(key, i)`
# derives a key from an integer (an epoch, a run id).
#
# ### 2.5 Where do arrays live?
#
# Every JAX array lives on a **device**: the CPU, or a GPU's own memory. New arrays go to the
# default device (the first GPU, if there is one). `jax.device_put` copies a NumPy array
# there explicitly and `np.asarray` copies it back.

# %% nbgrader={"grade": false, "grade_id": "device_put", "locked": true, "schema_version": 3, "solution": false}
host = np.random.default_rng(0).standard_normal((1000, 1000), dtype=np.float32)
on_device = jax.device_put(host)           # host memory -> default device
print("lives on:", on_device.devices())
back = np.asarray(on_device)               # device -> host memory
print("round trip exact:", np.array_equal(host, back))

# %% [markdown] nbgrader={"grade": false, "grade_id": "asynchronous_dispatch", "locked": true, "schema_version": 3, "solution": false}
# **JAX is asynchronous.** A JAX call returns its result array *immediately*, while the device
# is still computing it; Python waits only when it needs the values (to print them, to
# convert to NumPy, ...). This keeps a GPU busy while Python prepares the next step, but it
# makes naive timing wrong: `time.perf_counter()` around a call measures how long it took to
# *launch* the work. Always wait with `jax.block_until_ready(result)` before stopping the
# clock, and never time the first call, which includes compilation.
#
# The course module `course.timing` does both for you: `time_call(fn, make_args)` runs a
# warm-up call, then times several calls (each waiting for its result, each with fresh inputs
# from `make_args()`) and reports the median.

# %% nbgrader={"grade": false, "grade_id": "block_until_ready", "locked": true, "schema_version": 3, "solution": false}
n = 1000   # on a GPU try 8000
a = jax.random.normal(jax.random.key(0), (n, n))
jnp.matmul(a, a).block_until_ready()        # warm-up: the first call compiles

start = time.perf_counter()
c = jnp.matmul(a, a)                        # returns before the work is done...
returned = time.perf_counter() - start
c.block_until_ready()                       # ...this waits for it
finished = time.perf_counter() - start
print(f"call returned after {fmt_time(returned)}, result ready after {fmt_time(finished)}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "first_comparison", "locked": true, "schema_version": 3, "solution": false}
# Finally, a first comparison: the same float32 matrix product in NumPy and in JAX, plus the
# cost of copying one matrix to the device.

# %% nbgrader={"grade": false, "grade_id": "numpy_vs_jax_matmul", "locked": true, "schema_version": 3, "solution": false}
n = 1000   # on a GPU try 8000: 512 times the work; NumPy's time grows accordingly, JAX's far less
rng = np.random.default_rng(1)

def host_matrix():
    return rng.standard_normal((n, n), dtype=np.float32)

def host_pair():
    return (host_matrix(), host_matrix())

def device_pair():
    return tuple(jax.device_put(m) for m in host_pair())

t_numpy = time_call(np.matmul, host_pair, repeats=5)
t_jax = time_call(jnp.matmul, device_pair, repeats=5)
t_copy = time_call(jax.device_put, lambda: (host_matrix(),), repeats=5)
gflop = 2 * n**3 / 1e9
print(format_table(["", "median", "GFLOP/s"], [
    ["NumPy  np.matmul", fmt_time(t_numpy.median_s), f"{gflop / t_numpy.median_s:.0f}"],
    ["JAX    jnp.matmul", fmt_time(t_jax.median_s), f"{gflop / t_jax.median_s:.0f}"],
    ["copy one matrix host -> device", fmt_time(t_copy.median_s), ""],
]))


# %% [markdown] nbgrader={"grade": false, "grade_id": "exercises", "locked": true, "schema_version": 3, "solution": false}
# On a CPU both call optimised matrix-multiplication libraries (NumPy a BLAS, JAX the
# kernels XLA uses), so they stay within a small factor of each other; which one wins
# depends on the machine. On a data-centre GPU the JAX product runs at tens of TFLOP/s —
# hundreds of times a laptop — while the copy from host memory does not get faster. The lesson for everything that
# follows: **move data to the device once, keep it there, bring back only results.**
#
# ## Exercises
#
# Three small functions that use the habits of Part 2. You will meet each again: boundaries
# in the heat solver (notebook 05), standardised inputs and random initialisation in the
# neural network (notebook 06).

# %% [markdown] nbgrader={"grade": false, "grade_id": "set_boundary_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 1 · `set_boundary(u, value)`
#
# The edges of the heat-equation grid hold fixed temperatures (Dirichlet boundary
# conditions). In NumPy you would write `u[0, :] = value` and so on, in place. Write the JAX
# version:
#
# * **input:** a 2-D float32 array `u` of shape `(ny, nx)` and a Python float `value`. The
#   graders pass JAX arrays; a caller may also pass a NumPy array, which `jnp.asarray(u)` turns
#   into a JAX one;
# * **output:** a **new** JAX array, equal to `u` except that its first and last rows and its
#   first and last columns are all `value`; same shape and dtype as `u`;
# * `u` itself must not change, not even when the caller passes a NumPy array;
# * it must work under `jax.jit`.
#
# *Hint:* `.at[...].set(...)` returns an array, so calls can be chained.

# %% nbgrader={"grade": false, "grade_id": "set_boundary_solution", "locked": false, "schema_version": 3, "solution": true}
def set_boundary(u, value):
    """Return a copy of the 2-D array `u` with its four edges set to `value`.

    u: (ny, nx) float32 array (JAX; NumPy works after jnp.asarray). value: a Python float
    (a traced scalar under jax.jit). Returns a new (ny, nx) array of u's dtype whose rows 0 and ny-1 and
    columns 0 and nx-1 equal `value` and whose interior equals u's interior.
    `u` is left unchanged. Works under jax.jit.
    """
    ### BEGIN SOLUTION
    u = jnp.asarray(u)
    # .at[...].set returns a new array; under jit XLA fuses the four updates into one pass.
    return u.at[0, :].set(value).at[-1, :].set(value).at[:, 0].set(value).at[:, -1].set(value)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "set_boundary_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for set_boundary: run this cell after filling in the one above.
def check_set_boundary():
    u = jnp.arange(20.0).reshape(4, 5)          # not square, to catch mixed-up axes
    out = set_boundary(u, -1.0)
    assert out.shape == u.shape, f"shape changed: got {out.shape}, expected {u.shape}"
    assert out.dtype == jnp.float32, f"dtype is {out.dtype}: keep u's float32"
    assert isinstance(out, jax.Array), "return a JAX array: build it with jnp / .at[...], not NumPy"
    for name, edge in [("first row", out[0, :]), ("last row", out[-1, :]),
                       ("first column", out[:, 0]), ("last column", out[:, -1])]:
        assert np.all(np.asarray(edge) == -1.0), f"{name} is {edge}: all four edges must equal value"
    assert np.array_equal(out[1:-1, 1:-1], u[1:-1, 1:-1]), "interior changed: only the edges take value"

    u_np = np.arange(20.0, dtype=np.float32).reshape(4, 5)
    try:
        set_boundary(u_np, 7.0)
    except AttributeError as err:   # `u.at` on a NumPy array fails before anything is written
        if "'at'" not in str(err):
            raise
    assert np.array_equal(u_np, np.arange(20.0, dtype=np.float32).reshape(4, 5)), \
        "set_boundary wrote into its NumPy input: return a new array and leave u alone"

    tiny = set_boundary(jnp.zeros((2, 2)), 3.0)
    assert np.all(np.asarray(tiny) == 3.0), f"on a 2x2 grid every cell is an edge cell, got {tiny}"

    assert np.array_equal(jax.jit(set_boundary)(u, 2.0), set_boundary(u, 2.0)), \
        "set_boundary gives a different result under jax.jit"


check_set_boundary()
print("set_boundary: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "standardize_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 2 · `standardize(x)`
#
# Before fitting a model we usually put every input feature on the same scale. Write
# `standardize(x)`:
#
# * **input:** a 2-D float32 array `x` of shape `(n, d)`: `n` samples (rows) of `d` features
#   (columns);
# * **output:** an array of the same shape, `(x - mean) / std`, with mean and standard
#   deviation computed **per column** (over axis 0); the standard deviation is the
#   population one, `ddof=0` (the default of `jnp.std`);
# * return a JAX array: compute with `jax.numpy`. A NumPy result means the work left JAX, and
#   code in `jnp` is what later notebooks can compile and differentiate.
#
# Every column of the result has mean 0 and standard deviation 1. You may assume that no
# column is constant.

# %% nbgrader={"grade": false, "grade_id": "standardize_solution", "locked": false, "schema_version": 3, "solution": true}
def standardize(x):
    """Standardise each column of x to mean 0 and standard deviation 1.

    x: (n, d) float32 array, n samples of d features (JAX or NumPy).
    Returns an (n, d) float32 array (x - mean) / std, with mean and std taken per
    column (axis 0) and std the population standard deviation (ddof=0).
    """
    ### BEGIN SOLUTION
    x = jnp.asarray(x)
    return (x - x.mean(axis=0)) / x.std(axis=0)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "standardize_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for standardize.
def check_standardize():
    x = jnp.array([[1.0, 10.0],
                   [3.0, 30.0]])    # column means 2 and 20, standard deviations (ddof=0) 1 and 10
    z = standardize(x)
    expected = np.array([[-1.0, -1.0], [1.0, 1.0]])
    assert isinstance(z, jax.Array), "standardize returned a NumPy array: compute with jnp, not np"
    assert z.shape == x.shape, f"shape changed: got {z.shape}, expected {x.shape}"
    assert z.dtype == jnp.float32, f"dtype is {z.dtype}, expected float32"
    assert not np.allclose(z, expected / np.sqrt(2), atol=1e-4), \
        "this is the sample std (ddof=1); use the population std, ddof=0 (the default)"
    assert np.allclose(z, expected, atol=1e-5), f"standardize([[1, 10], [3, 30]]) = {z}, expected {expected}"

    x = (jax.random.normal(jax.random.key(1), (50, 3)) * jnp.array([1.0, 10.0, 0.1])
         + jnp.array([5.0, -3.0, 0.0]))
    z = standardize(x)
    assert np.allclose(z.mean(axis=0), 0.0, atol=1e-5), \
        f"column means are {z.mean(axis=0)}, expected 0: subtract each column's mean (axis=0)"
    assert np.allclose(z.std(axis=0), 1.0, atol=1e-4), \
        f"column stds are {z.std(axis=0)}, expected 1: divide by each column's std (axis=0), not the rows' or the whole array's"


check_standardize()
print("standardize: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "sample_normal_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 3 · `sample_normal(key, shape)`
#
# The building block of every random part of a JAX program: take a key, draw numbers, and
# hand back a *fresh* key for whoever needs randomness next.
#
# * **input:** a PRNG key and a shape tuple such as `(3,)` or `(2, 5)`. The key may come from
#   `jax.random.key` or be a raw one from `jax.random.PRNGKey` (the graders pass raw keys);
#   every `jax.random` function takes both;
# * **output:** a tuple `(new_key, samples)`: `samples` are standard-normal float32 numbers
#   of the given `shape`, drawn with a key **split from** `key`; `new_key` must differ from
#   `key` and must not be the key used for drawing (the other key of that split is the
#   natural choice);
# * the same `key` must always give the same `(new_key, samples)`.
#
# A caller then writes `key, x = sample_normal(key, (3,))` and gets new numbers on every call.

# %% nbgrader={"grade": false, "grade_id": "sample_normal_solution", "locked": false, "schema_version": 3, "solution": true}
def sample_normal(key, shape):
    """Draw standard-normal samples and return a fresh key alongside them.

    key: a JAX PRNG key. shape: a tuple of ints.
    Returns (new_key, samples): samples is a float32 array of `shape`, drawn with a subkey
    split from `key`; new_key (say, the other key of that split) differs from key and is
    never the key used for drawing. The same key gives the same result.
    """
    ### BEGIN SOLUTION
    key, sub = jax.random.split(key)
    return key, jax.random.normal(sub, shape)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sample_normal_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for sample_normal.
def check_sample_normal():
    def same_key(a, b):
        return np.array_equal(jax.random.key_data(a), jax.random.key_data(b))

    key = jax.random.key(0)
    new_key, samples = sample_normal(key, (1000,))
    assert samples.shape == (1000,), f"samples have shape {samples.shape}, expected the requested (1000,)"
    assert samples.dtype == jnp.float32, f"samples are {samples.dtype}, expected float32"

    new_key2, samples2 = sample_normal(key, (1000,))
    assert np.array_equal(samples, samples2), "the same key gave different samples: use jax.random only, no NumPy or global state"
    assert same_key(new_key, new_key2), "the same key gave different new keys: derive new_key from key with jax.random.split"
    assert not same_key(new_key, key), "new_key is the key you were given: split it and return one of the new keys"
    assert not np.allclose(samples, jax.random.normal(key, (1000,))), \
        "samples were drawn with `key` itself: split first, draw with one subkey, return the other"
    assert not np.allclose(samples, jax.random.normal(new_key, (1000,))), \
        "samples were drawn with the key you return: the caller would draw the same numbers again"

    _, more = sample_normal(new_key, (1000,))
    assert not np.allclose(samples, more), "drawing again with new_key gave the same numbers"
    assert abs(float(samples.mean())) < 0.15 and abs(float(samples.std()) - 1.0) < 0.1, \
        f"mean {float(samples.mean()):.3f}, std {float(samples.std()):.3f}: expected standard normal (0 and 1)"
    _, grid = sample_normal(key, (2, 5))
    assert grid.shape == (2, 5), f"shape (2, 5) requested, got {grid.shape}"


check_sample_normal()
print("sample_normal: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * GPUs trade the CPU's cleverness per thread for thousands of simple lanes and ~10× the
#   memory bandwidth; they shine on large, data-parallel array work, and the data must live
#   in their memory.
# * JAX = a NumPy-like API + the XLA compiler + composable transformations. It asks for pure
#   functions: new arrays via `.at[...]` instead of in-place writes, explicit random keys
#   instead of global seeds.
# * float32 is the default: compare with tolerances; switch on float64 at start-up only if
#   you must.
# * JAX calls are asynchronous: time with warm-up and `block_until_ready`.
#
# **Next:** notebook 02, `jax.jit` — how JAX turns your function into one compiled program.
