"""A corpus of real code: cases re-typed after named public JAX sources, wrapped at the signature.

A new user of the assignment rarely writes every line: they follow the JAX README, the JAX docs'
tutorials, a GPU course's stencil or a model library's activation, and adapt the call. Each
``Case`` here is such a notebook. Its code is re-typed after a named public ``Source``
(repository or page, file and section, the commit of the version followed): written here, in
our own words and layout, not copied (a rule of this workplace forbids committing code copied
from public repositories), but reproducing the source's approach and idioms, and so its
behaviour: the same algorithmic choices, the same helpers by the same names, the same
deviations from our contract. ``Case.retyped`` says in one line what each case reproduces.

A *wrapper* beside the re-typed code maps the source's call onto SPEC.md's signature and
changes nothing else: renames, argument order, the layout of the parameters (a list of
``(W, b)`` with ``W (n_out, n_in)`` for ``jnp.dot(W, a)`` becomes the exercise's
``W (n_in, n_out)``, the same numbers transposed) and the arguments the source's own caller
computes (``dx**2`` for the ENCCS stencil's ``dx2``). Nothing is fixed: where the source
differs from the contract, the case says which exercises lose points and what the graders'
message must say about the deviation.

The notebook of a case is the release notebook as a student fills it in: every solution cell
holds the instructor's solution (``instructor/samples.py``'s "alice"), except the cells the case
names, which hold the case's code. The lesson's own cells therefore run too, after the student's,
and they must not rebind the helpers the source's code looks up when the graders call it
(``helpers``): that is the namespace rule this corpus proves end to end.

``tests/test_real_code.py`` grades every case on CPU with the real graders and sandbox.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat

from instructor import samples
from instructor.lesson_namespace import top_level_bindings
from tests.conftest import REPO
from tests.corpus.cases import GRADED_NAMES


@dataclasses.dataclass(frozen=True)
class Source:
    """A public source, and the code re-typed after it (ours: nothing in it is copied)."""

    name: str
    where: str  # the repository, or the site of the page
    path: str  # the file, and the section the code follows
    version: str  # the commit of the version followed, with its date
    url: str
    code: str


@dataclasses.dataclass(frozen=True)
class Case:
    """A notebook: the release, solved by the instructor's answers, with ``cells`` replaced.

    ``cells`` maps a solution cell's id (``<exercise>_solution``) to the code put there: the
    code re-typed after the sources and the wrapper. ``retyped`` says in one line, "re-typed
    after ...: ...", which idiom of the source the code reproduces. ``lose`` lists (exercise,
    fragment): the exercise loses points, and one of its failed tests says ``fragment`` (the
    deviation, named; for an exercise that only inherits another's deviation, what its message
    says now). Every other exercise of the notebook keeps every point on a CPU runner.
    ``helpers`` are the globals the source's code looks up when the graders
    call it, with the exercises that reach them: no lesson cell may rebind them. ``gpu`` says
    what the speed tests, which run only on a GPU, must give.
    """

    name: str
    stem: str
    sources: tuple[Source, ...]
    retyped: str
    cells: dict[str, str]
    tests: str  # what the case is about, in words
    lose: tuple[tuple[str, str], ...] = ()
    helpers: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    gpu: str = ""

    @property
    def losing(self) -> frozenset[str]:
        return frozenset(ex for ex, _ in self.lose)

    @property
    def keep(self) -> frozenset[str]:
        return GRADED_NAMES[self.stem] - self.losing

    @property
    def full_marks(self) -> bool:
        return self.keep == GRADED_NAMES[self.stem]


def notebook(case: Case, *, release: Path = REPO / "release", source: Path = REPO / "source"):
    """The case's notebook (an nbformat node): the release with every solution cell solved,
    the case's cells holding its code."""
    nb = samples.sample_notebook(case.stem, "alice", release=release, source=source)
    by_id = {cell.get("id"): cell for cell in nb.cells}
    for cell_id, code in case.cells.items():
        cell = by_id.get(cell_id)
        if cell is None or not cell.metadata.get("nbgrader", {}).get("solution"):
            raise LookupError(f"{case.name}: the release of {case.stem} has no solution cell {cell_id!r}")
        cell.source = code
    nbformat.validate(nb)
    return nb


def top_level_names(source: str) -> set[str]:
    """The globals a cell binds (the lesson build's rule, instructor/lesson_namespace.py); a cell
    that does not parse binds nothing we can tell."""
    try:
        return top_level_bindings(source)
    except SyntaxError:
        return set()


def rebound_helpers(case: Case, nb) -> list[tuple[str, str]]:
    """(helper, cell id) for every cell after the case's code that binds one of its helpers
    again, so that the graders would call the re-typed code with the lesson's value instead."""
    cells = [c for c in nb.cells if c.cell_type == "code"]
    found = []
    for helper in case.helpers:
        defining = [i for i, c in enumerate(cells)
                    if c.get("id") in case.cells and helper in top_level_names(c.source)]
        if not defining:
            raise LookupError(f"{case.name}: no cell of the case defines its helper {helper!r}")
        found += [(helper, c.get("id")) for c in cells[defining[-1] + 1:] if helper in top_level_names(c.source)]
    return found


def _cell(*parts: str) -> str:
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


# ==============================================================================================
# The sources, and the code re-typed after each (our own text; same approach, same behaviour)

JAX_README = Source(
    name="JAX README: the opening example (per-example gradients)",
    where="github.com/jax-ml/jax",
    path="README.md, the opening code block (and the vmap section's `vmap(predict, in_axes=(None, 0))`)",
    version="cec06d116c05f0d52adfceee3d3b730fdbcb0ce5 (2026-08-08; README.md last changed in a6e29f5e, "
            "2026-06-23)",
    url="https://github.com/jax-ml/jax/blob/main/README.md",
    code='''
# Re-typed after the opening example of the JAX README (https://github.com/jax-ml/jax):
# a tanh network over a list of (W, b) layers, a summed squared error, and per-example
# gradients from jit(vmap(grad(loss), in_axes=(None, 0, 0))).
import jax
import jax.numpy as jnp


def predict(layers, a):
    # tanh after every layer, but what is returned is the last layer's pre-activation
    for weight, bias in layers:
        z = jnp.dot(a, weight) + bias
        a = jnp.tanh(z)
    return z


def loss(layers, a, target):
    # `predict` is looked up when loss runs, not when it is defined
    return jnp.sum((predict(layers, a) - target) ** 2)


grad_of_loss = jax.jit(jax.grad(loss))
# params shared by all examples (None), inputs and targets split along axis 0
grads_per_example = jax.jit(jax.vmap(grad_of_loss, in_axes=(None, 0, 0)))
''')

JAX_TFDS_TUTORIAL = Source(
    name='JAX docs: "Training a simple neural network, with tensorflow/datasets data loading"',
    where="github.com/jax-ml/jax (docs.jax.dev)",
    path="docs/notebooks/neural_network_with_tfds_data.md, sections Hyperparameters, "
         "Auto-batching predictions, Utility and loss functions",
    version="cec06d116c05f0d52adfceee3d3b730fdbcb0ce5 (2026-08-08; the file last changed in e02faabf, 2025-04-08)",
    url="https://docs.jax.dev/en/latest/notebooks/neural_network_with_tfds_data.html",
    code='''
# Re-typed after the JAX docs' MNIST tutorial with tensorflow/datasets loading
# (docs/notebooks/neural_network_with_tfds_data.md in https://github.com/jax-ml/jax).
# Its choices, kept: every layer is (W of shape (n_out, n_in), b), weights AND biases drawn
# from a standard normal times 0.01; predict handles one example, applies jnp.dot(W, a) and
# returns log-probabilities (logits minus their logsumexp); vmap batches it; the loss is
# -mean(log-probabilities * one-hot targets), a mean over the classes as well as the examples.
import jax.numpy as jnp
from jax import random, vmap
from jax.scipy.special import logsumexp


def random_layer_params(n_in, n_out, key, scale=0.01):
    key_w, key_b = random.split(key)
    weight = scale * random.normal(key_w, (n_out, n_in))
    bias = scale * random.normal(key_b, (n_out,))
    return weight, bias


def init_network_params(layer_sizes, key):
    # one key per entry of layer_sizes; the last one goes unused
    layer_keys = random.split(key, len(layer_sizes))
    fan = zip(layer_sizes[:-1], layer_sizes[1:])
    return [random_layer_params(n_in, n_out, k) for (n_in, n_out), k in zip(fan, layer_keys)]


def relu(z):
    return jnp.maximum(0, z)


def predict(params, x):
    # a single example; the batch axis comes from vmap below
    h = x
    for weight, bias in params[:-1]:
        h = relu(jnp.dot(weight, h) + bias)
    weight, bias = params[-1]
    logits = jnp.dot(weight, h) + bias
    log_probs = logits - logsumexp(logits)  # normalised here, not in the loss
    return log_probs


batched_predict = vmap(predict, in_axes=(None, 0))


def one_hot(labels, k, dtype=jnp.float32):
    """Rows of k zeros with a 1 at each label."""
    return jnp.array(labels[:, None] == jnp.arange(k), dtype)


def loss(params, batch, targets):
    # a mean over all n * k entries: examples and classes
    return -jnp.mean(batched_predict(params, batch) * targets)
''')

JAX_PYTREES = Source(
    name='JAX docs: "Pytrees", example of jax.tree.map with ML model parameters',
    where="github.com/jax-ml/jax (docs.jax.dev)",
    path="docs/pytrees.md, section \"Example of jax.tree.map with ML model parameters\" (the forward pass)",
    version="cec06d116c05f0d52adfceee3d3b730fdbcb0ce5 (2026-08-08; the file last changed in 54e90711, 2026-06-02)",
    url="https://docs.jax.dev/en/latest/pytrees.html",
    code='''
# Re-typed after the forward pass of the JAX docs' "Pytrees" page (docs/pytrees.md in
# https://github.com/jax-ml/jax): layers are dicts {"weights", "biases"}, split off the last
# one with star-unpacking, ReLU after each hidden layer and raw logits out.
import jax


def forward(params, h):
    *hidden_layers, output_layer = params
    for layer in hidden_layers:
        h = jax.nn.relu(h @ layer["weights"] + layer["biases"])
    return h @ output_layer["weights"] + output_layer["biases"]
''')

ENCCS_STENCIL = Source(
    name='ENCCS/CSC course "GPU programming: why, when and how?": the JAX heat-equation stencil',
    where="github.com/ENCCS/gpu-programming",
    path="content/examples/stencil/python-jax/core.py, _evolve (the stencil kernel)",
    version="87fab1cb29329f6fcf5bf592b96b22ca1c61cec6 (2025-11-27; core.py last changed in 52a53569, 2025-11-26)",
    url="https://github.com/ENCCS/gpu-programming/blob/main/content/examples/stencil/python-jax/core.py",
    code='''
# Re-typed after the JAX stencil kernel of the ENCCS/CSC GPU programming course
# (content/examples/stencil/python-jax/core.py in https://github.com/ENCCS/gpu-programming):
# a jitted function of the two grids, the diffusivity, the time step and the squared cell
# sizes, which builds the 5-point Laplacian from shifted slices of the old grid and writes the
# interior into the new one with .at[1:-1, 1:-1].set, leaving its edges as they are.
import jax
import jax.numpy as jnp


@jax.jit
def _evolve(curr, prev, a, dt, dx2, dy2):
    new = jnp.asarray(curr, dtype=float)
    old = jnp.asarray(prev, dtype=float)
    mid = old[1:-1, 1:-1]
    d2_dx2 = (old[2:, 1:-1] - 2 * mid + old[:-2, 1:-1]) / dx2  # neighbours along rows
    d2_dy2 = (old[1:-1, 2:] - 2 * mid + old[1:-1, :-2]) / dy2  # and along columns
    return new.at[1:-1, 1:-1].set(mid + a * dt * (d2_dx2 + d2_dy2))
''')

ENCCS_SOLVER = Source(
    name="ENCCS/CSC course: the JAX heat-equation solver's field, evolve() and time loop",
    where="github.com/ENCCS/gpu-programming",
    path="content/examples/stencil/python-jax/heat.py (DX, DY, class Field), core.py (evolve), "
         "main.py (main: the time evolution loop)",
    version="87fab1cb29329f6fcf5bf592b96b22ca1c61cec6 (2025-11-27; heat.py edea87c2, main.py e67a7ca8, "
            "core.py 52a53569, all 2025-11-26)",
    url="https://github.com/ENCCS/gpu-programming/tree/main/content/examples/stencil/python-jax",
    code='''
# Re-typed after the JAX heat solver of the ENCCS/CSC GPU programming course
# (content/examples/stencil/python-jax/ in https://github.com/ENCCS/gpu-programming): a Field
# object holds the grid (one ghost cell on each side) and its cell sizes, and evolve() runs the
# jitted _evolve from one field into the other, then keeps the result as a NumPy copy
# (np.array), on the host, after every step. The time loop is in simulate's wrapper.
import numpy as np
import jax.numpy as jnp

DX = DY = 0.01  # the solver's fixed cell size


class Field:
    """rows x cols interior cells of temperature, with a border of ghost cells."""

    def __init__(self, rows, cols):
        self.data = jnp.zeros((rows + 2, cols + 2), dtype=float)
        self.nx = rows
        self.ny = cols
        self.dx = DX
        self.dy = DY


def evolve(new_field, old_field, a, dt):
    # one explicit step from old_field into new_field, brought back to the host as NumPy
    stepped = _evolve(new_field.data, old_field.data, a, dt, old_field.dx ** 2, old_field.dy ** 2)
    new_field.data = np.array(stepped)
''')

HF_FLAX_UTILS = Source(
    name="Hugging Face transformers: the Flax models' activation table ACT2FN",
    where="github.com/huggingface/transformers",
    path="src/transformers/modeling_flax_utils.py, ACT2FN (BERT's hidden_act 'gelu' and GPT-2's "
         "'gelu_new' look up their activation there)",
    version="03e4a3a9a1bca80aa54c069f1f90103399060817 (the copy in the code index, which records no date; "
            "transformers 4.x, before its Flax models were removed)",
    url="https://github.com/huggingface/transformers/blob/03e4a3a9a1bca80aa54c069f1f90103399060817/"
        "src/transformers/modeling_flax_utils.py",
    code='''
# Re-typed after the activation table of Hugging Face transformers' Flax models (ACT2FN in
# src/transformers/modeling_flax_utils.py of https://github.com/huggingface/transformers): a
# model's configuration names its activation, and the table maps the name to a function,
# jax.nn.gelu with the `approximate` flag fixed by functools.partial: "gelu" is the exact erf
# GELU, "gelu_new" the tanh approximation. (The source takes the functions from flax.linen,
# which re-exports jax.nn's; flax is not in the course environment.)
import functools

import jax

ACT2FN = {
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "gelu": functools.partial(jax.nn.gelu, approximate=False),  # BERT's hidden_act
    "gelu_new": functools.partial(jax.nn.gelu, approximate=True),  # GPT-2's activation_function
}
''')

COAX_LINEAR_REGRESSION = Source(
    name='coax (a reinforcement-learning library) docs: "Prerequisite: JAX", linear regression in JAX',
    where="github.com/coax-dev/coax (coax.readthedocs.io)",
    path="doc/examples/linear_regression/jax.py (included by doc/examples/getting_started/prereq_jax.rst): "
         "forward, loss_fn, grad_fn",
    version="cf855957b4d7f5cda731e0873b098afe0b069011 (2023-02-01; jax.py last changed in b6a3a48d, 2022-07-22)",
    url="https://coax.readthedocs.io/en/latest/examples/linear_regression/jax.html",
    code='''
# Re-typed after the linear regression of coax's "Prerequisite: JAX" page
# (doc/examples/linear_regression/jax.py in https://github.com/coax-dev/coax): a `forward`
# helper for the model, a mean-squared-error loss_fn that calls it, and grad_fn = jax.grad(loss_fn).
import jax
import jax.numpy as jnp


def forward(params, features):
    # the model: one weight per feature and a bias
    return features @ params["w"] + params["b"]


def loss_fn(params, features, targets):
    residual = forward(params, features) - targets
    return jnp.mean(residual ** 2)  # mean squared error


grad_fn = jax.grad(loss_fn)
''')

SOURCES: tuple[Source, ...] = (JAX_README, JAX_TFDS_TUTORIAL, JAX_PYTREES, ENCCS_STENCIL, ENCCS_SOLVER,
                               HF_FLAX_UTILS, COAX_LINEAR_REGRESSION)


# ==============================================================================================
# The wrappers: the source's call mapped onto SPEC.md's signature, nothing fixed

README_PREDICT = '''
# Wrapper: the exercise's params {"w", "b", "v"} as the README's list of (W, b) layers, a hidden
# layer (w, b) and an output layer (v, 0) without activation: v @ tanh(x @ w + b). The README's
# `loss` looks up `predict` when called, so it now differentiates with respect to the dict.
predict_one = predict  # the README's network, for one example here


def predict(params, x):
    return predict_one([(params["w"], params["b"]), (params["v"], 0.0)], x)
'''

README_BATCHED = '''
# As in the README's vmap section: vmap over the inputs' leading axis, the parameters shared.
batched_predict = jax.vmap(predict, in_axes=(None, 0))
'''

README_PER_EXAMPLE = '''
# The README's per-example gradients, under the exercise's name.
per_example_grads = grads_per_example
'''

TFDS_INIT = '''
# Wrapper: the tutorial's (key, sizes) are (sizes, key), and its layers hold W (n_out, n_in) for
# jnp.dot(w, activations) where the exercise's hold W (n_in, n_out) for x @ W: transposed.
def init_mlp(key, sizes):
    return [(w.T, b) for w, b in init_network_params(sizes, key)]
'''

TFDS_FORWARD = '''
# Wrapper: the exercise's W (n_in, n_out) transposed to the tutorial's (n_out, n_in).
def mlp_forward(params, x):
    return batched_predict([(W.T, b) for W, b in params], x)
'''

TFDS_LOSS = '''
# Wrapper: integer labels as the tutorial's one-hot targets (as its training loop makes them:
# one_hot(labels, n_targets)), W transposed as for mlp_forward.
def cross_entropy(params, x, labels):
    n_targets = params[-1][1].shape[0]
    return loss([(W.T, b) for W, b in params], x, one_hot(labels, n_targets))
'''

PYTREES_FORWARD = '''
# Wrapper: the exercise's (W, b) pairs as the docs' layer dicts.
def mlp_forward(params, x):
    return forward([dict(weights=W, biases=b) for W, b in params], x)
'''

ENCCS_HEAT_STEP = '''
# Wrapper: the course's evolve() calls _evolve(curr, prev, a, dt, dx2, dy2) with the field's two
# buffers (same edges) and dx**2, dy**2 of its cells; the exercise's cells are square.
def heat_step(u, alpha, dt, dx):
    return _evolve(u, u, alpha, dt, dx**2, dx**2)
'''

ENCCS_SIMULATE = '''
# Wrapper: two fields holding u0, with square cells of side dx, as the course's setup fills them;
# then its time loop (main.py, re-typed, without the periodic output and the timer): evolve one
# step, swap the two fields, n_steps times, in Python.
def simulate(u0, alpha, dt, dx, n_steps):
    fields = [Field(u0.shape[0] - 2, u0.shape[1] - 2) for _ in range(2)]
    for field in fields:
        field.data, field.dx, field.dy = u0, dx, dx
    current, previous = fields
    for _ in range(n_steps):
        evolve(current, previous, alpha, dt)
        current, previous = previous, current  # the grid just written feeds the next step
    return previous.data
'''

# ==============================================================================================
# The cases

CASES: tuple[Case, ...] = (
    Case(
        name="jax_readme_per_example_grads",
        stem="04_jax_vmap",
        sources=(JAX_README,),
        retyped="re-typed after the JAX README's opening example: per-example gradients as "
                "jit(vmap(grad(loss), in_axes=(None, 0, 0))) of a tanh MLP's summed squared error, the "
                "README's network kept as `predict_one`, its `loss` looking `predict` up when called",
        cells={"predict_solution": _cell(JAX_README.code, README_PREDICT),
               "batched_predict_solution": _cell(README_BATCHED),
               "per_example_grads_solution": _cell(README_PER_EXAMPLE)},
        tests="the README's MLP, loss and jit(vmap(grad(loss))) for predict, batched_predict and "
              "per_example_grads; the helpers `loss` and `predict_one` are looked up at call time",
        helpers={"predict_one": ("predict", "batched_predict", "per_example_grads")},
        gpu="batched_predict_speed_vs_python_loop runs and passes (a vmap, like the reference)",
    ),
    Case(
        name="jax_tfds_tutorial_mlp",
        stem="06_deep_learning_jax",
        sources=(JAX_TFDS_TUTORIAL,),
        retyped="re-typed after the JAX docs' tfds MLP tutorial: weights and biases N(0, 1) * 0.01, a "
                "per-example `predict` by jnp.dot(W, a) ending in log-softmax, vmapped as `batched_predict`, "
                "and `loss` = -mean(log-probs * one_hot), the mean over the classes too (CE/10)",
        cells={"init_mlp_solution": _cell(JAX_TFDS_TUTORIAL.code, TFDS_INIT),
               "mlp_forward_solution": _cell(TFDS_FORWARD),
               "cross_entropy_solution": _cell(TFDS_LOSS)},
        tests="the tutorial's init (N(0, 0.01) weights and biases), per-example predict ending in "
              "log-softmax, and loss -mean(preds * targets), averaged over the 10 classes too; "
              "train_step and train_mlp are the instructor's, so they train on that loss",
        lose=(("init_mlp", "N(0, 0.01)"), ("init_mlp", "biases start at zero"),
              ("mlp_forward", "log_softmax(logits)"),
              ("cross_entropy", "divided by the 10 classes"),
              # inherited: the instructor's train_step steps along the gradient of this loss, and
              # train_mlp trains from the tutorial's init with it (69-76% on the held-out digits)
              ("train_step", "gradient of the mean cross-entropy"),
              ("train_mlp", "accuracy on the held-out digits"),
              # and the messages point at the exercise to fix first
              ("train_step", "fix cross_entropy first"), ("train_mlp", "fix them first")),
        helpers={"init_network_params": ("init_mlp", "train_mlp"),
                 "random_layer_params": ("init_mlp", "train_mlp"),
                 "batched_predict": ("mlp_forward", "cross_entropy", "train_step", "train_mlp"),
                 "relu": ("mlp_forward", "cross_entropy", "train_step", "train_mlp"),
                 "loss": ("cross_entropy", "train_step", "train_mlp"),
                 "one_hot": ("cross_entropy", "train_step", "train_mlp")},
        gpu="train_step_speed_vs_reference is not timed: the credit rule withholds it (wrong values)",
    ),
    Case(
        name="jax_pytrees_mlp_forward",
        stem="06_deep_learning_jax",
        sources=(JAX_PYTREES,),
        retyped="re-typed after the JAX docs' Pytrees page: a `forward` helper over layer dicts "
                "{weights, biases}, `*hidden, last = params`, ReLU between layers, logits out",
        cells={"mlp_forward_solution": _cell(JAX_PYTREES.code, PYTREES_FORWARD)},
        tests="the pytree docs' forward (ReLU between layers, logits out) as mlp_forward; the "
              "instructor's cross_entropy, train_step and train_mlp call it, through `forward`",
        helpers={"forward": ("mlp_forward", "cross_entropy", "train_step", "train_mlp")},
        gpu="train_step_speed_vs_reference runs and passes (the same operations as the reference)",
    ),
    Case(
        name="enccs_heat_stencil",
        stem="05_heat_equation_jax",
        sources=(ENCCS_STENCIL,),
        retyped="re-typed after ENCCS's python-jax core.py: a jitted `_evolve(curr, prev, a, dt, dx2, dy2)`, "
                "the 5-point Laplacian from shifted slices, written back with .at[1:-1, 1:-1].set",
        cells={"heat_step_solution": _cell(ENCCS_STENCIL.code, ENCCS_HEAT_STEP)},
        tests="the course's jitted 5-point stencil (slices, .at[1:-1, 1:-1].set) as heat_step, in "
              "the instructor's compiled simulate",
        helpers={"_evolve": ("heat_step", "simulate")},
        gpu="simulate_speed_vs_plain_loop runs and passes (the textbook .at[].set step, as the corpus' "
            "simulate_textbook_at_set: about 1.5x the shipped step on an H100)",
    ),
    Case(
        name="enccs_heat_time_loop",
        stem="05_heat_equation_jax",
        sources=(ENCCS_STENCIL, ENCCS_SOLVER),
        retyped="re-typed after ENCCS's python-jax solver: `Field` objects, an `evolve` that stores each "
                "step as np.array (a host copy), and a Python time loop swapping the two fields",
        cells={"heat_step_solution": _cell(ENCCS_STENCIL.code, ENCCS_HEAT_STEP),
               "simulate_solution": _cell(ENCCS_SOLVER.code, ENCCS_SIMULATE)},
        tests="the course's solver as simulate: a Python time loop over evolve(), which copies every "
              "new grid to the host (np.array) and swaps two field objects",
        lose=(("simulate", "returned a NumPy array"), ("simulate", "np.asarray was applied to a traced array"),
              ("simulate", "its loop runs in Python, copying the array to the host")),
        helpers={"evolve": ("simulate",), "Field": ("simulate",), "_evolve": ("heat_step", "simulate")},
        gpu="simulate_speed_vs_plain_loop is not timed: the credit rule withholds it (NumPy result, "
            "not traceable)",
    ),
    Case(
        name="hf_flax_gelu_erf",
        stem="02_jax_jit",
        sources=(HF_FLAX_UTILS,),
        retyped='re-typed after Hugging Face\'s Flax ACT2FN table: its "gelu" entry, '
                "partial(jax.nn.gelu, approximate=False), the exact erf GELU",
        cells={"gelu_solution": _cell(HF_FLAX_UTILS.code, '''
# Wrapper: BERT's configuration says hidden_act = "gelu".
gelu = ACT2FN["gelu"]
''')},
        tests='the model library\'s "gelu" entry: jax.nn.gelu(approximate=False), the exact erf GELU, '
              "not the tanh form the exercise asks for; the instructor's gelu_jit = jax.jit(gelu)",
        lose=(("gelu", "exact (erf) GELU"), ("gelu_jit", "exact (erf) GELU")),
        gpu="gelu_jit_speed_vs_eager is not timed: the credit rule withholds it (wrong values)",
    ),
    Case(
        name="hf_flax_gelu_tanh",
        stem="02_jax_jit",
        sources=(HF_FLAX_UTILS,),
        retyped='re-typed after Hugging Face\'s Flax ACT2FN table: its "gelu_new" entry, '
                "partial(jax.nn.gelu, approximate=True), the tanh GELU",
        cells={"gelu_solution": _cell(HF_FLAX_UTILS.code, '''
# Wrapper: GPT-2's configuration says activation_function = "gelu_new".
gelu = ACT2FN["gelu_new"]
''')},
        tests='the same table\'s "gelu_new" entry: jax.nn.gelu(approximate=True), the tanh form; the '
              "instructor's gelu_jit = jax.jit(gelu)",
        gpu="gelu_jit_speed_vs_eager runs and passes (jax.jit fuses jax.nn.gelu as it does the reference)",
    ),
    Case(
        name="coax_linear_regression",
        stem="03_jax_grad",
        sources=(COAX_LINEAR_REGRESSION,),
        retyped="re-typed after coax's linear-regression docs: a `forward` helper, an MSE `loss_fn` "
                "calling it, and grad_fn = jax.grad(loss_fn)",
        cells={"mse_loss_solution": _cell(COAX_LINEAR_REGRESSION.code, '''
# Wrapper: the docs' loss under the exercise's name (the same params {"w", "b"}).
mse_loss = loss_fn
'''),
               "mse_grad_solution": _cell('''
# The docs' gradient under the exercise's name.
mse_grad = grad_fn
''')},
        tests="the RL library's linear regression: forward, loss_fn and grad_fn = jax.grad(loss_fn) as "
              "mse_loss and mse_grad, in the instructor's compiled fit_linear; the helper `forward` is "
              "looked up at call time",
        helpers={"forward": ("mse_loss", "mse_grad", "fit_linear")},
        gpu="no speed test in 03_jax_grad",
    ),
)

BY_NAME = {case.name: case for case in CASES}

# The deviations from the contract the corpus must show, each with the case and the message.
DEVIATIONS = {
    "log-softmax output of mlp_forward": ("jax_tfds_tutorial_mlp", "mlp_forward"),
    "cross-entropy averaged over classes too (CE/10)": ("jax_tfds_tutorial_mlp", "cross_entropy"),
    "N(0, 0.01) weight initialisation": ("jax_tfds_tutorial_mlp", "init_mlp"),
    "erf GELU instead of the tanh form": ("hf_flax_gelu_erf", "gelu"),
    "Python time loop with a NumPy copy per step in simulate": ("enccs_heat_time_loop", "simulate"),
}
