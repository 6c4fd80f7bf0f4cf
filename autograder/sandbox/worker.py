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
import socket
import sys
import time
import traceback
from contextlib import nullcontext

import numpy as np

# Captured before student code runs: later patches of these modules cannot reach them.
_perf_counter = time.perf_counter
_format_exc = traceback.format_exception_only

# jax.random's functions that draw from a key (split and fold_in derive keys and are not draws).
KEY_DRAWS = (
    "bits", "uniform", "normal", "randint", "permutation", "choice", "shuffle", "bernoulli",
    "truncated_normal", "categorical", "gumbel", "exponential", "laplace", "logistic", "gamma",
    "beta", "dirichlet", "poisson", "multivariate_normal", "orthogonal", "rademacher", "ball",
    "cauchy", "t", "chisquare", "f", "pareto", "weibull_min", "maxwell", "double_sided_maxwell",
    "binomial", "geometric", "lognormal", "loggamma", "rayleigh", "wald", "generalized_normal",
    "triangular", "multinomial",
)
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
        self._timing = {}  # slot -> (function, spec) of a race in progress
        self._race_args = {}  # run -> its arguments on the device, for the other side of the run

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
        # static_argnums, not a closure: JAX's errors then name the student's function and its
        # own parameters ("depends on the value of the argument threshold").
        try:
            jaxpr = self._make_jaxpr(fn, static_argnums=tuple(req.get("static", ())))(*args)
        except Exception as exc:  # the student's function failed to trace: report why
            return {"traceable": False, "error": "".join(_format_exc(type(exc), exc)).strip(),
                    "jit_wrapped": hasattr(fn, "lower")}  # a jax.jit function, or plain Python?
        counts = {}
        total = _count_eqns(jaxpr.jaxpr, counts)
        top = [str(e.primitive) for e in jaxpr.jaxpr.eqns]
        return {"traceable": True, "eqns": total, "primitives": counts, "top": top}

    def _host_device(self):
        """The kernel's CPU device, or None where JAX was started without one."""
        try:
            return self._jax.devices("cpu")[0]
        except RuntimeError:
            return None

    def op_key_draws(self, req):
        """Call fn op by op (jax.disable_jit, so every key is a concrete value) and record the
        key of every random draw: which keys were used, how often, by which function.

        On a GPU the run goes to the host CPU first: op by op, a GPU compiles a kernel for every
        new operation (seconds for a short training run), and which keys are drawn does not
        depend on the device. If the function fails there (it may insist on a GPU), the run is
        repeated on the default device, so the verdict never depends on where it ran."""
        host = self._host_device()
        if host is not None and self._jax.devices()[0] != host:
            try:
                with self._jax.default_device(host):
                    return self._key_draws(req)
            except Exception:  # noqa: BLE001 - judged on the default device instead, below
                pass
        return self._key_draws(req)

    def _key_draws(self, req):
        fn = self._function(req)
        args = self._args(req, req.get("args", ()))  # uncommitted: on the default device
        random = self._jax.random
        draws = []

        def recording(name, draw):
            def wrapper(key, *rest, **kwargs):
                data = random.key_data(key) if self._jax.dtypes.issubdtype(key.dtype, self._jax.dtypes.prng_key) else key
                draws.append({"fn": name, "key": np.asarray(data)})
                return draw(key, *rest, **kwargs)
            return wrapper

        # jax.random's functions, and the notebook's own names for them (`from jax.random import
        # permutation`), are wrapped for the one call.
        places = [(random, name) for name in KEY_DRAWS if hasattr(random, name)]
        drawers = {id(getattr(random, name)): name for _, name in places}
        places += [(self._user_ns, key) for key, value in list(self._user_ns.items()) if id(value) in drawers]
        saved = [(where, name, _get(where, name)) for where, name in places]
        for where, name, draw in saved:
            _set(where, name, recording(drawers[id(draw)], draw))
        try:
            with self._jax.disable_jit():
                self._block(fn(*args))
        finally:  # put everything back as it was: the tamper check must see no change
            for where, name, draw in saved:
                _set(where, name, draw)
        return {"draws": draws}

    def op_load_baseline(self, req):
        ns = {"__name__": "grader_baseline_" + req["label"]}
        for alias, name in req.get("bind", {}).items():  # e.g. a Python loop over student's predict
            ns[alias] = self._function({"name": name})
        exec(compile(req["source"], f"<baseline {req['label']}>", "exec"), ns)
        self._baselines[req["label"]] = ns
        return {}

    # -- timing: one side of a race. The parent interleaves the two sides (in this kernel or
    # in a second, clean one), one timed call per request, so it can stop a race whose verdict
    # is already clear. The clock is the one captured before any student cell ran.
    def op_time_prepare(self, req):
        """Check nothing a fair timing relies on was patched, then warm the function up
        (compilation and first-touch excluded from the clock) on the first run's arguments."""
        changed = self.tampered()
        if changed:
            return {"tampered": changed[:5]}
        spec = req["fn"]
        fn = self._function(spec)
        args = self._args(spec, req["args"])
        with self._jit_mode(spec):
            for _ in range(req.get("warmup", 2)):
                self._block(fn(*args))
        self._timing[req["slot"]] = (fn, spec)
        return {}

    def op_time_run(self, req):
        """One timed call on fresh inputs (put on the device before the clock starts).

        ``sample``: flat indices whose values come back instead of the whole output (large
        elementwise outputs), with the output's shape and whether every entry is finite."""
        fn, spec = self._timing[req["slot"]]
        if "args_of" in req:  # the other side of this run, in this kernel: the same arrays
            args = self._race_args[req["args_of"]]
        else:
            args = self._block(self._args(spec, req["args"]))
            self._race_args = {req.get("run", 0): args}
        with self._jit_mode(spec):
            t0 = _perf_counter()
            out = self._block(fn(*args))
            elapsed = _perf_counter() - t0
        if "sample" in req:
            flat = self._jnp.ravel(out)
            out = {"shape": list(self._jnp.shape(out)), "finite": bool(self._jnp.isfinite(flat).all()),
                   "values": flat[self._jnp.asarray(req["sample"])]}
        return {"s": elapsed, "output": out}

    def op_time_done(self, req):
        self._timing.pop(req["slot"], None)
        self._race_args = {}
        return {}

    def _jit_mode(self, spec):
        """jax.disable_jit() for a baseline that runs a function op by op, else nothing."""
        return self._jax.disable_jit() if spec.get("disable_jit") else nullcontext()

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

    def serve(self, path, token):
        """Connect back to the parent's Unix socket at ``path`` and answer requests until it
        says stop."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
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


def _get(where, name):
    return where[name] if isinstance(where, dict) else getattr(where, name)


def _set(where, name, value):
    if isinstance(where, dict):
        where[name] = value
    else:
        setattr(where, name, value)


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
