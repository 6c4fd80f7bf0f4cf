# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # 02 · `jax.jit`: compiling your functions
#
# Workshop 3, notebook 2 of 6 — Part 3, the transformations: **`jit`**, `grad`, `vmap`.
#
# In notebook 01 every `jnp` call ran on its own. This notebook shows how `jax.jit` turns a
# whole Python function into one optimised program, and what that asks of your code:
#
# 1. why operation-by-operation ("eager") execution is slow;
# 2. how `jit` works: tracing, jaxprs, the compilation cache;
# 3. what compiling costs, and how to time it honestly;
# 4. static arguments;
# 5. control flow under `jit`: `jnp.where` and `lax.cond` instead of `if`;
# 6. a pitfall: global variables are frozen at trace time;
# 7. exercises: `gelu`, `gelu_jit`, `clipped_sum` — and how much faster the compiled GELU is
#    than the same operations run one by one.
#
# **How this notebook works.** Read the prose and run the worked examples from top to bottom
# (*Run → Run All Cells* is fine). The exercises come at the end. In each exercise cell, replace
# the lines `# YOUR CODE HERE` / `raise NotImplementedError()` with your code and keep the name
# and signature exactly as given: the graders look them up by name. The cell under each exercise
# runs *visible checks*; when one fails, its message says what is wrong. When you hand in, *hidden
# graders* test the same functions on fresh random inputs at several shapes, with tolerances for
# float32 on a GPU, so write general functions rather than ones tuned to the visible examples.

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

ON_GPU = jax.default_backend() == "gpu"
print(f"JAX {jax.__version__} on {device_summary()}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "eager_is_slow", "locked": true, "schema_version": 3, "solution": false}
# ## 1 · What "eager" JAX does, and why that is slow
#
# Called one by one, `jnp` functions run **eagerly**: each operation is a separate kernel
# that reads its inputs from memory and writes a new temporary array back. Take the
# *softplus* function, a smooth ReLU, written in its numerically stable form:
#
# $$\mathrm{softplus}(x) = \log(1 + e^{x}) = \max(x, 0) + \log\bigl(1 + e^{-|x|}\bigr).$$
#
# Eagerly that is six kernels (`max`, `abs`, `neg`, `exp`, `log1p`, `add`) and six trips
# through memory, for a few nanoseconds of arithmetic per element. On a GPU every launch also
# costs microseconds, and Python sits between every two launches.
#
# `jax.jit` (*just-in-time* compilation) removes all three costs: it records the whole
# function, hands it to XLA, and XLA **fuses** the operations into one kernel that reads `x`
# once and writes the result once.

# %% nbgrader={"grade": false, "grade_id": "softplus", "locked": true, "schema_version": 3, "solution": false}
def softplus(x):
    return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))

softplus_jit = jax.jit(softplus)       # same maths, compiled

x = jnp.linspace(-3.0, 3.0, 7)
print(softplus(x))
print(softplus_jit(x))


# %% [markdown] nbgrader={"grade": false, "grade_id": "tracing", "locked": true, "schema_version": 3, "solution": false}
# ## 2 · How `jax.jit` works: tracing
#
# The first time you call a jitted function, JAX does not run your Python on your numbers. It
# runs it on **tracers**: placeholders that carry only a *shape* and a *dtype* (say
# `float32[3]`) and record every `jnp` operation applied to them. The recording, a **jaxpr**,
# is compiled by XLA and cached. Later calls with arguments of the **same shapes and dtypes**
# skip Python entirely and run the compiled code.
#
# A `print` inside a jitted function makes this visible: it runs while tracing, and prints
# the tracer, not numbers.

# %% nbgrader={"grade": false, "grade_id": "trace_once_per_shape", "locked": true, "schema_version": 3, "solution": false}
@jax.jit
def noisy_square(x):
    print("    tracing noisy_square with x =", x)
    return x**2

for shape in [(3,), (3,), (5,), (3,)]:
    print(f"call with shape {shape}")
    noisy_square(jnp.ones(shape))


# %% [markdown] nbgrader={"grade": false, "grade_id": "side_effects_at_trace_time", "locked": true, "schema_version": 3, "solution": false}
# Only two of the four calls traced: the repeated `(3,)` calls reused the compiled program,
# and the new shape `(5,)` needed a new one. Side effects such as `print`, appending to a
# list or writing a file happen **once, at trace time**. To print *values* from compiled
# code, use `jax.debug.print`:

# %% nbgrader={"grade": false, "grade_id": "debug_print", "locked": true, "schema_version": 3, "solution": false}
@jax.jit
def debug_square(x):
    jax.debug.print("    running with x = {x}", x=x)   # runs on every call, shows values
    return x**2

debug_square(jnp.arange(3.0))
debug_square(jnp.arange(3.0) + 1);

# %% [markdown] nbgrader={"grade": false, "grade_id": "make_jaxpr", "locked": true, "schema_version": 3, "solution": false}
# `jax.make_jaxpr` shows the recording without compiling it. Each line is one primitive
# applied to typed values; this program, not your Python, is what XLA optimises:

# %% nbgrader={"grade": false, "grade_id": "softplus_jaxpr", "locked": true, "schema_version": 3, "solution": false}
print(jax.make_jaxpr(softplus)(jnp.ones(3)))

# %% [markdown] nbgrader={"grade": false, "grade_id": "compilation_cost", "locked": true, "schema_version": 3, "solution": false}
# ## 3 · Compilation costs time — once
#
# Tracing and compiling take milliseconds to seconds, depending on the size of the function.
# You pay on the first call for each new input shape; every later call is fast. With
# `.lower(x)` (trace) and `.compile()` we can time the stages separately:

# %% nbgrader={"grade": false, "grade_id": "time_compilation", "locked": true, "schema_version": 3, "solution": false}
x = jax.random.normal(jax.random.key(0), (1_000_000,))
fresh = jax.jit(softplus)                 # a new wrapper: nothing cached yet

start = time.perf_counter()
lowered = fresh.lower(x)                  # trace to a jaxpr, lower to XLA's input language
t_trace = time.perf_counter() - start
start = time.perf_counter()
compiled = lowered.compile()              # XLA optimises and generates machine code
t_compile = time.perf_counter() - start
t_run = time_call(compiled, lambda: (x,), repeats=7)
print(format_table(["stage", "time"], [
    ["trace + lower", fmt_time(t_trace)],
    ["XLA compile", fmt_time(t_compile)],
    ["run (median of 7)", fmt_time(t_run.median_s)],
]))


# %% [markdown] nbgrader={"grade": false, "grade_id": "static_arguments", "locked": true, "schema_version": 3, "solution": false}
# Practical consequences:
#
# * **jit the big function, call it many times.** Wrap the whole time step or training step,
#   not each small helper, and define the jitted function once (`@jax.jit` on the `def`, or
#   `f_jit = jax.jit(f)` at the top level). Writing `jax.jit(f)(x)` inside a loop creates a
#   new wrapper each time; JAX can often reuse its cache, but do not rely on it.
# * **Keep shapes fixed.** Every new input shape means a new compilation. A training loop
#   whose last minibatch is smaller compiles twice; dropping or padding that batch avoids
#   it (notebook 06).
# * **Time honestly.** Exclude the first call (it compiles) and wait for results with
#   `block_until_ready`; `course.timing.time_call` does both.
#
# ## 4 · Static arguments
#
# A tracer has a shape but no value. Whatever Python must *know* while tracing — a count in
# `range(n)`, a size in `jnp.zeros(n)`, a flag in an `if` — cannot be a traced argument:

# %% nbgrader={"grade": false, "grade_id": "power_needs_concrete_n", "locked": true, "schema_version": 3, "solution": false}
def power(x, n):
    result = jnp.ones_like(x)
    for _ in range(n):          # Python needs a concrete n here
        result = result * x
    return result

try:
    jax.jit(power)(jnp.arange(1.0, 4.0), 3)
except jax.errors.TracerIntegerConversionError:
    print("TracerIntegerConversionError: range(n) needs a concrete n, but n is a tracer")

# %% [markdown] nbgrader={"grade": false, "grade_id": "static_argnames", "locked": true, "schema_version": 3, "solution": false}
# Marking `n` as **static** makes it part of the compiled program rather than an input:
# `jax.jit(power, static_argnames="n")`. Each new value of `n` compiles a new program (with
# the loop unrolled), and repeated values hit the cache:

# %% nbgrader={"grade": false, "grade_id": "power_static", "locked": true, "schema_version": 3, "solution": false}
power_jit = jax.jit(power, static_argnames="n")
x = jnp.arange(1.0, 4.0)
rows = []
for n in [2, 3, 3, 2, 4]:
    start = time.perf_counter()
    y = power_jit(x, n=n).block_until_ready()
    rows.append([f"n={n}", fmt_time(time.perf_counter() - start), str(y)])
print(format_table(["call", "wall time", "result"], rows))
print("new n: compile (slow); n seen before: cache hit (fast)")


# %% [markdown] nbgrader={"grade": false, "grade_id": "control_flow", "locked": true, "schema_version": 3, "solution": false}
# Make static what is naturally fixed and few-valued: sizes, flags, the number of layers.
# Never make static a value that changes every call (a time step, a learning rate): each new
# value would recompile.
#
# ## 5 · Control flow: no `if` on values; `jnp.where` and `lax.cond` instead
#
# `if x > 0:` needs `True` or `False` *now*, at trace time, but a tracer has no value. Under
# `jit` this fails with a `TracerBoolConversionError`:

# %% nbgrader={"grade": false, "grade_id": "relu_if_fails", "locked": true, "schema_version": 3, "solution": false}
def relu_if(x):
    if x > 0:
        return x
    return 0.0 * x

print("eager:", relu_if(jnp.array(2.0)))
try:
    jax.jit(relu_if)(jnp.array(2.0))
except jax.errors.TracerBoolConversionError:
    print("jit:   TracerBoolConversionError (a Python `if` on a traced value)")


# %% [markdown] nbgrader={"grade": false, "grade_id": "where_and_cond", "locked": true, "schema_version": 3, "solution": false}
# Two replacements, depending on what you need:
#
# * **`jnp.where(condition, a, b)`** chooses *element by element*. Both `a` and `b` are
#   computed, then one is selected per element. This is the tool for masks, clipping and
#   piecewise formulas; vectorised code does it anyway.
# * **`jax.lax.cond(pred, true_fn, false_fn, *operands)`** runs *one* of two functions,
#   chosen at run time by a scalar boolean. Use it when the branches are expensive.
#
# Boolean-mask indexing, `x[x > 0]`, is out under `jit` too: its result has a shape that
# depends on the data, and compiled programs need shapes known in advance. `jnp.where` keeps
# the shape fixed.

# %% nbgrader={"grade": false, "grade_id": "relu_where", "locked": true, "schema_version": 3, "solution": false}
@jax.jit
def relu_where(x):
    return jnp.where(x > 0, x, 0.0)

@jax.jit
def log_or_square(x):
    return jax.lax.cond(x > 0, jnp.log, jnp.square, x)

print(relu_where(jnp.array([-1.0, 0.5, 2.0])))
print(log_or_square(jnp.e), log_or_square(-3.0))

try:
    jax.jit(lambda x: x[x > 0].sum())(jnp.array([-1.0, 0.5, 2.0]))
except jax.errors.NonConcreteBooleanIndexError:
    print("x[x > 0] under jit: NonConcreteBooleanIndexError (data-dependent shape)")

# %% [markdown] nbgrader={"grade": false, "grade_id": "frozen_globals", "locked": true, "schema_version": 3, "solution": false}
# Python `for` loops *do* work under `jit` when their length is known at trace time, but they
# are **unrolled**: the compiled program contains the body once per iteration. Fine for the
# three layers of a network, bad for 10 000 time steps. For long loops JAX has
# `jax.lax.fori_loop` and `jax.lax.scan`, which compile the body once; notebooks 03, 05 and
# 06 use them.
#
# ## 6 · Pitfall: global variables are frozen at trace time
#
# A jitted function that reads a global variable captures its value *when it is traced*;
# changing the global later does not change the compiled program:

# %% nbgrader={"grade": false, "grade_id": "scaled_global", "locked": true, "schema_version": 3, "solution": false}
scale = 2.0

@jax.jit
def scaled(x):
    return scale * x

print(scaled(1.0))          # traced now: scale = 2.0 is baked into the program
scale = 10.0
print(scaled(1.0), " <- still 2.0: the compiled program kept the old value")

# %% [markdown] nbgrader={"grade": false, "grade_id": "exercises", "locked": true, "schema_version": 3, "solution": false}
# The cure is the functional habit: pass everything a function depends on as an argument.
# A new value is then a new input, not a stale constant.
#
# ## Exercises
#
# You will write the **GELU** activation function (the smooth ReLU of transformer models),
# compile it, and write a function that makes a decision in a way that survives `jit`.

# %% [markdown] nbgrader={"grade": false, "grade_id": "gelu_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 1 · `gelu(x)`
#
# Implement the tanh approximation of the Gaussian error linear unit, element by element:
#
# $$\mathrm{gelu}(x) = 0.5\,x\,\Bigl(1 + \tanh\bigl(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\bigr)\Bigr)$$
#
# * **input:** a float32 array `x` of any shape (the graders pass JAX arrays; `jnp.asarray(x)`
#   accepts NumPy ones too);
# * **output:** a float32 JAX array of the same shape;
# * use `jax.numpy` only (`jnp.tanh`, not `np.tanh`), so that JAX can trace the function.
#   The constant $\sqrt{2/\pi}$ is given as `_SQRT_2_OVER_PI`.

# %% nbgrader={"grade": false, "grade_id": "gelu_solution", "locked": false, "schema_version": 3, "solution": true}
# sqrt(2/pi), computed once in Python: a constant in the compiled program
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x):
    """Tanh-approximation GELU, elementwise: 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3))).

    x: float32 array of any shape (JAX; NumPy works after jnp.asarray). Returns a float32
    JAX array of the same shape. jax.numpy only, so it can be traced by jit, grad and vmap.
    """
    ### BEGIN SOLUTION
    x = jnp.asarray(x)
    return 0.5 * x * (1.0 + jnp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "gelu_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for gelu.
def check_gelu():
    x = jnp.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    y = gelu(x)
    assert isinstance(y, jax.Array), "gelu returned a NumPy array: use jnp functions (jnp.tanh, ...)"
    assert y.shape == x.shape and y.dtype == jnp.float32, \
        f"got shape {y.shape} and dtype {y.dtype}, expected {x.shape} and float32"
    assert float(y[2]) == 0.0, f"gelu(0) must be 0, got {y[2]}"
    by_hand = 0.5 * 1.0 * (1 + math.tanh(math.sqrt(2 / math.pi) * (1.0 + 0.044715)))   # 0.8411920
    assert abs(float(y[3]) - by_hand) < 1e-6, f"gelu(1) = {float(y[3])}, expected {by_hand:.7f}: check the formula"
    reference = jax.nn.gelu(x, approximate=True)     # JAX's own tanh-approximation GELU
    assert np.allclose(y, reference, atol=1e-5), f"gelu(x) = {y}, expected {reference}"
    try:
        jax.make_jaxpr(gelu)(x)
    except jax.errors.TracerArrayConversionError:
        raise AssertionError("gelu calls NumPy on its input: JAX cannot trace np functions; use jnp") from None
    assert gelu(jnp.ones((4, 3))).shape == (4, 3), "gelu must keep the input's shape"


check_gelu()
print("gelu: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "gelu_jit_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 2 · `gelu_jit`
#
# Define `gelu_jit`, the jit-compiled version of your `gelu`: a function made by `jax.jit` that
# computes the same GELU values. It is one line, but it is the line that turns about ten
# kernels into one.
#
# On a GPU part of its points are for speed (the table at the top says how many): `gelu_jit`
# races your `gelu` run op by op, under `jax.disable_jit()`. So it makes no difference whether
# your `gelu` carries a `@jax.jit` of its own.

# %% nbgrader={"grade": false, "grade_id": "gelu_jit_solution", "locked": false, "schema_version": 3, "solution": true}
# gelu_jit: your gelu compiled with jax.jit. Same signature and results as gelu,
# one fused XLA program per input shape.
### BEGIN SOLUTION
# One fused kernel instead of one dispatch per operation above.
gelu_jit = jax.jit(gelu)
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "gelu_jit_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for gelu_jit.
def check_gelu_jit():
    assert "gelu_jit" in globals(), "gelu_jit is not defined yet: fill in and run the cell above"
    assert hasattr(gelu_jit, "lower"), "gelu_jit is not a jax.jit-compiled function: define it as jax.jit(gelu)"
    x = jax.random.normal(jax.random.key(3), (1000,))
    reference = jax.nn.gelu(x, approximate=True)
    assert np.allclose(gelu(x), reference, atol=1e-5), \
        "gelu_jit compiles your gelu, which gives wrong values (see the checks of Exercise 1): fix gelu first"
    assert np.allclose(gelu_jit(x), reference, atol=1e-5), \
        "gelu_jit(x) differs from the tanh-approximation GELU: define it as jax.jit(gelu)"


check_gelu_jit()
print("gelu_jit: all visible checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "clipped_sum_task", "locked": true, "schema_version": 3, "solution": false}
# ### Exercise 3 · `clipped_sum(x, threshold)`
#
# Robust statistics often ignore outliers. Sum only the entries whose magnitude is at most a
# threshold. In NumPy you might write `x[np.abs(x) <= threshold].sum()`, or a loop with an
# `if`; neither survives `jit` (section 5). Write a version that does:
#
# * **input:** a float32 array `x` of any shape, and a scalar `threshold` (a Python float, or
#   a traced scalar when called under `jax.jit`);
# * **output:** a float32 scalar: the sum of all entries with `abs(x) <= threshold`. Entries
#   exactly at the threshold count; if no entry qualifies, the sum is 0;
# * it must work inside `jax.jit` with `threshold` traced: no Python `if` on array values,
#   no boolean-mask indexing.

# %% nbgrader={"grade": false, "grade_id": "clipped_sum_solution", "locked": false, "schema_version": 3, "solution": true}
def clipped_sum(x, threshold):
    """Sum of the entries of x with abs(x) <= threshold, written so that it works under jit.

    x: float32 array of any shape. threshold: a scalar (Python float, or traced under
    jit). Returns a float32 0-d array; entries with abs(x) == threshold are included, and
    no qualifying entry gives 0. No Python branching on traced values.
    """
    ### BEGIN SOLUTION
    # jnp.where selects on values, so this traces under jit, where a Python
    # `if abs(x) <= threshold` on a traced array could not.
    x = jnp.asarray(x)
    return jnp.sum(jnp.where(jnp.abs(x) <= threshold, x, 0))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "clipped_sum_visible", "locked": true, "schema_version": 3, "solution": false}
# Visible checks for clipped_sum.
def check_clipped_sum():
    x = jnp.array([1.0, -2.0, 3.0, 0.5, -0.25])
    got = clipped_sum(x, 1.5)
    assert jnp.shape(got) == (), f"return a scalar (the sum), got shape {jnp.shape(got)}"
    assert np.asarray(got).dtype == np.float32, f"the sum is {np.asarray(got).dtype}, expected float32"
    assert np.isclose(got, 1.25), f"clipped_sum(x, 1.5) = {got}, expected 1 + 0.5 - 0.25 = 1.25"
    assert np.isclose(clipped_sum(x, 2.0), -0.75), \
        f"clipped_sum(x, 2.0) = {clipped_sum(x, 2.0)}, expected -0.75: compare abs(x), and keep |x| == threshold"
    assert np.isclose(clipped_sum(x, 0.1), 0.0), "no entry qualifies: the sum must be 0"
    try:
        jitted = jax.jit(clipped_sum)(x, 1.5)
    except jax.errors.TracerBoolConversionError:
        raise AssertionError("clipped_sum uses a Python `if` on array values, which fails under jit: select with jnp.where") from None
    except jax.errors.NonConcreteBooleanIndexError:
        raise AssertionError("clipped_sum indexes with a boolean mask (x[mask]), which jit cannot compile: use jnp.where") from None
    assert np.isclose(jitted, 1.25), f"under jax.jit clipped_sum(x, 1.5) = {jitted}, expected 1.25"
    m = jnp.array([[0.5, 5.0], [-0.5, 1.0]])
    assert np.isclose(jax.jit(clipped_sum)(m, 1.0), 1.0), "a 2-D input: sum the qualifying entries of the whole array"


check_clipped_sum()
print("clipped_sum: all visible checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "payoff_speed", "locked": true, "schema_version": 3, "solution": false}
# ## Putting it together: how much does `jit` buy?
#
# Time three versions of GELU on the same number of float32 values: NumPy (each operation a
# separate pass over a temporary array); your `gelu` run **op by op**, under
# `jax.disable_jit()` (the same passes, each dispatched by JAX, as if nothing were compiled);
# and your `gelu_jit` (one fused kernel). The op-by-op run is also what the graders race
# `gelu_jit` against, whether or not your `gelu` carries a `@jax.jit`. Every timed call gets
# fresh input; compilation is kept out of the medians and shown separately.
#
# Expect the jitted version to be the fastest by a clear margin, even on a CPU: it reads
# the input once and writes the output once, where the others make a pass over memory per
# operation. On a GPU the gap to NumPy grows much larger; `demo_size` switches to 4 million
# values there (NumPy's share of the cell's time grows with it: at 20 million the cell takes
# ~20 s on the host) — try 20 or 100 million to see the gap widen.

# %% nbgrader={"grade": false, "grade_id": "payoff_timing", "locked": true, "schema_version": 3, "solution": false}
demo_size = 4_000_000 if ON_GPU else 1_000_000


def demo_gelu_numpy(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def demo_gelu_op_by_op(x):
    with jax.disable_jit():       # every jnp operation of your gelu dispatched on its own
        return gelu(x)


def demo_time_gelu(size):
    """Time the three GELUs on `size` values, print a table, return the timings by name."""
    rng = np.random.default_rng(0)
    key = jax.random.key(1)

    def host_input():
        return (rng.standard_normal(size, dtype=np.float32),)

    def device_input():
        nonlocal key
        key, sub = jax.random.split(key)       # a fresh key, and fresh numbers, for every call
        return (jax.random.normal(sub, (size,)),)

    timings = {
        "NumPy": time_call(demo_gelu_numpy, host_input, repeats=7),
        "JAX op by op\n(gelu, jit off)": time_call(demo_gelu_op_by_op, device_input, repeats=7),
        "JAX jit\n(gelu_jit)": time_call(gelu_jit, device_input, repeats=7),
    }
    base = timings["NumPy"].median_s
    print(f"GELU on {size:,} float32 values, {device_summary()}")
    print(format_table(["", "median", "compile*", "vs NumPy"], [
        [name.replace("\n", " "), fmt_time(t.median_s),
         "-" if name == "NumPy" else fmt_time(t.compile_s), fmt_speedup(base, t.median_s)]
        for name, t in timings.items()]))
    print("* first call minus a steady call: tracing + compilation, paid once per shape")

    sample = host_input()[0]
    err = np.max(np.abs(np.asarray(gelu_jit(sample)) - demo_gelu_numpy(sample.astype(np.float64))))
    print(f"max |gelu_jit - float64 NumPy| = {err:.1e}")
    return timings


demo_timings = demo_time_gelu(demo_size)

# %% nbgrader={"grade": false, "grade_id": "payoff_chart", "locked": true, "schema_version": 3, "solution": false}
def demo_chart(timings, size):
    names = list(timings)
    base = timings["NumPy"].median_s
    medians_ms = [timings[n].median_s * 1e3 for n in names]
    fig, ax = plt.subplots(figsize=(6.5, 3))
    bars = ax.barh(names, medians_ms, color=["tab:gray", "tab:blue", "tab:orange"])
    for bar, name in zip(bars, names):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                f"  {fmt_speedup(base, timings[name].median_s)} vs NumPy", va="center")
    ax.invert_yaxis()
    ax.set_xlabel("median time per call (ms), shorter is better")
    ax.set_xlim(0, max(medians_ms) * 1.45)
    ax.set_title(f"GELU on {size:,} values ({device_summary()})")
    plt.tight_layout()
    plt.show()


demo_chart(demo_timings, demo_size)

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * `jax.jit` traces a function once per input shape and dtype, compiles the resulting jaxpr
#   with XLA, and caches it. Calls with known shapes skip Python.
# * Inside a jitted function values are unknown: Python `if`, `range(n)` and boolean-mask
#   indexing on them fail. Use `jnp.where`, `lax.cond`, `lax.fori_loop`/`scan`, or mark
#   genuinely fixed arguments static.
# * Side effects and global variables are evaluated at trace time only; pass what a
#   function needs as arguments.
# * Compilation is paid once; time steady-state calls with `block_until_ready`.
#
# **Next:** notebook 03, `jax.grad` — derivatives without writing them by hand.
