"""``python -m autograder grade NOTEBOOK... [--json FILE] [--as STEM] [--github] [-j N]`` (SPEC.md).

Exit status: 0 when grading finished (whatever the score), 2 on a usage error or a file that
cannot be read as a notebook, 1 if the grader itself broke.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..sandbox.notebook_run import protect_this_process
from .inputs import UnreadableNotebook, check_notebook, stem_of
from .report import github_annotations, markdown_summary, points_line, text_report

GRADE_TIMEOUT_S = 20 * 60  # one notebook, kernel restarts included


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as SPEC asks of usage errors
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m autograder")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    g = sub.add_parser("grade", help="grade student notebooks with the hidden graders")
    g.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    g.add_argument("--json", type=Path, metavar="FILE", help="write results (Gradescope/otter shape)")
    g.add_argument("--as", dest="as_stem", metavar="STEM", help="which part a single notebook is")
    g.add_argument("--github", action="store_true",
                   help="GitHub Actions: step summary, ::error annotations and a 'Points X/Y' line")
    g.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="notebooks graded at once")
    return p


def _grade_in_child(notebook: Path, stem: str) -> dict:
    """Grade one notebook in its own process, so a crash there cannot take the others down."""
    with tempfile.TemporaryDirectory(prefix="autograder-result-") as tmp:
        out = Path(tmp) / "result.json"
        log = Path(tmp) / "log.txt"
        with open(log, "wb") as logf:
            try:
                proc = subprocess.run([sys.executable, "-m", "autograder.runner", str(notebook), stem, str(out)],
                                      stdout=logf, stderr=subprocess.STDOUT, timeout=GRADE_TIMEOUT_S)
                code = proc.returncode
            except subprocess.TimeoutExpired:
                code = "timeout"
        if code == 0 and out.exists():
            return json.loads(out.read_text())
        tail = log.read_bytes()[-1500:].decode(errors="replace")
        raise RuntimeError(f"grading {notebook} failed (exit {code}):\n{tail}")


def grade_command(args) -> int:
    if args.as_stem and len(args.notebooks) > 1:
        print("python -m autograder: error: --as names the part of a single notebook", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("python -m autograder: error: -j takes a whole number >= 1", file=sys.stderr)
        return 2
    try:  # every file is checked before any is graded: a typo costs seconds, not minutes
        jobs = []
        for nb in args.notebooks:
            check_notebook(nb)
            jobs.append((nb, stem_of(nb, args.as_stem)))
    except UnreadableNotebook as bad:
        print(f"python -m autograder: error: {bad}", file=sys.stderr)
        return 2

    results: dict[int, dict] = {}
    broken = False
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(_grade_in_child, nb, stem): i for i, (nb, stem) in enumerate(jobs)}
        for done, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            i = futures[fut]
            nb = jobs[i][0]
            try:
                results[i] = fut.result()
                msg = f"{results[i]['score']:g}/{results[i]['max_score']:g} points"
            except RuntimeError as exc:
                broken = True
                msg = f"grader error: {exc}"
            print(f"[{done}/{len(jobs)}] {nb}: {msg} ({time.monotonic() - started:.0f}s)", file=sys.stderr, flush=True)

    ordered = [results[i] for i in sorted(results)]
    print(text_report(ordered))
    if args.json:
        payload = ordered[0] if len(args.notebooks) == 1 and ordered else ordered
        args.json.write_text(json.dumps(payload, indent=1))
    if args.github:
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(markdown_summary(ordered))
        for line in github_annotations(ordered):
            print(line)
        print(points_line(ordered))
        output = os.environ.get("GITHUB_OUTPUT")
        if output:
            with open(output, "a", encoding="utf-8") as fh:
                fh.write(f"points={points_line(ordered).removeprefix('Points ')}\n")
    return 1 if broken else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    protect_this_process()
    return grade_command(args)
