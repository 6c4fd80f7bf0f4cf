"""Time the temporal-blocking Pallas heat kernels (course/pallas_heat.py) against plain JAX.

For every variant and steps-per-pass T: first a check on a small ragged grid against the float64
oracle (3T+2 steps, so a remainder pass runs too; NaN in the padding; edges exactly kept), then,
at each size, the time of --n-steps steps, two ways: the passes alone (on the padded grid, as a
long run would spend its time) and the whole `simulate_pallas` call (pad + passes + crop). Beside
them: the reference plain-JAX `simulate` and the reference `heat_step` (one fused XLA kernel)
in a plain `fori_loop` of static length. Every lowering, compile or run error is caught and its text
recorded in the row instead of stopping the run.

Rates use the one-step roofline accounting: 2 * 4 * ny * nx bytes (the grid read and written
once) per STEP, whatever the kernel really moves, so a kernel doing T steps per pass can show
more than 100% of the copy bandwidth; the ceiling is a measured device-to-device copy of a
256 MiB array. Protocol as bench_references.py: one warm-up call (compile) untimed,
`block_until_ready`, median of --repeats, inputs rotated over buffers larger than the L2 (grids
that fit in L2, 2048**2 = 16 MiB on a 60 MB L2, stay there across passes: their rates are L2
rates, for every variant alike). The Markdown table comes last.

    PYTHONUNBUFFERED=1 PYTHONPATH=$PWD python3 benchmarks/bench_pallas_heat.py --isolate \
        --budget-s 420 --json $OUT/pallas.json                       # on the GPU
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_pallas_heat.py --quick --interpret  # CPU
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.bench_references import (ALPHA, DT, DX, bandwidth, log, measure_copy_bandwidth,
                                         median_seconds, n_buffers, random_grids, relative_error)
from course import pallas_heat
from solutions import oracles
from solutions.answers import heat_equation_jax

warnings.filterwarnings("ignore", message="The Pallas Triton backend is deprecated")

TOL = 1e-5
# Small tiles for --quick (tiny grids still span several tiles), per variant and T.
QUICK_BLOCKS = {
    "triton_1step": lambda T: (8, 16),
    "triton_regs": lambda T: (8, 16),
    "triton_scratch": lambda T: (16, 32) if T <= 4 else (32, 32),
    "mosaic_smem": lambda T: (8, 32),
    "mosaic_smem_wg": lambda T: (8, 32),
}


def error_text(exc, limit=4000):
    """The exception's message (the lowering/compile error), then the innermost frames."""
    text = "".join(traceback.format_exception_only(type(exc), exc))
    text = "\n".join(line for line in text.splitlines()  # drop JAX's traceback-filtering note
                      if not line.startswith(("For simplicity, JAX", "-" * 20))).strip()
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = "; ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in frames)
    return (text[:limit] + (" [...]" if len(text) > limit else "")) + f"  (at {where})"


def grids_for(rng, n, interpret):
    return random_grids(rng, n, 2 if interpret else n_buffers(n))


def row(size, variant, T, **fields):
    base = dict(size=size, variant=variant, T=T, us_per_step=None, gbps=None, pct_copy=None,
                us_per_step_simulate=None, speedup_vs_jax=None, spread=None, compile_s=None,
                check="", error=None)
    base.update(fields)
    return base


def rates(n, seconds_per_step, copy_bw):
    gbps = bandwidth(n, seconds_per_step)
    return dict(us_per_step=seconds_per_step * 1e6, gbps=gbps,
                pct_copy=100 * gbps * 1e9 / copy_bw if copy_bw else None)


class Budget:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()


# --- the plain JAX reference -------------------------------------------------------------------


REFERENCE_SIMULATE = "jax simulate (the reference answer)"


def bench_reference(args, rng, copy_bw, budget, rows):
    """Times the reference simulate and a static-length loop of its step; returns
    {size: seconds per step of the reference simulate}, the speedup column's baseline."""
    n_steps = args.n_steps
    variants = {
        REFERENCE_SIMULATE:
            jax.jit(lambda u: heat_equation_jax.simulate(u, ALPHA, DT, DX, n_steps)),
        "jax heat_step (the reference), plain fori_loop (static n)":
            jax.jit(lambda u: jax.lax.fori_loop(
                0, n_steps, lambda _, v: heat_equation_jax.heat_step(v, ALPHA, DT, DX), u)),
    }
    shipped = {}
    for n in args.sizes:
        if budget.left() < 0:
            rows.append(row(f"{n}x{n}", "jax reference", 1, check="skipped: budget"))
            continue
        grids = grids_for(rng, n, args.interpret)
        for name, fn in variants.items():
            try:
                t0 = time.perf_counter()
                jax.block_until_ready(fn(grids[0]))
                compile_s = time.perf_counter() - t0
                s, spread = median_seconds(
                    lambda i: jax.block_until_ready(fn(grids[i % len(grids)])), args.repeats)
                per_step = s / n_steps
                if name == REFERENCE_SIMULATE:
                    shipped[n] = per_step
                rows.append(row(f"{n}x{n}", name, 1, **rates(n, per_step, copy_bw),
                                spread=spread, compile_s=compile_s, check="reference"))
                log(f"{n}x{n} {name}: {per_step * 1e6:.1f} us/step")
            except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                rows.append(row(f"{n}x{n}", name, 1, check="ERROR", error=error_text(exc)))
                log(f"{n}x{n} {name}: ERROR {error_text(exc, 300)}")
        grids = None  # frees the device buffers before the next size
    return shipped


# --- the Pallas variants -----------------------------------------------------------------------


def check_variant(args, variant, T, block, rng):
    """'rel.err ...' if it matches the oracle, else raises or returns a 'FAIL ...' string."""
    shape = tuple(args.check_shape)
    u0 = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    n = 3 * T + 2
    got = np.asarray(pallas_heat.simulate_pallas(
        u0, ALPHA, DT, DX, n, steps_per_pass=T, variant=variant, block=block,
        interpret=args.interpret, pad_value=np.nan))
    ref = oracles.simulate(u0, ALPHA, DT, DX, n)
    err = relative_error(got, ref)
    edges = all(np.array_equal(got[s], u0[s])
                for s in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]))
    if not np.isfinite(err) or err >= TOL or not edges:
        return f"FAIL rel.err {err:.1e}" + ("" if edges else ", edges changed")
    return f"rel.err {err:.1e}"


def time_variant(args, variant, T, block, n, grids, copy_bw, jax_step, whole_too):
    r_arr = jnp.full((1,), ALPHA * DT / DX**2, jnp.float32)
    geom, T, pass_fn = pallas_heat.make_passes(variant, (n, n), T, block=block,
                                               interpret=args.interpret)

    @jax.jit
    def passes(up):
        return pallas_heat.run_passes(pass_fn, up, r_arr, T, args.n_steps)

    padded = [pallas_heat.pad(g, geom) for g in grids]
    t0 = time.perf_counter()
    jax.block_until_ready(passes(padded[0]))
    compile_s = time.perf_counter() - t0
    s, spread = median_seconds(
        lambda i: jax.block_until_ready(passes(padded[i % len(padded)])), args.repeats)
    per_step = s / args.n_steps
    padded = None  # frees the device buffers

    def whole(u):
        return pallas_heat.simulate_pallas(u, ALPHA, DT, DX, args.n_steps, steps_per_pass=T,
                                           variant=variant, block=block,
                                           interpret=args.interpret)

    s_whole = None
    if whole_too:  # another compile; by default only at the largest size
        jax.block_until_ready(whole(grids[0]))
        s_whole, _ = median_seconds(
            lambda i: jax.block_until_ready(whole(grids[i % len(grids)])), args.repeats)
    return dict(**rates(n, per_step, copy_bw),
                us_per_step_simulate=None if s_whole is None else s_whole / args.n_steps * 1e6,
                speedup_vs_jax=(jax_step / per_step) if jax_step else None, spread=spread,
                compile_s=compile_s, geometry=f"tile {geom.tr}x{geom.tc}, padded {geom.shape}")


def bench_variants(args, rng, copy_bw, jax_steps, budget, rows):
    jobs = [(v, T) for v in args.variants for T in args.steps]
    checks = {}
    # 1. Every (variant, T) compiled and checked first, on a small grid: the lowering and compile
    #    errors are the first thing to know, and they are cheap.
    for variant, T in jobs:
        try:
            v, T_used = pallas_heat.resolve(variant, "triton", T)
        except ValueError as exc:
            checks[(variant, T)] = None
            rows.append(row("-", variant, T, check=f"not run: {exc}"))
            continue
        if v.fixed_steps and T != args.steps[0]:
            checks[(variant, T)] = None  # triton_1step: once is enough
            continue
        if budget.left() < 0:
            checks[(variant, T)] = None
            rows.append(row("-", variant, T, check="skipped: budget"))
            continue
        block = QUICK_BLOCKS[variant](T) if args.quick else None
        t0 = time.perf_counter()
        try:
            check = check_variant(args, variant, T_used, block, rng)
        except Exception as exc:  # noqa: BLE001
            checks[(variant, T)] = None
            rows.append(row(f"{'x'.join(map(str, args.check_shape))} check", variant, T_used,
                            check="ERROR", error=error_text(exc)))
            log(f"{variant} T={T_used}: ERROR {error_text(exc, 400)}")
            continue
        checks[(variant, T)] = (T_used, block, check)
        log(f"{variant} T={T_used}: check {check} ({time.perf_counter() - t0:.1f} s)")
    # 2. The timings, largest grid first (the headline numbers), then the smaller ones.
    for n in sorted(args.sizes, reverse=True):
        grids = None
        for variant, T in jobs:
            if checks.get((variant, T)) is None:
                continue
            T_used, block, check = checks[(variant, T)]
            size = f"{n}x{n}"
            if check.startswith("FAIL"):
                rows.append(row(size, variant, T_used, check=check + " (not timed)"))
                continue
            if budget.left() < 0:
                rows.append(row(size, variant, T_used, check="skipped: budget"))
                continue
            grids = grids or grids_for(rng, n, args.interpret)
            try:
                fields = time_variant(args, variant, T_used, block, n, grids, copy_bw,
                                      jax_steps.get(n), n in args.simulate_sizes)
            except Exception as exc:  # noqa: BLE001
                rows.append(row(size, variant, T_used, check="ERROR", error=error_text(exc)))
                log(f"{size} {variant} T={T_used}: ERROR {error_text(exc, 400)}")
                continue
            rows.append(row(size, variant, T_used, check=check, **fields))
            whole = fields["us_per_step_simulate"]
            log(f"{size} {variant} T={T_used}: {fields['us_per_step']:.1f} us/step "
                f"({fields['pct_copy'] or 0:.0f}% of copy)"
                + ("" if whole is None else f", simulate {whole:.1f} us/step")
                + f", compile {fields['compile_s']:.1f} s")
        del grids


def run_isolated(args, copy_bw, jax_steps, budget, rows):
    """Each variant in a child process: a kernel that faults cannot take the CUDA context (and
    every later measurement) down with it. The children share the remaining budget."""
    variants = list(args.variants)
    for i, variant in enumerate(variants):
        share = budget.left() / (len(variants) - i)
        if share <= 0:
            rows.append(row("-", variant, 0, check="skipped: budget"))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "rows.json")
            cmd = [sys.executable, os.path.abspath(__file__), "--variants", variant,
                   "--child", "--budget-s", f"{share:.0f}", "--json", out,
                   "--copy-bw", repr(copy_bw), "--jax-steps", json.dumps(
                       {str(k): v for k, v in jax_steps.items()}),
                   *child_args(args)]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            # A kernel that never finishes (say, a barrier waiting for bytes that never come)
            # would hang the child: kill it once it is well past its share.
            watchdog = threading.Timer(share + 90, proc.kill)
            watchdog.start()
            tail = []
            for line in proc.stdout:
                print(f"  [{variant}] {line}", end="", flush=True)
                tail = (tail + [line])[-40:]
            rc = proc.wait()
            killed = not watchdog.is_alive()
            watchdog.cancel()
            if os.path.exists(out):
                with open(out) as f:
                    rows.extend(json.load(f)["rows"])
            if rc != 0:
                why = f"killed after {share + 90:.0f} s (hung?)" if killed else f"exited with {rc}"
                rows.append(row("-", variant, 0, check=f"ERROR: child {why}",
                                error="".join(tail)[-4000:]))


def child_args(args):
    out = ["--sizes", *map(str, args.sizes), "--steps", *map(str, args.steps),
           "--simulate-sizes", *map(str, args.simulate_sizes),
           "--n-steps", str(args.n_steps), "--repeats", str(args.repeats),
           "--check-shape", *map(str, args.check_shape), "--seed", str(args.seed)]
    return out + (["--quick"] if args.quick else []) + (["--interpret"] if args.interpret else [])


# --- report ------------------------------------------------------------------------------------


def _order(r):
    """Largest grid first, the plain JAX rows at the head of each size; unsized rows last."""
    sized = r["size"][:1].isdigit() and "check" not in r["size"]
    side = int(r["size"].split("x")[0]) if sized else -1
    return (-side, not r["variant"].startswith("jax"))


def markdown_table(rows):
    def fmt(v, spec):
        return "" if v is None else format(v, spec)

    rows = sorted(rows, key=_order)  # stable: the measuring order within a group

    lines = ["| size | variant | T | us/step (passes) | GB/s eff. | % of copy "
             "| us/step (simulate) | speedup vs the reference simulate | check |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        check = r["check"] + (" (see errors)" if r.get("error") else "")
        lines.append(f"| {r['size']} | {r['variant']} | {r['T']} | {fmt(r['us_per_step'], '.1f')} "
                     f"| {fmt(r['gbps'], '.0f')} | {fmt(r['pct_copy'], '.0f')} "
                     f"| {fmt(r['us_per_step_simulate'], '.1f')} "
                     f"| {fmt(r['speedup_vs_jax'], '.2f')} | {check} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096, 8192])
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4, 8],
                        help="steps per pass T to try")
    parser.add_argument("--variants", nargs="+", default=list(pallas_heat.VARIANTS),
                        choices=list(pallas_heat.VARIANTS))
    parser.add_argument("--n-steps", type=int, default=64, help="steps per timed call")
    parser.add_argument("--simulate-sizes", type=int, nargs="*",
                        help="sizes at which the whole simulate_pallas call (pad + passes + crop) "
                             "is timed too (default: the largest)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--check-shape", type=int, nargs=2, default=[203, 301])
    parser.add_argument("--copy-size", type=int, default=8192)
    parser.add_argument("--budget-s", type=float, default=420,
                        help="stop starting new measurements after this many seconds")
    parser.add_argument("--json", help="write every row (and the errors) here")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and small tiles (a CPU smoke test, with --interpret)")
    parser.add_argument("--interpret", action="store_true",
                        help="run the kernels in Pallas interpret mode (CPU)")
    parser.add_argument("--isolate", action="store_true",
                        help="each variant in a child process (a faulting kernel cannot poison "
                             "the CUDA context for the others)")
    parser.add_argument("--seed", type=int, default=12345)
    # Internal: how a parent hands its measurements to an --isolate child.
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--copy-bw", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--jax-steps", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        defaults = parser.parse_args([])
        if args.sizes == defaults.sizes:
            args.sizes = [36]
        if args.n_steps == defaults.n_steps:
            args.n_steps = 8
        if args.repeats == defaults.repeats:
            args.repeats = 3
        if args.check_shape == defaults.check_shape:
            args.check_shape = [19, 37]
        if args.copy_size == defaults.copy_size:
            args.copy_size = 256

    if args.simulate_sizes is None:
        args.simulate_sizes = [max(args.sizes)]
    budget = Budget(args.budget_s)
    rng = np.random.default_rng(args.seed)
    device = jax.devices()[0]
    info = dict(jax=jax.__version__, numpy=np.__version__, python=platform.python_version(),
                device=f"{device.platform}: {device.device_kind}",
                cores=getattr(device, "core_count", None), interpret=args.interpret,
                argv=sys.argv[1:])
    rows = []
    if args.child:
        copy_bw = args.copy_bw
        jax_steps = {int(k): v for k, v in json.loads(args.jax_steps).items()}
    else:
        log(f"jax {info['jax']}, numpy {info['numpy']}, python {info['python']}, "
            f"device {info['device']} ({info['cores']} cores)")
        copy_bw = measure_copy_bandwidth(rng, args.copy_size, args.repeats)
        log(f"device-to-device copy of {args.copy_size}x{args.copy_size} float32: "
            f"{copy_bw / 1e9:.0f} GB/s (read + write)")
        jax_steps = bench_reference(args, rng, copy_bw, budget, rows)
    info["copy_gbps"] = copy_bw / 1e9
    if args.isolate and not args.child:
        run_isolated(args, copy_bw, jax_steps, budget, rows)
    else:
        bench_variants(args, rng, copy_bw, jax_steps, budget, rows)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(info=info, rows=rows), f, indent=1)
    if args.child:
        return
    errors = [r for r in rows if r.get("error")]
    if errors:
        log("\n## Errors\n")
        for r in errors:
            log(f"- {r['variant']} T={r['T']} ({r['size']}): {r['error'][:1500]}\n")
    log(f"\n## Pallas heat kernels, {info['device']}, jax {info['jax']}, "
        f"copy {info['copy_gbps']:.0f} GB/s, {args.n_steps} steps per call\n")
    log(markdown_table(rows))


if __name__ == "__main__":
    main()
