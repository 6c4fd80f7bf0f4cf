"""The names a lesson's own cells may bind once the exercises have begun.

The graders call a student's functions after the whole notebook ran, in the namespace it left.
A read-only cell below an exercise that binds a common name (``loss``, ``params``, ``step``,
``key``) would silently replace a student's helper of that name, and a correct answer would
lose points. So after a lesson's first solution cell, every name that a locked code cell binds
at the top level must start with ``demo_`` (worked examples, payoffs) or ``check_`` (visible and
hidden checks): prefixes the notebooks reserve and tell students about. Code that needs other
names keeps them inside a function; imports belong in the set-up cell at the top.
"""

from __future__ import annotations

import ast

RESERVED = ("demo_", "check_")

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


class _Bindings(ast.NodeVisitor):
    """Names bound in the module scope of one cell (``ast``, not regular expressions)."""

    def __init__(self):
        self.names: set[str] = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):  # assignment, for/with targets, del
            self.names.add(node.id)

    def visit_Import(self, node):
        self.names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}

    def visit_ImportFrom(self, node):
        self.names |= {alias.asname or alias.name for alias in node.names if alias.name != "*"}

    def visit_ExceptHandler(self, node):
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        self.names.add(node.target.id)
        self.visit(node.value)

    def visit_MatchAs(self, node):
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node):
        if node.name:
            self.names.add(node.name)

    def visit_MatchMapping(self, node):
        if node.rest:
            self.names.add(node.rest)
        self.generic_visit(node)

    def _scope(self, node):
        """A function or class: its name is bound here, its body is its own scope, except for
        names it declares global (and walrus targets of comprehensions, handled below)."""
        if not isinstance(node, ast.Lambda):
            self.names.add(node.name)
        for decorator in getattr(node, "decorator_list", []):
            self.visit(decorator)
        if isinstance(node, ast.ClassDef):
            for base in [*node.bases, *node.keywords]:
                self.visit(base)
        else:
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    self.visit(default)
        for inner in ast.walk(node):
            if isinstance(inner, ast.Global):
                self.names |= set(inner.names)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope

    def _comprehension(self, node):
        # Its loop variables are its own; a walrus inside it binds in the enclosing scope.
        for inner in ast.walk(node):
            if isinstance(inner, ast.NamedExpr):
                self.names.add(inner.target.id)
            elif isinstance(inner, ast.Global):
                self.names |= set(inner.names)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def top_level_bindings(source: str) -> set[str]:
    """Every name the code binds in the notebook's namespace: assignments, augmented and
    annotated ones, for and with targets, imports, def and class, except-as, walrus, match
    captures, del, and names a function or class declares global."""
    visitor = _Bindings()
    visitor.visit(ast.parse(source))
    return visitor.names


def foreign_names(cells) -> list[tuple[str, list[str]]]:
    """(grade_id, names) for each locked code cell after the first solution cell that binds a
    name without a reserved prefix. ``cells`` are notebook cells with nbgrader metadata."""
    found, started = [], False
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            started = True
            continue
        if not started or cell.cell_type != "code":
            continue
        bad = sorted(n for n in top_level_bindings(cell.source) if not n.startswith(RESERVED))
        if bad:
            found.append((meta.get("grade_id", "?"), bad))
    return found


def problem(lesson_name: str, found: list[tuple[str, list[str]]]) -> str:
    """The build's one message for the cells ``foreign_names`` found."""
    where = "; ".join(f"cell {grade_id} binds {', '.join(names)}" for grade_id, names in found)
    return (f"{lesson_name}: after the first exercise, lesson cells bind only names starting with "
            f"{' or '.join(RESERVED)} (a student's helper of the same name would be replaced before "
            f"grading): {where}. Move the code into a demo_/check_ function, rename the names, or "
            "move imports to the set-up cell")
