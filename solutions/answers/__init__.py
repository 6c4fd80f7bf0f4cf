"""Reference answers in JAX, one self-contained module per notebook.

The modules are generated from the solution cells of source/lessons/NN_name.py by `make notebooks`
(instructor/lesson_answers.py): to change an answer, edit its solution cell in the lesson.

Each module defines exactly the graded names of SPEC.md for its notebook (helpers start with an
underscore) and imports only jax, jax.numpy, numpy, functools and math: tests paste its source
into notebooks and the grader sends it as text to a worker process.
"""

from importlib import resources

from autograder.assignment import STEMS


def file_stem(stem):
    """The answer file's stem: the notebook stem minus its NN_ prefix."""
    if stem not in STEMS:
        raise ValueError(f"unknown notebook stem {stem!r}; valid stems: {', '.join(STEMS)}")
    return stem.split("_", 1)[1]


def answer_module_name(stem):
    """Dotted import name of the answer module for a notebook stem."""
    return f"{__name__}.{file_stem(stem)}"


def answer_source(stem):
    """The answer module's source text, read as a package resource (no import needed)."""
    return resources.files(__name__).joinpath(f"{file_stem(stem)}.py").read_text(encoding="utf-8")
