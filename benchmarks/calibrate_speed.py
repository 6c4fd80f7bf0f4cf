"""Calibrate the speed thresholds (autograder/thresholds.py) on a GPU.

Grades, with ``autograder.runner.grade`` (the real graders, the real sandbox, default limits),
the reference-answer notebooks of all six parts and the speed-relevant cases of the corpus
(tests/corpus/cases.py: those with a ``gpu_only_lose`` or ``speed_relevant``), ``--repeats``
times each with fresh random inputs. Every timed race is recorded as it happens (a wrapper
around ``Submission._race``: medians of the candidate's and the baseline's times), so the
measured ratio is known for passing tests too. Prints a Markdown table per speed test:

  ratio    what the test compares with its threshold: baseline/candidate for "at least Nx
           faster" tests, candidate/baseline for "at most Nx slower than the reference" tests
  expect   pass for the reference answers and for exercises a case keeps; fail for exercises a
           case loses (``lose`` or ``gpu_only_lose``)
  margin   how far the worst repeat sits on the expected side of the threshold (>1 is safe;
           <1 marks a threshold that misjudges that notebook, flagged "!!")

and writes everything (each race's times, each test's status and message) as JSON to --out,
rewritten after every grading so that a run cut short by a time limit still leaves its data.
The notebooks are graded round robin (all once, then all again, ...), so --max-seconds or a
kill leaves every notebook measured about equally often.

    PYTHONPATH=$PWD python3 benchmarks/calibrate_speed.py --repeats 3 --out $OUT/calibration.json
    PYTHONPATH=$PWD python3 benchmarks/calibrate_speed.py --only ref:05_heat_equation_jax \\
        simulate_textbook_at_set simulate_pure_callback_each_step --max-seconds 500 --out ...
    PYTHONPATH=$PWD python benchmarks/calibrate_speed.py --allow-cpu --repeats 1 \\
        --only simulate_textbook_at_set            # a dry run of this script on a CPU

It never imports jax itself (the graders may, with preallocation off): the GPU stays free for
the notebooks' kernels.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import io
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # before anything imports jax

import nbformat  # noqa: E402
import pytest  # noqa: E402

import autograder.graders.conftest as grader_conftest  # noqa: E402
from autograder import thresholds  # noqa: E402
from autograder.assignment import STEMS  # noqa: E402
from autograder.runner import grade  # noqa: E402
from autograder.submission import Submission  # noqa: E402
from solutions.answers import answer_source  # noqa: E402
from tests.corpus.cases import CASES, Case  # noqa: E402

# Each speed test's threshold: (name in autograder/thresholds.py, ">=" for a least speedup over
# the baseline, "<=" for a largest slowdown against the reference answer).
THRESHOLDS = {
    "gelu_jit_speed_vs_eager": ("GELU_JIT_MIN_SPEEDUP", ">="),
    "batched_predict_speed_vs_python_loop": ("BATCHED_PREDICT_MIN_SPEEDUP_VS_LOOP", ">="),
    "simulate_speed_vs_numpy": ("SIMULATE_MIN_SPEEDUP_VS_NUMPY", ">="),
    "simulate_speed_vs_reference": ("SIMULATE_MAX_SLOWDOWN_VS_REFERENCE", "<="),
    "train_step_speed_vs_numpy": ("TRAIN_STEP_MIN_SPEEDUP_VS_NUMPY", ">="),
    "train_step_speed_vs_reference": ("TRAIN_STEP_MAX_SLOWDOWN_VS_REFERENCE", "<="),
}

RACES: list[dict] = []  # filled by the recording wrapper while a grading runs


def _current_test() -> str:
    """The running grader test, from pytest's PYTEST_CURRENT_TEST ('path::test_name (call)')."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "?")
    return current.split("::")[-1].split(" ")[0].removeprefix("test_")


def _record_races() -> None:
    original = Submission._race

    def recording(self, name, baseline, runs, warmup):
        race = original(self, name, baseline, runs, warmup)
        RACES.append({
            "test": _current_test(), "candidate": name, "baseline": baseline,
            "candidate_s": list(race.candidate_s), "baseline_s": list(race.baseline_s),
            "candidate_median_ms": statistics.median(race.candidate_s) * 1e3,
            "baseline_median_ms": statistics.median(race.baseline_s) * 1e3,
            "speedup": race.speedup,
        })
        return race

    Submission._race = recording


def _run_speed_tests_on_cpu() -> None:
    """--allow-cpu: replace the graders' GPU-only skip with a fixture that skips nothing."""

    @pytest.fixture(autouse=True)
    def _gpu_only():
        yield

    grader_conftest._gpu_only = _gpu_only


def _notebooks(args) -> list[dict]:
    """What to grade: the six reference answers, then the speed-relevant corpus cases."""
    items = []
    if not args.no_references:
        items += [{"label": f"ref:{stem}", "stem": stem, "cells": [answer_source(stem)], "case": None}
                  for stem in STEMS]
    picked = [c for c in CASES if c.gpu_only_lose or c.speed_relevant]
    if args.only:
        unknown = set(args.only) - {c.name for c in CASES} - {i["label"] for i in items}
        if unknown:
            sys.exit(f"calibrate_speed: unknown case(s) {', '.join(sorted(unknown))}")
        picked = [c for c in CASES if c.name in args.only]
        items = [i for i in items if i["label"] in args.only]
    items += [{"label": c.name, "stem": c.stem, "cells": list(c.cells), "case": c} for c in picked]
    return items


def _expected(case: Case | None, exercise: str) -> str:
    if case is None:
        return "pass"
    if exercise in case.lose or exercise in case.gpu_only_lose:
        return "fail"
    return "pass" if exercise in case.keep else "?"


def _ratio(test: str, speedup: float) -> float:
    """What the test compares with its threshold (see THRESHOLDS)."""
    kind = THRESHOLDS.get(test, (None, ">="))[1]
    return speedup if kind == ">=" else 1.0 / speedup


def _margin(test: str, ratios: list[float], expect: str) -> float | None:
    name, kind = THRESHOLDS.get(test, (None, None))
    limit = getattr(thresholds, name, None) if name else None
    if not ratios or limit is None or expect not in ("pass", "fail"):
        return None
    worst_pass = min(ratios) / limit if kind == ">=" else limit / max(ratios)
    worst_fail = limit / max(ratios) if kind == ">=" else min(ratios) / limit
    return worst_pass if expect == "pass" else worst_fail


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


def _report(args, rows: dict, gradings: list, started: str, complete: bool) -> dict:
    for row in rows.values():
        row["margin"] = _margin(row["test"], row["ratios"], row["expect"])
        name, kind = THRESHOLDS.get(row["test"], (None, "?"))
        row["threshold"] = f"{kind} {getattr(thresholds, name):g}x" if name and hasattr(thresholds, name) else "?"
    return {
        "when": started, "complete": complete,
        "gpu": _gpu_info(), "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("jax", "jaxlib", "numpy", "ipykernel", "nbclient")},
        "repeats": args.repeats, "allow_cpu": args.allow_cpu,
        "thresholds": {k: v for k, v in vars(thresholds).items() if k.isupper()},
        "rows": list(rows.values()), "gradings": gradings,
    }


def _write(args, report: dict) -> None:
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**report, "markdown": markdown(report)}, indent=1))


def calibrate(args) -> dict:
    """Grade every notebook --repeats times (round robin, so a cut-short run covers them all)."""
    _record_races()
    if args.allow_cpu:
        _run_speed_tests_on_cpu()
    items = _notebooks(args)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    deadline = time.monotonic() + args.max_seconds if args.max_seconds else None
    rows: dict[tuple[str, str], dict] = {}
    gradings: list[dict] = []
    complete = True
    with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
        paths = {}
        for item in items:
            folder = Path(tmp) / item["label"].replace(":", "_")
            folder.mkdir()
            paths[item["label"]] = folder / f"{item['stem']}.ipynb"
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in item["cells"]])
            nbformat.write(nb, paths[item["label"]])
        for repeat in range(args.repeats):
            for item in items:
                if deadline is not None and time.monotonic() > deadline:
                    print(f"calibrate_speed: --max-seconds reached, stopping before {item['label']} "
                          f"#{repeat + 1}", file=sys.stderr)
                    complete = False
                    break
                seed = secrets.randbits(32)
                RACES.clear()
                t0 = time.monotonic()
                with contextlib.redirect_stdout(io.StringIO()):  # pytest's own report: not needed
                    result = grade(paths[item["label"]], item["stem"], seed=seed)
                took = time.monotonic() - t0
                races = {r["test"]: r for r in RACES}
                speed = [t for t in result["tests"] if "speed" in t["name"]]
                print(f"[{item['label']} #{repeat + 1}] {result['score']:g}/{result['max_score']:g} in {took:.0f}s: "
                      + ", ".join(f"{t['name']} {t['status']}"
                                  + (f" {_ratio(t['name'], races[t['name']]['speedup']):.3g}x"
                                     if t["name"] in races else "")
                                  for t in speed), file=sys.stderr, flush=True)
                gradings.append({"label": item["label"], "stem": item["stem"], "repeat": repeat, "seed": seed,
                                 "seconds": took, "result": result, "races": list(races.values())})
                for t in speed:
                    row = rows.setdefault((item["label"], t["name"]), {
                        "notebook": item["label"], "test": t["name"], "exercise": t["exercise"],
                        "expect": _expected(item["case"], t["exercise"]), "statuses": [], "ratios": [],
                        "messages": []})
                    row["statuses"].append(t["status"])
                    if t["name"] in races:
                        row["ratios"].append(_ratio(t["name"], races[t["name"]]["speedup"]))
                    if t["status"] != "passed":
                        row["messages"].append(t["output"][:300])
                _write(args, _report(args, rows, gradings, started, complete=False))  # survives a kill
            else:
                continue
            break
    report = _report(args, rows, gradings, started, complete)
    _write(args, report)
    return report


def markdown(report: dict) -> str:
    lines = [f"# Speed calibration ({report['when']})", "",
             f"- **GPU:** {report['gpu']}",
             f"- **Software:** Python {report['python']}, "
             + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
             f"- **Repeats:** {report['repeats']} gradings per notebook, fresh inputs each"
             + (" (speed tests forced on a CPU: a dry run, not a calibration)" if report["allow_cpu"] else "")
             + ("" if report["complete"] else " (cut short: see the passed column for how many ran)"),
             "",
             "| notebook | speed test | expect | passed | ratio min / median / max | threshold | margin |",
             "|---|---|---|---:|---|---|---:|"]
    for row in report["rows"]:
        ratios = row["ratios"]
        spread = (f"{min(ratios):.3g} / {statistics.median(ratios):.3g} / {max(ratios):.3g}" if ratios
                  else "not timed")
        passed = f"{row['statuses'].count('passed')}/{len(row['statuses'])}"
        margin = "" if row["margin"] is None else f"{row['margin']:.2f}" + (" !!" if row["margin"] < 1 else "")
        wrong = (row["expect"] == "pass" and any(s != "passed" for s in row["statuses"])) or (
            row["expect"] == "fail" and "passed" in row["statuses"])
        lines.append(f"| {row['notebook']} | {row['test']} | {row['expect']} | {passed}"
                     f"{' !!' if wrong else ''} | {spread} | {row['threshold']} | {margin} |")
    untimed = [r for r in report["rows"] if not r["ratios"] and r["messages"]]
    if untimed:
        lines += ["", "Not timed (the test stopped before or instead of timing):", ""]
        lines += [f"- {r['notebook']} / {r['test']}: {r['messages'][0][:200]}" for r in untimed]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="gradings per notebook (default 3)")
    p.add_argument("--out", type=Path, help="write the full report as JSON here")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="corpus case names and/or ref:NN_stem (a reference answer) to grade (default: all)")
    p.add_argument("--no-references", action="store_true", help="skip the six reference answers")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="start no grading after this many seconds (the report covers what ran)")
    p.add_argument("--allow-cpu", action="store_true",
                   help="run the speed tests even on a CPU (to try this script; not a calibration)")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    report = calibrate(args)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
