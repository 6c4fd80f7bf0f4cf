"""How long grading takes, and where the time goes (a measurement, not a timed test).

    .venv/bin/python benchmarks/grading_time.py [--jobs 2] [--isolation auto|namespaces|none]
                                                [--compile-cache DIR]

Grades the complete sample submission (alice, from instructor/samples.py: the release with the
instructor's solutions filled in, lesson cells included) of each of the six parts:

1. each notebook on its own through ``python -m autograder grade`` (wall time of the command);
2. all six in one command with ``-j N``;
3. each notebook's sandbox phases, from ``Submission`` (``NotebookRun.timings``): starting the
   kernel, booting the grading worker (which imports JAX), running the student's cells.

With ``--compile-cache DIR`` every grading uses that cache (autograder/compile_cache.py); the
warm-up (the reference notebooks graded once, writing it) happens before the first measurement.

The rest of a single grading is the command's own start-up (Python, pytest, the graders and
oracles importing NumPy and JAX) and the grader tests themselves, JAX compilation of the
student's functions included (it happens on their first call).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.assignment import STEMS
from instructor import samples as sample_notebooks
from autograder.sandbox.isolation import MODES
from autograder.sandbox.notebook_run import Limits
from autograder.submission import Submission


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--isolation", choices=MODES, default="auto")
    parser.add_argument("--compile-cache", type=Path, metavar="DIR")
    args = parser.parse_args(argv)
    cache = [] if args.compile_cache is None else ["--compile-cache", str(args.compile_cache.resolve())]
    with tempfile.TemporaryDirectory() as tmp:
        sample_notebooks.write_samples(Path(tmp), STEMS, ("alice",))
        notebooks = [Path(tmp) / "alice" / "workshop3" / f"{stem}.ipynb" for stem in STEMS]
        grade = [sys.executable, "-m", "autograder", "grade", "--isolation", args.isolation, *cache]
        if cache:  # the warm-up, outside every measurement
            _timed([*grade, *map(str, notebooks), "-j", str(args.jobs)])
        startup = _timed([sys.executable, "-c", "import autograder.runner, solutions.oracles, jax.numpy"])
        rows = []
        for nb in notebooks:
            total = _timed([*grade, str(nb)])
            sub = Submission.from_notebook(nb, Limits(isolation=args.isolation, compile_cache=cache[1] if cache else None))
            phases = sub.timings
            sub.close()
            rows.append((nb.stem, total, phases))
        all_six = _timed([*grade, *map(str, notebooks), "-j", str(args.jobs)])

    print("| notebook | one grading | kernel start | worker boot (JAX import) | student cells | start-up + graders |")
    print("|---|---:|---:|---:|---:|---:|")
    for stem, total, p in rows:
        rest = total - p["kernel_start_s"] - p["worker_boot_s"] - p["cells_s"]
        print(f"| {stem} | {total:.1f} s | {p['kernel_start_s']:.1f} s | {p['worker_boot_s']:.1f} s "
              f"| {p['cells_s']:.1f} s | {rest:.1f} s |")
    print(f"\nAll six in one command, -j {args.jobs}: {all_six:.1f} s. "
          f"Command start-up alone (Python importing the graders, oracles, NumPy and JAX): {startup:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
