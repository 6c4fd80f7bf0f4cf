"""Calibrate the speed thresholds (autograder/thresholds.py) on a GPU, through the real sandbox.

For every speed test of the assignment table, the reference answer and each other way of
writing the timed function (tests/corpus/cases.py: SPEED_VARIANTS, correct ones that must pass
and slow ones that must fail) is loaded into a real sandboxed kernel (``Submission``: the kernel,
the worker, the clean second kernel for reference baselines, the default limits and isolation),
and the speed test's own function runs ``--races`` times on fresh inputs, its race recorded.
The variants take turns in blocks of ``--block`` races, so a run cut short by ``--max-seconds``
leaves every variant about equally measured. The credit rule is not applied here: this measures
the timing verdict alone, including for the slow variants that structure already catches.

Prints a Markdown table per speed test:

  ratio    what the test compares with its threshold (thresholds.py): the speedup for ">=" tests,
           the slowdown for "<=" tests; min / median / max over the races
  verdict  how many races the timing judged as expected ("any": a slow variant that structure
           catches and timing cannot, reported for its ratio only)
  margin   how far the worst race sat on the expected side of the threshold (>1 is right;
           "!!" marks a threshold that misjudged that variant at least once)

and writes everything (every race's times, runs, early stop) as JSON to --out, after each block.

    PYTHONPATH=$PWD python3 benchmarks/calibrate_speed.py --races 30 --out $OUT/calibration.json
    PYTHONPATH=$PWD .venv/bin/python benchmarks/calibrate_speed.py --races 2 --only reference \\
        --tests simulate_speed_vs_plain_loop           # a dry run of this script on a CPU
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import platform
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np

from autograder import assignment
from autograder.nbgrader_bridge.hidden_cells import grader_test_function
from autograder.submission import Submission, Tampered
from solutions.answers import answer_source
from tests.corpus.cases import SPEED_VARIANTS, SpeedVariant

# The graders' own JAX on this process's CPU, as in autograder/runner.py: the GPU is the kernels'.
jax.config.update("jax_platforms", "cpu")


def margin(threshold, ratios: list[float], expect: str) -> float | None:
    """How far the worst race sits on the expected side (>1: every race judged right)."""
    if not ratios or expect not in ("pass", "fail"):
        return None
    worst = (max(ratios) if expect == "pass" else min(ratios)) if threshold.op == "<=" else (
        min(ratios) if expect == "pass" else max(ratios))
    inside = threshold.value / worst if threshold.op == "<=" else worst / threshold.value
    return inside if expect == "pass" else 1.0 / inside


def race_once(variant: SpeedVariant, sub: Submission, rng) -> dict:
    """One run of the speed test's function: the race it timed and the test's outcome."""
    fn = grader_test_function(assignment.stem_of_test(variant.test), variant.test)
    before = len(sub.races)
    t0 = time.perf_counter()
    try:
        fn(submission=sub, rng=rng)
        outcome = "passed"
    except Tampered as exc:
        outcome = f"tampered: {exc}"
    except AssertionError as exc:
        outcome = f"failed: {' '.join(str(exc).split())[:300]}"
    race = sub.races[-1] if len(sub.races) > before else None
    record = {"outcome": outcome, "seconds": time.perf_counter() - t0}
    if race is not None:
        threshold = assignment.threshold(variant.test)
        record.update(ratio=threshold.ratio(race["speedup"]), timing="pass" if threshold.passes(race["speedup"])
                      else "fail", runs=len(race["candidate_s"]), stopped_early=race["stopped_early"],
                      candidate_ms=statistics.median(race["candidate_s"]) * 1e3,
                      baseline_ms=statistics.median(race["baseline_s"]) * 1e3)
    return record


def calibrate(args) -> dict:
    variants = [v for v in SPEED_VARIANTS if (not args.tests or v.test in args.tests)
                and (not args.only or v.label in args.only)]
    report = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "gpu": _gpu_info(), "python": platform.python_version(),
              "versions": {p: _version(p) for p in ("jax", "jaxlib", "numpy", "ipykernel", "nbclient")},
              "races_asked": args.races, "command": " ".join(sys.argv), "variants": []}
    rows = [{"label": v.label, "test": v.test, "expect": v.expect, "structure_fails": v.structure_fails,
             "races": [], "start_s": None} for v in variants]
    if args.resume:  # a run cut short by a call's time limit: keep its races, time the rest
        earlier = json.loads(args.resume.read_text())
        done = {(r["label"], r["test"]): r["races"] for r in earlier["variants"]}
        for row in rows:
            row["races"] = done.get((row["label"], row["test"]), [])
        report["resumed_from"] = {"when": earlier["when"], "command": earlier["command"]}
    report["variants"] = rows
    deadline = time.monotonic() + args.max_seconds if args.max_seconds else None
    seed = secrets.randbits(32)
    subs: dict[int, Submission] = {}
    try:
        for start in range(0, args.races, args.block):
            for i, (variant, row) in enumerate(zip(variants, rows)):
                if len(row["races"]) >= min(start + args.block, args.races):
                    continue  # resumed: this block of races was timed before
                if deadline is not None and time.monotonic() > deadline:
                    report["cut_short"] = f"--max-seconds reached before {variant.label} / {variant.test}"
                    return report
                if i not in subs:
                    t0 = time.perf_counter()
                    stem = assignment.stem_of_test(variant.test)
                    # The variants of one test share one clean kernel for its reference baseline.
                    first = next((subs[j] for j in subs if variants[j].test == variant.test), None)
                    subs[i] = Submission([answer_source(stem), *variant.cells], clean_kernel_of=first)
                    row["start_s"] = time.perf_counter() - t0
                for k in range(len(row["races"]), min(start + args.block, args.races)):
                    row["races"].append(race_once(variant, subs[i], np.random.default_rng([seed, i, k])))
                print(f"[{variant.test} / {variant.label}] {len(row['races'])} races, last "
                      f"{row['races'][-1].get('ratio', float('nan')):.3g}x {row['races'][-1]['outcome'][:60]}",
                      file=sys.stderr, flush=True)
                _write(args, report)
    finally:
        for sub in subs.values():  # a clean kernel closes with the submission that started it
            sub.close()
        _write(args, report)
    return report


def markdown(report: dict) -> str:
    lines = [f"# Speed calibration ({report['when']})", "",
             f"- **GPU:** {report['gpu']}",
             f"- **Software:** Python {report['python']}, "
             + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
             f"- **Races asked per variant:** {report['races_asked']}" + (
                 f" (cut short: {report['cut_short']})" if report.get("cut_short") else ""),
             f"- **Command:** `{report['command']}`" + (
                 f", resuming `{report['resumed_from']['command']}` of {report['resumed_from']['when']}"
                 if report.get("resumed_from") else ""), ""]
    for test in dict.fromkeys(r["test"] for r in report["variants"]):
        threshold = assignment.threshold(test)
        lines += [f"## {test}: {threshold.op} {threshold.value:g}x ({threshold.baseline})", "",
                  "| variant | expect | races | timing verdict right | ratio min / median / max | runs (median) "
                  "| early stops | margin | also lost by structure |",
                  "|---|---|---:|---:|---|---:|---:|---:|---|"]
        for row in (r for r in report["variants"] if r["test"] == test):
            timed = [r for r in row["races"] if "ratio" in r]
            ratios = [r["ratio"] for r in timed]
            # Judged again at the threshold in force, so that a table re-rendered after a
            # threshold moved (--markdown) says what the races would get today.
            verdicts = ["pass" if threshold.holds(x) else "fail" for x in ratios]
            right = sum(v == row["expect"] for v in verdicts) if row["expect"] != "any" else None
            m = margin(threshold, ratios, row["expect"])
            spread = (f"{min(ratios):.3g} / {statistics.median(ratios):.3g} / {max(ratios):.3g}" if ratios
                      else "not timed: " + (row["races"][0]["outcome"][:80] if row["races"] else "not run"))
            lines.append(
                f"| {row['label']} | {row['expect']} | {len(row['races'])} | "
                + ("n/a: structure judges it" if right is None else
                   f"{right}/{len(timed)}{'' if right == len(timed) else ' !!'}") + f" | {spread} | "
                f"{statistics.median(r['runs'] for r in timed) if timed else ''} | "
                f"{sum(r['stopped_early'] for r in timed)} | {'' if m is None else f'{m:.2f}'}"
                f"{' !!' if m is not None and m < 1 else ''} | {'yes' if row['structure_fails'] else ''} |")
        lines.append("")
    return "\n".join(lines)


def _gpu_info() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or out.stderr.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"no nvidia-smi ({exc})"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _write(args, report: dict) -> None:
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**report, "markdown": markdown(report)}, indent=1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--races", type=int, default=30, help="races per variant (default 30)")
    p.add_argument("--block", type=int, default=10, help="races per variant before the next takes its turn")
    p.add_argument("--out", type=Path, help="write the full report as JSON here")
    p.add_argument("--tests", nargs="+", metavar="TEST", help="only these speed tests")
    p.add_argument("--only", nargs="+", metavar="LABEL", help="only the variants with these labels")
    p.add_argument("--resume", type=Path, metavar="JSON", help="continue the run that wrote this --out file")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="start no block after this many seconds (the report covers what ran)")
    p.add_argument("--markdown", type=Path, metavar="JSON",
                   help="time nothing: print the table of this --out file at the thresholds in force")
    args = p.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return 0
    print(markdown(calibrate(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
