"""Build the six Workshop 3 lesson notebooks (nbgrader instructor format) from this file.

    python instructor/build_lessons.py          # rewrites source/workshop3/NN_name.ipynb

The notebooks are written here as Python so that they can be reviewed and diffed like code:
one function per notebook, one call per cell. Running the script rewrites all six files
deterministically (fixed cell ids, no outputs, no execution counts, no machine metadata).

Solution bodies are not typed here: they are read from the reference answers in
``solutions/answers/<module>.py`` (the graded names of SPEC.md), so the notebooks and the
answers the graders are checked against can never drift apart. The contract docstrings, the
prose, the worked examples and the visible checks are written below.

nbgrader conventions used (schema 3):
* prose and worked examples: read-only cells (``locked``), each with a unique ``grade_id``;
* a solution cell per exercise, ``### BEGIN SOLUTION`` / ``### END SOLUTION`` around the body
  (``nbgrader generate_assignment`` replaces it with ``raise NotImplementedError()``);
* a visible test cell per exercise (``<exercise>_visible``) that students run themselves,
  read-only and worth no points;
* a hidden test cell per grader test (``hidden_<test>``), worth that test's points, which calls
  the grader itself (``autograder.nbgrader_bridge.check``): one set of tests for both paths.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import nbformat
from nbformat import v4

from autograder import assignment
from autograder.nbgrader_bridge.hidden_cells import what_it_checks

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "source"
OUT = SOURCE / "workshop3"
ANSWERS = REPO / "solutions" / "answers"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python"}

# One hidden cell per grader test, worth that test's points: the cell runs the very test that
# `python -m autograder grade` runs (autograder/nbgrader_bridge/hidden_cells.py), so nbgrader's score for a
# notebook equals the command line's. The comment stays visible in the release; the call is hidden.
HIDDEN_TEMPLATE = """\
# Hidden check ({points} pt): {checks}
### BEGIN HIDDEN TESTS
from autograder.nbgrader_bridge import check
check("{stem}", "{test}")
### END HIDDEN TESTS"""


def _clean(text: str) -> str:
    """Dedent a triple-quoted block and drop its leading/trailing blank lines."""
    return textwrap.dedent(text).strip("\n")


# --------------------------------------------------------------------------- answers
class Answers:
    """Source text of one reference-answer module, cut into the pieces a notebook needs.

    Every top-level name the module defines must end up in the notebook (``check_all_placed``),
    so that a helper added to an answer later fails the build instead of the lesson.
    """

    def __init__(self, module: str):
        self.path = ANSWERS / f"{module}.py"
        self.source = self.path.read_text(encoding="utf-8")
        self.lines = self.source.splitlines()
        self.tree = ast.parse(self.source)
        self.placed: set[str] = set()

    def _names(self):
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef):
                yield node.name, node
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        yield target.id, node

    def _node(self, name: str):
        for found, node in self._names():
            if found == name:
                self.placed.add(name)
                return node
        raise KeyError(f"{self.path.name} defines no top-level {name!r}")

    def imports(self) -> list[str]:
        """The module's import lines, e.g. 'import functools', 'import jax.numpy as jnp'."""
        return [self.lines[n.lineno - 1].strip() for n in self.tree.body
                if isinstance(n, (ast.Import, ast.ImportFrom))]

    def check_all_placed(self) -> None:
        missing = [name for name, _ in self._names() if name not in self.placed]
        if missing:
            raise SystemExit(f"{self.path.name} defines {missing}, which no notebook cell places: "
                             "add them to the notebook's solution cells in build_notebooks.py")

    @staticmethod
    def _docstring(node) -> str | None:
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str):
            return first.value.value
        return None

    def _header_end(self, node) -> int:
        """0-based index of the first line after the `def ...:` line(s): comments between the
        signature and the first statement belong to the body (and so to the solution)."""
        end = node.body[0].lineno - 1
        while self.lines[end - 1].strip() == "" or self.lines[end - 1].lstrip().startswith("#"):
            end -= 1
        return end

    def header(self, name: str, expect: str) -> str:
        """Decorators and `def` line(s) of a function, exactly as the answer writes them. `expect`
        must occur in them: the task text and docstring written here rely on that signature."""
        node = self._node(name)
        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
        header = "\n".join(self.lines[first - 1 : self._header_end(node)])
        if expect not in header:
            raise SystemExit(f"{self.path.name}: {name} changed; expected {expect!r} in:\n{header}\n"
                             "update its task text and docstring in build_notebooks.py")
        return header

    def body(self, name: str) -> str:
        """The function body after its docstring (comments included), still indented. A
        multi-line answer docstring (implementation notes) is kept as comments at the top."""
        node = self._node(name)
        doc = self._docstring(node)
        first = node.body[0]
        start = first.end_lineno if doc is not None else self._header_end(node)  # 0-based
        code = "\n".join(self.lines[start : node.end_lineno]).strip("\n")
        if doc and "\n" in doc.strip():
            notes = textwrap.indent(inspect.cleandoc(doc), "    # ", lambda line: True)
            notes = "\n".join(line.rstrip() for line in notes.splitlines())
            code = "    # Notes from the reference answer:\n" + notes + "\n" + code
        return code

    def given(self, name: str) -> str:
        """A top-level constant with the comment lines directly above it, as given code."""
        node = self._node(name)
        start = node.lineno - 1
        while start > 0 and self.lines[start - 1].lstrip().startswith("#"):
            start -= 1
        return "\n".join(self.lines[start : node.end_lineno])

    def function(self, name: str, doc: str, expect: str, before: str = "") -> str:
        """Solution code for one function: `before` (given code), the answer's header, our
        contract docstring, and the answer's body between the nbgrader solution markers."""
        doc = textwrap.indent('"""' + _clean(doc) + '\n"""', "    ")
        parts = [before.rstrip("\n") + "\n\n\n"] if before else []
        parts.append(
            f"{self.header(name, expect)}\n{doc}\n    ### BEGIN SOLUTION\n{self.body(name)}\n"
            "    ### END SOLUTION"
        )
        return "".join(parts)

    def assignment(self, name: str, contract: str) -> str:
        """Solution code for a module-level name: a contract comment, then the statement."""
        comment = textwrap.indent(_clean(contract), "# ")
        return f"{comment}\n### BEGIN SOLUTION\n{self.given(name)}\n### END SOLUTION"


# --------------------------------------------------------------------------- notebooks
class Notebook:
    """Collects cells with nbgrader metadata; ids are the (unique) grade ids."""

    def __init__(self, stem: str):
        self.stem = stem
        self.short = stem.split("_", 1)[0]  # "01"
        self.cells = []
        self.counter = 0

    def _add(self, cell, grade_id: str, **nbgrader):
        if any(c.id == grade_id for c in self.cells):
            raise ValueError(f"{self.stem}: duplicate grade_id {grade_id!r}")
        cell.id = grade_id
        meta = {"grade": False, "solution": False, "locked": True, "grade_id": grade_id}
        meta.update(nbgrader)
        meta["schema_version"] = 3
        cell.metadata["nbgrader"] = dict(sorted(meta.items()))
        self.cells.append(cell)

    def _next_id(self, kind: str) -> str:
        self.counter += 1
        return f"nb{self.short}_{kind}_{self.counter:02d}"

    def md(self, *parts: str) -> None:
        """Prose; several parts (each dedented on its own) are joined as paragraphs."""
        self._add(v4.new_markdown_cell("\n\n".join(_clean(p) for p in parts)), self._next_id("md"))

    def code(self, src: str) -> None:
        """A read-only worked example."""
        self._add(v4.new_code_cell(_clean(src)), self._next_id("code"))

    def exercise(self, name: str, task: str, solution: str, visible: str) -> None:
        """Task (markdown), solution cell, visible checks, hidden-grader placeholder."""
        self._add(v4.new_markdown_cell(_clean(task)), f"{name}_task")
        compile(solution, f"<{name} solution>", "exec")  # fail the build, not the lesson
        self._add(v4.new_code_cell(solution), f"{name}_solution",
                  solution=True, grade=False, locked=False)
        # Visible checks are for the student and worth no points: the hidden cells carry them all.
        self._add(v4.new_code_cell(_clean(visible)), f"{name}_visible")
        tests = [t for t in assignment.part(self.stem).tests if t.exercise == name]
        if not tests:
            raise SystemExit(f"{self.stem}: no grader test for exercise {name}")
        for t in tests:
            self._add(v4.new_code_cell(HIDDEN_TEMPLATE.format(
                points=t.points, checks=what_it_checks(self.stem, t.name).rstrip("."), stem=self.stem, test=t.name)),
                f"hidden_{t.name}", grade=True, solution=False, locked=True, points=t.points)

    def finish(self, ans: Answers) -> None:
        """Every name of the answer module is placed, and every import it needs is made."""
        ans.check_all_placed()
        code = "\n".join(c.source for c in self.cells if c.cell_type == "code")
        missing = [line for line in ans.imports() if line not in code]
        if missing:
            raise SystemExit(f"{self.stem}: the solutions need {missing}; add them to the set-up cell")

    def text(self) -> str:
        """The notebook file's exact contents."""
        nb = v4.new_notebook(cells=self.cells)
        nb.metadata = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
        nbformat.validate(nb)
        text = nbformat.writes(nb, version=4)
        return text if text.endswith("\n") else text + "\n"

    def write(self) -> Path:
        path = OUT / f"{self.stem}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(), encoding="utf-8")
        return path


HOW_TO = """
**How this notebook works.** Read the prose and run the worked examples from top to bottom
(*Run → Run All Cells* is fine). The exercises come at the end. In each exercise cell, replace
the lines `# YOUR CODE HERE` / `raise NotImplementedError()` with your code and keep the name
and signature exactly as given: the graders look them up by name. The cell under each exercise
runs *visible checks*; when one fails, its message says what is wrong. When you hand in, *hidden
graders* test the same functions on fresh random inputs at several shapes, with tolerances for
float32 on a GPU, so write general functions rather than ones tuned to the visible examples.
"""


# =========================================================================== 01
def build_01_jax_intro() -> Notebook:
    nb = Notebook("01_jax_intro")
    ans = Answers("jax_intro")

    nb.md(r'''
        # 01 · Why GPUs, and thinking in JAX

        *From Scripts to Software: Practical Python for Reproducible Research* — Workshop 3,
        **Accelerating Your Code with GPUs**, notebook 1 of 6.

        In the earlier workshops you wrote two programs in NumPy that this series keeps coming back
        to: a solver for the 2-D heat equation and a small neural network trained with hand-written
        backpropagation. In this workshop you rewrite both in **JAX** and run them on a GPU. This
        first notebook lays the ground:

        1. **Part 1 · Why GPUs?** How a GPU differs from a CPU, which research code it speeds up,
           the CUDA ecosystem, and where JAX fits in.
        2. **Part 2 · Thinking in JAX.** The NumPy-like API, immutable arrays and `.at[...]`,
           float32 by default, explicit random keys, and where your arrays live.
        3. **Exercises:** `set_boundary`, `standardize`, `sample_normal`.

        Notebooks 02–04 then teach the three transformations `jax.jit`, `jax.grad` and `jax.vmap`;
        notebooks 05 and 06 rewrite the heat solver and the neural network.
        ''', HOW_TO, r'''
        Everything here runs on a laptop CPU in well under a minute. Where a GPU changes the
        picture, the text says so and which sizes to try.
        ''')

    nb.code(r'''
        import time

        import jax
        import jax.numpy as jnp
        import numpy as np

        from course.timing import device_summary, fmt_time, format_table, time_call

        print(f"JAX {jax.__version__} on {device_summary()}")
        ''')

    # ------------------------------------------------------------------ Part 1
    nb.md(r'''
        ## Part 1 · Why GPUs?

        ### Two designs for two jobs

        A **CPU** is built to finish *one* stream of instructions as fast as possible: it is
        optimised for *latency*. Each of its few cores (4–16 in a laptop, up to a hundred or so in a
        server) is big and clever: it predicts which way branches will go, executes instructions out
        of order, and sits behind megabytes of cache so that the next piece of data is usually close
        by already. That is what makes branchy, irregular code fast — parsers, adaptive algorithms
        full of `if`s, the Python interpreter itself.

        A **GPU** is built to finish a *huge number of identical small jobs* per second: it is
        optimised for *throughput*. An NVIDIA H100 has 132 *streaming multiprocessors* (SMs) with 128
        float32 units each, almost 17 000 arithmetic lanes in total. Threads run in groups of 32
        (a *warp*) that execute the same instruction on different data, and when a warp waits for
        memory the SM simply switches to another one. There is little cache per thread and no
        cleverness for branches: when the threads of a warp disagree about an `if`, both sides run,
        one after the other.

        | | CPU (laptop to server) | data-centre GPU (H100) |
        |---|---|---|
        | compute units | 4–128 big cores | 132 SMs, ~17 000 simple float32 lanes |
        | built for | latency: one thread, branchy code | throughput: one operation on millions of elements |
        | memory bandwidth | ~50–400 GB/s (DDR) | ~2–3.4 TB/s (HBM) |
        | memory size | 16 GB to over 1 TB | 80 GB (H100), 141 GB (H200) |
        | peak float32 | ~1–5 TFLOP/s | ~60 TFLOP/s, far more in 16-bit matrix products |

        (Rough orders of magnitude: they move with every hardware generation.)

        ### What this means for research code

        * **Data-parallel array code wins.** The same update applied to every cell of a grid (the
          heat equation), to every element of a vector (an activation function) or to every entry
          of a matrix product (a neural-network layer) maps perfectly onto thousands of lanes.
        * **Memory bandwidth often matters more than FLOP/s.** An explicit stencil update does a
          handful of additions per value it reads, so its speed is set by how fast memory streams:
          expect roughly the GPU's bandwidth advantage, about 10×, over a fast CPU. A large matrix
          product reuses every value many times and can approach the much larger arithmetic
          advantage.
        * **The GPU has its own memory.** Data must cross the PCIe bus (~25–60 GB/s, slower than
          either memory) before the GPU can use it. Copy once, compute a lot, copy back only
          results.
        * **Every kernel launch has a fixed cost** of a few microseconds. For a 100-element array
          that overhead dwarfs the work: the GPU pays off for big arrays, or when many small
          operations are *fused* into one kernel — exactly what a compiler like XLA does for you.
        * **Sequential work stays sequential.** If step *n* needs the result of step *n − 1* (a
          time loop), the steps cannot run in parallel; only the work *within* each step can.

        ### The CUDA ecosystem

        NVIDIA GPUs are programmed through **CUDA**, a stack of layers:

        * the **driver**, installed with the operating system, which talks to the hardware;
        * the **CUDA toolkit**: the `nvcc` compiler for kernels written in CUDA C++, and the runtime
          that allocates GPU memory, copies data and launches kernels;
        * tuned **libraries**: cuBLAS (dense linear algebra), cuFFT (Fourier transforms), cuSPARSE
          and cuSOLVER, cuRAND (random numbers), cuDNN (deep-learning primitives), NCCL
          (communication between GPUs);
        * **tools**: `nvidia-smi` (which GPUs, how busy, how much memory in use), and the profilers
          Nsight Systems and Nsight Compute.

        From Python you rarely write CUDA C++ yourself. The main routes are:

        | tool | what you write | good for |
        |---|---|---|
        | **CuPy** | NumPy code with `cp.` instead of `np.` | a drop-in GPU NumPy; one kernel per operation |
        | **Numba** (`numba.cuda.jit`) | GPU kernels in Python syntax, thread by thread | custom kernels with full control |
        | **PyTorch** | tensors and modules | deep learning, with a huge ecosystem |
        | **JAX** | NumPy-style *functions*, transformed by `jit`, `grad`, `vmap` | scientific computing and machine learning, one code base for CPU, GPU and TPU |

        ### Why JAX for this workshop?

        1. **A NumPy you already know.** `jax.numpy` has NumPy's function names, broadcasting and
           indexing; most code ports by changing `np.` to `jnp.`.
        2. **A compiler.** `jax.jit` hands a whole function to **XLA** (*Accelerated Linear
           Algebra*), the compiler behind JAX. XLA *fuses* chains of operations into a few kernels,
           removes temporary arrays and calls cuBLAS or cuDNN where they are fastest — for whatever
           device you have. The same Python runs on a CPU, an NVIDIA or AMD GPU, or a Google TPU.
        3. **Composable function transformations.** `jax.grad` turns a function into its
           derivative, `jax.vmap` turns a function of one example into a function of a batch,
           `jax.jit` turns it into compiled code, and they combine freely:
           `jax.jit(jax.vmap(jax.grad(loss)))` is a normal thing to write.

        The price is a **functional style**. JAX transforms *functions*, so it wants functions that
        compute their result from their arguments only: no writing into arrays in place, no hidden
        global state such as NumPy's random seed. Part 2 is about exactly these habits.

        Installing JAX for an NVIDIA GPU is `pip install "jax[cuda13]"`: the CUDA libraries come as
        pip wheels, and only a recent NVIDIA driver must be on the machine. The course's
        `environment-gpu.yml` pins the versions we tested. What can this kernel see?
        ''')

    nb.code(r'''
        print("default backend:", jax.default_backend())   # 'cpu', 'gpu' or 'tpu'
        for d in jax.devices():
            print(f"  device {d.id}: {d.platform} ({d.device_kind})")
        ''')

    nb.md(r'''
        ### A first look under the hood

        JAX works by **tracing**: it calls your Python function once with placeholder arrays that
        record every operation, and turns the recording into a small program, a *jaxpr*. The
        transformations (`jit`, `grad`, `vmap`) all work on that program, and XLA compiles it. Here
        is the recording of a two-line function:
        ''')

    nb.code(r'''
        def f(x):
            return jnp.sin(x) ** 2 + 1.0

        print(jax.make_jaxpr(f)(jnp.ones(3)))
        ''')

    nb.md(r'''
        Each line is one *primitive* operation on `f32[3]` values: float32 arrays of shape `(3,)`.
        Python is no longer involved once this program exists, which is why it can run on a GPU.
        Notebook 02 returns to tracing in detail.
        ''')

    # ------------------------------------------------------------------ Part 2
    nb.md(r'''
        ## Part 2 · Thinking in JAX

        ### 2.1 `jax.numpy` is (almost) NumPy
        ''')

    nb.code(r'''
        x_np = np.linspace(0.0, 1.0, 6).reshape(2, 3)
        x = jnp.linspace(0.0, 1.0, 6).reshape(2, 3)

        print(type(x_np).__name__, "vs", type(x).__name__, "| a jax.Array:", isinstance(x, jax.Array))
        print(np.sin(x_np) @ x_np.T)
        print(jnp.sin(x) @ x.T)                               # same names, same broadcasting
        print("column means:", x.mean(axis=0), "  max:", jnp.max(x))
        ''')

    nb.md(r'''
        Moving between the two worlds is explicit:

        * `jnp.asarray(a)` turns a NumPy array (or a list) into a JAX array on the default device
          (the GPU, if there is one);
        * `np.asarray(x)` turns a JAX array back into a NumPy array: a copy to host memory, which
          waits for the result to be ready;
        * `float(x)`, `int(x)` or `x.item()` give a Python number from a 0-d array.

        A NumPy function applied to a JAX array, such as `np.sin(x)`, works but silently converts
        to NumPy: the computation leaves JAX (and the GPU). Inside functions you want JAX to
        compile or differentiate, use `jnp.` throughout.
        ''')

    nb.code(r'''
        y = np.asarray(jnp.sin(x))             # back to NumPy
        print(type(y).__name__, y.dtype)
        print(type(np.sin(x)).__name__)        # a NumPy function returns NumPy: off the device
        ''')

    nb.md(r'''
        ### 2.2 Arrays are immutable: `.at[...]` instead of assignment

        In NumPy you write into arrays all the time: `u[0, :] = 100.0` sets a boundary,
        `new[1:-1, 1:-1] = ...` updates the interior of a grid. JAX arrays **cannot be changed
        after they are created**:
        ''')

    nb.code(r'''
        grid = jnp.zeros((4, 6))
        try:
            grid[1, 2] = 100.0
        except TypeError as err:
            print("TypeError:", str(err).split(":")[0])
        ''')

    nb.md(r'''
        Why? JAX transforms and compiles *functions*. If a function could modify its inputs, its
        result would depend on who else shares that memory, derivatives would be ill-defined, and
        XLA could not freely reorder and fuse operations. So instead of *changing* an array you
        build a *new* one, through the `.at` property:

        | NumPy (in place) | JAX (returns a new array) |
        |---|---|
        | `u[i, j] = v` | `u = u.at[i, j].set(v)` |
        | `u[i, j] += v` | `u = u.at[i, j].add(v)` |
        | `u[i, j] *= v` | `u = u.at[i, j].multiply(v)` |
        | `u[i, j] = np.minimum(u[i, j], v)` | `u = u.at[i, j].min(v)` |

        Any NumPy index works inside `.at[...]`: integers, slices, integer arrays, boolean masks.
        ''')

    nb.code(r'''
        hot = grid.at[1:3, 2:4].set(100.0)    # a new array with a hot 2x2 patch...
        hot = hot.at[0, :].add(1.0)           # ...and its first row raised by one
        print(hot)
        print("grid is unchanged:", bool((grid == 0).all()))
        ''')

    nb.md(r'''
        "A new array every time" sounds expensive, but usually is not: inside a `jax.jit`-compiled
        function XLA sees that the old array is never used again and performs the update in place.
        Outside `jit` each `.at[...]` really makes a copy — one more reason to compile (notebook 02).

        Two more differences to keep in mind:

        * **Out-of-bounds indices do not raise.** NumPy raises an `IndexError`; JAX, which cannot
          raise errors from inside a GPU kernel, clamps indices when reading and drops updates that
          fall outside the array. Check your indices yourself.
        * **Functions should be pure.** A function that *returns* a modified copy instead of
          modifying its argument is exactly what JAX wants. It is a good habit for reproducible
          research code anyway: a caller's data never changes behind their back.
        ''')

    nb.code(r'''
        v = jnp.arange(5)
        print("v[10]            =", v[10], "  (NumPy would raise IndexError)")
        print("v.at[10].set(99) =", v.at[10].set(99), "  (the update is silently dropped)")
        ''')

    nb.md(r'''
        ### 2.3 dtypes: float32 by default

        NumPy computes in float64 unless told otherwise. JAX defaults to **float32** (and int32):
        GPUs are built for 32-bit arithmetic, and 32-bit arrays need half the memory and half the
        memory bandwidth. Gaming and workstation GPUs do float64 arithmetic 32–64 times more slowly
        than float32; even data-centre GPUs gain about 2× from the halved memory traffic.
        ''')

    nb.code(r'''
        print("jnp.array(1.0)          ", jnp.array(1.0).dtype)
        print("jnp.arange(3)           ", jnp.arange(3).dtype)
        print("from float64 NumPy      ", jnp.asarray(np.ones(3)).dtype, "  <- silently narrowed")
        print("float32 * Python float  ", (jnp.ones(3, dtype=jnp.float32) * 2.5).dtype,
              "  <- Python numbers do not widen arrays")
        ''')

    nb.md(r'''
        float32 keeps about **7 significant digits** (machine epsilon ≈ 1.2 × 10⁻⁷), float64 about
        16. Simulations and neural networks are usually fine with that, but it bites when you add
        tiny increments to large numbers or compare results with tight tolerances:
        ''')

    nb.code(r'''
        one = jnp.array(1.0)
        print("1 + 1e-8 == 1 ?   float32:", bool(one + 1e-8 == one), "   float64:", 1.0 + 1e-8 == 1.0)
        print("2**24 + 1         float32:", float(jnp.array(2.0**24) + 1), "   float64:", 2.0**24 + 1)
        print("float32 epsilon:", jnp.finfo(jnp.float32).eps)
        ''')

    nb.md(r'''
        Practical rules:

        * Compare float32 results with tolerances (`np.allclose(a, b, rtol=1e-5, atol=...)`), never
          with `==`. The graders of this course do the same.
        * If a computation really needs float64, switch it on **at the very start** of the program,
          before any array exists: `jax.config.update("jax_enable_x64", True)`, or the environment
          variable `JAX_ENABLE_X64=1`. This workshop stays in float32.
        * On recent NVIDIA GPUs, JAX by default lets float32 matrix products use TensorFloat-32
          tensor cores, which round the inputs to about 3 significant digits — fast, and fine for
          neural networks, surprising elsewhere. For full float32 products pass
          `precision="highest"` to `jnp.matmul` / `jnp.dot`, or set
          `jax.config.update("jax_default_matmul_precision", "highest")`.
        ''')

    nb.md(r'''
        ### 2.4 Random numbers come from explicit keys

        NumPy's random numbers come from hidden state: `np.random.seed(0)`, or a `Generator` object
        that changes every time you draw from it. That is convenient in a script, but a function
        whose result depends on hidden state is not pure, cannot be compiled safely, and gives
        different numbers depending on the order in which parallel work happens to run.

        JAX makes the state explicit. A **key** is a small array; every random function takes a key
        and returns numbers that depend *only* on that key and the requested shape:
        ''')

    nb.code(r'''
        key = jax.random.key(42)            # a key from a seed
        a = jax.random.normal(key, (3,))
        b = jax.random.normal(key, (3,))
        print(a)
        print(b, "<- same key, same numbers: every time, on every device")
        ''')

    nb.md(r'''
        To get *new* numbers you **split** a key into new, statistically independent keys. The
        rule: **never draw twice from the same key**. Once a key has been used to draw, do not use
        it again — not for drawing, not for splitting. The idiom splits off a subkey for each use
        and carries the other key forward:
        ''')

    nb.code(r'''
        key = jax.random.key(42)
        key, subkey = jax.random.split(key)      # carry `key` forward, use `subkey` once
        noise = jax.random.normal(subkey, (3,))
        key, subkey = jax.random.split(key)
        weights = jax.random.uniform(subkey, (2, 2))
        print("noise  ", noise)
        print("weights", weights.ravel())

        keys = jax.random.split(jax.random.key(0), 4)   # many keys at once, e.g. one per experiment
        print("one draw per key:", [round(float(jax.random.uniform(k)), 3) for k in keys])
        ''')

    nb.md(r'''
        More typing than `np.random`, but it buys real reproducibility: one seed at the top of a
        script determines every random number, however the work is later split across functions,
        batches or devices; and a function that takes a key is a pure function, which JAX can
        compile and transform. When splitting in sequence is awkward, `jax.random.fold_in(key, i)`
        derives a key from an integer (an epoch, a run id).

        ### 2.5 Where do arrays live?

        Every JAX array lives on a **device**: the CPU, or a GPU's own memory. New arrays go to the
        default device (the first GPU, if there is one). `jax.device_put` copies a NumPy array
        there explicitly and `np.asarray` copies it back.
        ''')

    nb.code(r'''
        host = np.random.default_rng(0).standard_normal((1000, 1000), dtype=np.float32)
        on_device = jax.device_put(host)           # host memory -> default device
        print("lives on:", on_device.devices())
        back = np.asarray(on_device)               # device -> host memory
        print("round trip exact:", np.array_equal(host, back))
        ''')

    nb.md(r'''
        **JAX is asynchronous.** A JAX call returns its result array *immediately*, while the device
        is still computing it; Python waits only when it needs the values (to print them, to
        convert to NumPy, ...). This keeps a GPU busy while Python prepares the next step, but it
        makes naive timing wrong: `time.perf_counter()` around a call measures how long it took to
        *launch* the work. Always wait with `jax.block_until_ready(result)` before stopping the
        clock, and never time the first call, which includes compilation.

        The course module `course.timing` does both for you: `time_call(fn, make_args)` runs a
        warm-up call, then times several calls (each waiting for its result, each with fresh inputs
        from `make_args()`) and reports the median.
        ''')

    nb.code(r'''
        n = 1000   # on a GPU try 8000
        a = jax.random.normal(jax.random.key(0), (n, n))
        jnp.matmul(a, a).block_until_ready()        # warm-up: the first call compiles

        start = time.perf_counter()
        c = jnp.matmul(a, a)                        # returns before the work is done...
        returned = time.perf_counter() - start
        c.block_until_ready()                       # ...this waits for it
        finished = time.perf_counter() - start
        print(f"call returned after {fmt_time(returned)}, result ready after {fmt_time(finished)}")
        ''')

    nb.md(r'''
        Finally, a first comparison: the same float32 matrix product in NumPy and in JAX, plus the
        cost of copying one matrix to the device.
        ''')

    nb.code(r'''
        n = 1000   # on a GPU try 8000: 512 times the work; NumPy's time grows accordingly, JAX's far less
        rng = np.random.default_rng(1)

        def host_pair():
            return (rng.standard_normal((n, n), dtype=np.float32),
                    rng.standard_normal((n, n), dtype=np.float32))

        def device_pair():
            return tuple(jax.device_put(m) for m in host_pair())

        t_numpy = time_call(np.matmul, host_pair, repeats=5)
        t_jax = time_call(jnp.matmul, device_pair, repeats=5)
        t_copy = time_call(jax.device_put, lambda: (host_pair()[0],), repeats=5)
        gflop = 2 * n**3 / 1e9
        print(format_table(["", "median", "GFLOP/s"], [
            ["NumPy  np.matmul", fmt_time(t_numpy.median_s), f"{gflop / t_numpy.median_s:.0f}"],
            ["JAX    jnp.matmul", fmt_time(t_jax.median_s), f"{gflop / t_jax.median_s:.0f}"],
            ["copy one matrix host -> device", fmt_time(t_copy.median_s), ""],
        ]))
        ''')

    nb.md(r'''
        On a CPU both call optimised matrix-multiplication libraries (NumPy a BLAS, JAX the
        kernels XLA uses), so they stay within a small factor of each other; which one wins
        depends on the machine. On a data-centre GPU the JAX product runs at tens of TFLOP/s —
        hundreds of times a laptop — while the copy from host memory does not get faster. The lesson for everything that
        follows: **move data to the device once, keep it there, bring back only results.**

        ## Exercises

        Three small functions that use the habits of Part 2. You will meet each again: boundaries
        in the heat solver (notebook 05), standardised inputs and random initialisation in the
        neural network (notebook 06).
        ''')

    # ------------------------------------------------------------------ exercises
    nb.exercise(
        "set_boundary",
        r'''
        ### Exercise 1 · `set_boundary(u, value)`

        The edges of the heat-equation grid hold fixed temperatures (Dirichlet boundary
        conditions). In NumPy you would write `u[0, :] = value` and so on, in place. Write the JAX
        version:

        * **input:** a 2-D float32 array `u` of shape `(ny, nx)` (a JAX or a NumPy array) and a
          Python float `value`;
        * **output:** a **new** array, equal to `u` except that its first and last rows and its
          first and last columns are all `value`; same shape and dtype as `u`;
        * `u` itself must not change, not even when the caller passes a NumPy array;
        * it must work under `jax.jit`.

        *Hint:* `.at[...].set(...)` returns an array, so calls can be chained.
        ''',
        ans.function("set_boundary", r'''
            Return a copy of the 2-D array `u` with its four edges set to `value`.

            u: (ny, nx) float32 array, JAX or NumPy. value: a Python float (a traced scalar
            under jax.jit). Returns a new (ny, nx) array of u's dtype whose rows 0 and ny-1 and
            columns 0 and nx-1 equal `value` and whose interior equals u's interior.
            `u` is left unchanged. Works under jax.jit.
            ''', expect='def set_boundary(u, value):'),
        r'''
        # Visible checks for set_boundary: run this cell after filling in the one above.
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
        set_boundary(u_np, 7.0)
        assert np.array_equal(u_np, np.arange(20.0, dtype=np.float32).reshape(4, 5)), \
            "set_boundary wrote into its NumPy input: return a new array and leave u alone"

        tiny = set_boundary(jnp.zeros((2, 2)), 3.0)
        assert np.all(np.asarray(tiny) == 3.0), f"on a 2x2 grid every cell is an edge cell, got {tiny}"

        assert np.array_equal(jax.jit(set_boundary)(u, 2.0), set_boundary(u, 2.0)), \
            "set_boundary gives a different result under jax.jit"
        print("set_boundary: all visible checks passed")
        ''')

    nb.exercise(
        "standardize",
        r'''
        ### Exercise 2 · `standardize(x)`

        Before fitting a model we usually put every input feature on the same scale. Write
        `standardize(x)`:

        * **input:** a 2-D float32 array `x` of shape `(n, d)`: `n` samples (rows) of `d` features
          (columns);
        * **output:** an array of the same shape, `(x - mean) / std`, with mean and standard
          deviation computed **per column** (over axis 0); the standard deviation is the
          population one, `ddof=0` (the default of `jnp.std`);
        * use `jax.numpy`, so that the function can be compiled and differentiated later.

        Every column of the result has mean 0 and standard deviation 1. You may assume that no
        column is constant.
        ''',
        ans.function("standardize", r'''
            Standardise each column of x to mean 0 and standard deviation 1.

            x: (n, d) float32 array, n samples of d features (JAX or NumPy).
            Returns an (n, d) float32 array (x - mean) / std, with mean and std taken per
            column (axis 0) and std the population standard deviation (ddof=0).
            ''', expect='def standardize(x):'),
        r'''
        # Visible checks for standardize.
        x = jnp.array([[1.0, 10.0],
                       [3.0, 30.0]])    # column means 2 and 20, standard deviations (ddof=0) 1 and 10
        z = standardize(x)
        expected = np.array([[-1.0, -1.0], [1.0, 1.0]])
        assert z.shape == x.shape, f"shape changed: got {z.shape}, expected {x.shape}"
        assert z.dtype == jnp.float32, f"dtype is {z.dtype}, expected float32"
        assert not np.allclose(z, expected / np.sqrt(2), atol=1e-4), \
            "this is the sample std (ddof=1); use the population std, ddof=0 (the default)"
        assert np.allclose(z, expected, atol=1e-5), f"standardize([[1, 10], [3, 30]]) = {z}, expected {expected}"

        x = jax.random.normal(jax.random.key(1), (50, 3)) * jnp.array([1.0, 10.0, 0.1]) + jnp.array([5.0, -3.0, 0.0])
        z = standardize(x)
        assert np.allclose(z.mean(axis=0), 0.0, atol=1e-5), \
            f"column means are {z.mean(axis=0)}, expected 0: subtract each column's mean (axis=0)"
        assert np.allclose(z.std(axis=0), 1.0, atol=1e-4), \
            f"column stds are {z.std(axis=0)}, expected 1: divide by each column's std (axis=0), not the rows' or the whole array's"
        print("standardize: all visible checks passed")
        ''')

    nb.exercise(
        "sample_normal",
        r'''
        ### Exercise 3 · `sample_normal(key, shape)`

        The building block of every random part of a JAX program: take a key, draw numbers, and
        hand back a *fresh* key for whoever needs randomness next.

        * **input:** a PRNG key (from `jax.random.key`) and a shape tuple such as `(3,)` or `(2, 5)`;
        * **output:** a tuple `(new_key, samples)`: `samples` are standard-normal float32 numbers
          of the given `shape`, drawn with a key **split from** `key`; `new_key` is the other key
          of that split — different from `key`, and never the key used for drawing;
        * the same `key` must always give the same `(new_key, samples)`.

        A caller then writes `key, x = sample_normal(key, (3,))` and gets new numbers on every call.
        ''',
        ans.function("sample_normal", r'''
            Draw standard-normal samples and return a fresh key alongside them.

            key: a JAX PRNG key. shape: a tuple of ints.
            Returns (new_key, samples): samples is a float32 array of `shape`, drawn with a subkey
            split from `key`; new_key is the other key of that split, so new_key differs from
            key and is never the key used for drawing. The same key gives the same result.
            ''', expect='def sample_normal(key, shape):'),
        r'''
        # Visible checks for sample_normal.
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
        print("sample_normal: all visible checks passed")
        ''')

    nb.md(r'''
        ## Summary

        * GPUs trade the CPU's cleverness per thread for thousands of simple lanes and ~10× the
          memory bandwidth; they shine on large, data-parallel array work, and the data must live
          in their memory.
        * JAX = a NumPy-like API + the XLA compiler + composable transformations. It asks for pure
          functions: new arrays via `.at[...]` instead of in-place writes, explicit random keys
          instead of global seeds.
        * float32 is the default: compare with tolerances; switch on float64 at start-up only if
          you must.
        * JAX calls are asynchronous: time with warm-up and `block_until_ready`.

        **Next:** notebook 02, `jax.jit` — how JAX turns your function into one compiled program.
        ''')
    nb.finish(ans)
    return nb


# =========================================================================== 02
def build_02_jax_jit() -> Notebook:
    nb = Notebook("02_jax_jit")
    ans = Answers("jax_jit")

    nb.md(r'''
        # 02 · `jax.jit`: compiling your functions

        Workshop 3, notebook 2 of 6 — Part 3, the transformations: **`jit`**, `grad`, `vmap`.

        In notebook 01 every `jnp` call ran on its own. This notebook shows how `jax.jit` turns a
        whole Python function into one optimised program, and what that asks of your code:

        1. why operation-by-operation ("eager") execution is slow;
        2. how `jit` works: tracing, jaxprs, the compilation cache;
        3. what compiling costs, and how to time it honestly;
        4. static arguments;
        5. control flow under `jit`: `jnp.where` and `lax.cond` instead of `if`;
        6. a pitfall: global variables are frozen at trace time;
        7. exercises: `gelu`, `gelu_jit`, `clipped_sum` — and how much faster the compiled GELU is.
        ''', HOW_TO)

    nb.code(r'''
        import math
        import time

        import jax
        import jax.numpy as jnp
        import matplotlib.pyplot as plt
        import numpy as np

        from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

        ON_GPU = jax.default_backend() == "gpu"
        print(f"JAX {jax.__version__} on {device_summary()}")
        ''')

    nb.md(r'''
        ## 1 · What "eager" JAX does, and why that is slow

        Called one by one, `jnp` functions run **eagerly**: each operation is a separate kernel
        that reads its inputs from memory and writes a new temporary array back. Take the
        *softplus* function, a smooth ReLU, written in its numerically stable form:

        $$\mathrm{softplus}(x) = \log(1 + e^{x}) = \max(x, 0) + \log\bigl(1 + e^{-|x|}\bigr).$$

        Eagerly that is six kernels (`max`, `abs`, `neg`, `exp`, `log1p`, `add`) and six trips
        through memory, for a few nanoseconds of arithmetic per element. On a GPU every launch also
        costs microseconds, and Python sits between every two launches.

        `jax.jit` (*just-in-time* compilation) removes all three costs: it records the whole
        function, hands it to XLA, and XLA **fuses** the operations into one kernel that reads `x`
        once and writes the result once.
        ''')

    nb.code(r'''
        def softplus(x):
            return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))

        softplus_jit = jax.jit(softplus)       # same maths, compiled

        x = jnp.linspace(-3.0, 3.0, 7)
        print(softplus(x))
        print(softplus_jit(x))
        ''')

    nb.md(r'''
        ## 2 · How `jax.jit` works: tracing

        The first time you call a jitted function, JAX does not run your Python on your numbers. It
        runs it on **tracers**: placeholders that carry only a *shape* and a *dtype* (say
        `float32[3]`) and record every `jnp` operation applied to them. The recording, a **jaxpr**,
        is compiled by XLA and cached. Later calls with arguments of the **same shapes and dtypes**
        skip Python entirely and run the compiled code.

        A `print` inside a jitted function makes this visible: it runs while tracing, and prints
        the tracer, not numbers.
        ''')

    nb.code(r'''
        @jax.jit
        def noisy_square(x):
            print("    tracing noisy_square with x =", x)
            return x**2

        for shape in [(3,), (3,), (5,), (3,)]:
            print(f"call with shape {shape}")
            noisy_square(jnp.ones(shape))
        ''')

    nb.md(r'''
        Only two of the four calls traced: the repeated `(3,)` calls reused the compiled program,
        and the new shape `(5,)` needed a new one. Side effects such as `print`, appending to a
        list or writing a file happen **once, at trace time**. To print *values* from compiled
        code, use `jax.debug.print`:
        ''')

    nb.code(r'''
        @jax.jit
        def debug_square(x):
            jax.debug.print("    running with x = {x}", x=x)   # runs on every call, shows values
            return x**2

        debug_square(jnp.arange(3.0))
        debug_square(jnp.arange(3.0) + 1);
        ''')

    nb.md(r'''
        `jax.make_jaxpr` shows the recording without compiling it. Each line is one primitive
        applied to typed values; this program, not your Python, is what XLA optimises:
        ''')

    nb.code(r'''
        print(jax.make_jaxpr(softplus)(jnp.ones(3)))
        ''')

    nb.md(r'''
        ## 3 · Compilation costs time — once

        Tracing and compiling take milliseconds to seconds, depending on the size of the function.
        You pay on the first call for each new input shape; every later call is fast. With
        `.lower(x)` (trace) and `.compile()` we can time the stages separately:
        ''')

    nb.code(r'''
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
        ''')

    nb.md(r'''
        Practical consequences:

        * **jit the big function, call it many times.** Wrap the whole time step or training step,
          not each small helper, and define the jitted function once (`@jax.jit` on the `def`, or
          `f_jit = jax.jit(f)` at the top level). Writing `jax.jit(f)(x)` inside a loop creates a
          new wrapper each time; JAX can often reuse its cache, but do not rely on it.
        * **Keep shapes fixed.** Every new input shape means a new compilation. A training loop
          whose last minibatch is smaller compiles twice; dropping or padding that batch avoids
          it (notebook 06).
        * **Time honestly.** Exclude the first call (it compiles) and wait for results with
          `block_until_ready`; `course.timing.time_call` does both.

        ## 4 · Static arguments

        A tracer has a shape but no value. Whatever Python must *know* while tracing — a count in
        `range(n)`, a size in `jnp.zeros(n)`, a flag in an `if` — cannot be a traced argument:
        ''')

    nb.code(r'''
        def power(x, n):
            result = jnp.ones_like(x)
            for _ in range(n):          # Python needs a concrete n here
                result = result * x
            return result

        try:
            jax.jit(power)(jnp.arange(1.0, 4.0), 3)
        except jax.errors.TracerIntegerConversionError:
            print("TracerIntegerConversionError: range(n) needs a concrete n, but n is a tracer")
        ''')

    nb.md(r'''
        Marking `n` as **static** makes it part of the compiled program rather than an input:
        `jax.jit(power, static_argnames="n")`. Each new value of `n` compiles a new program (with
        the loop unrolled), and repeated values hit the cache:
        ''')

    nb.code(r'''
        power_jit = jax.jit(power, static_argnames="n")
        x = jnp.arange(1.0, 4.0)
        rows = []
        for n in [2, 3, 3, 2, 4]:
            start = time.perf_counter()
            y = power_jit(x, n=n).block_until_ready()
            rows.append([f"n={n}", fmt_time(time.perf_counter() - start), str(y)])
        print(format_table(["call", "wall time", "result"], rows))
        print("new n: compile (slow); n seen before: cache hit (fast)")
        ''')

    nb.md(r'''
        Make static what is naturally fixed and few-valued: sizes, flags, the number of layers.
        Never make static a value that changes every call (a time step, a learning rate): each new
        value would recompile.

        ## 5 · Control flow: no `if` on values; `jnp.where` and `lax.cond` instead

        `if x > 0:` needs `True` or `False` *now*, at trace time, but a tracer has no value. Under
        `jit` this fails with a `TracerBoolConversionError`:
        ''')

    nb.code(r'''
        def relu_if(x):
            if x > 0:
                return x
            return 0.0 * x

        print("eager:", relu_if(jnp.array(2.0)))
        try:
            jax.jit(relu_if)(jnp.array(2.0))
        except jax.errors.TracerBoolConversionError:
            print("jit:   TracerBoolConversionError (a Python `if` on a traced value)")
        ''')

    nb.md(r'''
        Two replacements, depending on what you need:

        * **`jnp.where(condition, a, b)`** chooses *element by element*. Both `a` and `b` are
          computed, then one is selected per element. This is the tool for masks, clipping and
          piecewise formulas; vectorised code does it anyway.
        * **`jax.lax.cond(pred, true_fn, false_fn, *operands)`** runs *one* of two functions,
          chosen at run time by a scalar boolean. Use it when the branches are expensive.

        Boolean-mask indexing, `x[x > 0]`, is out under `jit` too: its result has a shape that
        depends on the data, and compiled programs need shapes known in advance. `jnp.where` keeps
        the shape fixed.
        ''')

    nb.code(r'''
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
        ''')

    nb.md(r'''
        Python `for` loops *do* work under `jit` when their length is known at trace time, but they
        are **unrolled**: the compiled program contains the body once per iteration. Fine for the
        three layers of a network, bad for 10 000 time steps. For long loops JAX has
        `jax.lax.fori_loop` and `jax.lax.scan`, which compile the body once; notebooks 03, 05 and
        06 use them.

        ## 6 · Pitfall: global variables are frozen at trace time

        A jitted function that reads a global variable captures its value *when it is traced*;
        changing the global later does not change the compiled program:
        ''')

    nb.code(r'''
        scale = 2.0

        @jax.jit
        def scaled(x):
            return scale * x

        print(scaled(1.0))          # traced now: scale = 2.0 is baked into the program
        scale = 10.0
        print(scaled(1.0), " <- still 2.0: the compiled program kept the old value")
        ''')

    nb.md(r'''
        The cure is the functional habit: pass everything a function depends on as an argument.
        A new value is then a new input, not a stale constant.

        ## Exercises

        You will write the **GELU** activation function (the smooth ReLU of transformer models),
        compile it, and write a function that makes a decision in a way that survives `jit`.
        ''')

    gelu_constant = ans.given("_SQRT_2_OVER_PI")
    nb.exercise(
        "gelu",
        r'''
        ### Exercise 1 · `gelu(x)`

        Implement the tanh approximation of the Gaussian error linear unit, element by element:

        $$\mathrm{gelu}(x) = 0.5\,x\,\Bigl(1 + \tanh\bigl(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\bigr)\Bigr)$$

        * **input:** a float32 array `x` of any shape (JAX or NumPy);
        * **output:** a float32 JAX array of the same shape;
        * use `jax.numpy` only (`jnp.tanh`, not `np.tanh`), so that JAX can trace the function.
          The constant $\sqrt{2/\pi}$ is given as `_SQRT_2_OVER_PI`.
        ''',
        ans.function("gelu", r'''
            Tanh-approximation GELU, elementwise: 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3))).

            x: float32 array of any shape (JAX or NumPy). Returns a float32 JAX array of the same
            shape. jax.numpy only, so it can be traced by jit, grad and vmap.
            ''', expect='def gelu(x):', before="# sqrt(2/pi), computed once in Python: a constant in the compiled program\n"
                        + gelu_constant),
        r'''
        # Visible checks for gelu.
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
        print("gelu: all visible checks passed")
        ''')

    nb.exercise(
        "gelu_jit",
        r'''
        ### Exercise 2 · `gelu_jit`

        Define `gelu_jit`, the jit-compiled version of your `gelu`. It is one line, but it is the
        line that turns about ten kernels into one. It must give the same values as `gelu`.
        ''',
        ans.assignment("gelu_jit", r'''
            gelu_jit: your gelu compiled with jax.jit. Same signature and results as gelu,
            one fused XLA program per input shape.
            '''),
        r'''
        # Visible checks for gelu_jit.
        assert "gelu_jit" in globals(), "gelu_jit is not defined yet: fill in and run the cell above"
        assert hasattr(gelu_jit, "lower"), "gelu_jit is not a jax.jit-compiled function: define it as jax.jit(gelu)"
        x = jax.random.normal(jax.random.key(3), (1000,))
        assert np.allclose(gelu_jit(x), gelu(x), atol=1e-5), "gelu_jit(x) differs from gelu(x)"
        print("gelu_jit: all visible checks passed")
        ''')

    nb.exercise(
        "clipped_sum",
        r'''
        ### Exercise 3 · `clipped_sum(x, threshold)`

        Robust statistics often ignore outliers. Sum only the entries whose magnitude is at most a
        threshold. In NumPy you might write `x[np.abs(x) <= threshold].sum()`, or a loop with an
        `if`; neither survives `jit` (section 5). Write a version that does:

        * **input:** a float32 array `x` of any shape, and a scalar `threshold` (a Python float, or
          a traced scalar when called under `jax.jit`);
        * **output:** a float32 scalar: the sum of all entries with `abs(x) <= threshold`. Entries
          exactly at the threshold count; if no entry qualifies, the sum is 0;
        * it must work inside `jax.jit` with `threshold` traced: no Python `if` on array values,
          no boolean-mask indexing.
        ''',
        ans.function("clipped_sum", r'''
            Sum of the entries of x with abs(x) <= threshold, written so that it works under jit.

            x: float32 array of any shape. threshold: a scalar (Python float, or traced under
            jit). Returns a float32 0-d array; entries with abs(x) == threshold are included, and
            no qualifying entry gives 0. No Python branching on traced values.
            ''', expect='def clipped_sum(x, threshold):'),
        r'''
        # Visible checks for clipped_sum.
        x = jnp.array([1.0, -2.0, 3.0, 0.5, -0.25])
        got = clipped_sum(x, 1.5)
        assert jnp.shape(got) == (), f"return a scalar (the sum), got shape {jnp.shape(got)}"
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
        print("clipped_sum: all visible checks passed")
        ''')

    nb.md(r'''
        ## Putting it together: how much does `jit` buy?

        Time three versions of GELU on the same number of float32 values: NumPy (each operation a
        separate pass over a temporary array), your eager `gelu` (the same, dispatched by JAX), and
        your `gelu_jit` (one fused kernel). Every timed call gets fresh input; compilation is kept
        out of the medians and shown separately.

        Expect the jitted version to be the fastest by a clear margin, even on a CPU: it reads
        the input once and writes the output once, where the others make a pass over memory per
        operation. On a GPU the gap to NumPy grows much larger; `SIZE` switches to 20 million
        values there — try 100 million on a large GPU.
        ''')

    nb.code(r'''
        SIZE = 20_000_000 if ON_GPU else 1_000_000
        rng = np.random.default_rng(0)
        key = jax.random.key(1)

        def gelu_numpy(x):
            return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))

        def host_input():
            return (rng.standard_normal(SIZE, dtype=np.float32),)

        def device_input():
            global key
            key, sub = jax.random.split(key)
            return (jax.random.normal(sub, (SIZE,)),)

        timings = {
            "NumPy": time_call(gelu_numpy, host_input, repeats=7),
            "JAX eager\n(gelu)": time_call(gelu, device_input, repeats=7),
            "JAX jit\n(gelu_jit)": time_call(gelu_jit, device_input, repeats=7),
        }
        base = timings["NumPy"].median_s
        print(f"GELU on {SIZE:,} float32 values, {device_summary()}")
        print(format_table(["", "median", "compile*", "vs NumPy"], [
            [name.replace("\n", " "), fmt_time(t.median_s),
             "-" if name == "NumPy" else fmt_time(t.compile_s), fmt_speedup(base, t.median_s)]
            for name, t in timings.items()]))
        print("* first call minus a steady call: tracing + compilation, paid once per shape")

        sample = host_input()[0]
        err = np.max(np.abs(np.asarray(gelu_jit(sample)) - gelu_numpy(sample.astype(np.float64))))
        print(f"max |gelu_jit - float64 NumPy| = {err:.1e}")
        ''')

    nb.code(r'''
        names = list(timings)
        medians_ms = [timings[n].median_s * 1e3 for n in names]
        fig, ax = plt.subplots(figsize=(6.5, 3))
        bars = ax.barh(names, medians_ms, color=["tab:gray", "tab:blue", "tab:orange"])
        for bar, name in zip(bars, names):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                    f"  {fmt_speedup(base, timings[name].median_s)} vs NumPy", va="center")
        ax.invert_yaxis()
        ax.set_xlabel("median time per call (ms), shorter is better")
        ax.set_xlim(0, max(medians_ms) * 1.45)
        ax.set_title(f"GELU on {SIZE:,} values ({device_summary()})")
        plt.tight_layout()
        plt.show()
        ''')

    nb.md(r'''
        ## Summary

        * `jax.jit` traces a function once per input shape and dtype, compiles the resulting jaxpr
          with XLA, and caches it. Calls with known shapes skip Python.
        * Inside a jitted function values are unknown: Python `if`, `range(n)` and boolean-mask
          indexing on them fail. Use `jnp.where`, `lax.cond`, `lax.fori_loop`/`scan`, or mark
          genuinely fixed arguments static.
        * Side effects and global variables are evaluated at trace time only; pass what a
          function needs as arguments.
        * Compilation is paid once; time steady-state calls with `block_until_ready`.

        **Next:** notebook 03, `jax.grad` — derivatives without writing them by hand.
        ''')
    nb.finish(ans)
    return nb


# =========================================================================== 03
def build_03_jax_grad() -> Notebook:
    nb = Notebook("03_jax_grad")
    ans = Answers("jax_grad")

    nb.md(r'''
        # 03 · `jax.grad`: derivatives without the pain

        Workshop 3, notebook 3 of 6 — Part 3, the transformations: `jit`, **`grad`**, `vmap`.

        Derivatives are everywhere in research code: fitting a model to data, sensitivity
        analysis, optimal control, Newton's method, training a neural network. This notebook
        shows how `jax.grad` computes them for you:

        1. three ways to get a derivative, and why automatic differentiation wins;
        2. `jax.grad` on scalar functions, higher derivatives, `argnums`;
        3. `jax.value_and_grad`;
        4. gradients of *pytrees*: parameters stored in dicts and lists;
        5. checking a gradient against finite differences;
        6. gradient descent, first as a Python loop, then inside one compiled program with
           `jax.lax.fori_loop`;
        7. exercises: `mse_loss`, `mse_grad`, `fit_linear` — linear regression by gradient descent.
        ''', HOW_TO)

    nb.code(r'''
        import jax
        import jax.numpy as jnp
        import matplotlib.pyplot as plt
        import numpy as np

        from course.timing import device_summary, format_table

        print(f"JAX {jax.__version__} on {device_summary()}")
        ''')

    nb.md(r'''
        ## 1 · Three ways to get a derivative

        * **By hand.** Exact and fast, but slow to write and easy to get wrong. The backward pass
          of the series' NumPy neural network is a page of careful index juggling, and every
          change to the model means redoing it.
        * **Finite differences**, $f'(x) \approx \bigl(f(x+h) - f(x-h)\bigr) / 2h$. Easy, but
          approximate (too large an $h$: truncation error; too small: rounding error, worse in
          float32), and a gradient with respect to $n$ parameters costs $2n$ evaluations.
        * **Automatic differentiation (autodiff).** The program that computes $f$ is itself
          differentiated, operation by operation, with the chain rule. The result is exact up to
          floating-point rounding. In *reverse mode*, which `jax.grad` uses, the full gradient of
          a scalar function costs a small multiple (typically 2–4×) of one evaluation of $f$ —
          whether there are 3 parameters or 3 million. This is what makes training neural
          networks possible.

        ## 2 · `jax.grad` of a scalar function

        `jax.grad(f)` is a **new function** that computes $f'$. Because it is a function, you can
        transform it again: `jax.grad(jax.grad(f))` is $f''$.
        ''')

    nb.code(r'''
        def f(x):
            return x**3 + 2.0 * x          # f'(x) = 3x^2 + 2,  f''(x) = 6x

        df = jax.grad(f)
        d2f = jax.grad(jax.grad(f))
        print("f'(2)  =", df(2.0), "  exact:", 3 * 2.0**2 + 2)
        print("f''(2) =", d2f(2.0), "  exact:", 6 * 2.0)
        print("jit works too:", jax.jit(df)(2.0))
        ''')

    nb.md(r'''
        Three rules to remember:

        1. **`grad` differentiates with respect to the first argument** unless you say otherwise
           with `argnums`.
        2. **The function must return a scalar** (a loss, an energy, a log-likelihood). For a
           vector-valued function, take `jax.grad` of a scalar summary, or differentiate one
           output per input with `jax.vmap` (notebook 04), or use `jax.jacobian`.
        3. **Differentiate with respect to floats.** Integers have no derivative: `df(2)` fails,
           `df(2.0)` works.
        ''')

    nb.code(r'''
        def g(x, y):
            return x * y**2

        print("dg/dx         :", jax.grad(g)(3.0, 2.0), "  (= y^2)")
        print("dg/dy         :", jax.grad(g, argnums=1)(3.0, 2.0), "  (= 2xy)")
        print("(dg/dx, dg/dy):", tuple(float(d) for d in jax.grad(g, argnums=(0, 1))(3.0, 2.0)))

        for bad_call, why in [(lambda: df(2), "an integer input"),
                              (lambda: jax.grad(jnp.sin)(jnp.ones(3)), "a non-scalar output")]:
            try:
                bad_call()
            except TypeError as err:
                print(f"{why:22s} -> TypeError: {str(err).splitlines()[0][:70]}...")
        ''')

    nb.md(r'''
        ## 3 · `value_and_grad`: the loss and its gradient in one pass

        An optimiser needs both the loss (to report progress) and its gradient (to take a step).
        Reverse-mode autodiff computes the value on the way anyway, so `jax.value_and_grad`
        returns both for the price of the gradient:
        ''')

    nb.code(r'''
        value, slope = jax.value_and_grad(f)(1.0)
        print(f"f(1) = {value}, f'(1) = {slope}")
        ''')

    nb.md(r'''
        ## 4 · Gradients of pytrees: parameters in dicts and lists

        Real models have many parameters, conveniently kept in a dict, a list of layers, or a
        tuple. JAX calls any nesting of lists, tuples and dicts with arrays at the leaves a
        **pytree**, and `jax.grad` differentiates with respect to the whole tree: the gradient
        is a tree of the **same structure**, one array per parameter.

        A worked example: fit an exponential decay $y \approx A\,e^{-k t}$ (a radioactive sample,
        a cooling body, a discharging capacitor) to noisy measurements.
        ''')

    nb.code(r'''
        key_noise = jax.random.key(0)
        t = jnp.linspace(0.0, 5.0, 50)
        y_obs = 2.0 * jnp.exp(-0.7 * t) + 0.02 * jax.random.normal(key_noise, t.shape)   # A = 2, k = 0.7

        def decay_loss(params, t, y):
            """Mean squared misfit of A * exp(-k t); params = {"amplitude": A, "rate": k}."""
            model = params["amplitude"] * jnp.exp(-params["rate"] * t)
            return jnp.mean((model - y) ** 2)

        params = {"amplitude": jnp.array(1.0), "rate": jnp.array(1.0)}
        grads = jax.grad(decay_loss)(params, t, y_obs)
        print("params:", jax.tree.map(float, params))
        print("grads: ", jax.tree.map(float, grads))
        print("same structure:", jax.tree.structure(grads) == jax.tree.structure(params))
        ''')

    nb.md(r'''
        The `jax.tree` module works on any pytree. Most useful: `jax.tree.map(fn, tree, *others)`
        applies `fn` leaf by leaf (to matching leaves of several trees), and
        `jax.tree.leaves(tree)` lists the arrays. One line then updates every parameter of a
        model, however deeply nested — the gradient-descent step:
        ''')

    nb.code(r'''
        learning_rate = 0.5
        stepped = jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)
        print("after one step:", jax.tree.map(float, stepped))
        print("leaves:", jax.tree.leaves(stepped))   # a list of the arrays, in a fixed order
        ''')

    nb.md(r'''
        ## 5 · Trust, but verify: a gradient check

        Autodiff is exact for the function you *wrote*, which may not be the function you
        *meant*. Comparing with central finite differences, computed in float64 NumPy
        independently of JAX, is the standard sanity check for any gradient code:
        ''')

    nb.code(r'''
        t64, y64 = np.asarray(t, np.float64), np.asarray(y_obs, np.float64)

        def decay_loss64(amplitude, rate):
            return np.mean((amplitude * np.exp(-rate * t64) - y64) ** 2)

        eps = 1e-6
        fd = {"amplitude": (decay_loss64(1 + eps, 1.0) - decay_loss64(1 - eps, 1.0)) / (2 * eps),
              "rate": (decay_loss64(1.0, 1 + eps) - decay_loss64(1.0, 1 - eps)) / (2 * eps)}
        print(format_table(["parameter", "jax.grad (float32)", "finite diff (float64)", "rel. error"], [
            [name, f"{float(grads[name]):.6f}", f"{fd[name]:.6f}",
             f"{abs(float(grads[name]) - fd[name]) / abs(fd[name]):.1e}"] for name in fd]))
        ''')

    nb.md(r'''
        Relative errors around 10⁻⁷–10⁻⁶ are float32 rounding: the gradient is right.

        ## 6 · Gradient descent, then the whole loop compiled

        Gradient descent repeats `params ← params − learning_rate · ∇loss(params)`. The
        straightforward version jits one step and calls it from a Python loop:
        ''')

    nb.code(r'''
        @jax.jit
        def decay_step(params, t, y, learning_rate):
            loss, grads = jax.value_and_grad(decay_loss)(params, t, y)
            return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss

        params = {"amplitude": jnp.array(1.0), "rate": jnp.array(1.0)}
        for step in range(301):
            params, loss = decay_step(params, t, y_obs, 0.5)
            if step % 100 == 0:
                print(f"step {step:3d}  loss {float(loss):.6f}")
        print("fitted:", {name: round(float(v), 3) for name, v in params.items()}, " (true: A = 2, k = 0.7)")
        ''')

    nb.md(r'''
        Every iteration here goes back to Python: launch the step, get the result, launch again.
        For a cheap step that overhead dominates, and on a GPU it also leaves the device idle
        between steps. **`jax.lax.fori_loop(lower, upper, body, init)`** moves the loop itself
        into the compiled program. `body(i, carry)` receives the iteration number and the current
        state (any pytree) and returns the new state of the same shape:

        ```python
        carry = init
        for i in range(lower, upper):      # what fori_loop computes, without Python in the loop
            carry = body(i, carry)
        ```

        Under `jit` the bounds may be traced values: a new number of steps then reuses the same
        compiled program (XLA compiles it as a `while` loop). Learning rate and data are ordinary
        traced arguments as well.
        ''')

    nb.code(r'''
        @jax.jit
        def fit_decay(t, y, learning_rate, n_steps):
            def body(i, params):
                grads = jax.grad(decay_loss)(params, t, y)
                return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)

            start = {"amplitude": jnp.array(1.0), "rate": jnp.array(1.0)}
            return jax.lax.fori_loop(0, n_steps, body, start)

        for n_steps in [0, 10, 100, 300]:          # one compilation serves every n_steps
            fitted = fit_decay(t, y_obs, 0.5, n_steps)
            print(f"{n_steps:3d} steps: A = {float(fitted['amplitude']):.3f}, "
                  f"k = {float(fitted['rate']):.3f}, loss {float(decay_loss(fitted, t, y_obs)):.6f}")
        ''')

    nb.md(r'''
        ## Exercises

        Linear regression, $y \approx X w + b$, the simplest model there is — and a template
        for every gradient-based fit you will write: a loss function of a parameter pytree, its
        gradient from `jax.grad`, and a compiled loop of update steps.
        ''')

    nb.exercise(
        "mse_loss",
        r'''
        ### Exercise 1 · `mse_loss(params, x, y)`

        The mean squared error of the linear model, which predicts `x @ w + b` for each row of `x`.

        * **input:** `params = {"w": w, "b": b}`, with `w` of shape `(d,)` and `b` a scalar (shape
          `()`); data `x` of shape `(n, d)` and targets `y` of shape `(n,)`; all float32;
        * **output:** a float32 scalar, the **mean** over the `n` rows of `(x @ w + b - y)**2`.
        ''',
        ans.function("mse_loss", r'''
            Mean squared error of the linear model x @ w + b.

            params: {"w": (d,) float32, "b": () float32}. x: (n, d) float32. y: (n,) float32.
            Returns a float32 scalar: the mean over the n rows of (x @ w + b - y)**2.
            ''', expect='def mse_loss(params, x, y):'),
        r'''
        # Visible checks for mse_loss.
        x = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        y = jnp.array([1.0, 2.0, 3.0])
        params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(0.5)}
        # predictions x @ w + b = [1.5, 2.5, 3.5]: every residual is 0.5, so the loss is 0.25
        loss = mse_loss(params, x, y)
        assert jnp.shape(loss) == (), f"the loss must be a scalar, got shape {jnp.shape(loss)}: average over the rows"
        assert not np.isclose(loss, 0.75), "got 0.75, the SUM of the squared residuals: take the mean"
        assert not np.isclose(loss, 0.0), "got 0: the prediction must include the bias params['b']"
        assert np.isclose(loss, 0.25), f"mse_loss = {loss}, expected 0.25 (predictions 1.5, 2.5, 3.5; targets 1, 2, 3)"

        rng = np.random.default_rng(0)
        xr, yr, wr = (rng.standard_normal(s).astype(np.float32) for s in [(7, 3), (7,), (3,)])
        expected = np.mean((xr.astype(np.float64) @ wr + 0.3 - yr) ** 2)
        got = mse_loss({"w": jnp.asarray(wr), "b": jnp.array(0.3)}, jnp.asarray(xr), jnp.asarray(yr))
        # (tolerances here and below leave room for GPUs, whose float32 matrix products may use TF32)
        assert np.isclose(got, expected, rtol=2e-3), f"on random (7, 3) data: got {got}, expected {expected:.6f}"
        assert got.dtype == jnp.float32, f"the loss is {got.dtype}, expected float32"
        print("mse_loss: all visible checks passed")
        ''')

    nb.exercise(
        "mse_grad",
        r'''
        ### Exercise 2 · `mse_grad`

        Define `mse_grad`, the gradient of `mse_loss` with respect to its first argument,
        `params`, using `jax.grad`. Called as `mse_grad(params, x, y)`, it returns a dict with
        the keys and shapes of `params`: `{"w": dL/dw of shape (d,), "b": dL/db of shape ()}`.

        For this loss you could derive the gradient by hand — with residuals
        $r = Xw + b - y$, $\;\partial L/\partial w = \tfrac{2}{n} X^\top r$ and
        $\partial L/\partial b = \tfrac{2}{n}\sum_i r_i$; the visible checks do exactly that.
        The point is that you do not have to.
        ''',
        ans.assignment("mse_grad", r'''
            mse_grad(params, x, y): the gradient of mse_loss with respect to params, from jax.grad.
            Returns a dict shaped like params: {"w": (d,), "b": ()}, float32.
            '''),
        r'''
        # Visible checks for mse_grad.
        assert "mse_grad" in globals(), "mse_grad is not defined yet: fill in and run the cell above"
        x = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        y = jnp.array([1.0, 2.0, 3.0])
        params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(0.5)}
        g = mse_grad(params, x, y)
        assert isinstance(g, dict) and set(g) == {"w", "b"}, \
            f"mse_grad must return a dict like params, with keys 'w' and 'b'; got {type(g).__name__}"
        assert g["w"].shape == (2,) and jnp.shape(g["b"]) == (), \
            f"gradient shapes must match params: w {g['w'].shape} (expected (2,)), b {jnp.shape(g['b'])} (expected ())"
        # residuals r = [0.5, 0.5, 0.5]: dL/dw = 2/3 * x.T @ r = [2/3, 2/3], dL/db = 2/3 * sum(r) = 1
        assert np.allclose(g["w"], [2 / 3, 2 / 3], atol=1e-6), f"dL/dw = {g['w']}, expected [0.6667, 0.6667]"
        assert np.isclose(g["b"], 1.0, atol=1e-6), f"dL/db = {g['b']}, expected 1.0"
        print("mse_grad: all visible checks passed")
        ''')

    nb.exercise(
        "fit_linear",
        r'''
        ### Exercise 3 · `fit_linear(x, y, learning_rate, n_steps)`

        Fit the linear model by gradient descent:

        * start from `w = 0` (shape `(d,)`) and `b = 0` (a scalar), float32;
        * repeat `n_steps` times: `params ← params − learning_rate · mse_grad(params, x, y)`,
          for every leaf of the dict;
        * return the fitted dict `{"w": (d,), "b": ()}`. With `n_steps = 0` that is the start.

        `x` is `(n, d)` and `y` is `(n,)`, float32, JAX or NumPy arrays; `learning_rate` is a
        float and `n_steps` an int. The skeleton is decorated with `@jax.jit`, so both arrive as
        tracers: write the loop with `jax.lax.fori_loop` (a Python `range(n_steps)` cannot take a
        tracer) and the update with `jax.tree.map`, as in section 6. (If you would rather start
        with a plain Python loop, remove the decorator first; put it back once that works.)
        ''',
        ans.function("fit_linear", r'''
            Linear regression by gradient descent, the whole loop compiled.

            x: (n, d) float32, y: (n,) float32 (JAX or NumPy). learning_rate: float. n_steps: int.
            Starts from w = 0 (d,), b = 0 () and applies n_steps updates
            params <- params - learning_rate * mse_grad(params, x, y).
            Returns {"w": (d,) float32, "b": () float32}; n_steps = 0 returns the start.
            ''', expect='@jax.jit\ndef fit_linear(x, y, learning_rate, n_steps):'),
        r'''
        # Visible checks for fit_linear.
        x = jnp.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, -1.0], [-1.0, 0.5]])
        true_w, true_b = jnp.array([2.0, -1.0]), 0.5
        y = x @ true_w + true_b                    # noise-free: gradient descent can find w and b exactly

        try:
            start = fit_linear(x, y, 0.1, 0)
        except jax.errors.TracerIntegerConversionError:
            raise AssertionError("fit_linear loops over range(n_steps) under @jax.jit, where n_steps is a tracer: "
                                 "use jax.lax.fori_loop") from None
        assert isinstance(start, dict) and set(start) == {"w", "b"}, "return a dict {'w': ..., 'b': ...}"
        assert start["w"].shape == (2,) and jnp.shape(start["b"]) == (), \
            f"w must have shape (d,) = (2,) and b shape (); got {start['w'].shape} and {jnp.shape(start['b'])}"
        assert np.allclose(start["w"], 0.0) and np.isclose(start["b"], 0.0), \
            "n_steps = 0 must return the starting point w = 0, b = 0"

        one = fit_linear(x, y, 0.1, 1)
        g0 = {"w": -2 / 5 * (x.T @ y), "b": -2 / 5 * y.sum()}      # the gradient at w = 0, b = 0, by hand
        assert np.allclose(one["w"], -0.1 * g0["w"], atol=1e-5) and np.isclose(one["b"], -0.1 * g0["b"], atol=1e-5), \
            "one step from zero must give -learning_rate * gradient: check the sign and the learning rate"

        fitted = fit_linear(x, y, 0.1, 1000)
        assert np.allclose(fitted["w"], true_w, atol=5e-3) and np.isclose(fitted["b"], true_b, atol=5e-3), \
            f"after 1000 steps: w = {fitted['w']}, b = {fitted['b']}; expected w = {true_w}, b = {true_b}"
        assert fitted["w"].dtype == jnp.float32, f"parameters are {fitted['w'].dtype}, expected float32"
        from_numpy = fit_linear(np.asarray(x), np.asarray(y), 0.1, 1000)
        assert np.allclose(from_numpy["w"], fitted["w"], atol=1e-5), "NumPy inputs must give the same fit"
        print("fit_linear: all visible checks passed")
        ''')

    nb.md(r'''
        ## Putting it together: regression on noisy data

        Fit 2 000 noisy points with three features, and compare with the exact least-squares
        answer from NumPy (float64). Because `n_steps` is a traced argument, asking your
        `fit_linear` for 0, 1, 2, 5, ... steps reuses a single compiled program — a cheap way to
        draw the convergence curve.
        ''')

    nb.code(r'''
        key_x, key_noise = jax.random.split(jax.random.key(42))
        n, true_w, true_b = 2000, jnp.array([2.0, -1.0, 0.5]), 0.3
        x = jax.random.normal(key_x, (n, 3))
        y = x @ true_w + true_b + 0.1 * jax.random.normal(key_noise, (n,))

        design = np.column_stack([np.asarray(x, np.float64), np.ones(n)])
        exact, *_ = np.linalg.lstsq(design, np.asarray(y, np.float64), rcond=None)
        best_loss = np.mean((design @ exact - np.asarray(y, np.float64)) ** 2)

        steps = [0, 1, 2, 5, 10, 20, 50, 100, 200]
        losses = [float(mse_loss(fit_linear(x, y, 0.1, s), x, y)) for s in steps]
        fitted = fit_linear(x, y, 0.1, 200)
        print(format_table(["", "true", "gradient descent", "least squares"], [
            *[[f"w[{i}]", f"{float(true_w[i]):.3f}", f"{float(fitted['w'][i]):.4f}", f"{exact[i]:.4f}"] for i in range(3)],
            ["b", f"{true_b:.3f}", f"{float(fitted['b']):.4f}", f"{exact[3]:.4f}"],
        ]))

        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.semilogy(steps, losses, "o-", label="fit_linear(x, y, 0.1, steps)")
        ax.axhline(best_loss, color="k", ls="--", lw=1, label="least squares (exact)")
        ax.set_xlabel("gradient-descent steps")
        ax.set_ylabel("mean squared error")
        ax.set_title("fit_linear converges to the least-squares answer")
        ax.grid(alpha=0.3)
        ax.legend()
        plt.tight_layout()
        plt.show()
        ''')

    nb.md(r'''
        On a GPU try `n = 10_000_000`: each step is then a matrix-vector product over 10 million
        rows, and the compiled loop keeps the data on the device for all the steps.

        ## Summary

        * `jax.grad(f)` returns a function computing the gradient of a scalar `f` with respect to
          its first argument (`argnums` for others); transformations compose (`grad(grad(f))`,
          `jit(grad(f))`).
        * `jax.value_and_grad` gives the loss and the gradient in one pass.
        * Parameters can be any pytree; the gradient has the same structure, and `jax.tree.map`
          updates all leaves in one line.
        * Check new gradient code against finite differences once.
        * `jax.lax.fori_loop` inside `jax.jit` compiles a whole optimisation loop; traced bounds
          mean a new number of steps does not recompile.

        **Next:** notebook 04, `jax.vmap` — write a function for one example, run it on a batch.
        ''')
    nb.finish(ans)
    return nb


# =========================================================================== 04
def build_04_jax_vmap() -> Notebook:
    nb = Notebook("04_jax_vmap")
    ans = Answers("jax_vmap")

    nb.md(r'''
        # 04 · `jax.vmap`: write it for one, run it for many

        Workshop 3, notebook 4 of 6 — Part 3, the transformations: `jit`, `grad`, **`vmap`**.

        Research code is full of functions written for *one* thing — one particle, one parameter
        set, one image, one patient — that we then need for thousands. This notebook shows how
        `jax.vmap` turns the one-thing function into a batched one automatically:

        1. the batching problem: loops are slow, hand-batching is error-prone;
        2. `vmap` basics: `in_axes`, `out_axes`, `None` for shared arguments;
        3. nesting `vmap`: pairwise distances without a loop;
        4. what `vmap` really does (no loop in sight);
        5. composing: `jit(vmap(f))` and `vmap(grad(f))`, per-example gradients;
        6. exercises: `predict`, `batched_predict`, `per_example_grads`.
        ''', HOW_TO)

    nb.code(r'''
        import math

        import jax
        import jax.numpy as jnp
        import matplotlib.pyplot as plt
        import numpy as np

        from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

        ON_GPU = jax.default_backend() == "gpu"
        print(f"JAX {jax.__version__} on {device_summary()}")
        ''')

    nb.md(r'''
        ## 1 · The batching problem

        Say you have a function for a single example. To apply it to a batch you have three
        options:

        * **A Python loop** over the examples. Easy and obviously correct, but every iteration
          pays Python's overhead and, on a GPU, launches tiny kernels that leave almost all of the
          device idle.
        * **Rewrite it for a batch by hand**: add a leading axis to every array, turn `x @ w`
          into a batched product, fix every `sum` to use the right `axis`, perhaps reach for
          `einsum`. Fast, but you now maintain two versions of the maths, and axis bugs are
          easy to make and hard to see.
        * **`jax.vmap`** (*vectorising map*): keep the one-example function and let JAX derive
          the batched version.

        ## 2 · `vmap` basics

        `jax.vmap(f)` is a new function that maps `f` over a leading axis of its arguments. The
        dot product of two vectors `(3,)` → scalar becomes, under `vmap`, a row-wise dot product
        of two matrices `(n, 3)` → `(n,)`:
        ''')

    nb.code(r'''
        a = jnp.arange(6.0).reshape(2, 3)
        b = jnp.ones((2, 3))
        print("jnp.dot(a[0], b[0])    =", jnp.dot(a[0], b[0]))
        print("jax.vmap(jnp.dot)(a, b) =", jax.vmap(jnp.dot)(a, b), "  <- one dot product per row")
        ''')

    nb.md(r'''
        **`in_axes`** says, argument by argument, which axis to map over; **`None` means "not
        batched: pass the same value to every call"**. That is how you share model parameters, a
        query point, or a constant between all examples. **`out_axes`** says where the batch axis
        goes in the output (default 0).
        ''')

    nb.code(r'''
        c = jnp.array([1.0, 0.0, -1.0])
        print("rows of a, shared c:", jax.vmap(jnp.dot, in_axes=(0, None))(a, c))
        print("columns instead    :", jax.vmap(jnp.dot, in_axes=(1, 1))(a, b), "  <- map over axis 1")
        outer = jax.vmap(jnp.outer, in_axes=(0, 0), out_axes=2)(a, b)
        print("outer products, batch axis last:", outer.shape)
        ''')

    nb.md(r'''
        ## 3 · Nesting `vmap`: a pairwise distance matrix

        `vmap` of a `vmap` maps over two axes. Start from the distance between **two points** and
        build the full distance matrix between two point clouds, with no loop and no broadcasting
        gymnastics:
        ''')

    nb.code(r'''
        def distance(p, q):                       # two points (d,) -> a scalar
            return jnp.sqrt(jnp.sum((p - q) ** 2))

        one_to_many = jax.vmap(distance, in_axes=(None, 0))        # (d,), (m, d) -> (m,)
        many_to_many = jax.vmap(one_to_many, in_axes=(0, None))    # (n, d), (m, d) -> (n, m)

        points = jax.random.normal(jax.random.key(0), (5, 3))
        D = many_to_many(points, points)
        by_broadcasting = jnp.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))
        print("shape:", D.shape, "  symmetric:", bool(jnp.allclose(D, D.T)),
              "  zero diagonal:", bool(jnp.allclose(jnp.diag(D), 0.0)))
        print("same as hand-broadcast version:", bool(jnp.allclose(D, by_broadcasting, atol=1e-6)))
        ''')

    nb.md(r'''
        ## 4 · What `vmap` does: no loop at all

        `vmap` is not a loop in disguise. It traces the one-example function once, and rewrites
        each primitive into its batched form: an elementwise operation just works on the bigger
        array, a vector dot product becomes a matrix product, a `sum` gets its axis shifted. The
        result is the same program you would have written by hand. Compare the jaxprs:
        ''')

    nb.code(r'''
        print("one pair of points:")
        print(jax.make_jaxpr(distance)(points[0], points[1]))
        print("\nall pairs (nested vmap): the same primitives, on (5, 5, 3) arrays")
        print(jax.make_jaxpr(many_to_many)(points, points))
        ''')

    nb.md(r'''
        ## 5 · `vmap` composes with `jit` and `grad`

        `jax.jit(jax.vmap(f))` compiles the batched program. `jax.vmap(jax.grad(f))` computes a
        *separate* gradient for every example — something `jax.grad` alone cannot do, because it
        needs a scalar function. A small example: the derivative of `sin` at many points at once.
        ''')

    nb.code(r'''
        xs = jnp.linspace(0.0, jnp.pi, 5)
        print("vmap(grad(sin))(xs) =", jax.vmap(jax.grad(jnp.sin))(xs))
        print("cos(xs)             =", jnp.cos(xs))
        ''')

    nb.md(r'''
        The same idea gives **per-example gradients** of a loss. Take a one-parameter model
        $\hat y = \theta x$ and its squared error for **one** data point. `jax.grad` with respect
        to `theta` gives that point's gradient; `vmap` over the data points (parameters shared,
        `in_axes=None`) gives all of them at once. Their mean is the gradient of the mean loss:
        ''')

    nb.code(r'''
        def point_loss(theta, x, y):               # ONE data point
            return (theta * x - y) ** 2

        xs = jnp.array([1.0, 2.0, 3.0, 4.0])
        ys = jnp.array([2.0, 4.1, 5.9, 20.0])          # the last point is an outlier
        per_point = jax.vmap(jax.grad(point_loss), in_axes=(None, 0, 0))(2.0, xs, ys)
        print("per-point gradients:", per_point, "  <- the outlier pulls hardest")
        mean_loss = lambda theta: jnp.mean(jax.vmap(point_loss, in_axes=(None, 0, 0))(theta, xs, ys))
        print("mean of them:", per_point.mean(), "  grad of the mean loss:", jax.grad(mean_loss)(2.0))
        ''')

    nb.md(r'''
        Per-example gradients are used for gradient clipping (differentially private training),
        influence and outlier diagnostics, and uncertainty estimates; without `vmap` they need a
        loop over the examples.

        ## Exercises

        A small neural network with one hidden layer and a scalar output, written for **one**
        example; then its batched version and its per-example gradients, both by transformation.
        ''')

    nb.exercise(
        "predict",
        r'''
        ### Exercise 1 · `predict(params, x)`: the model for ONE example

        $$\mathrm{predict}(x) = v \cdot \tanh(x\,W + b)$$

        * **input:** `params = {"w": W, "b": b, "v": v}` with `W` of shape `(d, h)`, `b` of shape
          `(h,)` and `v` of shape `(h,)`; a single example `x` of shape `(d,)`; all float32;
        * **output:** a float32 scalar (shape `()`): `v @ tanh(x @ W + b)`.

        Write it for one example only, with no batch axis anywhere: batching is `vmap`'s job.
        ''',
        ans.function("predict", r'''
            One-hidden-layer network for ONE example: v @ tanh(x @ W + b).

            params: {"w": (d, h), "b": (h,), "v": (h,)} float32. x: (d,) float32.
            Returns a float32 scalar (shape ()).
            ''', expect='def predict(params, x):'),
        r'''
        # Visible checks for predict.
        params = {"w": jnp.array([[1.0, 0.0, 0.0],
                                  [0.0, 1.0, 0.0]]),     # d = 2 inputs, h = 3 hidden units
                  "b": jnp.array([0.0, 0.0, 0.5]),
                  "v": jnp.array([1.0, 1.0, 2.0])}
        x = jnp.array([1.0, -2.0])
        # hidden = tanh([1, -2, 0.5]), so predict = tanh(1) + tanh(-2) + 2 * tanh(0.5)
        expected = math.tanh(1.0) + math.tanh(-2.0) + 2 * math.tanh(0.5)
        out = predict(params, x)
        assert jnp.shape(out) == (), f"predict must return a scalar for one example, got shape {jnp.shape(out)}"
        assert np.isclose(out, expected, atol=1e-6), f"predict = {out}, expected v @ tanh(x @ w + b) = {expected:.6f}"

        rng = np.random.default_rng(0)
        p = {"w": rng.standard_normal((4, 6)), "b": rng.standard_normal(6), "v": rng.standard_normal(6)}
        x = rng.standard_normal(4)
        expected = p["v"] @ np.tanh(x @ p["w"] + p["b"])
        got = predict({k: jnp.asarray(a, jnp.float32) for k, a in p.items()}, jnp.asarray(x, jnp.float32))
        # (the tolerance leaves room for GPUs, whose float32 matrix products may use TF32)
        assert np.isclose(got, expected, atol=2e-3), f"d = 4, h = 6: got {got}, expected {expected:.6f} (x @ w, not w @ x)"
        print("predict: all visible checks passed")
        ''')

    nb.exercise(
        "batched_predict",
        r'''
        ### Exercise 2 · `batched_predict(params, xs)`

        Predict a whole batch: `xs` has shape `(n, d)`, the result shape `(n,)`, and entry `i`
        equals `predict(params, xs[i])`. Build it from your `predict` with `jax.vmap`: which
        argument is mapped, and which is shared by every example? No Python loop, no rewriting of
        the maths.
        ''',
        ans.assignment("batched_predict", r'''
            batched_predict(params, xs): xs (n, d) -> (n,), entry i equal to predict(params, xs[i]);
            built from predict with jax.vmap, the same params for every example, no Python loop.
            '''),
        r'''
        # Visible checks for batched_predict.
        assert "batched_predict" in globals(), "batched_predict is not defined yet: fill in and run the cell above"
        k1, k2, k3, k4 = jax.random.split(jax.random.key(1), 4)
        params = {"w": jax.random.normal(k1, (3, 5)), "b": jax.random.normal(k2, (5,)),
                  "v": jax.random.normal(k3, (5,))}
        xs = jax.random.normal(k4, (7, 3))
        out = batched_predict(params, xs)
        assert out.shape == (7,), f"7 examples must give shape (7,), got {out.shape}"
        loop = jnp.stack([predict(params, x) for x in xs])
        assert np.allclose(out, loop, atol=2e-3), "batched_predict(params, xs)[i] must equal predict(params, xs[i])"
        assert batched_predict(params, xs[:1]).shape == (1,), "a batch of one must still give shape (1,)"

        def program_size(n):
            return len(jax.make_jaxpr(batched_predict)(params, jnp.ones((n, 3))).jaxpr.eqns)
        assert program_size(4) == program_size(40), \
            "the traced program grows with the batch size, i.e. a Python loop over examples: use jax.vmap"
        print("batched_predict: all visible checks passed")
        ''')

    nb.exercise(
        "per_example_grads",
        r'''
        ### Exercise 3 · `per_example_grads(params, xs, ys)`

        For every example `i`, the gradient of its own squared error
        `(predict(params, xs[i]) - ys[i])**2` with respect to `params`.

        * **input:** `params` as above, `xs` of shape `(n, d)`, targets `ys` of shape `(n,)`;
        * **output:** a dict with the keys of `params` whose arrays have a leading axis `n`:
          `"w"` of shape `(n, d, h)`, `"b"` `(n, h)`, `"v"` `(n, h)`; entry `[i]` of each is
          example `i`'s gradient.

        Write the loss of *one* example (the skeleton gives its signature), take its `jax.grad`,
        and `jax.vmap` the result, as in section 5.
        ''',
        ans.function("_squared_error", r'''
            Squared error of ONE example: (predict(params, x) - y)**2.

            params as for predict; x: (d,) float32; y: a float32 scalar. Returns a float32 scalar.
            ''', expect='def _squared_error(params, x, y):') + "\n\n\n" + ans.assignment("per_example_grads", r'''
            per_example_grads(params, xs, ys): xs (n, d), ys (n,). The gradient of _squared_error
            with respect to params for each example: a dict shaped like params with a leading
            axis n, i.e. w (n, d, h), b (n, h), v (n, h).
            '''),
        r'''
        # Visible checks for per_example_grads.
        assert "per_example_grads" in globals(), "per_example_grads is not defined yet: fill in and run the cell above"
        k1, k2, k3, k4, k5 = jax.random.split(jax.random.key(2), 5)
        params = {"w": jax.random.normal(k1, (3, 4)), "b": jax.random.normal(k2, (4,)),
                  "v": jax.random.normal(k3, (4,))}
        xs, ys = jax.random.normal(k4, (5, 3)), jax.random.normal(k5, (5,))
        g = per_example_grads(params, xs, ys)
        assert isinstance(g, dict) and set(g) == {"w", "b", "v"}, "return a dict with the keys of params: 'w', 'b', 'v'"
        expected_shapes = {"w": (5, 3, 4), "b": (5, 4), "v": (5, 4)}
        for k, shape in expected_shapes.items():
            assert g[k].shape == shape, (f"g['{k}'] has shape {g[k].shape}, expected {shape}: one gradient per example "
                                         "needs vmap over xs and ys (in_axes 0) with params shared (None)")
        one = jax.grad(lambda p: (predict(p, xs[2]) - ys[2]) ** 2)(params)
        for k in params:
            assert np.allclose(g[k][2], one[k], atol=2e-3), f"g['{k}'][2] is not the gradient of example 2's squared error"
        mean_grad = jax.grad(lambda p: jnp.mean((batched_predict(p, xs) - ys) ** 2))(params)
        for k in params:
            assert np.allclose(g[k].mean(axis=0), mean_grad[k], atol=2e-3), \
                f"the mean of the per-example gradients of '{k}' must equal the gradient of the mean loss"
        print("per_example_grads: all visible checks passed")
        ''')

    nb.md(r'''
        ## Putting it together: loop vs `vmap` vs `jit(vmap)`

        Time `N` predictions three ways: a Python loop over your `predict` (timed on at most 200
        examples and scaled up, because it is slow), your `batched_predict`, and
        `jax.jit(batched_predict)`. On a GPU `N` grows to a million; try ten million there.
        ''')

    nb.code(r'''
        N, D, H = (1_000_000 if ON_GPU else 10_000), 8, 32
        LOOP_N = 200
        k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
        model = {"w": jax.random.normal(k1, (D, H)) / math.sqrt(D), "b": jnp.zeros(H),
                 "v": jax.random.normal(k2, (H,)) / math.sqrt(H)}
        rng = np.random.default_rng(0)

        def batch(m):
            return lambda: (model, jnp.asarray(rng.standard_normal((m, D), dtype=np.float32)))

        def python_loop(params, xs):
            return jnp.stack([predict(params, x) for x in xs])

        predict_jit = jax.jit(predict)
        batched_jit = jax.jit(batched_predict)
        runs = {   # name: (timing, factor to scale it to N examples)
            "Python loop, predict": (time_call(python_loop, batch(LOOP_N), repeats=3), N / LOOP_N),
            "Python loop, jit(predict)": (time_call(lambda p, xs: [predict_jit(p, x) for x in xs],
                                                    batch(LOOP_N), repeats=3), N / LOOP_N),
            "batched_predict (vmap)": (time_call(batched_predict, batch(N), repeats=9), 1.0),
            "jit(batched_predict)": (time_call(batched_jit, batch(N), repeats=9), 1.0),
        }
        base = runs["Python loop, predict"][0].median_s * runs["Python loop, predict"][1]
        print(f"{N:,} predictions, d = {D}, h = {H}, {device_summary()}")
        print(format_table(["", "time for N", "per example", "speed-up"], [
            [name, fmt_time(t.median_s * k), fmt_time(t.median_s * k / N), fmt_speedup(base, t.median_s * k)]
            for name, (t, k) in runs.items()]))
        ''')

    nb.md(r'''
        And a look at what per-example gradients are good for: on data with a few corrupted
        targets, the gradient norms single out the examples that pull the model hardest.
        ''')

    nb.code(r'''
        xs = jax.random.normal(k3, (500, D))
        ys = batched_predict(model, xs) + 0.05 * jax.random.normal(jax.random.key(7), (500,))
        ys = ys.at[:10].add(3.0)                       # corrupt the first 10 targets
        grads = jax.jit(per_example_grads)(model, xs, ys)
        norms = jnp.sqrt(sum(jnp.sum(g.reshape(len(xs), -1) ** 2, axis=1) for g in jax.tree.leaves(grads)))
        print("the 10 largest gradient norms belong to examples", sorted(np.argsort(-np.asarray(norms))[:10].tolist()))

        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(np.asarray(norms[10:]), bins=40, label="clean examples")
        ax.hist(np.asarray(norms[:10]), bins=10, label="corrupted targets")
        ax.set_xlabel("per-example gradient norm")
        ax.set_ylabel("examples")
        ax.legend()
        plt.tight_layout()
        plt.show()
        ''')

    nb.md(r'''
        ## Summary

        * `jax.vmap(f, in_axes=..., out_axes=...)` turns a function of one example into a
          function of a batch; `None` in `in_axes` shares an argument between all examples.
        * It is not a loop: each primitive becomes its batched form, so the result is what you
          would have written by hand — without the axis bugs.
        * It composes: `jit(vmap(f))` for speed, `vmap(grad(loss))` for per-example gradients,
          nested `vmap` for all pairs.

        **Next:** notebook 05 — the heat-equation solver from the earlier workshops, in JAX.
        ''')
    nb.finish(ans)
    return nb


# =========================================================================== 05
def build_05_heat_equation_jax() -> Notebook:
    nb = Notebook("05_heat_equation_jax")
    ans = Answers("heat_equation_jax")

    nb.md(r'''
        # 05 · The heat equation in JAX

        Workshop 3, notebook 5 of 6 — Part 4, the golden examples. First: the 2-D heat-equation
        solver you wrote in NumPy in the earlier workshops, rewritten in JAX.

        1. the problem and the NumPy solver, as you know it;
        2. a porting plan: what changes, what stays;
        3. a worked example in 1-D: a rod, stepped with `.at[...]` and looped with `fori_loop`;
        4. exercises: `heat_step` and `simulate`, the 2-D solver;
        5. the payoff: agreement with NumPy, the temperature field, and a speed comparison.
        ''', HOW_TO)

    nb.code(r'''
        import jax
        import jax.numpy as jnp
        import matplotlib.pyplot as plt
        import numpy as np

        from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

        ON_GPU = jax.default_backend() == "gpu"
        print(f"JAX {jax.__version__} on {device_summary()}")
        ''')

    nb.md(r'''
        ## 1 · The problem

        Heat spreading through a plate with diffusivity $\alpha$:

        $$\frac{\partial u}{\partial t} = \alpha\left(\frac{\partial^2 u}{\partial x^2} + \frac{\partial^2 u}{\partial y^2}\right).$$

        On a uniform grid of spacing $\Delta x$, with time step $\Delta t$, the explicit
        forward-time centred-space (**FTCS**) scheme updates every interior cell from its four
        neighbours:

        $$u^{n+1}_{i,j} = u^n_{i,j} + r\,\bigl(u^n_{i+1,j} + u^n_{i-1,j} + u^n_{i,j+1} + u^n_{i,j-1} - 4\,u^n_{i,j}\bigr), \qquad r = \frac{\alpha\,\Delta t}{\Delta x^2}.$$

        The edges hold fixed temperatures (**Dirichlet** boundary conditions): the first and last
        rows and columns never change. The scheme is stable only for $r \le 1/4$; with a larger
        time step, errors grow exponentially and the solution blows up.

        Here is the NumPy solver from the earlier workshops (the series' golden example), with
        its functions renamed `numpy_...` so that the JAX versions can take the short names:
        ''')

    nb.code(r'''
        def stable_dt(alpha, dx):
            """Largest stable time step of the 2-D FTCS scheme: alpha*dt/dx**2 <= 1/4."""
            return dx**2 / (4 * alpha)


        def check_stability(alpha, dt, dx):
            """Raise ValueError if dt would make the scheme blow up (or the inputs make no sense)."""
            if alpha <= 0 or dx <= 0 or dt <= 0:
                raise ValueError(f"alpha, dt and dx must be positive: alpha={alpha}, dt={dt}, dx={dx}")
            if dt > stable_dt(alpha, dx):
                raise ValueError(f"unstable time step: dt={dt} exceeds dx**2/(4*alpha)={stable_dt(alpha, dx)}")


        def numpy_heat_step(u, alpha, dt, dx):
            """One explicit step. Returns a new array of u's dtype; the edges keep their values."""
            r = alpha * dt / dx**2
            new = u.copy()
            # Slices shifted by one row or column stand for the neighbours u[i+1,j], u[i-1,j], ...
            new[1:-1, 1:-1] = u[1:-1, 1:-1] + r * (
                u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
            )
            return new


        def numpy_solve(u0, alpha, dt, dx, n_steps):
            """The grid after n_steps explicit steps from u0 (which is left unchanged)."""
            check_stability(alpha, dt, dx)
            u = np.array(u0, copy=True)
            for _ in range(n_steps):
                u = numpy_heat_step(u, alpha, dt, dx)
            return u


        def hot_square(ny, nx, hot=100.0, cold=0.0, dtype=np.float32):
            """A hot square over the middle half of the grid; cold elsewhere, edges included."""
            u = np.full((ny, nx), cold, dtype=dtype)
            u[ny // 4 : ny - ny // 4, nx // 4 : nx - nx // 4] = hot
            return u


        u0 = hot_square(64, 64)
        dt = stable_dt(alpha=1.0, dx=1.0)
        final = numpy_solve(u0, alpha=1.0, dt=dt, dx=1.0, n_steps=500)
        print(f"max temperature {u0.max():.1f} -> {final.max():.2f} after 500 steps")
        ''')

    nb.md(r'''
        ## 2 · A porting plan

        | NumPy version | JAX version | why |
        |---|---|---|
        | `np.` functions | `jnp.` functions | so JAX can trace, compile and run on the GPU |
        | `new = u.copy(); new[1:-1, 1:-1] = ...` | `u.at[1:-1, 1:-1].set(...)`, or a whole-array update with `jnp.where` | arrays are immutable (notebook 01) |
        | a plain function | `@jax.jit` on the step | fuse the dozen array operations of a step into one kernel (notebook 02) |
        | `for _ in range(n_steps)` in Python | `jax.lax.fori_loop` inside `jax.jit` | no Python between steps; the whole run is one program |
        | `check_stability` inside `solve` | called in Python, *before* the compiled solver | inside `jit`, `dt` is a tracer: a Python `if dt > ...` cannot run |

        The last row deserves a word. Input validation is still important (a silently exploding
        simulation wastes days), but it belongs in ordinary Python around the compiled kernel,
        where the values are concrete. Keep the compiled part pure arithmetic.

        ### Two ways to write the step

        * **Slice and set** (the textbook port): compute the new interior from four shifted
          slices, then `u.at[1:-1, 1:-1].set(interior)`. A direct translation of the NumPy code.
        * **Whole-array update**: pad `u` with one ring of cells (`jnp.pad`), compute the update
          for *every* cell from shifted views of the padded array, then keep the old values on
          the edges with `jnp.where(interior_mask, updated, u)`. Every operation has the full
          grid's shape, which XLA fuses into a single pass over memory. On large grids on a GPU
          this form can be noticeably faster; on a CPU the two are close.

        Both are correct; the exercise accepts either.

        ## 3 · Worked example: a 1-D rod

        The same scheme in one dimension, $u^{n+1}_i = u^n_i + r\,(u^n_{i+1} - 2u^n_i + u^n_{i-1})$,
        stable for $r \le 1/2$, with both ends held at fixed temperatures. First the step, with
        `.at[...]`:
        ''')

    nb.code(r'''
        def rod_step(u, r):
            """One FTCS step of the 1-D heat equation; both ends keep their values."""
            interior = u[1:-1] + r * (u[2:] - 2 * u[1:-1] + u[:-2])
            return u.at[1:-1].set(interior)

        rod = jnp.zeros(9).at[4].set(1.0)          # a hot spot in the middle of a cold rod
        print(rod_step(rod, 0.25))                 # the spot spreads to its neighbours
        ''')

    nb.md(r'''
        Then the whole run as one compiled program. `fori_loop(0, n_steps, body, u0)` calls
        `body(i, u)` `n_steps` times, each time with the previous result; the loop counter `i`
        is not needed here, hence the `_`. Since `n_steps` is a traced argument, every run
        length below reuses one compilation.
        ''')

    nb.code(r'''
        @jax.jit
        def rod_simulate(u0, r, n_steps):
            return jax.lax.fori_loop(0, n_steps, lambda _, u: rod_step(u, r), u0)

        x = jnp.linspace(0.0, 1.0, 101)
        rod0 = jnp.where(jnp.abs(x - 0.5) < 0.1, 100.0, 0.0)   # hot in the middle, ends at 0

        fig, ax = plt.subplots(figsize=(6, 3))
        for n_steps in [0, 100, 1000, 5000]:
            ax.plot(x, rod_simulate(rod0, 0.4, n_steps), label=f"{n_steps} steps")
        ax.set_xlabel("position along the rod")
        ax.set_ylabel("temperature")
        ax.legend()
        plt.tight_layout()
        plt.show()
        ''')

    nb.md(r'''
        Why not a Python `for` loop inside the jitted function? Its length must be known at trace
        time, so `n_steps` would have to be static, and the loop would be *unrolled*: 5000 copies
        of the step in the program, a long compilation for every new `n_steps`. `fori_loop`
        compiles the step once. (If you need the intermediate states, say every 100th frame of a
        movie, `jax.lax.scan` returns a stacked history as well as the final state.)

        ## Exercises
        ''')

    nb.exercise(
        "heat_step",
        r'''
        ### Exercise 1 · `heat_step(u, alpha, dt, dx)`

        One explicit step of the 2-D scheme in JAX:

        * **input:** the temperature grid `u`, float32 of shape `(ny, nx)` (JAX or NumPy), and
          Python floats `alpha`, `dt`, `dx` (traced scalars when called under `jit`);
        * **output:** a new `(ny, nx)` float32 array: every interior cell updated with the FTCS
          formula, `r = alpha * dt / dx**2`; the first and last rows and columns **keep their
          values** (Dirichlet);
        * no in-place writes: `u` must not change; and it must work under `jax.jit`.

        Port `numpy_heat_step` from section 1, in either style from section 2. The skeleton
        splits the work in two: `_step(u, r)` is the stencil for a given `r`, compiled with
        `@jax.jit`, and `heat_step` computes `r` from `alpha`, `dt`, `dx` and calls it, so that
        one number, not three, goes to the compiled step. You may also write `heat_step` in one
        piece and delete `_step`.
        ''',
        ans.function("_step", r'''
            One FTCS step for a given r = alpha*dt/dx**2 (a helper of heat_step), compiled.

            u: (ny, nx) float32 JAX array. r: a scalar. Returns a new (ny, nx) float32 array:
            interior cells u + r*(u[i+1,j] + u[i-1,j] + u[i,j+1] + u[i,j-1] - 4*u[i,j]),
            first/last rows and columns equal to u's.
            ''', expect="@jax.jit\ndef _step(u, r):") + "\n\n\n" + ans.function("heat_step", r'''
            One explicit FTCS step of the 2-D heat equation; the edges keep their values.

            u: (ny, nx) float32 (JAX or NumPy). alpha, dt, dx: floats (traced under jit).
            Returns a new (ny, nx) float32 array whose interior cells are
            u + alpha*dt/dx**2 * (u[i+1,j] + u[i-1,j] + u[i,j+1] + u[i,j-1] - 4*u[i,j])
            and whose first/last rows and columns equal u's (Dirichlet). u is not modified.
            Works under jax.jit.
            ''', expect="def heat_step(u, alpha, dt, dx):"),
        r'''
        # Visible checks for heat_step.
        u = jnp.zeros((5, 5)).at[2, 2].set(1.0)           # one hot cell in the middle
        new = heat_step(u, 1.0, 0.1, 1.0)                 # r = 0.1
        assert new.shape == u.shape, f"shape changed: got {new.shape}, expected {u.shape}"
        assert new.dtype == jnp.float32, f"dtype is {new.dtype}, expected float32"
        assert np.isclose(new[2, 2], 0.6), f"centre cell: 1 + 0.1 * (0 + 0 + 0 + 0 - 4) = 0.6, got {new[2, 2]}"
        for i, j in [(1, 2), (3, 2), (2, 1), (2, 3)]:
            assert np.isclose(new[i, j], 0.1), f"neighbour ({i}, {j}): 0 + 0.1 * 1 = 0.1, got {new[i, j]}"
        assert np.isclose(float(new.sum()), 1.0), "away from the edges, a step must conserve the total heat"
        assert np.isclose(heat_step(u, 1.0, 0.1, 2.0)[2, 2], 0.9), \
            "with dx = 2 the centre must be 1 - 4 * 0.1 / 4 = 0.9: r = alpha * dt / dx**2 (dx squared)"

        rng = np.random.default_rng(0)
        u_np = rng.uniform(0.0, 100.0, size=(6, 7)).astype(np.float32)   # not square, edges not zero
        before = u_np.copy()
        got = heat_step(u_np, 0.5, 0.3, 1.0)
        assert np.array_equal(u_np, before), "heat_step changed its NumPy input in place: build a new array"
        for name, a, b in [("first row", got[0], u_np[0]), ("last row", got[-1], u_np[-1]),
                           ("first column", got[:, 0], u_np[:, 0]), ("last column", got[:, -1], u_np[:, -1])]:
            assert np.allclose(a, b), f"boundary changed ({name}): Dirichlet edges must keep their values"
        r = 0.5 * 0.3 / 1.0**2
        ref = u_np.astype(np.float64)
        ref[1:-1, 1:-1] += r * (ref[2:, 1:-1] + ref[:-2, 1:-1] + ref[1:-1, 2:] + ref[1:-1, :-2] - 4 * ref[1:-1, 1:-1])
        assert np.allclose(got, ref, atol=1e-3), "interior differs from the FTCS formula on a random 6x7 grid"
        flat = jnp.full((4, 6), 3.0)
        assert np.allclose(heat_step(flat, 1.0, 0.2, 1.0), flat), "a uniform field must not change (its Laplacian is 0)"
        assert np.allclose(jax.jit(heat_step)(u_np, 0.5, 0.3, 1.0), got, atol=1e-5), "heat_step must work under jax.jit"
        print("heat_step: all visible checks passed")
        ''')

    nb.exercise(
        "simulate",
        r'''
        ### Exercise 2 · `simulate(u0, alpha, dt, dx, n_steps)`

        The whole run: the grid after `n_steps` calls of your `heat_step`, starting from `u0`
        (`n_steps = 0` gives back `u0`).

        * **input:** `u0`, float32 `(ny, nx)`; the floats `alpha`, `dt`, `dx`; the int `n_steps`;
        * **output:** the float32 `(ny, nx)` grid after `n_steps` steps;
        * compiled with `jax.jit` (the skeleton is decorated), **with the time loop inside the
          compiled function**: use `jax.lax.fori_loop`, as `rod_simulate` does, so that Python
          is not involved between steps.

        Do not check stability inside `simulate` (`dt` is a tracer there); check before calling
        it, as the cells below do.

        *Optional, for GPUs:* a `fori_loop` whose trip count is a traced value becomes a `while`
        loop, and on a GPU every iteration costs a check on the host. Running a fixed number of
        steps (`_CHUNK`, given in the cell) per iteration, as an inner `fori_loop` of constant
        length, plus the remaining `n_steps % _CHUNK` steps in a second loop, cuts that overhead.
        A plain single `fori_loop` is fine.
        ''',
        ans.function("simulate", r'''
            The heat-equation grid after n_steps explicit steps, the time loop compiled.

            u0: (ny, nx) float32. alpha, dt, dx: floats. n_steps: int (traced: a new value does
            not recompile). Returns the (ny, nx) float32 grid after n_steps calls of heat_step;
            n_steps = 0 returns u0. The loop runs inside the jitted function (lax.fori_loop).
            ''', expect="@jax.jit\ndef simulate(u0, alpha, dt, dx, n_steps):", before=ans.given("_CHUNK")),
        r'''
        # Visible checks for simulate.
        u0 = jnp.zeros((6, 7)).at[2:4, 2:5].set(100.0).at[0, :].set(5.0)   # a hot patch and a warm top edge
        alpha, dt, dx = 1.0, 0.2, 1.0                                      # r = 0.2: stable
        try:
            start = simulate(u0, alpha, dt, dx, 0)
        except jax.errors.TracerIntegerConversionError:
            raise AssertionError("simulate loops over range(n_steps) under @jax.jit, where n_steps is a tracer: "
                                 "use jax.lax.fori_loop") from None
        assert np.array_equal(start, u0), "n_steps = 0 must return u0 unchanged"
        assert np.allclose(simulate(u0, alpha, dt, dx, 1), heat_step(u0, alpha, dt, dx), atol=1e-5), \
            "n_steps = 1 must equal one call of heat_step"
        expected = u0
        for _ in range(25):
            expected = heat_step(expected, alpha, dt, dx)
        got = simulate(u0, alpha, dt, dx, 25)
        assert got.shape == u0.shape and got.dtype == jnp.float32, f"got shape {got.shape}, dtype {got.dtype}"
        assert np.allclose(got, expected, atol=1e-3), "simulate(u0, ..., 25) differs from 25 calls of heat_step"
        assert np.array_equal(got[0], u0[0]) and np.array_equal(got[:, -1], u0[:, -1]), \
            "boundary changed: Dirichlet edges must keep their values for the whole run"
        assert hasattr(simulate, "lower"), "simulate is not compiled: decorate it with @jax.jit"
        program = str(jax.make_jaxpr(simulate, static_argnums=4)(u0, alpha, dt, dx, 25))
        assert "while" in program or "scan" in program, \
            "the compiled program has no loop in it (a Python loop was unrolled): use jax.lax.fori_loop inside simulate"
        print("simulate: all visible checks passed")
        ''')

    nb.md(r'''
        ## The payoff

        ### Does the JAX solver agree with NumPy?

        Same initial condition, same time step, 200 steps; float32 arithmetic summed in a
        different order differs in the last digits, so we compare with a tolerance of 10⁻⁴ of
        the hottest temperature.
        ''')

    nb.code(r'''
        ALPHA, DX = 1.0, 1.0
        DT = stable_dt(ALPHA, DX)           # r = 1/4, the largest stable step
        check_stability(ALPHA, DT, DX)      # in Python, before the compiled solver

        u0_np = hot_square(64, 64)
        reference = numpy_solve(u0_np, ALPHA, DT, DX, 200)
        result = np.asarray(simulate(jnp.asarray(u0_np), ALPHA, DT, DX, 200))
        error = np.max(np.abs(result - reference))
        print(f"max |JAX - NumPy| after 200 steps: {error:.1e}  ->  {'OK' if error < 1e-4 * 100 else 'MISMATCH'}")
        ''')

    nb.md(r'''
        ### The temperature field

        A 128 × 128 plate, hot square in the middle, cold edges: the heat spreads and leaks out
        through the edges. One compilation serves all three run lengths.
        ''')

    nb.code(r'''
        u0 = jnp.asarray(hot_square(128, 128))
        snapshots = {n: simulate(u0, ALPHA, DT, DX, n) for n in [0, 500, 3000]}

        fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), constrained_layout=True)
        for ax, (n, field) in zip(axes, snapshots.items()):
            image = ax.imshow(np.asarray(field), cmap="inferno", vmin=0.0, vmax=100.0, origin="lower")
            ax.set_title(f"after {n} steps (mean {float(field.mean()):.1f})")
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(image, ax=axes, label="temperature", shrink=0.9)
        plt.show()
        ''')

    nb.md(r'''
        ### How much faster?

        Time per step for four versions of the same solver on an `N × N` grid:

        1. **NumPy**, the golden solver;
        2. **JAX without jit**: `simulate` run under `jax.disable_jit()`, so every array operation
           is dispatched from Python one at a time;
        3. **jitted step, Python loop**: `jax.jit(heat_step)` called once per step;
        4. **`simulate`**: the whole loop in one compiled program.

        The slow versions run fewer steps; we compare time *per step*. On this CPU `N` is 256.
        On a GPU the cell switches to `N = 2048`; try `N = 4096` and `STEPS = 10_000` there: the
        stencil is memory-bound, and the GPU's memory bandwidth shows.
        ''')

    nb.code(r'''
        N = 2048 if ON_GPU else 256
        STEPS, BASELINE_STEPS = 2000, (20 if ON_GPU else 50)
        rng = np.random.default_rng(0)
        u_start = hot_square(N, N)

        def fresh(n_steps, on_device):
            """Inputs for one timed run: a slightly different field each time (nothing reused)."""
            def make():
                u = u_start + rng.uniform(0.0, 1.0, size=u_start.shape).astype(np.float32)
                u[0, :] = u[-1, :] = u[:, 0] = u[:, -1] = 0.0
                return (jnp.asarray(u) if on_device else u, ALPHA, DT, DX, n_steps)
            return make

        def eager_loop(u0, alpha, dt, dx, n_steps):
            with jax.disable_jit():
                return simulate(u0, alpha, dt, dx, n_steps)

        heat_step_jit = jax.jit(heat_step)

        def jit_step_loop(u0, alpha, dt, dx, n_steps):
            u = u0
            for _ in range(n_steps):
                u = heat_step_jit(u, alpha, dt, dx)
            return u

        candidates = [   # (name, function, steps per call, inputs on the device?)
            ("NumPy", numpy_solve, BASELINE_STEPS, False),
            ("JAX, no jit", eager_loop, BASELINE_STEPS, True),
            ("jit(heat_step),\nPython loop", jit_step_loop, STEPS, True),
            ("simulate\n(fori_loop in jit)", simulate, STEPS, True),
        ]
        per_step = {}
        for name, fn, k, on_device in candidates:
            per_step[name] = time_call(fn, fresh(k, on_device), repeats=3).median_s / k
        base = per_step["NumPy"]
        print(f"{N} x {N} grid, {device_summary()}")
        print(format_table(["", "per step", "Mcell/s", "vs NumPy"], [
            [name.replace("\n", " "), fmt_time(t), f"{N * N / t / 1e6:.0f}", fmt_speedup(base, t)]
            for name, t in per_step.items()]))
        ''')

    nb.code(r'''
        names = list(per_step)
        fig, ax = plt.subplots(figsize=(7, 3.2))
        bars = ax.barh(names, [per_step[n] * 1e3 for n in names],
                       color=["tab:gray", "tab:red", "tab:blue", "tab:orange"])
        for bar, name in zip(bars, names):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                    f"  {fmt_speedup(base, per_step[name])}", va="center")
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel("time per step (ms, log scale), shorter is better")
        ax.set_title(f"heat equation, {N} x {N} grid ({device_summary()})")
        ax.set_xlim(right=max(per_step.values()) * 1e3 * 8)
        plt.tight_layout()
        plt.show()
        ''')

    nb.md(r'''
        Reading the chart:

        * **JAX without `jit`** dispatches every one of the dozen array operations of a step
          separately, each with a full temporary array. On a CPU that makes it *slower* than
          NumPy; on a GPU it is faster than NumPy, but far behind the compiled versions.
        * **Jitting the step** fuses it into one kernel; calling it from Python still costs a
          dispatch per step, which matters once the step itself is fast.
        * **`simulate`** removes the last Python from the loop. On a GPU this is the version
          whose advantage grows with `N` — for a 4096 × 4096 grid expect it to beat NumPy by
          two to three orders of magnitude.

        ## Summary

        * The port is mechanical: `np` → `jnp`, in-place slice assignment → `.at[...].set` or a
          whole-array `jnp.where`, `@jax.jit` on the step, the time loop in `lax.fori_loop`.
        * Validation (`check_stability`) stays in Python, outside the compiled function.
        * Checked against the NumPy solver, the JAX solver agrees to float32 rounding.

        **Next:** notebook 06 — the neural network, where `jax.grad` replaces a page of
        hand-written backpropagation.
        ''')
    nb.finish(ans)
    return nb


# =========================================================================== 06
def build_06_deep_learning_jax() -> Notebook:
    nb = Notebook("06_deep_learning_jax")
    ans = Answers("deep_learning_jax")

    nb.md(r'''
        # 06 · The neural network in JAX: no more hand-written backprop

        Workshop 3, notebook 6 of 6 — Part 4, the golden examples. Second: the multilayer
        perceptron (MLP) you trained from scratch in NumPy, rewritten in JAX.

        1. the data (handwritten digits) and the NumPy MLP, as you know it;
        2. the building blocks in JAX: parameter pytrees, a stable log-softmax, picking each
           example's class, fixed-shape minibatches, `lax.scan`;
        3. exercises: `init_mlp`, `mlp_forward`, `cross_entropy`, `train_step`, `train_mlp`;
        4. the payoff: `jax.grad` vs the hand-written backward pass, training curves of both
           versions, and their speed.
        ''', HOW_TO)

    nb.code(r'''
        import functools

        import jax
        import jax.numpy as jnp
        import matplotlib.pyplot as plt
        import numpy as np

        from course.digits import load_digits
        from course.timing import device_summary, fmt_speedup, fmt_time, format_table, time_call

        ON_GPU = jax.default_backend() == "gpu"
        print(f"JAX {jax.__version__} on {device_summary()}")
        ''')

    nb.md(r'''
        ## 1 · The data and the NumPy network

        8 × 8 images of handwritten digits (UCI, 1 797 images), flattened to 64 pixel values in
        [0, 1], with a fixed train/test split. `load_digits()` returns NumPy arrays: `x_train`
        `(1438, 64)` float32, `y_train` `(1438,)` int32 in 0–9, and the same for the test set.
        ''')

    nb.code(r'''
        data = load_digits()
        print({name: (a.shape, str(a.dtype)) for name, a in data._asdict().items()})

        fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
        for ax, image, label in zip(axes, data.x_train[:10], data.y_train[:10]):
            ax.imshow(image.reshape(8, 8), cmap="gray_r")
            ax.set_title(str(label))
            ax.axis("off")
        plt.show()
        ''')

    nb.md(r'''
        The golden NumPy MLP from the earlier workshops: ReLU hidden layers, a linear output
        layer, mean softmax cross-entropy, minibatch SGD — and a backward pass written by hand.
        Read `numpy_loss_and_grads` once more: every line of it is what `jax.grad` will do for us.
        ''')

    nb.code(r'''
        def numpy_init_params(rng, sizes):
            """He initialisation (std sqrt(2/fan_in)) and zero biases, float32."""
            return [(rng.standard_normal((m, k), dtype=np.float32) * np.float32(np.sqrt(2.0 / m)),
                     np.zeros(k, dtype=np.float32)) for m, k in zip(sizes[:-1], sizes[1:])]


        def numpy_forward(params, x):
            """Logits, and the cache backprop needs: each layer's input and pre-activation."""
            inputs, pre_activations, h = [], [], x
            for W, b in params[:-1]:
                inputs.append(h)
                z = h @ W + b
                pre_activations.append(z)
                h = np.maximum(z, 0)
            inputs.append(h)
            W, b = params[-1]
            return h @ W + b, {"inputs": inputs, "pre_activations": pre_activations}


        def numpy_loss_and_grads(params, x, labels):
            """Mean softmax cross-entropy and its gradient for every (W, b), by hand."""
            n = x.shape[0]
            logits, cache = numpy_forward(params, x)
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = -log_probs[np.arange(n), labels].mean()
            delta = np.exp(log_probs)                  # d loss / d logits = (softmax - one_hot) / n
            delta[np.arange(n), labels] -= 1
            delta /= n
            grads = [None] * len(params)
            for layer in reversed(range(len(params))):
                W, _ = params[layer]
                grads[layer] = (cache["inputs"][layer].T @ delta, delta.sum(axis=0))
                if layer > 0:                          # back through W, then through the ReLU
                    delta = (delta @ W.T) * (cache["pre_activations"][layer - 1] > 0)
            return loss, grads


        def numpy_sgd_step(params, x, labels, learning_rate):
            """One gradient-descent step on a batch: (new_params, loss before the step)."""
            loss, grads = numpy_loss_and_grads(params, x, labels)
            return [(W - learning_rate * dW, b - learning_rate * db)
                    for (W, b), (dW, db) in zip(params, grads)], loss


        def numpy_accuracy(params, x, labels):
            return float(np.mean(numpy_forward(params, x)[0].argmax(axis=1) == labels))
        ''')

    nb.md(r'''
        ## 2 · Building blocks in JAX

        ### Parameters as a pytree

        The NumPy code already keeps its parameters as a list of `(W, b)` tuples: a pytree
        (notebook 03). `jax.grad` of a loss with respect to that list returns a list of
        `(dW, db)` tuples of the same shapes, and one `jax.tree.map` updates all of them.
        ''')

    nb.code(r'''
        params = numpy_init_params(np.random.default_rng(0), [64, 32, 10])
        print("shapes:", jax.tree.map(np.shape, params))
        print("leaves:", len(jax.tree.leaves(params)), "arrays,",
              sum(p.size for p in jax.tree.leaves(params)), "numbers")
        halved = jax.tree.map(lambda p: p / 2, params)     # same structure, every array halved
        ''')

    nb.md(r'''
        ### A numerically stable log-softmax

        The softmax turns logits $z$ into probabilities $e^{z_c} / \sum_k e^{z_k}$. Computed
        literally, `exp` overflows float32 for logits above ~88 and the loss becomes `nan`. The
        cure is to subtract the largest logit first, which the NumPy code does by hand;
        `jax.nn.log_softmax` does it for you, and its gradient is stable too.
        ''')

    nb.code(r'''
        logits = jnp.array([[1000.0, 0.0, -5.0]])
        naive = jnp.log(jnp.exp(logits) / jnp.exp(logits).sum(axis=1, keepdims=True))
        print("naive log(softmax):", naive)
        print("jax.nn.log_softmax:", jax.nn.log_softmax(logits))
        ''')

    nb.md(r'''
        ### Each example's log-probability of its true class

        The loss needs, for row `i`, the entry `log_probs[i, labels[i]]`. NumPy's
        `log_probs[np.arange(n), labels]` works in JAX as well; `jnp.take_along_axis` says the
        same thing directly, and a one-hot mask is a third way:
        ''')

    nb.code(r'''
        log_probs = jax.nn.log_softmax(jnp.array([[2.0, 0.5, 0.1], [0.2, 0.1, 3.0]]))
        labels = jnp.array([0, 2])
        print(log_probs[jnp.arange(2), labels])
        print(jnp.take_along_axis(log_probs, labels[:, None], axis=1)[:, 0])
        print(jnp.sum(log_probs * jax.nn.one_hot(labels, 3), axis=1))
        ''')

    nb.md(r'''
        ### Minibatches with a fixed shape

        Every new input shape compiles a new program (notebook 02). An epoch of 1 438 examples cut
        into batches of 32 leaves a ragged last batch of 30: a second compilation, and a batch
        weighted differently from the rest. The usual fix: shuffle, then keep
        `n_batches = n // batch_size` full batches and let the few leftover examples sit this
        epoch out — a fresh shuffle next epoch leaves out different ones. A random permutation
        reshaped to `(n_batches, batch_size)` gives the indices of every batch at once:
        ''')

    nb.code(r'''
        n, batch_size = 10, 4
        order = jax.random.permutation(jax.random.key(0), n)
        n_batches = n // batch_size
        batches = order[: n_batches * batch_size].reshape(n_batches, batch_size)
        print("permutation:", order, "\nbatches:\n", batches, "\nleft out this epoch:", order[n_batches * batch_size:])
        ''')

    nb.md(r'''
        ### `lax.scan`: a loop that carries state and collects outputs

        A training epoch is a loop over batches that *carries* the parameters from one step to
        the next and *collects* a loss per step. `jax.lax.scan(f, init, xs)` is exactly that:
        it calls `carry, y = f(carry, x)` for each slice `x` of `xs` along its first axis, and
        returns the final carry and the stacked `y`s — in one compiled loop:

        ```python
        carry = init
        ys = []
        for x in xs:                       # what scan computes, without Python in the loop
            carry, y = f(carry, x)
            ys.append(y)
        return carry, stack(ys)
        ```

        A small example: an exponential moving average of a noisy signal, returning every
        intermediate value.
        ''')

    nb.code(r'''
        def ema_step(average, x):
            new = 0.9 * average + 0.1 * x
            return new, new                     # (carry to the next step, output of this step)

        signal = 1.0 + 0.3 * jax.random.normal(jax.random.key(1), (200,))
        final, history = jax.lax.scan(ema_step, 0.0, signal)
        print("final average:", float(final), "  history shape:", history.shape)
        ''')

    nb.md(r'''
        The `xs` of a scan can be any array, or pytree of arrays, with a common leading axis. For
        an epoch of training it can simply be the `(n_batches, batch_size)` array of batch
        indices from above: each step receives one row of indices, gathers its examples with
        `x[rows]`, and takes an SGD step.

        ## Exercises

        The network maps 64 pixels to 10 logits (one per digit); `sizes = [64, 64, 64, 10]`
        means two hidden layers of 64 units. Build it, its loss, its training step and its
        training loop.
        ''')

    nb.exercise(
        "init_mlp",
        r'''
        ### Exercise 1 · `init_mlp(key, sizes)`

        * **input:** a PRNG key and the layer sizes as a list of ints, e.g. `[64, 128, 10]`
          (64 inputs, one hidden layer of 128 units, 10 outputs);
        * **output:** a list with one `(W, b)` tuple per layer: `W` of shape
          `(sizes[i], sizes[i+1])`, standard-normal entries scaled by He (`sqrt(2 / fan_in)`,
          suited to ReLU) or Glorot (`sqrt(2 / (fan_in + fan_out))`); `b` zeros of shape
          `(sizes[i+1],)`; all float32;
        * every layer draws with its own key split from `key` (never reuse a key), so the same
          `key` always gives the same network.
        ''',
        ans.function("init_mlp", r'''
            Random initial parameters of an MLP with layer sizes `sizes`.

            key: a JAX PRNG key. sizes: list of ints [n_inputs, hidden..., n_outputs].
            Returns a list of (W, b) per layer: W (sizes[i], sizes[i+1]) float32, normal with
            He (sqrt(2/fan_in)) or Glorot scaling; b (sizes[i+1],) float32 zeros. One key per
            layer, split from `key`: the same key gives the same parameters.
            ''', expect='def init_mlp(key, sizes):'),
        r'''
        # Visible checks for init_mlp.
        import math

        params = init_mlp(jax.random.key(0), [4, 8, 3])
        assert isinstance(params, list) and len(params) == 2, \
            f"sizes [4, 8, 3] means 2 layers: expected a list of 2 (W, b) tuples, got {type(params).__name__} of length {len(params)}"
        (W1, b1), (W2, b2) = params
        assert (W1.shape, b1.shape, W2.shape, b2.shape) == ((4, 8), (8,), (8, 3), (3,)), \
            f"W is (sizes[i], sizes[i+1]) and b is (sizes[i+1],); got {W1.shape}, {b1.shape}, {W2.shape}, {b2.shape}"
        assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params)), "all parameters must be float32"
        assert not np.any(b1) and not np.any(b2), "biases must start at zero"

        big = init_mlp(jax.random.key(1), [256, 512, 10])
        std = float(big[0][0].std())
        he, glorot = math.sqrt(2 / 256), math.sqrt(2 / (256 + 512))
        assert 0.8 * glorot < std < 1.2 * he, \
            f"first-layer W has std {std:.4f}: scale normal samples by He sqrt(2/fan_in) = {he:.4f} or Glorot sqrt(2/(fan_in+fan_out)) = {glorot:.4f}"
        square = init_mlp(jax.random.key(2), [5, 5, 5])
        assert not np.allclose(square[0][0], square[1][0]), "two layers got identical weights: split the key, one per layer"
        again = init_mlp(jax.random.key(0), [4, 8, 3])
        assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(again))), \
            "the same key must give the same parameters: draw only with keys split from `key`"
        print("init_mlp: all visible checks passed")
        ''')

    nb.exercise(
        "mlp_forward",
        r'''
        ### Exercise 2 · `mlp_forward(params, x)`

        * **input:** `params` from `init_mlp` (a list of `(W, b)`), a batch `x` of shape
          `(n, sizes[0])`;
        * **output:** the logits, shape `(n, sizes[-1])`: each layer computes `h @ W + b`, and a
          ReLU (`jax.nn.relu`) follows every layer **except the last** (logits may be negative).

        No cache is needed: JAX records what the backward pass needs by itself.
        ''',
        ans.function("mlp_forward", r'''
            The MLP's logits for a batch.

            params: list of (W, b) from init_mlp. x: (n, sizes[0]) float32.
            Returns (n, sizes[-1]) float32 logits: h -> h @ W + b for every layer, with a ReLU
            after every layer except the last.
            ''', expect='def mlp_forward(params, x):'),
        r'''
        # Visible checks for mlp_forward.
        eye = jnp.eye(3)
        x = jnp.array([[1.0, -2.0, 3.0]])
        one_layer = [(eye, jnp.zeros(3))]
        assert np.allclose(mlp_forward(one_layer, x), x), \
            "with a single identity layer the logits are x itself: no ReLU after the last layer (logits may be negative)"
        two_layers = [(eye, jnp.zeros(3)), (eye, jnp.array([0.0, 0.0, 1.0]))]
        assert np.allclose(mlp_forward(two_layers, x), [[1.0, 0.0, 4.0]]), \
            "two identity layers: relu(x) + b2 = [1, 0, 4]; a ReLU between the layers, the bias added"

        rng = np.random.default_rng(0)
        sizes = [6, 5, 4, 3]
        p = [(rng.standard_normal((m, k)), rng.standard_normal(k)) for m, k in zip(sizes[:-1], sizes[1:])]
        xs = rng.standard_normal((7, 6))
        h = xs
        for W, b in p[:-1]:
            h = np.maximum(h @ W + b, 0)
        expected = h @ p[-1][0] + p[-1][1]
        got = mlp_forward([(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32)) for W, b in p],
                          jnp.asarray(xs, jnp.float32))
        assert got.shape == (7, 3), f"logits must have shape (n, sizes[-1]) = (7, 3), got {got.shape}"
        # (the tolerance leaves room for GPUs, whose float32 matrix products may use TF32)
        assert np.allclose(got, expected, rtol=2e-3, atol=2e-3), "three layers: logits differ from relu(relu(x W1 + b1) W2 + b2) W3 + b3"
        print("mlp_forward: all visible checks passed")
        ''')

    nb.exercise(
        "cross_entropy",
        r'''
        ### Exercise 3 · `cross_entropy(params, x, labels)`

        * **input:** `params`, a batch `x` of shape `(n, sizes[0])`, and integer class labels
          `labels` of shape `(n,)` with values in `0 … sizes[-1]-1`;
        * **output:** a float32 scalar, the mean over the batch of
          `-log_softmax(logits)[i, labels[i]]`.

        Use `jax.nn.log_softmax`, not `log(exp(z) / sum(exp(z)))`, which overflows for large
        logits (section 2).
        ''',
        ans.function("cross_entropy", r'''
            Mean softmax cross-entropy of the MLP on a labelled batch.

            params: list of (W, b). x: (n, sizes[0]) float32. labels: (n,) integer class ids.
            Returns a float32 scalar: mean over i of -log_softmax(mlp_forward(params, x))[i, labels[i]].
            Numerically stable for large logits.
            ''', expect='def cross_entropy(params, x, labels):'),
        r'''
        # Visible checks for cross_entropy.
        import math

        x = jnp.array([[2.0, 0.0, 0.0]])
        identity = [(jnp.eye(3), jnp.zeros(3))]            # logits = x
        loss = cross_entropy(identity, x, jnp.array([0]))
        expected = math.log(1 + 2 * math.exp(-2.0))         # -log(e^2 / (e^2 + 1 + 1))
        assert jnp.shape(loss) == (), f"the loss must be a scalar, got shape {jnp.shape(loss)}: average over the batch"
        assert np.isclose(loss, expected, atol=1e-6), f"logits [2, 0, 0], label 0: loss {loss}, expected -log softmax = {expected:.6f}"
        assert np.isclose(cross_entropy(identity, x, jnp.array([1])), 2 + expected, atol=1e-5), \
            "label 1 must pick the log-probability of class 1: index the log-softmax with the labels"
        zeros = [(jnp.zeros((3, 4)), jnp.zeros(4))]
        assert np.isclose(cross_entropy(zeros, jnp.ones((5, 3)), jnp.array([0, 1, 2, 3, 0])), math.log(4), atol=1e-6), \
            "all logits equal: every class has probability 1/4 and the loss is log 4; is it a mean over the batch?"
        twice = jnp.concatenate([x, x])
        assert np.isclose(cross_entropy(identity, twice, jnp.array([0, 0])), expected, atol=1e-6), \
            "two copies of the same example must give the same loss as one: take the mean, not the sum"
        huge = cross_entropy([(1000.0 * jnp.eye(3), jnp.zeros(3))], jnp.array([[1.0, 0.0, -1.0]]), jnp.array([2]))
        assert np.isfinite(huge) and np.isclose(huge, 2000.0, rtol=1e-4), \
            f"logits [1000, 0, -1000]: the loss must be 2000, got {huge}; use jax.nn.log_softmax"
        print("cross_entropy: all visible checks passed")
        ''')

    nb.exercise(
        "train_step",
        r'''
        ### Exercise 4 · `train_step(params, x, labels, learning_rate)`

        One step of stochastic gradient descent on a minibatch, compiled:

        * **output:** a tuple `(new_params, loss)`: `new_params` is
          `params − learning_rate · ∇ cross_entropy(params, x, labels)` for every `W` and `b`,
          with the same structure as `params`; `loss` is the loss **before** the step;
        * get the loss and the gradient in one pass with `jax.value_and_grad`, update every
          leaf with `jax.tree.map`;
        * it is decorated with `@jax.jit`: forward pass, backward pass and update become one
          compiled program.
        ''',
        ans.function("train_step", r'''
            One jit-compiled SGD step on a minibatch.

            params: list of (W, b). x: (batch, sizes[0]) float32. labels: (batch,) ints.
            learning_rate: float (traced). Returns (new_params, loss): new_params has params'
            structure, each leaf p - learning_rate * d cross_entropy / d p; loss is the
            cross-entropy BEFORE the step.
            ''', expect='@jax.jit\ndef train_step(params, x, labels, learning_rate):'),
        r'''
        # Visible checks for train_step.
        params = init_mlp(jax.random.key(0), [4, 8, 3])
        x = jax.random.normal(jax.random.key(1), (16, 4))
        labels = jnp.arange(16) % 3
        new_params, loss = train_step(params, x, labels, 0.1)
        assert np.isclose(loss, cross_entropy(params, x, labels), atol=1e-4), \
            "the returned loss must be the loss BEFORE the step, at the old params"
        assert jax.tree.structure(new_params) == jax.tree.structure(params), \
            "new_params must have the structure of params: a list of (W, b) tuples (jax.tree.map keeps it)"
        grads = jax.grad(cross_entropy)(params, x, labels)
        for p, g, q in zip(jax.tree.leaves(params), jax.tree.leaves(grads), jax.tree.leaves(new_params)):
            assert np.allclose(q, p - 0.1 * g, atol=1e-4), \
                "each parameter must become p - learning_rate * gradient: check the sign and the learning rate"
        for _ in range(30):
            params, last = train_step(params, x, labels, 0.5)
        assert last < loss, f"30 steps on one batch should lower the loss: {float(loss):.3f} -> {float(last):.3f}"
        assert hasattr(train_step, "lower"), "train_step is not compiled: decorate it with @jax.jit"
        print("train_step: all visible checks passed")
        ''')

    nb.exercise(
        "train_mlp",
        r'''
        ### Exercise 5 · `train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate)`

        Minibatch SGD from start to finish:

        1. split `key`: one key for `init_mlp`, another for the shuffling;
        2. in each of the `epochs` epochs, draw a fresh permutation of the `n` examples
           (`jax.random.permutation`, a new key every epoch, all taken from `key`) and cut it
           into `n // batch_size` minibatches of exactly `batch_size` examples, dropping the
           leftover (section 2);
        3. run your `train_step` on every minibatch;
        4. return the trained `params`.

        `x` is `(n, d)` float32 and `labels` `(n,)` ints (JAX or NumPy); `sizes`, `epochs` and
        `batch_size` are ints, `learning_rate` a float. The skeleton offers a helper,
        `_train_epoch`, that does one whole epoch (shuffle, cut into batches, `lax.scan` of
        `train_step` over them) as a single compiled program instead of one Python call per
        minibatch; `batch_size` is a static argument there because it fixes array shapes. Fill
        it in and use it, or write the epoch as a Python loop over batches first and come back
        to the helper when that works.
        ''',
        ans.function("_train_epoch", r'''
            One epoch as one compiled program: shuffle, cut into batches, lax.scan of train_step.

            params: list of (W, b). key: PRNG key for this epoch's shuffle. x: (n, d) float32.
            labels: (n,) ints. learning_rate: float. batch_size: int (static).
            Uses the n // batch_size full batches of a random permutation (the leftover
            examples sit this epoch out). Returns (params after the epoch, losses (n_batches,)).
            ''', expect="def _train_epoch(params, key, x, labels, learning_rate, batch_size):") + "\n\n\n" + ans.function("train_mlp", r'''
            Train an MLP with minibatch SGD.

            key: JAX PRNG key. x: (n, d) float32, labels: (n,) ints (JAX or NumPy).
            sizes: layer sizes (sizes[0] == d). epochs, batch_size: ints. learning_rate: float.
            Starts from init_mlp with a key taken from `key`; every epoch reshuffles with a new
            key taken from `key` and runs train_step on n // batch_size full minibatches.
            Returns the trained params (a list of (W, b)). The same key gives the same result.
            ''', expect="def train_mlp(key, x, labels, sizes, epochs, batch_size, learning_rate):"),
        r'''
        # Visible checks for train_mlp: three well-separated blobs in 2-D, easy for an MLP.
        rng = np.random.default_rng(0)
        centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]], dtype=np.float32)
        blob_labels = rng.integers(0, 3, size=300).astype(np.int32)
        blobs = centres[blob_labels] + rng.standard_normal((300, 2)).astype(np.float32)

        trained = train_mlp(jax.random.key(0), blobs, blob_labels, [2, 16, 3], 20, 32, 0.1)
        assert isinstance(trained, list) and len(trained) == 2, "return the params: a list of (W, b), one per layer"
        assert trained[0][0].shape == (2, 16) and trained[1][0].shape == (16, 3), "parameter shapes must follow sizes"
        accuracy = float(np.mean(np.argmax(np.asarray(mlp_forward(trained, jnp.asarray(blobs))), axis=1) == blob_labels))
        assert accuracy > 0.9, \
            f"training accuracy {accuracy:.2f} on three separated blobs, expected > 0.9: does every epoch run train_step on every minibatch?"
        again = train_mlp(jax.random.key(0), blobs, blob_labels, [2, 16, 3], 20, 32, 0.1)
        assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(trained), jax.tree.leaves(again))), \
            "the same key must give the same trained params: take every random key from `key`"
        other = train_mlp(jax.random.key(1), blobs, blob_labels, [2, 16, 3], 20, 32, 0.1)
        assert not np.allclose(other[0][0], trained[0][0]), "a different key must give a different network"
        print("train_mlp: all visible checks passed")
        ''')

    nb.md(r'''
        ## The payoff

        ### `jax.grad` agrees with the hand-written backward pass

        Same parameters, same batch: the gradients of your `cross_entropy` from `jax.grad` and the
        gradients from `numpy_loss_and_grads` should agree to float32 rounding, about 10⁻⁷. On a
        recent NVIDIA GPU the default gap is closer to 10⁻³: there, float32 matrix products use
        TensorFloat-32 unless told otherwise (notebook 01). The second line repeats the check
        with full float32 matrix products.
        ''')

    nb.code(r'''
        SIZES = [64, 64, 64, 10]
        np_params = numpy_init_params(np.random.default_rng(0), SIZES)
        batch_x, batch_y = data.x_train[:128], data.y_train[:128]

        np_loss, np_grads = numpy_loss_and_grads(np_params, batch_x, batch_y)
        print(f"NumPy loss {np_loss:.6f}")

        def compare(label):
            jax_loss, jax_grads = jax.value_and_grad(cross_entropy)(
                jax.tree.map(jnp.asarray, np_params), jnp.asarray(batch_x), jnp.asarray(batch_y))
            gap = max(float(np.max(np.abs(np.asarray(j) - n)))
                      for j, n in zip(jax.tree.leaves(jax_grads), jax.tree.leaves(np_grads)))
            print(f"{label:32s} JAX loss {float(jax_loss):.6f}, max |jax.grad - backprop| {gap:.1e}")

        compare("default matmul precision:")
        with jax.default_matmul_precision("highest"):
            compare('precision "highest":')
        ''')

    nb.md(r'''
        ### Training both, epoch by epoch

        The NumPy network with its own training loop, and the JAX network with your `init_mlp`
        and `train_step`, called from a Python loop so that we can record the mean training loss
        and the test accuracy after every epoch.
        ''')

    nb.code(r'''
        EPOCHS, BATCH, LR = 30, 32, 0.1
        x_train, y_train = jnp.asarray(data.x_train), jnp.asarray(data.y_train)   # on the device, once
        x_test, y_test = jnp.asarray(data.x_test), jnp.asarray(data.y_test)
        n_batches = len(x_train) // BATCH

        @jax.jit
        def accuracy(params, x, labels):
            return jnp.mean(jnp.argmax(mlp_forward(params, x), axis=1) == labels)

        curves = {"NumPy (hand-written backprop)": ([], []), "JAX (jax.grad, jit)": ([], [])}

        rng = np.random.default_rng(0)
        np_params = numpy_init_params(rng, SIZES)
        key, init_key = jax.random.split(jax.random.key(0))
        params = init_mlp(init_key, SIZES)
        for epoch in range(EPOCHS):
            order = rng.permutation(len(data.x_train))[: n_batches * BATCH].reshape(n_batches, BATCH)
            losses = []
            for idx in order:
                np_params, loss = numpy_sgd_step(np_params, data.x_train[idx], data.y_train[idx], LR)
                losses.append(loss)
            curves["NumPy (hand-written backprop)"][0].append(np.mean(losses))
            curves["NumPy (hand-written backprop)"][1].append(numpy_accuracy(np_params, data.x_test, data.y_test))

            key, epoch_key = jax.random.split(key)
            order = jax.random.permutation(epoch_key, len(x_train))[: n_batches * BATCH].reshape(n_batches, BATCH)
            losses = []
            for idx in order:
                params, loss = train_step(params, x_train[idx], y_train[idx], LR)
                losses.append(loss)
            curves["JAX (jax.grad, jit)"][0].append(float(jnp.mean(jnp.stack(losses))))
            curves["JAX (jax.grad, jit)"][1].append(float(accuracy(params, x_test, y_test)))

        for name, (losses, accs) in curves.items():
            print(f"{name:31s} final training loss {losses[-1]:.4f}, test accuracy {accs[-1]:.3f}")

        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
        epochs = np.arange(1, EPOCHS + 1)
        for name, (losses, accs) in curves.items():
            ax_loss.plot(epochs, losses, label=name)
            ax_acc.plot(epochs, accs, label=name)
        ax_loss.set(xlabel="epoch", ylabel="mean training loss", yscale="log", title="training loss")
        ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy")
        for ax in (ax_loss, ax_acc):
            ax.grid(alpha=0.3)
            ax.legend()
        plt.show()
        ''')

    nb.md(r'''
        The two curves are not identical (different random initialisations and shuffles), but
        they behave the same way: the same model, trained the same way — without a single line
        of backward pass in the JAX version.

        ### Your `train_mlp`, end to end
        ''')

    nb.code(r'''
        trained = train_mlp(jax.random.key(0), x_train, y_train, SIZES, EPOCHS, BATCH, LR)
        print(f"train_mlp, {EPOCHS} epochs: test accuracy {float(accuracy(trained, x_test, y_test)):.3f}")
        ''')

    nb.md(r'''
        ### Time per epoch

        Three ways to run one epoch: the NumPy loop, your jitted `train_step` called once per
        minibatch from Python, and your `train_mlp` (whose epoch, if you used `_train_epoch`, is
        a single compiled `lax.scan`), timed over 5 epochs and divided by 5.

        This network is tiny (~9 000 parameters, batches of 32), so on any device the time goes
        into per-call overheads rather than arithmetic: the fewer trips through Python, the
        faster. Do not be surprised if the Python loop of jitted steps loses to NumPy on a CPU:
        each minibatch pays a JAX dispatch for the gather `x_train[idx]` and another for the
        step, which costs more than NumPy's whole step on such small matrices. One compiled
        epoch pays those costs once. On a GPU try `HIDDEN = 2048` and `BATCH = 256`: the matrix
        products then become big enough for the GPU's arithmetic to show.
        ''')

    nb.code(r'''
        HIDDEN = 64                                  # on a GPU try 2048 (with BATCH = 256)
        sizes = [64, HIDDEN, HIDDEN, 10]
        n_batches = len(x_train) // BATCH
        rng = np.random.default_rng(1)
        seeds = iter(range(1000))

        def numpy_epoch(params):
            order = rng.permutation(len(data.x_train))[: n_batches * BATCH].reshape(n_batches, BATCH)
            for idx in order:
                params, _ = numpy_sgd_step(params, data.x_train[idx], data.y_train[idx], LR)
            return params

        def jax_loop_epoch(params, key):
            order = jax.random.permutation(key, len(x_train))[: n_batches * BATCH].reshape(n_batches, BATCH)
            for idx in order:
                params, _ = train_step(params, x_train[idx], y_train[idx], LR)
            return params

        def fresh_jax():
            k1, k2 = jax.random.split(jax.random.key(next(seeds)))
            return init_mlp(k1, sizes), k2

        per_epoch = {
            "NumPy": time_call(numpy_epoch, lambda: (numpy_init_params(rng, sizes),), repeats=5).median_s,
            "jit(train_step),\nPython loop": time_call(jax_loop_epoch, fresh_jax, repeats=5).median_s,
            "train_mlp": time_call(lambda k: train_mlp(k, x_train, y_train, sizes, 5, BATCH, LR),
                                   lambda: (jax.random.key(next(seeds)),), repeats=3).median_s / 5,
        }
        base = per_epoch["NumPy"]
        print(f"network {'-'.join(map(str, sizes))}, batch {BATCH}, {device_summary()}")
        print(format_table(["", "per epoch", "vs NumPy"], [
            [name.replace("\n", " "), fmt_time(t), fmt_speedup(base, t)] for name, t in per_epoch.items()]))
        ''')

    nb.md(r'''
        ## Summary

        * The JAX MLP is the NumPy MLP minus its backward pass: parameters as a pytree,
          `mlp_forward` and `cross_entropy` as plain functions, and `jax.value_and_grad` for the
          gradients — checked against the hand-written backprop.
        * `@jax.jit` on the training step compiles forward pass, backward pass and update into one
          program; `lax.scan` can compile a whole epoch.
        * Fixed-shape minibatches (drop the ragged remainder) keep it to one compilation, and
          explicit keys make the whole training run reproducible from one seed.

        That completes Workshop 3: the same two golden examples, now running on CPU or GPU from
        the same code, faster, and checked against the originals.
        ''')
    nb.finish(ans)
    return nb


BUILDERS = [
    build_01_jax_intro,
    build_02_jax_jit,
    build_03_jax_grad,
    build_04_jax_vmap,
    build_05_heat_equation_jax,
    build_06_deep_learning_jax,
]


def main() -> None:
    for build in BUILDERS:
        path = build().write()
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
