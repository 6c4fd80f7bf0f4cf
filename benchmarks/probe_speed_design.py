"""One GPU run that measures what the graders' speed tests must be designed around.

The speed tests (autograder/thresholds.py) race a student's function against a baseline on fresh
inputs; whether a ratio separates right from wrong code depends on numbers this script collects
in one call of the lent GPU (<= ~8 minutes of wall time):

  env  device, driver, versions, CPU, and the host-dispatch cost of one trivial jitted call
  A    device-to-device copy bandwidth (256 MiB float32): the ceiling for the heat step
  B    heat equation, per-step cost of ~20 ways to write simulate (compiled loops with traced or
       static trip counts, chunked and unrolled loops, Python loops over jitted steps, eager,
       host callbacks, NumPy), 64**2 .. 8192**2, with HLO statistics; the grader's own case
       (1024**2, 50 steps); a pure loop-overhead probe; XLA flags in subprocesses; torch/cupy
  C    gelu: eager vs jit vs jit under disable_jit, and what checking one output costs
  D    batched_predict: vmap vs Python loops vs lax.map vs one call
  E    train_step: jitted reference vs un-jitted vs NumPy (host) vs per-layer grads

Protocol: warm-up first (the first call, compile included, is reported apart);
jax.block_until_ready before the clock is read; medians over repeats; inputs rotated over
enough buffers to overflow a 60 MB L2 where one input is smaller; random, never zero data;
every variant checked against the float64 oracle of solutions/oracles.py before it is timed
(max relative error = max|out - ref| / max|ref|). `--budget-s` is spread over the sections
(an early finish hands its time on); what does not fit is recorded as skipped. The JSON is
rewritten after every section (and every heat grid size), so a killed run keeps its data; the
Markdown summary is printed last.

On the lent GPU, from the repository root (wheels: benchmarks/fetch_wheels.sh; this script needs
only jax and numpy, the wheels are for the pip-check line of the environment record):

    set -o pipefail; python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD; PYTHONUNBUFFERED=1 python3 benchmarks/probe_speed_design.py --budget-s 420 --json $OUT/probe.json --md $OUT/probe.md 2>&1 | tee $OUT/probe.log

On a CPU, end to end with tiny sizes in about a minute:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/probe_speed_design.py --quick --json /tmp/probe/probe.json --md /tmp/probe/probe.md
"""

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np


from benchmarks.bench_references import ALPHA, DT, DX, _interior as interior
from benchmarks.bench_references import L2_OVERFLOW_BYTES as ROTATE_BYTES  # > twice the L2
from solutions import oracles
from solutions.answers import deep_learning_jax, heat_equation_jax, jax_jit, jax_vmap
from solutions.golden import heat as golden_heat
from solutions.golden import mlp as golden_mlp

R = ALPHA * DT / DX**2
MAX_BUFFERS = 64
CHECK_SHAPE, CHECK_STEPS = (40, 56), 37  # 37 = 2*16+5: every chunked loop runs chunks and a rest
HEAT_TOL = 1e-4  # max relative error of a float32 heat run against the float64 oracle
SECTIONS = ["env", "A", "B", "loop", "C", "D", "E", "flags", "B_torch_cupy", "B_rest"]
SHARES = {"env": 2, "A": 3, "B": 36, "loop": 2, "C": 7, "D": 7, "E": 10, "flags": 12,
          "B_torch_cupy": 14, "B_rest": 7}  # shares of the time left; unused time is handed on


class Terminated(BaseException):
    """SIGTERM (e.g. from `timeout`): stop, but still write what was measured."""


def _on_sigterm(signum, frame):
    raise Terminated()


# --- run state: budget, results, output ----------------------------------------------------------


class Run:
    def __init__(self, args):
        self.args = args
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + args.budget_s - (3 if args.quick else 10)  # keep time to write
        self.section_deadline = self.deadline
        self.out_dir = Path(args.json).resolve().parent if args.json else None
        self.data = {"meta": {"started": datetime.datetime.now(datetime.UTC).isoformat(),
                              "argv": sys.argv, "quick": args.quick, "budget_s": args.budget_s,
                              "complete": False, "protocol": PROTOCOL},
                     "sections": {}}
        self.rng = np.random.default_rng(20261201)
        self.wanted = SECTIONS
        self._seed = 0

    def left(self):
        return self.section_deadline - time.perf_counter()

    def total_left(self):
        return self.deadline - time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.t0

    def key(self):
        self._seed += 1
        return jax.random.key(self._seed)

    def log(self, msg):
        print(f"[{self.elapsed():6.1f}s] {msg}", flush=True)

    def save(self):
        if self.args.json:
            _atomic_write(self.args.json, json.dumps(self.data, indent=1, default=_json_default))
        if self.args.md:
            _atomic_write(self.args.md, markdown(self.data))


PROTOCOL = ("warm-up first (first call incl. compile reported apart as first_s); block_until_ready "
            "before the clock; medians over repeats; inputs rotated over >=128 MiB of buffers "
            "(at most 64); random nonzero data; checked against solutions/oracles.py in float64 "
            "first (max_rel_err = max|out-ref|/max|ref|). Heat: per_step_us = t(N)/N; "
            "marginal_us = (t(N)-t(16))/(N-16) (call overhead removed); GB/s counts u read once "
            "and written once per step; pct_copy against section A's scale-add copy.")


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def _atomic_write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --- shared measuring helpers ----------------------------------------------------------------------


block = jax.block_until_ready


def med(xs):
    return statistics.median(xs) if xs else None


def spread(xs):
    return (max(xs) - min(xs)) / statistics.median(xs) if xs and statistics.median(xs) > 0 else None


def n_buffers(nbytes, minimum=2):
    return max(minimum, min(MAX_BUFFERS, math.ceil(ROTATE_BYTES / max(nbytes, 1))))


def timed_calls(call, inputs, reps, run, start=1, budget_s=None):
    """Seconds of `call(inputs[i])` (blocked) for `reps` rotated inputs; stops early (keeping at
    least 2 samples) when the section's time or budget_s runs out."""
    samples, t_start = [], time.perf_counter()
    for i in range(reps):
        if len(samples) >= 2 and (run.left() < 0 or
                                  (budget_s and time.perf_counter() - t_start > budget_s)):
            break
        x = inputs[(start + i) % len(inputs)]
        t0 = time.perf_counter()
        block(call(x))
        samples.append(time.perf_counter() - t0)
    return samples


def pipelined(call, inputs, calls, reps, run):
    """Per-call seconds of `calls` calls dispatched back to back, blocked at the end."""
    samples = []
    for r in range(reps):
        if len(samples) >= 2 and run.left() < 0:
            break
        t0 = time.perf_counter()
        for i in range(calls):
            out = call(inputs[(r * calls + i) % len(inputs)])
        block(out)
        samples.append((time.perf_counter() - t0) / calls)
    return samples


def to_np(x):
    if hasattr(x, "detach"):  # torch
        return x.detach().cpu().numpy()
    if type(x).__module__.startswith("cupy"):
        import cupy
        return cupy.asnumpy(x)
    return np.asarray(x)


def max_rel_err(out, ref):
    """max|out - ref| / max|ref| over every leaf of a pytree (ref in float64)."""
    outs, refs = jax.tree.leaves(out), jax.tree.leaves(ref)
    if len(outs) != len(refs):
        return float("inf")
    num = max(float(np.max(np.abs(to_np(o).astype(np.float64) - np.asarray(r, np.float64))))
              for o, r in zip(outs, refs))
    den = max(float(np.max(np.abs(np.asarray(r, np.float64)))) for r in refs)
    return num / den if den > 0 else num


def err_text(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]


def hlo_stats(text):
    return {
        "while_loops": len(re.findall(r"\swhile\(", text)),
        "fusions": len(re.findall(r"\sfusion\(", text)),
        "copies": len(re.findall(r"\scopy\(", text)),
        "copy_start": len(re.findall(r"copy-start\(", text)),
        "has_copy": bool(re.search(r"\scopy\(|copy-start\(", text)),
        "dynamic_update_slice": len(re.findall(r"dynamic-update-slice\(", text)),
        "custom_calls": len(re.findall(r"custom-call\(", text)),
        "known_trip_count": text.count("known_trip_count"),
        "command_buffer": text.count("command_buffer"),
        "chars": len(text),
    }


def device_kind():
    return jax.devices()[0].platform


@contextlib.contextmanager
def section(run, name):
    """Give the section its share of the time left, record status/error/elapsed, save."""
    later = [s for s in SECTIONS[SECTIONS.index(name):] if s in run.wanted]
    share = SHARES[name] / sum(SHARES[s] for s in later)
    run.section_deadline = time.perf_counter() + max(run.total_left(), 0) * share
    rec = run.data["sections"].setdefault(name, {})
    rec.update(status="running", allotted_s=round(run.left(), 1))
    run.log(f"== section {name}: {run.left():.0f} s allotted, {run.total_left():.0f} s left in all")
    t0 = time.perf_counter()
    try:
        if run.total_left() < 1:
            rec["status"] = "skipped: no time left"
            yield None
        else:
            yield rec
            rec["status"] = "ok" if rec.get("status") == "running" else rec["status"]
    except Terminated:
        rec["status"] = "killed (SIGTERM)"
        raise
    except Exception as exc:  # one failing section must not stop the others
        rec["status"] = "error"
        rec["error"] = err_text(exc)
        rec["traceback"] = traceback.format_exc()[-4000:]
        run.log(f"section {name} failed: {rec['error']}")
    finally:
        rec["elapsed_s"] = round(time.perf_counter() - t0, 2)
        run.section_deadline = run.deadline
        run.save()


def optional_import(name):
    try:
        return __import__(name), None
    except Exception as exc:  # not installed here, or broken: recorded, never fatal
        return None, err_text(exc)


# --- env -------------------------------------------------------------------------------------------


def section_env(run, rec):
    env = {"python": platform.python_version(), "executable": sys.executable,
           "platform": platform.platform(), "jax": jax.__version__,
           "jaxlib": _dist_version("jaxlib"),
           "numpy": np.__version__, "devices": [str(d) for d in jax.devices()],
           "device_kind": jax.devices()[0].device_kind, "backend": device_kind(),
           "cpu_count": os.cpu_count(),
           "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
           "default_matmul_precision": jax.config.jax_default_matmul_precision,
           "env_vars": {k: v for k, v in os.environ.items()
                        if k.startswith(("XLA_", "JAX_", "TF_", "CUDA_", "NVIDIA_"))}}
    try:
        env["cpu_model"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                                if line.startswith("model name"))
    except Exception as exc:
        env["cpu_model"] = err_text(exc)
    try:
        env["device_memory_stats"] = {k: v for k, v in (jax.devices()[0].memory_stats() or {}).items()
                                      if k in ("bytes_limit", "bytes_in_use", "peak_bytes_in_use")}
    except Exception as exc:
        env["device_memory_stats"] = err_text(exc)
    if shutil.which("nvidia-smi"):
        env["nvidia_smi"] = _cmd(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                                  "clocks.max.sm,clocks.sm,power.limit,temperature.gpu",
                                  "--format=csv,noheader"])
        env["nvidia_smi_clocks"] = _cmd(["nvidia-smi", "-q", "-d", "CLOCK,PERFORMANCE"])[:3000]
    for mod in ("torch", "cupy"):
        m, err = optional_import(mod)
        env[mod] = getattr(m, "__version__", None) if m else f"unavailable: {err}"
    m = sys.modules.get("torch")
    if m is not None:
        env["torch_cuda"] = bool(m.cuda.is_available())
    env["packages"] = {p: _dist_version(p) for p in (
        "jax-cuda13-plugin", "jax-cuda13-pjrt", "nbclient", "nbformat", "jupyter-client",
        "ipykernel", "ipython", "pyzmq", "tornado", "traitlets", "psutil", "pygments",
        "typing-extensions", "python-dateutil", "attrs", "packaging", "wrapt", "pytest",
        "pytest-xdist", "pytest-timeout", "nbgrader", "otter-grader", "jupytext")}
    # Conflicts between the carried wheels (PYTHONPATH) and the image's own packages.
    env["pip_check"] = _cmd([sys.executable, "-m", "pip", "check"], timeout=30)[-3000:]
    rec["env"] = env
    run.data["env"] = env

    # Host dispatch: one call of a trivial jitted function on a 1-element array.
    f = jax.jit(lambda x: x + 1)
    xs = [jnp.ones((1,), jnp.float32) * (i + 1) for i in range(8)]
    block(f(xs[0]))
    calls = 50 if run.args.quick else 300
    single = timed_calls(f, xs, calls, run)
    pipe = pipelined(f, xs, 100, 5, run)
    rec["dispatch"] = {"single_call_us_median": med(single) * 1e6, "single_call_us_min": min(single) * 1e6,
                       "pipelined_us_per_call": med(pipe) * 1e6, "calls": len(single)}
    run.log(f"env: {env['device_kind']}, jax {env['jax']}, dispatch {med(single) * 1e6:.1f} us "
            f"(pipelined {med(pipe) * 1e6:.1f} us)")


def _dist_version(name):
    try:
        from importlib import metadata
        return metadata.version(name)
    except Exception:
        return None


def _cmd(argv, timeout=30):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return (p.stdout + p.stderr).strip()
    except Exception as exc:
        return f"failed: {err_text(exc)}"


# --- A: copy bandwidth -----------------------------------------------------------------------------


def section_copy(run, rec):
    side = 1024 if run.args.quick else 8192  # 8192**2 float32 = 256 MiB
    reps, calls = (2, 5) if run.args.quick else (7, 20)
    xs = [jax.random.uniform(run.key(), (side, side), jnp.float32, 0.5, 100.0) for _ in range(2)]
    nbytes = xs[0].nbytes
    x_host = np.asarray(xs[0])
    rows = []
    scale, shift = jnp.float32(1.0), jnp.float32(0.0)
    variants = {
        # Traced scalars: XLA cannot fold the multiply-add away, so this is one read+write kernel.
        "jax x*s+t (s=1, t=0 traced)": (jax.jit(lambda x, s, t: x * s + t), (scale, shift)),
        "jax x*1.0+0.0 (literals)": (jax.jit(lambda x: x * 1.0 + 0.0), ()),
        "jax jnp.copy": (jax.jit(jnp.copy), ()),
    }
    for name, (f, extra) in variants.items():
        text = f.lower(xs[0], *extra).compile().as_text()
        stats = hlo_stats(text)
        stats["root_is_parameter"] = bool(re.search(r"ROOT \S+ = \S+ parameter\(", text))
        t0 = time.perf_counter()
        out = block(f(xs[0], *extra))
        first = time.perf_counter() - t0
        # The oracle is the identity: compare in float32, exactly (cheaper than float64 at 256 MiB).
        err = float(np.max(np.abs(np.asarray(out) - x_host))) / float(np.max(np.abs(x_host)))

        def call(x, f=f, extra=extra):
            return f(x, *extra)

        pipe = pipelined(call, xs, calls, reps, run)
        single = timed_calls(call, xs, reps * 3, run)
        rows.append({"variant": name, "bytes_per_call": 2 * nbytes, "first_s": first,
                     "ms_per_call_pipelined": med(pipe) * 1e3, "ms_single_call": med(single) * 1e3,
                     "gbps": 2 * nbytes / med(pipe) / 1e9, "max_rel_err": err, "hlo": stats})
        run.log(f"A {name}: {rows[-1]['gbps']:.0f} GB/s ({med(pipe) * 1e3:.3f} ms), hlo {stats}")
    torch, err = optional_import("torch")
    if torch is not None and torch.cuda.is_available():
        a = torch.empty(side * side, device="cuda").uniform_(0.5, 100.0)
        b = torch.empty_like(a)
        b.copy_(a)
        torch.cuda.synchronize()
        samples = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(calls):
                b.copy_(a)
            torch.cuda.synchronize()
            samples.append((time.perf_counter() - t0) / calls)
        ok = bool(torch.equal(a, b))
        rows.append({"variant": "torch .copy_()", "bytes_per_call": 2 * a.numel() * 4,
                     "ms_per_call_pipelined": med(samples) * 1e3,
                     "gbps": 2 * a.numel() * 4 / med(samples) / 1e9, "max_rel_err": 0.0 if ok else None})
        del a, b
        torch.cuda.empty_cache()
    else:
        rows.append({"variant": "torch .copy_()", "status": f"unavailable: {err or 'no CUDA'}"})
    rec["rows"] = rows
    rec["copy_gbps"] = rows[0]["gbps"]  # the ceiling used by section B
    run.data["copy_gbps"] = rows[0]["gbps"]


# --- B: heat equation ------------------------------------------------------------------------------


def step_pad_where(u, r):
    """The shipped _step's form: neighbours from a zero-padded copy, update kept on the interior."""
    p = jnp.pad(u, 1)
    lap = p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4 * u
    return jnp.where(interior(u.shape), u + r * lap, u)


def step_textbook(u, r):
    c = u[1:-1, 1:-1]
    lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * c
    return u.at[1:-1, 1:-1].set(c + r * lap)


def _body(step):
    return lambda _, v: step(v, R)


def traced_loop(step):
    return jax.jit(lambda u, n: jax.lax.fori_loop(0, n, _body(step), u))


def static_loop(step, unroll=1):
    return jax.jit(lambda u, n: jax.lax.fori_loop(0, n, _body(step), u, unroll=unroll),
                   static_argnums=1)


def chunk_unrolled(step, k):
    def run(u, n):
        chunk = lambda _, v: jax.lax.fori_loop(0, k, _body(step), v, unroll=True)  # noqa: E731
        u = jax.lax.fori_loop(0, n // k, chunk, u)
        return jax.lax.fori_loop(0, n % k, _body(step), u)
    return jax.jit(run)


def shipped(u, n):
    return heat_equation_jax.simulate(u, ALPHA, DT, DX, n)


def python_loop_jitted_step(u, n):
    for _ in range(n):  # the shipped heat_step: folds r on the host, then one jitted call
        u = heat_equation_jax.heat_step(u, ALPHA, DT, DX)
    return u


_fast_step = jax.jit(step_pad_where)
_R_DEVICE = None


def python_loop_fast_dispatch(u, n):
    global _R_DEVICE
    if _R_DEVICE is None:
        _R_DEVICE = jnp.asarray(R, jnp.float32)
    for _ in range(n):
        u = _fast_step(u, _R_DEVICE)
    return u


_plain_fori = traced_loop(step_pad_where)


def eager(u, n):
    with jax.disable_jit():  # fori_loop becomes a Python loop, every jnp op its own dispatch
        return _plain_fori(u, n)


def _host_step(u):
    return golden_heat.heat_step(np.asarray(u), ALPHA, DT, DX).astype(np.float32)


@jax.jit
def pure_callback_loop(u, n):
    shape = jax.ShapeDtypeStruct(u.shape, u.dtype)
    return jax.lax.fori_loop(0, n, lambda _, v: jax.pure_callback(_host_step, shape, v), u)


_CALLBACK_SINK = []


def _host_read(u):
    _CALLBACK_SINK.append(float(np.abs(np.asarray(u)).max()))
    del _CALLBACK_SINK[:-4]


@jax.jit
def debug_callback_loop(u, n):
    def body(_, v):
        v = step_pad_where(v, R)
        jax.debug.callback(_host_read, v)
        return v
    return jax.lax.fori_loop(0, n, body, u)


def numpy_golden(u, n):
    return golden_heat.solve(u, ALPHA, DT, DX, n)


def heat_variants(quick):
    """name -> (fn(u, n), domain, common_n, max_size). common_n: timed at the size's shared
    step count (compiled variants, comparable per step); otherwise each picks its own."""
    big = 10**9
    small = big if quick else 1024
    mid = big if quick else 2048
    v = {
        "shipped": (shipped, "jax", True, big),
        "plain_fori": (_plain_fori, "jax", True, big),
        "plain_fori_textbook": (traced_loop(step_textbook), "jax", True, big),
        "static_n": (static_loop(step_pad_where), "jax", True, big),
        "static_n_unroll2": (static_loop(step_pad_where, 2), "jax", True, big),
        "static_n_unroll8": (static_loop(step_pad_where, 8), "jax", True, big),
    }
    for k in (2, 4, 8, 16, 32):
        v[f"chunk_unrolled_{k}"] = (chunk_unrolled(step_pad_where, k), "jax", True, big)
    v.update({
        "python_loop_jitted_step": (python_loop_jitted_step, "jax", False, big),
        "python_loop_fast_dispatch": (python_loop_fast_dispatch, "jax", False, big),
        "eager": (eager, "jax", False, small),
        "pure_callback": (pure_callback_loop, "jax", False, mid),
        "debug_callback": (debug_callback_loop, "jax", False, mid),
        "numpy_golden": (numpy_golden, "host", False, mid),
    })
    return v


def domain_input(domain, u_host):
    if domain == "host":
        return np.array(u_host)
    if domain == "torch":
        import torch
        return torch.from_numpy(np.array(u_host)).cuda()
    if domain == "cupy":
        import cupy
        return cupy.asarray(u_host)
    return jax.device_put(u_host)


class Heat:
    """Per-size state shared by the heat measurements (buffers, step count, shipped outputs)."""

    def __init__(self, run):
        self.run = run
        self.quick = run.args.quick
        self.reps = 2 if self.quick else 7
        self.target_s = 0.004 if self.quick else 0.02
        self.n_min, self.n_max = 16, 20000
        self.copy_gbps = run.data.get("copy_gbps")
        u = run.rng.uniform(0.5, 100.0, CHECK_SHAPE).astype(np.float32)
        self.check_u, self.check_ref = u, oracles.simulate(u, ALPHA, DT, DX, CHECK_STEPS)
        self.checks = {}
        self.size = None

    def check(self, name, fn, domain):
        """Max relative error against oracles.simulate on the small grid, once per variant."""
        if name not in self.checks:
            try:
                out = block(fn(domain_input(domain, self.check_u), CHECK_STEPS))
                err = max_rel_err(out, self.check_ref)
                self.checks[name] = {"max_rel_err": err, "ok": err < HEAT_TOL}
            except Exception as exc:
                self.checks[name] = {"error": err_text(exc), "ok": False}
        return self.checks[name]

    def set_size(self, n):
        self.size = n
        count = n_buffers(n * n * 4)
        self.bufs = [jax.random.uniform(self.run.key(), (n, n), jnp.float32, 0.5, 100.0)
                     for _ in range(count)]
        block(self.bufs)
        self.inputs = {"jax": self.bufs}
        self.refs = {}  # n_steps -> shipped output on bufs[0], as NumPy
        self.n_common = None

    def inputs_for(self, domain):
        if domain not in self.inputs:
            self.inputs[domain] = [domain_input(domain, np.asarray(b)) for b in self.bufs[:2]]
        return self.inputs[domain]

    def ref(self, n):
        if n not in self.refs:
            self.refs[n] = np.asarray(block(shipped(self.bufs[0], n)))
        return self.refs[n]

    def pick_n(self, t16):
        per_step = max(t16 / 16, 1e-9)
        return int(min(self.n_max, max(self.n_min, round(self.target_s / per_step))))

    def measure(self, name, fn, domain, common):
        """Time fn(u, n) at 16 steps and at N steps; the record of one (variant, size)."""
        n, run = self.size, self.run
        rec = {"variant": name, "size": n, "domain": domain}
        chk = self.check(name, fn, domain)
        rec["check"] = chk
        if not chk.get("ok"):
            rec["status"] = "failed check: " + chk.get("error", f"max_rel_err {chk.get('max_rel_err')}")
            return rec
        inputs = self.inputs_for(domain)
        call16 = lambda u: fn(u, 16)  # noqa: E731
        t0 = time.perf_counter()
        block(call16(inputs[0]))
        rec["first_s_16"] = time.perf_counter() - t0  # compile (first time at this shape) + run
        t16 = timed_calls(call16, inputs, min(3, self.reps), run, budget_s=2.0)
        rec["t16_ms"] = med(t16) * 1e3
        if common:
            if self.n_common is None:  # the first (shipped) variant sets the size's step count
                self.n_common = self.pick_n(med(t16))
                tn = timed_calls(lambda u: fn(u, self.n_common), inputs, 2, run)
                if med(tn) < self.target_s / 4 and self.n_common < self.n_max:
                    self.n_common = int(min(self.n_max, self.n_common * self.target_s / med(tn)))
            N = self.n_common
        else:
            N = self.pick_n(med(t16)) if med(t16) < self.target_s else 16
        rec["n_steps"] = N
        if N == 16:
            samples = t16
        else:
            callN = lambda u: fn(u, N)  # noqa: E731
            t0 = time.perf_counter()
            block(callN(inputs[0]))
            rec["first_s_N"] = time.perf_counter() - t0  # static n: a compile for this N
            est = med(t16) * N / 16
            reps = self.reps if est * self.reps < 3.0 else max(2, int(3.0 / max(est, 1e-9)))
            samples = timed_calls(callN, inputs, reps, run, budget_s=6.0)
        tN = med(samples)
        rec.update(call_ms=tN * 1e3, spread=spread(samples), repeats=len(samples),
                   per_step_us=tN / N * 1e6,
                   marginal_us=((tN - med(t16)) / (N - 16) * 1e6) if N > 16 else None,
                   compile_s=max(rec["first_s_16"] - med(t16), 0.0))
        bytes_step = 2 * n * n * 4
        rec["gbps"] = bytes_step / (tN / N) / 1e9
        rec["pct_copy"] = 100 * rec["gbps"] / self.copy_gbps if self.copy_gbps else None
        try:  # the timed size too: same input, same N, against the shipped answer
            rec["xcheck_vs_shipped"] = max_rel_err(to_np(block(fn(inputs[0], N))), self.ref(N))
        except Exception as exc:
            rec["xcheck_vs_shipped"] = err_text(exc)
        rec["status"] = "ok"
        return rec


def write_hlo(run, heat, rec, n):
    u = jax.ShapeDtypeStruct((n, n), jnp.float32)
    progs = {"shipped": heat_equation_jax.simulate.lower(u, ALPHA, DT, DX, 100),
             "plain_fori": _plain_fori.lower(u, 100),
             "chunk_unrolled_8": chunk_unrolled(step_pad_where, 8).lower(u, 100)}
    for name, lowered in progs.items():
        text = lowered.compile().as_text()
        stats = hlo_stats(text)
        if run.out_dir:
            path = run.out_dir / f"hlo_{name}_{n}.txt"
            path.write_text(text)
            stats["file"] = path.name
        rec.setdefault("hlo", {})[f"{name}_{n}"] = stats
        run.log(f"B hlo {name} {n}: {stats}")


def section_heat(run, rec):
    sizes = [64, 32] if run.args.quick else [1024, 4096, 8192, 256, 2048, 64]
    rec.update(rows=[], checks={}, skipped=[], n_steps={}, pending=[])
    heat_sizes(run, rec, sizes)


def section_heat_rest(run, rec):
    """The grid sizes section B had no time for, if the other sections left some."""
    b = run.data["sections"].get("B", {})
    pending, b["pending"] = list(b.get("pending", [])), []
    rec["sizes"] = pending
    if not pending:
        rec["status"] = "nothing pending"
        return
    b["skipped"] = [x for x in b.get("skipped", []) if x not in {f"size {n}: budget" for n in pending}]
    heat_sizes(run, b, pending)


def heat_sizes(run, rec, sizes):
    heat = Heat(run)
    heat.checks = rec["checks"]  # a variant checked once is not checked again
    hlo_sizes = {64} if run.args.quick else {1024, 8192}
    variants = heat_variants(run.args.quick)
    for n in sizes:
        if run.left() < 5:
            rec["skipped"].append(f"size {n}: budget")
            rec["pending"].append(n)
            continue
        heat.set_size(n)
        for name, (fn, domain, common, max_size) in variants.items():
            if n > max_size:
                continue
            if run.left() < 2:
                rec["skipped"].append(f"{name} at {n}: budget")
                continue
            try:
                row = heat.measure(name, fn, domain, common)
            except Terminated:
                raise
            except Exception as exc:
                row = {"variant": name, "size": n, "status": "error", "error": err_text(exc)}
            rec["rows"].append(row)
            run.log(f"B {n}: {name}: " + (f"N={row.get('n_steps')} {row.get('per_step_us', 0):.2f} us/step "
                                          f"marginal {row.get('marginal_us') or 0:.2f} "
                                          f"{row.get('pct_copy') or 0:.0f}% copy"
                                          if row.get("status") == "ok" else row.get("status")))
        rec["n_steps"][n] = heat.n_common
        if n in hlo_sizes:
            try:
                write_hlo(run, heat, rec, n)
            except Exception as exc:
                rec.setdefault("hlo_errors", []).append(f"{n}: {err_text(exc)}")
        if n == (64 if run.args.quick else 1024):
            grader_case(run, heat, rec, variants)
        run.save()
    heat.bufs = heat.inputs = None


def grader_case(run, heat, rec, variants):
    """The speed tests' own case: 1024**2, 50 steps, block each call, medians of 9 (the graders'
    SPEED_RUNS), ratios against NumPy and against the shipped answer."""
    steps, runs = 50, (2 if run.args.quick else 9)
    names = ["shipped", "plain_fori", "plain_fori_textbook", "chunk_unrolled_8",
             "python_loop_jitted_step", "python_loop_fast_dispatch", "eager", "pure_callback",
             "debug_callback", "numpy_golden"]
    out = {"size": heat.size, "n_steps": steps, "runs": runs, "rows": []}
    for name in names:
        fn, domain, _, max_size = variants[name]
        if heat.size > max_size or not heat.checks.get(name, {}).get("ok"):
            continue
        if run.left() < 3:
            out["rows"].append({"variant": name, "status": "skipped: budget"})
            continue
        inputs = heat.inputs_for(domain)
        block(fn(inputs[0], steps))
        samples = timed_calls(lambda u: fn(u, steps), inputs, runs, run, budget_s=8.0)
        out["rows"].append({"variant": name, "ms": med(samples) * 1e3, "min_ms": min(samples) * 1e3,
                            "max_ms": max(samples) * 1e3, "repeats": len(samples)})
    by = {r["variant"]: r.get("ms") for r in out["rows"]}
    for r in out["rows"]:
        if r.get("ms"):
            r["vs_shipped"] = r["ms"] / by["shipped"] if by.get("shipped") else None
            r["speedup_vs_numpy"] = by["numpy_golden"] / r["ms"] if by.get("numpy_golden") else None
    rec["grader_case"] = out
    run.log("B grader case: " + ", ".join(f"{r['variant']} {r.get('ms', 0):.2f} ms" for r in out["rows"]))


# --- loop overhead, XLA flags, torch/cupy -------------------------------------------------------------


def section_loop(run, rec):
    """Cost per iteration of a fori_loop whose body is nothing (u + 1 on a (1,) array)."""
    iters = 10_000
    body = lambda _, v: v + 1.0  # noqa: E731
    progs = {
        "traced_n": jax.jit(lambda x, n: jax.lax.fori_loop(0, n, body, x)),
        "static_n": jax.jit(lambda x, n: jax.lax.fori_loop(0, n, body, x), static_argnums=1),
        "traced_n_chunk8_unrolled": jax.jit(lambda x, n: jax.lax.fori_loop(
            0, n % 8, body, jax.lax.fori_loop(
                0, n // 8, lambda _, v: jax.lax.fori_loop(0, 8, body, v, unroll=True), x))),
    }
    xs = [jnp.full((1,), float(i + 1), jnp.float32) for i in range(4)]
    rows = []
    for name, f in progs.items():
        row = {"variant": name, "iterations": iters}
        for n in (1, iters):
            block(f(xs[0], n))
            got = float(f(xs[1], n)[0])
            assert got == float(xs[1][0]) + n, f"{name}: {got} != {float(xs[1][0]) + n}"
            s = timed_calls(lambda x: f(x, n), xs, 3 if run.args.quick else 9, run)
            row[f"t_{n}_ms"] = med(s) * 1e3
        row["us_per_iteration"] = (row[f"t_{iters}_ms"] - row["t_1_ms"]) / (iters - 1) * 1e3
        rows.append(row)
        run.log(f"loop {name}: {row['us_per_iteration']:.3f} us/iteration")
    rec["rows"] = rows


FLAG_SETS = {
    "none": "",
    "while_loop_double_buffering": "--xla_gpu_enable_while_loop_double_buffering=true",
    "command_buffer_with_while": "--xla_gpu_enable_command_buffer="
                                 "FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,WHILE,CONDITIONAL",
}
FLAG_VARIANTS = ["shipped", "plain_fori", "chunk_unrolled_8"]


def section_flags(run, rec, heat_rec):
    """The same loops in fresh processes with XLA_FLAGS set (and one without, as the baseline)."""
    if device_kind() != "gpu" and not run.args.quick:
        rec["status"] = "skipped: GPU flags (CPU backend)"
        return
    sizes = [32] if run.args.quick else [1024, 4096]
    ns = {n: (heat_rec or {}).get("n_steps", {}).get(n) or (200 if run.args.quick else 500)
          for n in sizes}
    rec["note"] = "on CPU (quick) this only tests the plumbing: XLA GPU flags do nothing there"
    rec["runs"] = {}
    for label, flags in FLAG_SETS.items():
        if run.left() < 15 and not run.args.quick:
            rec["runs"][label] = {"status": "skipped: budget"}
            continue
        timeout = max(10, min(150, run.left() / max(1, len(FLAG_SETS) - len(rec["runs"]))))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "flags.json"
            env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " " + flags).strip(),
                       XLA_PYTHON_CLIENT_MEM_FRACTION="0.12")
            argv = [sys.executable, str(Path(__file__).resolve()), "--flag-probe",
                    ",".join(f"{n}:{ns[n]}" for n in sizes), "--json", str(out)]
            if run.args.quick:
                argv.append("--quick")
            t0 = time.perf_counter()
            try:
                p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
                res = json.loads(out.read_text()) if out.exists() else {}
                res.update(returncode=p.returncode, wall_s=time.perf_counter() - t0)
                if p.returncode != 0 or not out.exists():
                    res["stderr_tail"] = (p.stdout + p.stderr)[-3000:]
            except subprocess.TimeoutExpired as exc:
                res = {"status": f"timeout after {timeout:.0f} s",
                       "stderr_tail": str((exc.stdout or b"")[-2000:])}
        res["xla_flags"] = flags
        rec["runs"][label] = res
        run.log(f"flags {label}: rc={res.get('returncode')} {res.get('status', '')} " + ", ".join(
            f"{r['variant']}@{r['size']} {r.get('per_step_us') or 0:.2f} us/step"
            for r in res.get("rows", [])))
        run.save()


def flag_probe(args):
    """Child process of section_flags: time FLAG_VARIANTS at the given sizes, write JSON."""
    run = Run(argparse.Namespace(**{**vars(args), "json": None, "md": None, "budget_s": 150}))
    run.data["copy_gbps"] = None
    heat = Heat(run)
    variants = heat_variants(args.quick)
    rows, hlo = [], {}
    for spec in args.flag_probe.split(","):
        n, steps = (int(x) for x in spec.split(":"))
        heat.set_size(n)
        heat.n_common = steps  # the parent's step count for this size
        for name in FLAG_VARIANTS:
            fn, domain, common, _ = variants[name]
            try:
                row = heat.measure(name, fn, domain, common)
            except Exception as exc:
                row = {"variant": name, "size": n, "status": "error", "error": err_text(exc)}
            rows.append({k: row.get(k) for k in ("variant", "size", "n_steps", "per_step_us",
                                                  "marginal_us", "compile_s", "status", "check",
                                                  "error")})
        u = jax.ShapeDtypeStruct((n, n), jnp.float32)
        for name, f in (("plain_fori", _plain_fori),
                        ("chunk_unrolled_8", chunk_unrolled(step_pad_where, 8))):
            try:
                hlo[f"{name}_{n}"] = hlo_stats(f.lower(u, 100).compile().as_text())
            except Exception as exc:
                hlo[f"{name}_{n}"] = err_text(exc)
    _atomic_write(args.json, json.dumps({"rows": rows, "hlo": hlo,
                                         "xla_flags": os.environ.get("XLA_FLAGS", "")},
                                        default=_json_default))


def torch_step(torch):
    def step(u):
        new = u.clone()
        c = u[1:-1, 1:-1]
        new[1:-1, 1:-1] = c + R * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * c)
        return new
    return step


def torch_loop(torch, step):
    def simulate(u, n):
        for _ in range(n):
            u = step(u)
        torch.cuda.synchronize()
        return u
    return simulate


CUPY_SRC = r"""
extern "C" __global__ void heat_step(const float* u, float* out, int ny, int nx, float r) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= ny || j >= nx) return;
    int k = i * nx + j;
    if (i == 0 || j == 0 || i == ny - 1 || j == nx - 1) { out[k] = u[k]; return; }
    out[k] = u[k] + r * (u[k - nx] + u[k + nx] + u[k - 1] + u[k + 1] - 4.0f * u[k]);
}
"""


def cupy_loop(cupy):
    kernel = cupy.RawKernel(CUPY_SRC, "heat_step")

    def simulate(u, n):
        ny, nx = u.shape
        a, b = cupy.array(u), cupy.empty_like(u)
        grid = ((nx + 31) // 32, (ny + 7) // 8)
        for _ in range(n):
            kernel(grid, (32, 8), (a, b, np.int32(ny), np.int32(nx), np.float32(R)))
            a, b = b, a
        cupy.cuda.Device().synchronize()
        return a
    return simulate


def section_torch_cupy(run, rec):
    sizes = [32, 64] if run.args.quick else [2048, 4096, 8192]
    variants, rec["unavailable"] = {}, {}
    torch, err = optional_import("torch")
    if torch is None or not torch.cuda.is_available():
        rec["unavailable"]["torch"] = err or "torch has no CUDA device"
    else:
        step = torch_step(torch)
        variants["torch_eager"] = (torch_loop(torch, step), "torch")
        variants["torch_compile"] = (torch_loop(torch, torch.compile(step)), "torch")
    cupy, err = optional_import("cupy")
    if cupy is None:
        rec["unavailable"]["cupy"] = err
    else:
        try:
            cupy.cuda.runtime.getDeviceCount()
            variants["cupy_rawkernel"] = (cupy_loop(cupy), "cupy")
        except Exception as exc:
            rec["unavailable"]["cupy"] = err_text(exc)
    if not variants:
        rec["status"] = "unavailable: " + "; ".join(f"{k}: {v}" for k, v in rec["unavailable"].items())
        return
    heat = Heat(run)
    rec.update(rows=[], checks=heat.checks, skipped=[])
    for n in sizes:
        if run.left() < 10:
            rec["skipped"].append(f"size {n}: budget")
            continue
        heat.set_size(n)
        heat.n_common = None
        for name, (fn, domain) in variants.items():
            if run.left() < (40 if name == "torch_compile" and name not in heat.checks else 5):
                rec["skipped"].append(f"{name} at {n}: budget")
                continue
            try:
                row = heat.measure(name, fn, domain, False)
            except Terminated:
                raise
            except Exception as exc:
                row = {"variant": name, "size": n, "status": "error", "error": err_text(exc)}
            rec["rows"].append(row)
            run.log(f"torch/cupy {n}: {name}: {row.get('per_step_us')} us/step {row.get('status')}")
        heat.bufs = heat.inputs = None
        run.save()


# --- C: gelu ---------------------------------------------------------------------------------------


def section_gelu(run, rec):
    sizes = [2**12] if run.args.quick else [2**22, 2**20, 2**24, 2**26]  # the graders' first
    reps = 3 if run.args.quick else 9
    gelu = jax_jit.gelu
    gelu_dec = jax.jit(gelu)

    def disable_jit_of_jitted(x):
        with jax.disable_jit():
            return gelu_dec(x)

    variants = {"eager": gelu, "disable_jit(jitted gelu)": disable_jit_of_jitted,
                "jit": jax_jit.gelu_jit, "jit(jit)": jax.jit(jax.jit(gelu))}
    rows = []
    for size in sizes:
        if run.left() < 3:
            rows.append({"size": size, "status": "skipped: budget"})
            continue
        xs = [jax.random.normal(run.key(), (size,), jnp.float32) * 3 for _ in range(n_buffers(size * 4))]
        block(xs)
        x0 = np.asarray(xs[0])
        ref0 = oracles.gelu(x0)
        row = {"size": size, "buffers": len(xs)}
        for name, f in variants.items():
            t0 = time.perf_counter()
            out = block(f(xs[0]))
            first = time.perf_counter() - t0
            single = timed_calls(f, xs, reps, run, budget_s=3.0)
            pipe = pipelined(f, xs, 10, 3, run)
            row[name] = {"first_s": first, "single_ms": med(single) * 1e3,
                         "pipelined_ms": med(pipe) * 1e3, "max_rel_err": max_rel_err(out, ref0)}
        jit_ms = row["jit"]["single_ms"]
        row["ratios_vs_jit_single"] = {k: row[k]["single_ms"] / jit_ms for k in variants}
        row["ratios_vs_jit_pipelined"] = {k: row[k]["pipelined_ms"] / row["jit"]["pipelined_ms"]
                                          for k in variants}
        row["verify"] = gelu_verify_cost(run, xs, reps)
        rows.append(row)
        run.log(f"C {size}: " + ", ".join(f"{k} {row[k]['single_ms']:.3f} ms" for k in variants)
                + f"; verify {row['verify']}")
    rec["rows"] = rows


def gelu_verify_cost(run, xs, reps):
    """What the grader pays to check one timed output: device to host, the float64 oracle, the
    comparison (assert_close-style |a-b| <= atol + rtol|b|)."""
    d2h, orc, cmp = [], [], []
    for i in range(min(reps, 3)):
        out = block(jax_jit.gelu_jit(xs[i % len(xs)]))  # a fresh output: nothing cached on host
        x_host = np.asarray(xs[i % len(xs)])
        t0 = time.perf_counter()
        got = np.asarray(out)
        d2h.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = oracles.gelu(x_host)
        orc.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ok = bool(np.all(np.abs(got.astype(np.float64) - ref) <= 1e-6 + 1e-4 * np.abs(ref)))
        cmp.append(time.perf_counter() - t0)
        if run.left() < 0 and i >= 1:
            break
    return {"d2h_ms": med(d2h) * 1e3, "oracle_ms": med(orc) * 1e3, "compare_ms": med(cmp) * 1e3,
            "total_ms": (med(d2h) + med(orc) + med(cmp)) * 1e3, "passed": ok}


# --- D: batched_predict ----------------------------------------------------------------------------


def section_vmap(run, rec):
    d, h = 64, 256
    ns = [16, 64] if run.args.quick else [512, 128, 1024, 4096]  # the graders' n first
    reps = 3 if run.args.quick else 9
    rng = run.rng
    params_host = {"w": (rng.standard_normal((d, h)) / np.sqrt(d)).astype(np.float32),
                   "b": rng.uniform(-0.5, 0.5, h).astype(np.float32),
                   "v": (rng.standard_normal(h) / np.sqrt(h)).astype(np.float32)}
    params = jax.device_put(params_host)
    predict = jax_vmap.predict
    _p = jax.jit(predict)
    lax_map = lambda prm, xs: jax.lax.map(lambda x: predict(prm, x), xs)  # noqa: E731
    variants = {
        "vmap (reference, not jitted)": jax_vmap.batched_predict,
        "jit(vmap)": jax.jit(jax_vmap.batched_predict),
        "loop over jit(predict) (grader baseline)": lambda prm, xs: jnp.stack([_p(prm, x) for x in xs]),
        "loop over jax.jit(predict) wrapped anew per call":
            lambda prm, xs: jnp.stack([jax.jit(predict)(prm, x) for x in xs]),
        "loop over predict (not jitted)": lambda prm, xs: jnp.stack([predict(prm, x) for x in xs]),
        "lax.map (not jitted)": lax_map,
        "jit(lax.map)": jax.jit(lax_map),
    }
    rows = []
    for n in ns:
        if run.left() < 3:
            rows.append({"n": n, "status": "skipped: budget"})
            continue
        xs_host = [rng.standard_normal((n, d)).astype(np.float32) for _ in range(16)]
        xs = [jax.device_put(x) for x in xs_host]
        ref0 = oracles.batched_predict(params_host, xs_host[0])
        row = {"n": n}
        for name, f in variants.items():
            if run.left() < 1:
                row[name] = {"status": "skipped: budget"}
                continue
            t0 = time.perf_counter()
            out = block(f(params, xs[0]))
            first = time.perf_counter() - t0
            err = max_rel_err(out, ref0)
            s = timed_calls(lambda x: f(params, x), xs, reps, run, budget_s=2.5)
            row[name] = {"first_s": first, "ms": med(s) * 1e3, "repeats": len(s), "max_rel_err": err}
        singles = [x[0] for x in xs]
        block(_p(params, singles[0]))
        s = timed_calls(lambda x: _p(params, x), singles, max(reps, 20), run)
        row["single jit(predict) call"] = {"ms": med(s) * 1e3,
                                           "max_rel_err": max_rel_err(_p(params, singles[0]), ref0[0])}
        base = row["vmap (reference, not jitted)"].get("ms")
        row["ratios"] = {
            "loop_jit/vmap": _ratio(row, "loop over jit(predict) (grader baseline)", base),
            "loop_nojit/vmap": _ratio(row, "loop over predict (not jitted)", base),
            "vmap/single_call": base / row["single jit(predict) call"]["ms"] if base else None,
            "jit(vmap)/vmap": _ratio(row, "jit(vmap)", base),
            "lax.map/vmap": _ratio(row, "lax.map (not jitted)", base),
        }
        rows.append(row)
        run.log(f"D n={n}: " + ", ".join(f"{k} {v.get('ms', 0):.3f} ms" for k, v in row.items()
                                          if isinstance(v, dict) and "ms" in v))
    rec["rows"] = rows


def _ratio(row, name, base):
    ms = row.get(name, {}).get("ms")
    return ms / base if ms and base else None


# --- E: train_step ---------------------------------------------------------------------------------


def per_layer_grad_step(params, x, labels, lr):
    """One jax.grad per layer (the others held fixed): the forward pass traced L+1 times."""
    loss = deep_learning_jax.cross_entropy(params, x, labels)
    new = []
    for i in range(len(params)):
        def loss_i(p_i, i=i):
            return deep_learning_jax.cross_entropy(params[:i] + [p_i] + params[i + 1:], x, labels)
        g = jax.grad(loss_i)(params[i])
        new.append(jax.tree.map(lambda p, gp: p - lr * gp, params[i], g))
    return new, loss


def numpy_step_host(params, x, labels, lr):
    return golden_mlp.sgd_step(params, x, labels, lr)


def numpy_step_wrapped(params, x, labels, lr):
    p = [(np.asarray(W), np.asarray(b)) for W, b in params]
    new, loss = golden_mlp.sgd_step(p, np.asarray(x), np.asarray(labels), lr)
    return [(jnp.asarray(W), jnp.asarray(b)) for W, b in new], jnp.asarray(loss)


def section_train(run, rec):
    configs = ([("tiny", [16, 32, 32, 10], 32), ("small", [64, 64, 64, 10], 64)] if run.args.quick
               else [("digits", [64, 256, 256, 10], 128), ("medium", [784, 1024, 1024, 10], 512),
                     ("large", [1024, 4096, 4096, 10], 1024)])
    reps = 3 if run.args.quick else 9
    lr = 0.1
    variants = {
        "reference (jit)": (deep_learning_jax.train_step, "jax"),
        "not jitted": (deep_learning_jax.train_step.__wrapped__, "jax"),
        "numpy golden (host inputs)": (numpy_step_host, "host"),
        "numpy golden wrapped (jax in/out)": (numpy_step_wrapped, "jax"),
        "per-layer jax.grad (jit)": (jax.jit(per_layer_grad_step), "jax"),
    }
    rows = []
    for label, sizes, batch in configs:
        if run.left() < 5:
            rows.append({"config": label, "status": "skipped: budget"})
            continue
        rng = run.rng
        params_h = [((rng.standard_normal((fi, fo)) * np.sqrt(2.0 / fi)).astype(np.float32),
                     rng.uniform(-0.1, 0.1, fo).astype(np.float32))
                    for fi, fo in zip(sizes[:-1], sizes[1:])]
        pbytes = sum(W.nbytes + b.nbytes for W, b in params_h)
        count = min(8, n_buffers(batch * sizes[0] * 4 + pbytes, minimum=3))
        batches_h = [(rng.standard_normal((batch, sizes[0])).astype(np.float32),
                      rng.integers(0, sizes[-1], batch).astype(np.int32)) for _ in range(count)]
        host_inputs = [(params_h, x, y, lr) for x, y in batches_h]
        params_d = jax.device_put(params_h)
        dev_inputs = [(params_d, jax.device_put(x), jax.device_put(y), lr) for x, y in batches_h]
        t0 = time.perf_counter()
        ref_params, ref_loss = oracles.train_step(*host_inputs[0])
        oracle_s = time.perf_counter() - t0
        ref_update = [(rW - W, rb - b) for (rW, rb), (W, b) in zip(ref_params, params_h)]
        row = {"config": label, "sizes": sizes, "batch": batch, "oracle_s": oracle_s}
        for name, (f, domain) in variants.items():
            if run.left() < 2:
                row[name] = {"status": "skipped: budget"}
                continue
            inputs = host_inputs if domain == "host" else dev_inputs
            try:
                t0 = time.perf_counter()
                new, loss = block(f(*inputs[0]))
                first = time.perf_counter() - t0
                update = [(to_np(W) - W0, to_np(b) - b0) for (W, b), (W0, b0) in zip(new, params_h)]
                errs = {"params": max_rel_err(new, ref_params), "update": max_rel_err(update, ref_update),
                        "loss": abs(float(to_np(loss)) - float(ref_loss)) / abs(float(ref_loss))}
                s = timed_calls(lambda a: f(*a), inputs, reps, run, budget_s=6.0)
                row[name] = {"first_s": first, "ms": med(s) * 1e3, "repeats": len(s), "errors": errs}
            except Exception as exc:
                row[name] = {"status": "error", "error": err_text(exc)}
        base = row["reference (jit)"].get("ms")
        row["ratios_vs_reference"] = {k: row[k]["ms"] / base for k in variants
                                      if base and row[k].get("ms")}
        rows.append(row)
        run.log(f"E {label}: " + ", ".join(f"{k} {row[k].get('ms', 0):.3f} ms" for k in variants))
    rec["rows"] = rows


# --- report ----------------------------------------------------------------------------------------


def _f(v, spec=".3g"):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return format(v, spec)


def markdown(data):
    out = ["# Speed-design probe", ""]
    env = data.get("env", {})
    meta = data["meta"]
    out.append(f"- started {meta['started']}, budget {meta['budget_s']} s, quick={meta['quick']}, "
               f"complete={meta['complete']}, wall {meta.get('wall_s', '?')} s")
    if env:
        out.append(f"- device: {env.get('device_kind')} ({env.get('backend')}); nvidia-smi: "
                   f"{env.get('nvidia_smi', 'n/a')}")
        out.append(f"- jax {env.get('jax')}, jaxlib {env.get('jaxlib')}, numpy {env.get('numpy')}, "
                   f"python {env.get('python')}, torch {env.get('torch')}, cupy {env.get('cupy')}")
        out.append(f"- CPU: {env.get('cpu_model')}, {env.get('cpu_count')} cores "
                   f"({env.get('cpu_affinity')} usable)")
    secs = data["sections"]
    disp = secs.get("env", {}).get("dispatch")
    if disp:
        out.append(f"- host dispatch, jit(x+1) on 1 element: {disp['single_call_us_median']:.1f} us a "
                   f"call blocked (min {disp['single_call_us_min']:.1f}), "
                   f"{disp['pipelined_us_per_call']:.1f} us pipelined")
    out.append("")
    out.append("| section | status | elapsed s |")
    out.append("|---|---|---:|")
    for name in SECTIONS:
        s = secs.get(name, {})
        st = s.get("status", "not reached")
        if s.get("error"):
            st += ": " + s["error"].splitlines()[-1][:150]
        out.append(f"| {name} | {st} | {_f(s.get('elapsed_s'), '.1f')} |")
    out += _md_copy(secs.get("A", {})) + _md_heat(secs.get("B", {}), "B: heat equation")
    out += _md_grader_case(secs.get("B", {}).get("grader_case")) + _md_loop(secs.get("loop", {}))
    out += _md_flags(secs.get("flags", {})) + _md_heat(secs.get("B_torch_cupy", {}), "B: torch / cupy")
    out += _md_gelu(secs.get("C", {})) + _md_vmap(secs.get("D", {})) + _md_train(secs.get("E", {}))
    return "\n".join(out) + "\n"


def _md_copy(s):
    if not s.get("rows"):
        return []
    out = ["", "## A: copy bandwidth (read + write)", "",
           "| variant | ms/call (pipelined) | ms single call | GB/s | HLO fusions / copies / root=param |",
           "|---|---:|---:|---:|---|"]
    for r in s["rows"]:
        h = r.get("hlo", {})
        out.append(f"| {r['variant']} | {_f(r.get('ms_per_call_pipelined'), '.4f')} | "
                   f"{_f(r.get('ms_single_call'), '.4f')} | {_f(r.get('gbps'), '.0f')} | "
                   f"{h.get('fusions', '')} / {h.get('copies', '')} / {h.get('root_is_parameter', '')}"
                   f"{r.get('status', '')} |")
    return out


def _md_heat(s, title):
    if not s.get("rows"):
        extra = f" ({s.get('status')})" if s.get("status") else ""
        return ["", f"## {title}{extra}", ""] + [f"- {k}: {v}" for k, v in s.get("unavailable", {}).items()]
    sizes = sorted({r["size"] for r in s["rows"]})
    names = list(dict.fromkeys(r["variant"] for r in s["rows"]))
    cell = {(r["variant"], r["size"]): r for r in s["rows"]}
    out = ["", f"## {title}", "", "N (steps per timed call) by size: "
           + ", ".join(f"{n}: {s.get('n_steps', {}).get(n) or s.get('n_steps', {}).get(str(n))}"
                       for n in sizes), ""]
    for label, key, spec in (("us per step = t(N)/N", "per_step_us", ".3g"),
                             ("marginal us per step = (t(N)-t(16))/(N-16)", "marginal_us", ".3g"),
                             ("% of copy bandwidth", "pct_copy", ".0f")):
        out += [f"**{label}**", "", "| variant | " + " | ".join(f"{n}²" for n in sizes) + " |",
                "|---|" + "---:|" * len(sizes)]
        for name in names:
            vals = []
            for n in sizes:
                r = cell.get((name, n))
                vals.append("" if r is None else (_f(r.get(key), spec) if r.get("status") == "ok"
                                                  else str(r.get("status", ""))[:40]))
            out.append(f"| {name} | " + " | ".join(vals) + " |")
        out.append("")
    out += ["**checks** (float64 oracle, 40x56 grid, 37 steps; xcheck: timed size vs shipped, worst)",
            "", "| variant | max rel err | worst xcheck | compile s (worst) | N (own) |",
            "|---|---:|---:|---:|---|"]
    for name in names:
        c = s.get("checks", {}).get(name, {})
        rows = [r for r in s["rows"] if r["variant"] == name and r.get("status") == "ok"]
        xs = [r["xcheck_vs_shipped"] for r in rows if isinstance(r.get("xcheck_vs_shipped"), float)]
        out.append(f"| {name} | {_f(c.get('max_rel_err'), '.1e') or c.get('error', '')[:60]} | "
                   f"{_f(max(xs) if xs else None, '.1e')} | "
                   f"{_f(max((r.get('compile_s') or 0) for r in rows) if rows else None, '.2f')} | "
                   f"{', '.join(str(r['n_steps']) for r in rows)} |")
    if s.get("hlo"):
        out += ["", "**HLO** (compiled, n traced)", "",
                "| program | while | fusions | copy( | copy-start | dyn-update-slice | known_trip_count |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for k, h in s["hlo"].items():
            out.append(f"| {k} | {h['while_loops']} | {h['fusions']} | {h['copies']} | "
                       f"{h['copy_start']} | {h['dynamic_update_slice']} | {h['known_trip_count']} |")
    if s.get("skipped"):
        out += ["", "skipped: " + "; ".join(s["skipped"])]
    return out


def _md_grader_case(g):
    if not g:
        return []
    out = ["", f"## B: the graders' case ({g['size']}², {g['n_steps']} steps, median of {g['runs']})",
           "", "| variant | ms | min-max ms | / shipped | speedup vs NumPy |", "|---|---:|---|---:|---:|"]
    for r in g["rows"]:
        out.append(f"| {r['variant']} | {_f(r.get('ms'), '.3f')} | {_f(r.get('min_ms'), '.3f')}-"
                   f"{_f(r.get('max_ms'), '.3f')} | {_f(r.get('vs_shipped'), '.2f')} | "
                   f"{_f(r.get('speedup_vs_numpy'), '.1f')} {r.get('status', '')} |")
    return out


def _md_loop(s):
    if not s.get("rows"):
        return []
    out = ["", "## Loop overhead (body u + 1 on a (1,) array)", "",
           "| loop | t(1) ms | t(10000) ms | us / iteration |", "|---|---:|---:|---:|"]
    for r in s["rows"]:
        out.append(f"| {r['variant']} | {_f(r.get('t_1_ms'), '.4f')} | {_f(r.get('t_10000_ms'), '.3f')} | "
                   f"{_f(r.get('us_per_iteration'), '.3f')} |")
    return out


def _md_flags(s):
    if not s.get("runs"):
        return ["", f"## XLA flags: {s.get('status', 'not run')}"]
    out = ["", "## XLA flags (fresh process each; per step us at the main run's N; marginal)", "",
           s.get("note", "") if device_kind() != "gpu" else "",
           "", "| flags | variant | size | us/step | marginal us | while loops (HLO) | status |",
           "|---|---|---:|---:|---:|---:|---|"]
    for label, res in s["runs"].items():
        if not res.get("rows"):
            out.append(f"| {label} | | | | | | {res.get('status', '')} rc={res.get('returncode')} "
                       f"{(res.get('stderr_tail') or '')[-200:]!r} |")
            continue
        for r in res["rows"]:
            h = res.get("hlo", {}).get(f"{r['variant']}_{r['size']}", {})
            out.append(f"| {label} | {r['variant']} | {r['size']} | {_f(r.get('per_step_us'))} | "
                       f"{_f(r.get('marginal_us'))} | {h.get('while_loops', '') if isinstance(h, dict) else ''} | "
                       f"{r.get('status')} |")
    return out


def _md_gelu(s):
    if not s.get("rows"):
        return []
    names = ["eager", "disable_jit(jitted gelu)", "jit", "jit(jit)"]
    out = ["", "## C: gelu (ms, one call blocked; pipelined in brackets)", "",
           "| size | " + " | ".join(names) + " | eager/jit | verify: d2h + oracle + compare ms | max rel err |",
           "|---:|" + "---:|" * len(names) + "---:|---|---:|"]
    for r in sorted(s["rows"], key=lambda r: r["size"]):
        if "jit" not in r:
            out.append(f"| {r['size']} | {r.get('status')} |")
            continue
        v = r["verify"]
        out.append(f"| 2^{int(math.log2(r['size']))} | "
                   + " | ".join(f"{r[k]['single_ms']:.4f} ({r[k]['pipelined_ms']:.4f})" for k in names)
                   + f" | {r['ratios_vs_jit_single']['eager']:.2f} | {v['d2h_ms']:.2f} + "
                   f"{v['oracle_ms']:.2f} + {v['compare_ms']:.2f} = {v['total_ms']:.2f} | "
                   f"{max(r[k]['max_rel_err'] for k in names):.1e} |")
    return out


def _md_vmap(s):
    if not s.get("rows"):
        return []
    out = ["", "## D: batched_predict (d=64, h=256; ms, one call blocked)", ""]
    rows = sorted((r for r in s["rows"] if "ratios" in r), key=lambda r: r["n"])
    if not rows:
        return out
    names = [k for k, v in rows[0].items() if isinstance(v, dict) and k != "ratios"]
    out += ["| n | " + " | ".join(names) + " | loop/vmap | vmap/single |",
            "|---:|" + "---:|" * (len(names) + 2)]
    for r in rows:
        out.append(f"| {r['n']} | " + " | ".join(_f(r[k].get("ms"), ".3f") for k in names)
                   + f" | {_f(r['ratios']['loop_jit/vmap'], '.2f')} | {_f(r['ratios']['vmap/single_call'], '.2f')} |")
    errs = {k: max(r[k].get("max_rel_err") or 0 for r in rows) for k in names}
    out += ["", "max rel err: " + ", ".join(f"{k} {v:.1e}" for k, v in errs.items())]
    return out


def _md_train(s):
    if not s.get("rows"):
        return []
    out = ["", "## E: train_step (ms, one call blocked; ratio to the jitted reference)", "",
           "| config | variant | ms | / reference | update err | loss err |", "|---|---|---:|---:|---:|---:|"]
    for r in s["rows"]:
        for k, v in r.items():
            if isinstance(v, dict) and k != "ratios_vs_reference":
                e = v.get("errors", {})
                out.append(f"| {r['config']} {r.get('sizes')} b{r.get('batch')} | {k} | "
                           f"{_f(v.get('ms'), '.3f')} | {_f(r['ratios_vs_reference'].get(k), '.2f')} | "
                           f"{_f(e.get('update'), '.1e')} | {_f(e.get('loss'), '.1e')} "
                           f"{v.get('status', '')} {v.get('error', '')[:80]} |")
    return out


# --- main ------------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget-s", type=float, default=None,
                   help="wall-time budget for the whole run (default 420; 100 with --quick)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, 2-3 repeats (a CPU check)")
    p.add_argument("--json", help="results, rewritten after every section")
    p.add_argument("--md", help="Markdown summary (also printed at the end)")
    p.add_argument("--sections", help=f"comma list, a subset of {','.join(SECTIONS)}")
    p.add_argument("--flag-probe", help=argparse.SUPPRESS)  # child mode of the flags section
    args = p.parse_args(argv)
    if args.budget_s is None:
        args.budget_s = 100 if args.quick else 420
    if args.flag_probe:
        return flag_probe(args)
    wanted = SECTIONS if not args.sections else [s.strip() for s in args.sections.split(",")]
    signal.signal(signal.SIGTERM, _on_sigterm)
    run = Run(args)
    run.wanted = wanted
    run.log(f"probe: budget {args.budget_s:.0f} s, quick={args.quick}, sections {wanted}, "
            f"backend {device_kind()}")
    bodies = {"env": section_env, "A": section_copy, "B": section_heat, "loop": section_loop,
              "C": section_gelu, "D": section_vmap, "E": section_train,
              "flags": lambda r, rec: section_flags(r, rec, r.data["sections"].get("B")),
              "B_torch_cupy": section_torch_cupy, "B_rest": section_heat_rest}
    try:
        for name in SECTIONS:
            if name not in wanted:
                run.data["sections"][name] = {"status": "not requested"}
                continue
            with section(run, name) as rec:
                if rec is not None:
                    bodies[name](run, rec)
        run.data["meta"]["complete"] = True
    except (Terminated, KeyboardInterrupt) as exc:
        run.data["meta"]["stopped"] = type(exc).__name__
    finally:
        run.data["meta"]["wall_s"] = round(run.elapsed(), 1)
        run.save()
        print()
        print(markdown(run.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
