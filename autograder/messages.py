"""What a student's exception means, in words: shared by the adapter and the graders.

Only where the exception shows its cause does a message add a hint; otherwise it quotes JAX's
own text whole (its last lines name the argument and the axis), so a hint never points away from
the real cause.
"""

from __future__ import annotations

import ast
import builtins
import re

# What JAX's errors mean for a student, by the exception they raise: a hint is given only where
# the exception shows its cause; otherwise JAX's own message is quoted whole.
_CAUSES = (
    ("TracerArrayConversionError", "a NumPy function (np.*) or np.asarray was applied to a traced "
                                   "array: use jax.numpy (jnp) inside the function"),
    ("TracerBoolConversionError", "an `if`, `while`, `and`/`or` or bool() on an array value: "
                                  "use jnp.where (or jax.lax.cond)"),
    ("ConcretizationTypeError", "a Python value was needed from a traced array (an `if` on it, "
                                "float()/int() of it, a shape from it): use jnp.where, keep it an array"),
    ("TracerIntegerConversionError", "a traced array was used as a Python int (range(n), an index "
                                     "or a shape): use jax.lax.fori_loop or pass it as a static argument"),
    ("BooleanIndex",  # NonConcreteBooleanIndexError and the other boolean-mask errors "boolean-mask indexing x[mask] has a data-dependent shape under jit: use "
                     "jnp.where(mask, x, 0)"),
    ("vmap got inconsistent sizes", "jax.vmap maps EVERY argument along axis 0 unless in_axes says "
                                    "otherwise, so params is being mapped too: keep it fixed with "
                                    "in_axes=(None, 0) (None for params, 0 for the batch; for "
                                    "jax.vmap(jax.grad(...)) over (params, xs, ys): (None, 0, 0))"),
    ("len(in_axes)", "in_axes needs one entry per positional argument: (None, 0) for (params, xs), "
                     "(None, 0, 0) for (params, xs, ys)"),
    ("vmap was requested to map its argument along axis", "in_axes maps an argument along an axis it "
                                                          "does not have: use None for arguments shared "
                                                          "by every example (params)"),
)
QUOTE_CHARS = 800  # JAX's messages name the argument and axis at their end: keep them whole


def explain(error: str) -> str:
    """A student's exception as a message: JAX's text (whole, up to QUOTE_CHARS) and, where the
    exception shows the cause, what to do."""
    error = error.split("\n----")[0]  # JAX's trailer about filtered traceback frames
    text = " ".join(error.split())
    quoted = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."
    for marker, hint in _CAUSES:
        if marker in error:
            return f"{quoted}; likely cause: {hint}"
    return quoted


# ----- a graded function broken by a later cell that rebinds a global it uses

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _bindings(node) -> list[tuple[str, int]]:
    """(name, line) of the globals a top-level statement binds: def, class, import, and every
    name stored outside nested scopes (`x = ...`, `for step in ...:` and the assignments in it)."""
    found, todo = [], [node]
    while todo:
        current = todo.pop()
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Store):
            found.append((current.id, current.lineno))
        elif isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append((current.name, current.lineno))
        elif isinstance(current, (ast.Import, ast.ImportFrom)):
            found += [((a.asname or a.name).split(".")[0], current.lineno) for a in current.names]
        if current is node or not isinstance(current, _SCOPES):
            todo.extend(ast.iter_child_nodes(current))
    return found


def _bound_names(node) -> list[str]:
    return [name for name, _ in _bindings(node)]


def _parsed(sources: list[str]) -> list[list]:
    out = []
    for src in sources:
        try:
            out.append(ast.parse(src).body)
        except SyntaxError:  # IPython magics, a broken cell: nothing we can read
            out.append([])
    return out


def defining_cells(sources: list[str], name: str) -> list[int]:
    """Indices of the code cells that bind ``name`` at their top level (a cell that does not parse,
    by its text: `def name`, `class name`, `name =`, so that a syntax error is named as the cause)."""
    written = re.compile(rf"^(?:async\s+)?(?:def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*(?::[^=]*)?=(?!=)", re.M)
    return [i for i, (src, body) in enumerate(zip(sources, _parsed(sources)))
            if any(name in _bound_names(n) for n in body) or (not body and written.search(src))]


def why_undefined(name: str, sources: list[str], runs: dict, before: int | None = None) -> str:
    """Why ``name`` is not defined, naming the cell that should have defined it when that cell did
    not run cleanly. ``runs``: code-cell index -> its ``CellRun``; ``before``: only cells above
    this one count (a visible check's own cell), else the whole notebook."""
    cells = [i for i in defining_cells(sources, name) if before is None or i < before]
    broken = [runs[i] for i in cells if i in runs and runs[i].status != "ok"]
    if broken:
        c = broken[-1]
        return (f"code cell {c.index + 1}, which defines it, did not run cleanly ({c.status}: {c.message}); "
                "fix that cell and run the notebook top to bottom")
    if not cells:
        where = "above the check" if before is not None else "of the notebook"
        return f"no cell {where} defines it; keep the name exactly `{name}`"
    return f"run the notebook top to bottom and keep the name exactly `{name}`"


def _globals_read(node) -> set[str]:
    """Free names a definition reads: loaded names minus its parameters and local bindings."""
    loaded = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    local = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for fn in (n for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.Lambda, ast.AsyncFunctionDef))):
        local |= {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
        local |= {a.arg for a in (fn.args.vararg, fn.args.kwarg) if a}
    return loaded - local - set(dir(builtins))


def rebinding_note(sources: list[str], name: str) -> str:
    """Why ``name`` may fail although it is right: a global it reads (itself or through the
    notebook's other functions) was bound again by a LATER cell, e.g. a lesson cell's
    ``loss = mse_loss(...)`` replacing the student's helper ``loss``. '' when none was."""
    bodies = _parsed(sources)
    where, lines = {}, {}  # name -> [(cell index, statement)] in notebook order; (name, cell) -> line
    for i, body in enumerate(bodies):
        for node in body:
            for bound, line in _bindings(node):
                where.setdefault(bound, []).append((i, node))
                lines.setdefault((bound, i), line)
    if name not in where:
        return ""
    start, _ = where[name][-1]
    seen, todo, found = {name}, [where[name][-1][1]], []
    while todo:
        for used in sorted(_globals_read(todo.pop())):
            if used in seen or used not in where:
                continue
            seen.add(used)
            defined_before = [(i, n) for i, n in where[used] if i <= start]
            later = [(i, n) for i, n in where[used] if i > start]
            if defined_before and later:
                cell = later[0][0]
                found.append((used, cell, sources[cell].splitlines()[lines[(used, cell)] - 1].strip()[:80]))
            todo.extend(n for _, n in defined_before[-1:])
    if not found:
        return ""
    used, cell, line = found[0]
    return (f"`{used}`, which {name} uses, is bound again by code cell {cell + 1} (`{line}`), after "
            f"{name} was defined, so the graders call {name} with that value: rename your helper "
            f"(e.g. `_{used}`) or define it inside {name}")
