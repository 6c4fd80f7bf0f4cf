"""The one thin layer through which graders reach a student's code.

Graders never touch the kernel: they ask a ``Submission`` to call a function the notebook
defined, to trace it, or to race it against a baseline, and get plain NumPy values back.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from . import thresholds
from .messages import explain, rebinding_note, why_undefined
from .sandbox import wire, worker
from .sandbox.channel import WorkerLost
from .sandbox.notebook_run import CellRun, Limits, NotebookRun, code_cells_of


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
    jit_wrapped: bool = True  # for an untraceable function: whether it is a jax.jit function


@dataclasses.dataclass
class Race:
    candidate_s: list[float]
    baseline_s: list[float]
    outputs: list  # the candidate's output of every timed run, for checking
    baseline_outputs: list  # the baseline's, where the baseline is trusted reference code
    stopped_early: bool = False  # the verdict was clear before every run was timed

    @property
    def speedup(self) -> float:
        """Median baseline time over median candidate time."""
        return float(np.median(self.baseline_s) / np.median(self.candidate_s))


@dataclasses.dataclass(frozen=True)
class Baseline:
    """What a speed test races the student's function against."""

    fn: str  # the function's name: in the student's namespace, or defined by ``source``
    source: str | None = None  # code that defines ``fn``, sent as text after the student's cells
    bind: tuple[tuple[str, str], ...] = ()  # (name in source, student's name): e.g. a loop over predict
    clean: bool = False  # run in a second kernel that holds no student code (reference code)
    disable_jit: bool = False  # run ``fn`` op by op (jax.disable_jit)
    device: bool = True  # arguments as JAX arrays; False: NumPy arrays on the host

    @property
    def label(self) -> str:
        return "baseline_" + self.fn


def early_verdict(threshold, race: Race, runs_left: int) -> bool:
    """Whether a race may stop now: after a few runs, a ratio this far past the threshold on
    either side cannot change sides in the runs left (thresholds.py: EARLY_STOP_*)."""
    done = len(race.candidate_s)
    if runs_left == 0 or done < thresholds.EARLY_STOP_MIN_RUNS:
        return False
    ratio = threshold.ratio(race.speedup) / threshold.value  # > 1 is on the wrong side for "<="
    if threshold.op == ">=":
        ratio = 1.0 / ratio
    return ratio >= thresholds.EARLY_STOP_FACTOR or (
        done >= thresholds.EARLY_PASS_MIN_RUNS and ratio <= 1.0 / thresholds.EARLY_STOP_FACTOR)


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
        name = req["fn"]["name"] if req["op"] == "time_prepare" else (
            req.get("name") if req["op"] in ("call", "jaxpr", "key_draws", "time_run") else None)
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
    def __init__(self, code_cells: list[str], limits: Limits = Limits(), *, transport=None, make_clean=None,
                 clean_kernel_of: "Submission | None" = None):
        """``clean_kernel_of``: race reference baselines in that submission's clean kernel
        (which it keeps and closes), instead of starting one (benchmarks/calibrate_speed.py)."""
        self._transport = transport or _KernelTransport(NotebookRun(code_cells, limits).run())
        self._make_clean = make_clean or (lambda: _KernelTransport(NotebookRun([], limits).run()))
        self._clean_transport = clean_kernel_of._clean() if clean_kernel_of is not None else None
        self._owns_clean = clean_kernel_of is None
        self._loaded: dict[int, set[str]] = {}  # transport -> baselines loaded into it
        self.races: list[dict] = []  # every race timed, for reports and calibration

    @classmethod
    def from_notebook(cls, path: Path, limits: Limits = Limits()) -> "Submission":
        return cls(code_cells_of(path), limits)

    @classmethod
    def in_process(cls, user_ns: dict) -> "Submission":
        """Grade the functions in ``user_ns`` (a kernel's globals) without a sandbox."""
        return cls([], transport=_InProcessTransport(user_ns), make_clean=lambda: _InProcessTransport({}))

    # ---- what happened when the notebook ran (sandboxed runs only)
    @property
    def cells(self) -> list[CellRun]:
        return self._transport.run.cells

    @property
    def timings(self) -> dict[str, float]:
        """Where the grading's time went: the kernel's start, the notebook's cells, the races."""
        run = getattr(self._transport, "run", None)
        out = dict(run.timings) if run is not None else {}
        out["races_s"] = sum(sum(r["candidate_s"]) + sum(r["baseline_s"]) for r in self.races)
        return out

    @property
    def printed_chars(self) -> int:
        return self._transport.run.printed_chars

    def close(self) -> None:
        self._transport.close()
        if self._clean_transport is not None and self._owns_clean:
            self._clean_transport.close()

    def _why_undefined(self, name: str) -> str:
        """Which cell should have defined ``name`` and what happened to it, when we know."""
        run = getattr(self._transport, "run", None)  # in-process grading has no cell record
        if run is None:
            return f"run the notebook top to bottom and keep the name exactly `{name}`"
        return why_undefined(name, run.code_cells, {c.index: c for c in run.cells})

    # ---- requests
    def _request(self, req: dict, what: str) -> dict:
        return self._on(self._transport, req, what)

    def _rebinding(self, name) -> str:
        run = getattr(self._transport, "run", None)  # in-process grading has no cell record
        return rebinding_note(run.code_cells, name) if run is not None and isinstance(name, str) else ""

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

    def key_draws(self, name: str, *args) -> list[dict]:
        """The random draws of ``name(*args)`` run op by op: [{"fn": "permutation", "key": uint32 array}]."""
        self.require(name)
        return self._request({"op": "key_draws", "name": name, "args": list(args)}, f"{name}(...)")["draws"]

    def trace(self, name: str, *args, static: tuple[int, ...] = ()) -> Trace:
        """``jax.make_jaxpr`` of ``name`` with the arguments at ``static`` held as constants."""
        self.require(name)
        reply = self._request({"op": "jaxpr", "name": name, "args": list(args), "static": list(static)},
                              f"tracing {name}")
        return Trace(reply["traceable"], reply.get("error", ""), reply.get("eqns", 0),
                     reply.get("primitives", {}), reply.get("top", []), reply.get("jit_wrapped", True))

    def race(self, name: str, baseline: Baseline, runs: list[list], *, threshold,
             warmup: int = thresholds.SPEED_WARMUP, sample=None) -> Race:
        """Time the student's ``name`` against ``baseline``, interleaved, over fresh inputs.

        ``runs`` holds the arguments of each timed call (the same for both sides). Both sides are
        warmed up first, then each run times one call of each, alternating which goes first, so
        that drift hits both equally. A baseline of reference code runs in a second, clean kernel
        on the same device: no reference code enters the student's process. The race stops
        early when ``threshold``'s verdict is already clear (``early_verdict``). ``sample``:
        flat indices of the candidate's output to bring back instead of the whole output.
        Raises ``Tampered`` when the notebook patched what timing relies on.
        """
        self.require(name)
        if baseline.source is None and not baseline.clean:
            self.require(baseline.fn)
        sides = {"candidate": (self._transport, {"name": name, "device": True}),
                 "baseline": (self._clean() if baseline.clean else self._transport, self._baseline_spec(baseline))}
        for slot, (transport, spec) in sides.items():
            reply = self._on(transport, {"op": "time_prepare", "slot": slot, "fn": spec, "args": runs[0],
                                         "warmup": warmup}, f"timing {name}")
            if "tampered" in reply:
                raise Tampered("the notebook replaced " + ", ".join(reply["tampered"])
                               + ": speed cannot be measured fairly, so no speed points")
        race = Race([], [], [], [])
        shared = not baseline.clean and baseline.device  # one kernel, same arrays for both sides
        for i, args in enumerate(runs):
            order = ("candidate", "baseline") if i % 2 == 0 else ("baseline", "candidate")
            for k, slot in enumerate(order):
                transport, _ = sides[slot]
                req = {"op": "time_run", "slot": slot, "run": i,
                       "name": name if slot == "candidate" else baseline.fn}
                req.update({"args_of": i} if shared and k == 1 else {"args": args})
                if slot == "candidate" and sample is not None:
                    req["sample"] = sample
                reply = self._on(transport, req, f"timing {name}")
                (race.candidate_s if slot == "candidate" else race.baseline_s).append(reply["s"])
                if slot == "candidate":
                    race.outputs.append(reply["output"])
                elif baseline.clean:
                    race.baseline_outputs.append(reply["output"])
            if early_verdict(threshold, race, len(runs) - i - 1):
                race.stopped_early = True
                break
        for slot, (transport, _) in sides.items():
            self._on(transport, {"op": "time_done", "slot": slot}, f"timing {name}")
        self.races.append({"name": name, "baseline": baseline.fn, "candidate_s": race.candidate_s,
                           "baseline_s": race.baseline_s, "speedup": race.speedup,
                           "stopped_early": race.stopped_early})
        return race

    def _baseline_spec(self, baseline: Baseline) -> dict:
        transport = self._clean() if baseline.clean else self._transport
        if baseline.source is not None and baseline.label not in self._loaded.setdefault(id(transport), set()):
            req = {"op": "load_baseline", "label": baseline.label, "source": baseline.source,
                   "bind": dict(baseline.bind)}
            self._on(transport, req, f"loading the baseline {baseline.fn}")
            self._loaded[id(transport)].add(baseline.label)
        spec = {"name": baseline.fn, "device": baseline.device, "disable_jit": baseline.disable_jit}
        return {**spec, "baseline": baseline.label} if baseline.source is not None else spec

    def _clean(self):
        """The second kernel: same sandbox and isolation, no student cell, for reference code."""
        if self._clean_transport is None:
            self._clean_transport = self._make_clean()
        return self._clean_transport

    def _on(self, transport, req: dict, what: str) -> dict:
        reply = transport.request(req, what)
        if reply["status"] != "ok":
            if transport is not self._transport:  # our own reference code failed: a grader error
                raise RuntimeError(f"{what}: the clean baseline kernel raised {reply['error']}")
            message = f"{what} raised {explain(reply['error'])}"
            note = self._rebinding(req.get("name") or req.get("fn", {}).get("name"))
            raise StudentCodeError(f"{message}; {note}" if note else message)
        return reply
