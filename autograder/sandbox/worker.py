"""The graders' half inside the student's kernel: the request loop that calls, traces and
times the functions the notebook defined.

This file is never imported in the kernel. The parent executes its text there (after the text
of ``wire.py``, the codec it is handed), before any student cell runs, with
``store_history=False`` so that it leaves no trace in the notebook's history. Doing that first
lets it keep references to the clock and to ``numpy``'s and ``jax``'s functions as they were
before the student's code could patch them, and take a snapshot of those modules to detect
patching afterwards. nbgrader's hidden cells import it as a module instead (no sandbox there).

It must stay self-contained: the standard library, numpy and jax only.
"""

import importlib
import math
import socket
import sys
import time
import traceback

import numpy as np

# Captured before student code runs: later patches of these modules cannot reach them.
_perf_counter = time.perf_counter
_format_exc = traceback.format_exception_only

# Modules whose attributes a fair timing depends on; a notebook that rebinds one loses the
# speed tests ("time.perf_counter was replaced") instead of fooling them. Not builtins:
# IPython itself rebinds input() and friends around every cell.
WATCHED_MODULES = (
    "math", "time", "json", "socket", "struct",
    "numpy", "numpy.random", "numpy.linalg", "numpy.testing",
    "jax", "jax.numpy", "jax.random", "jax.lax", "jax.nn",
)


def _snapshot():
    snap = {}
    for name in WATCHED_MODULES:
        mod = importlib.import_module(name)  # imported now, so a later patch cannot go unseen
        snap[name] = (mod, dict(vars(mod)))
    return snap


def _leaf_kinds(tree, out):
    """Where each leaf of a result lives: 'jax' (device array), 'numpy' (host) or 'python'."""
    if isinstance(tree, (list, tuple)):
        for x in tree:
            _leaf_kinds(x, out)
    elif isinstance(tree, dict):
        for x in tree.values():
            _leaf_kinds(x, out)
    elif isinstance(tree, np.ndarray) or isinstance(tree, np.generic):
        out.append("numpy")
    elif type(tree).__module__.startswith(("jax", "jaxlib")):
        out.append("jax")
    else:
        out.append("python")
    return out


class Worker:
    """Answers the parent's requests about the functions the notebook defined."""

    def __init__(self, user_ns, wire):
        import jax
        import jax.numpy as jnp

        self._jax, self._jnp = jax, jnp
        self._block = jax.block_until_ready
        self._make_jaxpr = jax.make_jaxpr
        self._device_put = jax.device_put
        self._user_ns = user_ns
        self._wire = wire  # the codec module (wire.py): imported by the graders, text in the kernel
        self._snap = _snapshot()
        self._baselines = {}

    # -- checks on the environment
    def tampered(self):
        """Names in the watched modules that student code rebound or deleted."""
        changed = []
        for name, (mod, attrs) in self._snap.items():
            if sys.modules.get(name) is not mod:
                changed.append(f"sys.modules[{name!r}]")
                continue
            now = vars(mod)
            for key, val in attrs.items():
                if key.startswith("__") or now.get(key, _MISSING) is val:
                    continue
                changed.append(f"{name}.{key}")
        return changed

    # -- helpers
    def _function(self, spec):
        if "baseline" in spec:
            return self._baselines[spec["baseline"]][spec["name"]]
        name = spec["name"]
        if name not in self._user_ns:
            raise LookupError(f"{name} is not defined")
        return self._user_ns[name]

    def _to_device(self, tree):
        if isinstance(tree, np.ndarray):
            return self._device_put(tree)
        if isinstance(tree, tuple):
            return tuple(self._to_device(x) for x in tree)
        if isinstance(tree, list):
            return [self._to_device(x) for x in tree]
        if isinstance(tree, dict):
            return {k: self._to_device(v) for k, v in tree.items()}
        return tree

    def _args(self, spec, args):
        return self._to_device(args) if spec.get("device", True) else args

    # -- operations
    def op_platform(self, req):
        dev = self._jax.devices()[0]
        return {"platform": dev.platform, "device": getattr(dev, "device_kind", str(dev))}

    def op_describe(self, req):
        obj = self._user_ns.get(req["name"], _MISSING)
        if obj is _MISSING:
            return {"defined": False}
        return {"defined": True, "callable": callable(obj), "type": type(obj).__name__}

    def op_call(self, req):
        fn = self._function(req)
        args = self._args(req, req.get("args", ()))
        out = self._block(fn(*args))
        reply = {"value": out, "kinds": _leaf_kinds(out, [])}
        if req.get("return_args"):  # lets the parent see whether the call mutated its inputs
            reply["args_after"] = args
        return reply

    def op_jaxpr(self, req):
        """Trace fn with the array arguments abstract and the listed ones held static."""
        fn = self._function(req)
        args = list(self._args(req, req.get("args", ())))
        static = set(req.get("static", ()))
        dyn_idx = [i for i in range(len(args)) if i not in static]

        def closed(*dyn):
            full = list(args)
            for i, v in zip(dyn_idx, dyn):
                full[i] = v
            return fn(*full)

        try:
            jaxpr = self._make_jaxpr(closed)(*[args[i] for i in dyn_idx])
        except Exception as exc:  # the student's function failed to trace: report why
            return {"traceable": False, "error": "".join(_format_exc(type(exc), exc)).strip()}
        counts = {}
        total = _count_eqns(jaxpr.jaxpr, counts)
        top = [str(e.primitive) for e in jaxpr.jaxpr.eqns]
        return {"traceable": True, "eqns": total, "primitives": counts, "top": top}

    def op_load_baseline(self, req):
        ns = {"__name__": "grader_baseline_" + req["label"]}
        for alias, name in req.get("bind", {}).items():  # e.g. a Python loop over student's predict
            ns[alias] = self._function({"name": name})
        exec(compile(req["source"], f"<baseline {req['label']}>", "exec"), ns)
        self._baselines[req["label"]] = ns
        return {}

    def op_race(self, req):
        """Time candidate and baseline on fresh inputs, interleaved, compile excluded.

        Each run gets its own inputs; the order alternates so drift hits both sides equally.
        The candidate's outputs come back so the parent can check every timed call.
        """
        changed = self.tampered()
        if changed:
            return {"tampered": changed[:5]}
        cand, base = req["candidate"], req["baseline"]
        fc, fb = self._function(cand), self._function(base)
        runs = req["runs"]
        prepared = [(self._args(cand, r["candidate"]), self._args(base, r.get("baseline", r["candidate"])))
                    for r in runs]
        for _ in range(req.get("warmup", 2)):  # compile and page in both before any clock starts
            self._block(fc(*prepared[0][0]))
            self._block(fb(*prepared[0][1]))
        tc, tb, outs = [], [], []
        for i, (ac, ab) in enumerate(prepared):
            order = ((fc, ac, tc), (fb, ab, tb)) if i % 2 == 0 else ((fb, ab, tb), (fc, ac, tc))
            for fn, a, sink in order:
                t0 = _perf_counter()
                out = self._block(fn(*a))
                sink.append(_perf_counter() - t0)
                if sink is tc:
                    outs.append(out)
        return {"candidate_s": tc, "baseline_s": tb, "outputs": outs}

    def handle(self, req):
        op = getattr(self, "op_" + req.get("op", ""), None)
        if op is None:
            return {"status": "error", "error": f"unknown op {req.get('op')!r}"}
        try:
            out = op(req)
        except BaseException as exc:  # student code raised (even SystemExit): report it, keep serving
            return {"status": "error", "error": "".join(_format_exc(type(exc), exc)).strip()}
        out["status"] = "ok"
        return out

    def serve(self, host, port, token):
        """Connect back to the parent and answer requests until it says stop."""
        sock = socket.create_connection((host, port))
        try:
            self._wire.send_frame(sock, {"token": token})
            while True:
                try:
                    req = self._wire.recv_frame(sock)
                except ConnectionError:
                    return
                if req.get("op") == "stop":
                    self._wire.send_frame(sock, {"status": "ok"})
                    return
                reply = self.handle(req)
                try:
                    self._wire.send_frame(sock, reply)
                except (TypeError, ValueError, RecursionError) as exc:  # an object, object array, cycle
                    self._wire.send_frame(sock, {"status": "error",
                                      "error": f"a result that cannot cross to the grader ({type(exc).__name__}: {exc})"})
        finally:
            sock.close()


def _count_eqns(jaxpr, counts):
    total = 0
    for eqn in jaxpr.eqns:
        total += 1
        name = str(eqn.primitive)
        counts[name] = counts.get(name, 0) + 1
        for sub in _subjaxprs(eqn.params):
            total += _count_eqns(sub, counts)
    return total


def _subjaxprs(params):
    for val in params.values():
        vals = val if isinstance(val, (list, tuple)) else (val,)
        for v in vals:
            inner = getattr(v, "jaxpr", None)
            if inner is not None and hasattr(inner, "eqns"):
                yield inner
            elif hasattr(v, "eqns"):
                yield v


class _Missing:
    pass


_MISSING = _Missing()
# Keep math referenced so the snapshot sees it imported.
_ = math
