"""The one thin layer through which graders reach a student's code.

Graders never touch the kernel: they ask a ``Submission`` to call a function the notebook
defined, to trace it, or to race it against a baseline, and get plain NumPy values back.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np

from .sandbox import wire, worker
from .sandbox.channel import WorkerLost
from .sandbox.notebook_run import CellRun, Limits, NotebookRun, code_cells_of


def defining_cells(sources: list[str], name: str) -> list[int]:
    """Indices of the code cells that bind ``name`` at their top level (def, class, = or import)."""
    found = []
    for i, src in enumerate(sources):
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in tree.body:
            targets = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                targets = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                nodes = node.targets if isinstance(node, ast.Assign) else [node.target]
                targets = [n.id for t in nodes for n in ast.walk(t) if isinstance(n, ast.Name)]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = [(a.asname or a.name).split(".")[0] for a in node.names]
            if name in targets:
                found.append(i)
                break
    return found


class StudentCodeError(AssertionError):
    """The student's function raised, hung or is missing: the message says which and how."""


@dataclasses.dataclass
class CallResult:
    value: object  # the return value as NumPy arrays / Python scalars, same structure
    kinds: list[str]  # per leaf: 'jax' (device array), 'numpy' (host array) or 'python'
    args_after: list | None = None  # the arguments after the call (host calls only)


@dataclasses.dataclass
class Trace:
    traceable: bool
    error: str = ""
    eqns: int = 0  # equations in the jaxpr, counted into sub-jaxprs (loop bodies, jit calls)
    primitives: dict = dataclasses.field(default_factory=dict)
    top: list = dataclasses.field(default_factory=list)  # primitives at the top level


@dataclasses.dataclass
class Race:
    candidate_s: list[float]
    baseline_s: list[float]
    outputs: list  # the candidate's output of every timed run, for checking

    @property
    def speedup(self) -> float:
        """Median baseline time over median candidate time."""
        return float(np.median(self.baseline_s) / np.median(self.candidate_s))


class Tampered(AssertionError):
    """The notebook rebound functions a fair timing relies on."""


class _KernelTransport:
    """Requests to the worker in a sandboxed kernel, over the channel; restarts a lost kernel."""

    def __init__(self, run: NotebookRun):
        self.run = run
        self._channel = None
        self._baselines: dict[str, dict] = {}  # label -> load request, replayed after a restart
        self._lost_in: dict[str, str] = {}  # functions whose call hung or killed the kernel

    def request(self, req: dict, what: str) -> dict:
        if req["op"] == "load_baseline":
            self._baselines[req["label"]] = req
        name = req.get("name") if req["op"] in ("call", "jaxpr", "race") else None
        if name in self._lost_in:  # one endless loop costs its time limit once, not per test
            raise StudentCodeError(f"{what} is not called again: {self._lost_in[name]}")
        try:
            if self._channel is None:
                self._channel = self.run.connect()
                for load in self._baselines.values():  # a restarted kernel needs them again
                    self._channel.request(load)
            return self._channel.request(req)
        except WorkerLost as lost:
            self._channel = None
            if name is not None:
                self._lost_in[name] = f"an earlier call of it did not return ({lost})"
            self.run.restart()  # later requests get a fresh kernel with the same cells
            raise StudentCodeError(f"{what} did not return: {lost}") from None

    def close(self) -> None:
        self.run.close()


class _InProcessTransport:
    """The same requests answered in this process (nbgrader's hidden cells run in the kernel).

    Replies go through the wire codec all the same, so graders see exactly the values they
    would see from a sandboxed kernel. No isolation: see autograder/README.md.
    """

    def __init__(self, user_ns: dict):
        self._worker = worker.Worker(user_ns, wire)

    def request(self, req: dict, what: str) -> dict:
        req = wire.decode(wire.encode(req))
        return wire.decode(wire.encode(self._worker.handle(req)))

    def close(self) -> None:
        pass


class Submission:
    def __init__(self, code_cells: list[str], limits: Limits = Limits(), *, transport=None):
        self._transport = transport or _KernelTransport(NotebookRun(code_cells, limits).run())

    @classmethod
    def from_notebook(cls, path: Path, limits: Limits = Limits()) -> "Submission":
        return cls(code_cells_of(path), limits)

    @classmethod
    def in_process(cls, user_ns: dict) -> "Submission":
        """Grade the functions in ``user_ns`` (a kernel's globals) without a sandbox."""
        return cls([], transport=_InProcessTransport(user_ns))

    # ---- what happened when the notebook ran (sandboxed runs only)
    @property
    def cells(self) -> list[CellRun]:
        return self._transport.run.cells

    @property
    def printed_chars(self) -> int:
        return self._transport.run.printed_chars

    def close(self) -> None:
        self._transport.close()

    def _why_undefined(self, name: str) -> str:
        """Which cell should have defined ``name`` and what happened to it, when we know."""
        run = getattr(self._transport, "run", None)  # in-process grading has no cell record
        if run is not None:
            for index in defining_cells(run.code_cells, name):
                cell = next((c for c in run.cells if c.index == index), None)
                if cell is not None and cell.status != "ok":
                    return (f"code cell {index + 1}, which defines it, did not run cleanly "
                            f"({cell.status}: {cell.message}); fix that cell and run the notebook top to bottom")
            if not defining_cells(run.code_cells, name):
                return f"no cell of the notebook defines it; keep the name exactly `{name}`"
        return f"run the notebook top to bottom and keep the name exactly `{name}`"

    # ---- requests
    def _request(self, req: dict, what: str) -> dict:
        reply = self._transport.request(req, what)
        if reply["status"] != "ok":
            raise StudentCodeError(f"{what} raised {reply['error']}")
        return reply

    def platform(self) -> dict:
        """The device the notebook's JAX computes on: {"platform": "cpu"|"gpu", "device": ...}."""
        return self._request({"op": "platform"}, "asking the kernel for its device")

    def require(self, name: str) -> None:
        """Fail with a teaching message when the notebook does not define ``name``."""
        info = self._request({"op": "describe", "name": name}, f"looking up {name}")
        if not info["defined"]:
            raise StudentCodeError(f"{name} is not defined: {self._why_undefined(name)}")
        if not info["callable"]:
            raise StudentCodeError(f"{name} is a {info['type']}, not a function")

    def call(self, name: str, *args, device: bool = True) -> CallResult:
        """Call the student's ``name(*args)``.

        With ``device=True`` NumPy array arguments become JAX arrays first; with ``device=False``
        they arrive as NumPy arrays and come back in ``args_after``, to catch in-place edits.
        """
        self.require(name)
        reply = self._request({"op": "call", "name": name, "args": list(args), "device": device,
                               "return_args": not device}, f"{name}(...)")
        return CallResult(reply["value"], reply["kinds"], reply.get("args_after"))

    def trace(self, name: str, *args, static: tuple[int, ...] = ()) -> Trace:
        """``jax.make_jaxpr`` of ``name`` with the arguments at ``static`` held as constants."""
        self.require(name)
        reply = self._request({"op": "jaxpr", "name": name, "args": list(args), "static": list(static)},
                              f"tracing {name}")
        return Trace(reply["traceable"], reply.get("error", ""), reply.get("eqns", 0),
                     reply.get("primitives", {}), reply.get("top", []))

    def load_baseline(self, label: str, source: str, bind: dict[str, str] | None = None) -> None:
        """Send baseline code (as text) into the worker; only ever after the student's cells.

        ``bind`` maps names in the baseline's namespace to the student's functions, e.g.
        ``{"predict": "predict"}`` for a Python loop over the student's own ``predict``.
        """
        req = {"op": "load_baseline", "label": label, "source": source, "bind": bind or {}}
        self._request(req, f"loading baseline {label}")

    def race(self, name: str, baseline: tuple[str, str], runs: list[dict], *,
             baseline_device: bool = True, warmup: int = 2) -> Race:
        """Time ``name`` against ``baseline`` = (label, function) over ``runs``.

        Each run is ``{"candidate": args, "baseline": args}`` (baseline args default to the
        candidate's). Raises ``Tampered`` when the notebook patched what timing relies on.
        """
        label, fn = baseline
        return self._race(name, {"baseline": label, "name": fn, "device": baseline_device}, runs, warmup)

    def race_names(self, name: str, baseline_name: str, runs: list[dict], *, warmup: int = 2) -> Race:
        """Time two of the student's own functions against each other (gelu_jit vs gelu)."""
        self.require(baseline_name)
        return self._race(name, {"name": baseline_name, "device": True}, runs, warmup)

    def _race(self, name: str, baseline: dict, runs: list[dict], warmup: int) -> Race:
        self.require(name)
        reply = self._request({
            "op": "race", "runs": runs, "warmup": warmup,
            "candidate": {"name": name, "device": True}, "baseline": baseline,
        }, f"timing {name}")
        if "tampered" in reply:
            raise Tampered("the notebook replaced " + ", ".join(reply["tampered"])
                           + ": speed cannot be measured fairly, so no speed points")
        return Race(reply["candidate_s"], reply["baseline_s"], reply["outputs"])
