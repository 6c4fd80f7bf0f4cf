"""The graders' half inside the student's kernel: a wire codec and a request loop.

This file is never imported in the kernel. The parent reads its text and executes it there,
before any student cell runs, with ``store_history=False`` so that it leaves no trace in the
notebook's history. Doing that first lets it keep references to the clock, to ``numpy``'s and
``jax``'s functions and to the codec as they were before the student's code could patch them,
and take a snapshot of those modules to detect patching afterwards. The parent imports this
same file as a module for ``encode``/``decode``, so both sides share one codec.

It must stay self-contained: the standard library, numpy and jax only.
"""

import importlib
import io
import json
import math
import socket
import struct
import sys
import time
import traceback

import numpy as np

# Captured before student code runs: later patches of these modules cannot reach them.
_perf_counter = time.perf_counter
_np_save = np.save
_np_load = np.load
_np_asarray = np.asarray
_json_dumps = json.dumps
_json_loads = json.loads
_pack = struct.pack
_unpack = struct.unpack
_format_exc = traceback.format_exception_only

MAX_FRAME_BYTES = 1 << 30  # a reply larger than 1 GiB is refused, not buffered
# Modules whose attributes a fair timing depends on; a notebook that rebinds one loses the
# speed tests ("time.perf_counter was replaced") instead of fooling them. Not builtins:
# IPython itself rebinds input() and friends around every cell.
WATCHED_MODULES = (
    "math", "time", "json", "socket", "struct",
    "numpy", "numpy.random", "numpy.linalg", "numpy.testing",
    "jax", "jax.numpy", "jax.random", "jax.lax", "jax.nn",
)


# ----- wire format: a JSON header describing a tree whose array leaves follow as .npy blobs

def _to_header(obj, blobs):
    if isinstance(obj, np.ndarray) or type(obj).__module__.startswith(("jax", "jaxlib")):
        arr = _as_numpy(obj)
        buf = io.BytesIO()
        _np_save(buf, arr, allow_pickle=False)
        blobs.append(buf.getvalue())
        return {"a": len(blobs) - 1}
    if isinstance(obj, np.generic):
        return _to_header(_np_asarray(obj), blobs)
    if obj is None or isinstance(obj, (bool, int, str)):
        return {"v": obj}
    if isinstance(obj, float):
        return {"f": repr(obj)}  # repr keeps nan/inf, which JSON cannot
    if isinstance(obj, tuple):
        return {"t": [_to_header(x, blobs) for x in obj]}
    if isinstance(obj, list):
        return {"l": [_to_header(x, blobs) for x in obj]}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("only dicts with string keys can cross to the grader")
        return {"d": {k: _to_header(v, blobs) for k, v in obj.items()}}
    raise TypeError(f"a value of type {type(obj).__name__} cannot cross to the grader")


def _as_numpy(x):
    try:
        import jax

        if hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
    except ImportError:
        pass
    return _np_asarray(x)


def _from_header(node, blobs):
    (kind, val), = node.items()
    if kind == "a":
        arr = _np_load(io.BytesIO(blobs[val]), allow_pickle=False)
        if arr.dtype.kind not in "biufc":
            raise ValueError(f"refusing an array of dtype {arr.dtype}")
        return arr
    if kind == "v":
        return val
    if kind == "f":
        return float(val)
    if kind == "t":
        return tuple(_from_header(x, blobs) for x in val)
    if kind == "l":
        return [_from_header(x, blobs) for x in val]
    if kind == "d":
        return {k: _from_header(v, blobs) for k, v in val.items()}
    raise ValueError(f"unknown node kind {kind!r}")


def encode(tree):
    """Serialise a tree of dicts/lists/tuples/scalars/arrays to bytes (no pickle)."""
    blobs = []
    header = _json_dumps(_to_header(tree, blobs)).encode()
    parts = [_pack("!QI", len(header), len(blobs)), header]
    for b in blobs:
        parts += [_pack("!Q", len(b)), b]
    return b"".join(parts)


def decode(data):
    """Inverse of ``encode``; arrays are loaded with ``allow_pickle=False``."""
    hlen, nblobs = _unpack("!QI", data[:12])
    pos = 12 + hlen
    header = _json_loads(data[12:pos].decode())
    blobs = []
    for _ in range(nblobs):
        (blen,) = _unpack("!Q", data[pos:pos + 8])
        blobs.append(data[pos + 8:pos + 8 + blen])
        pos += 8 + blen
    return _from_header(header, blobs)


def send_frame(sock, tree):
    payload = encode(tree)
    sock.sendall(_pack("!Q", len(payload)) + payload)


def recv_frame(sock):
    (size,) = _unpack("!Q", _recv_exact(sock, 8))
    if size > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {size} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    return decode(_recv_exact(sock, size))


def _recv_exact(sock, n):
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


# ----- the worker

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

    def __init__(self, user_ns):
        import jax
        import jax.numpy as jnp

        self._jax, self._jnp = jax, jnp
        self._block = jax.block_until_ready
        self._make_jaxpr = jax.make_jaxpr
        self._device_put = jax.device_put
        self._user_ns = user_ns
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
    def op_names(self, req):
        return {"names": sorted(k for k, v in self._user_ns.items()
                                if not k.startswith("_") and callable(v))}

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
        out = self._block(fn(*args, **req.get("kwargs", {})))
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
        return {"candidate_s": tc, "baseline_s": tb,
                "outputs": outs if req.get("return_outputs", True) else []}

    def handle(self, req):
        op = getattr(self, "op_" + req.get("op", ""), None)
        if op is None:
            return {"status": "error", "error": f"unknown op {req.get('op')!r}"}
        t0 = _perf_counter()
        try:
            out = op(req)
        except BaseException as exc:  # student code raised (even SystemExit): report it, keep serving
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
            return {"status": "error", "error": "".join(_format_exc(type(exc), exc)).strip(),
                    "traceback": tb[-4000:]}
        out["status"] = "ok"
        out["worker_s"] = _perf_counter() - t0
        return out

    def serve(self, host, port, token):
        """Connect back to the parent and answer requests until it says stop."""
        sock = socket.create_connection((host, port))
        try:
            send_frame(sock, {"token": token})
            while True:
                try:
                    req = recv_frame(sock)
                except ConnectionError:
                    return
                if req.get("op") == "stop":
                    send_frame(sock, {"status": "ok"})
                    return
                reply = self.handle(req)
                try:
                    send_frame(sock, reply)
                except (TypeError, ValueError, RecursionError) as exc:  # an object, object array, cycle
                    send_frame(sock, {"status": "error",
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
