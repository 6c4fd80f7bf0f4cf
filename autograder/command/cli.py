"""``python -m autograder COMMAND``: the hardened command line (SPEC.md).

    grade NOTEBOOK... [--json FILE] [--as STEM] [--github] [-j N] [--isolation MODE] [--shard I/N]
                      [--compile-cache DIR]
        the hidden graders, each notebook in a sandboxed kernel (the grade)
    check NOTEBOOK... [--json FILE] [--as STEM] [--github] [-j N] [--isolation MODE]
        the notebook's visible checks, run the same way (a student's feedback; no hidden test)
    merge RESULTS.json... --csv FILE [--gradebook URL]
        the --json files of shards into one grades.csv (and nbgrader's gradebook)

Exit status: 0 when grading finished (whatever the score), 2 on a usage error or a file that
cannot be read as a notebook, 1 if the grader itself broke.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import compile_cache
from ..sandbox.isolation import MODES, IsolationUnavailable, resolve
from ..sandbox.notebook_run import GRADING_XLA_FLAGS, protect_this_process
from .inputs import UnreadableNotebook, check_notebook, stem_of
from .shards import parse_shard, shard_of
from .report import github_report, isolation_note, text_report

GRADE_TIMEOUT_S = 20 * 60  # one notebook, kernel restarts included


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as SPEC asks of usage errors
        self.exit(2, f"{self.prog}: error: {message}\n")


def _notebook_arguments(p: argparse.ArgumentParser, verb: str) -> None:
    """What grade and check both take: the notebooks and how to run and report them."""
    p.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    p.add_argument("--json", type=Path, metavar="FILE", help="write results (Gradescope/otter shape)")
    p.add_argument("--as", dest="as_stem", metavar="STEM", help="which part a single notebook is")
    p.add_argument("--github", action="store_true",
                   help="GitHub Actions: step summary, annotations and the Classroom reporter's notices")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help=f"notebooks {verb} at once")
    p.add_argument("--isolation", choices=MODES, default="auto",
                   help="where the student's kernel runs: its own mount, PID and network namespaces "
                        "(namespaces), without them (none), or namespaces where the system allows (auto)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m autograder")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    g = sub.add_parser("grade", help="grade student notebooks with the hidden graders")
    _notebook_arguments(g, "graded")
    g.add_argument("--shard", type=parse_shard, metavar="I/N",
                   help="grade only the I-th of N equal slices of the sorted notebooks (Slurm arrays, CI matrices)")
    g.add_argument("--compile-cache", type=Path, metavar="DIR",
                   help="a JAX compilation cache kept in DIR: warmed by grading the reference notebook of "
                        "each part once, then read-only to the students' jailed kernels (2-3x faster gradings)")
    c = sub.add_parser("check", help="run the notebooks' visible checks in the sandbox (a student's feedback)")
    _notebook_arguments(c, "checked")
    m = sub.add_parser("merge", help="merge the --json results of shards into grades.csv and the gradebook")
    m.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json")
    m.add_argument("--csv", type=Path, required=True, metavar="FILE", help="grades.csv to write")
    m.add_argument("--gradebook", metavar="URL", help="nbgrader gradebook database URL to update")
    return p


def _grade_in_child(notebook: Path, stem: str, mode: str, isolation: str,
                    cache: Path | None = None, cache_writable: bool = False) -> dict:
    """Grade one notebook in its own process, so a crash there cannot take the others down.

    ``mode`` is ``grade`` (the hidden graders) or ``check`` (the notebook's visible checks);
    ``cache`` the compilation cache, written only by a reference notebook's grading."""
    cache_args = [] if cache is None else ["--compile-cache", str(cache)] + (
        ["--compile-cache-writable"] if cache_writable else [])
    with tempfile.TemporaryDirectory(prefix="autograder-result-") as tmp:
        out = Path(tmp) / "result.json"
        log = Path(tmp) / "log.txt"
        with open(log, "wb") as logf:
            try:
                proc = subprocess.run([sys.executable, "-m", "autograder.runner", str(notebook), stem, str(out),
                                       "--mode", mode, "--isolation", isolation, *cache_args],
                                      stdout=logf, stderr=subprocess.STDOUT, timeout=GRADE_TIMEOUT_S)
                code = proc.returncode
            except subprocess.TimeoutExpired:
                code = "timeout"
        if code == 0 and out.exists():
            return json.loads(out.read_text())
        tail = log.read_bytes()[-1500:].decode(errors="replace")
        raise RuntimeError(f"grading {notebook} failed (exit {code}):\n{tail}")


def grade_command(args, mode: str = "grade") -> int:
    if args.as_stem and len(args.notebooks) > 1:
        print("python -m autograder: error: --as names the part of a single notebook", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("python -m autograder: error: -j takes a whole number >= 1", file=sys.stderr)
        return 2
    cache = getattr(args, "compile_cache", None)
    if cache is not None and cache.exists() and not cache.is_dir():
        print(f"python -m autograder: error: --compile-cache {cache} is a file: "
              "name a folder (it is created if missing)", file=sys.stderr)
        return 2
    if mode == "grade" and importlib.util.find_spec("autograder.graders") is None:
        print("python -m autograder: error: the hidden graders are not installed here (a student's repository "
              "has only the visible checks: run `python -m autograder check NOTEBOOK`)", file=sys.stderr)
        return 2
    try:  # every file is checked before any is graded: a typo costs seconds, not minutes
        jobs = []
        for nb in args.notebooks:
            check_notebook(nb)
            jobs.append((nb, stem_of(nb, args.as_stem)))
            if mode == "check":
                from ..visible_checks import find_checks

                find_checks(nb, jobs[-1][1])  # a notebook without its check cells: one line, exit 2
    except UnreadableNotebook as bad:
        print(f"python -m autograder: error: {bad}", file=sys.stderr)
        return 2
    if getattr(args, "shard", None):
        jobs = shard_of(jobs, *args.shard)
    try:  # namespaces asked for where there are none: one line now, not an error per notebook
        if args.isolation == "namespaces":
            resolve(args.isolation)
    except IsolationUnavailable as exc:
        print(f"python -m autograder: error: {exc}", file=sys.stderr)
        return 2
    if cache is not None:
        cache = _warm_compile_cache(args, sorted({stem for _, stem in jobs}))

    results: dict[int, dict] = {}
    broken = False
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(_grade_in_child, nb, stem, mode, args.isolation, cache): i
                   for i, (nb, stem) in enumerate(jobs)}
        for done, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            i = futures[fut]
            nb = jobs[i][0]
            try:
                results[i] = fut.result()
                msg = f"{results[i]['score']:g}/{results[i]['max_score']:g} " + (
                    "visible checks passed" if mode == "check" else "points")
            except RuntimeError as exc:
                broken = True
                msg = f"grader error: {exc}"
            print(f"[{done}/{len(jobs)}] {nb}: {msg} ({time.monotonic() - started:.0f}s)", file=sys.stderr, flush=True)

    ordered = [results[i] for i in sorted(results)]
    print(text_report(ordered))
    note = isolation_note(ordered)
    if note:
        print(note)
    if args.json:
        payload = ordered[0] if len(jobs) == 1 and not getattr(args, "shard", None) and ordered else ordered
        args.json.write_text(json.dumps(payload, indent=1))
    if args.github:  # step summary, annotations, the Classroom reporter's log and notices, outputs
        github_report(ordered)
    return 1 if broken else 0


def _warm_compile_cache(args, stems: list[str]) -> Path | None:
    """--compile-cache DIR: warm it for ``stems`` (the reference notebooks graded, writing it)
    and return it for the students' kernels, or None where they could not read it safely."""
    if resolve(args.isolation).mode != "namespaces":
        print(f"python -m autograder: --compile-cache {args.compile_cache} not used: without the jail "
              "(isolation none) a student's kernel could write to it", file=sys.stderr)
        return None
    cache = args.compile_cache.resolve()
    try:
        compile_cache.warm(cache, stems,
                           lambda nb, stem: _grade_in_child(nb, stem, "grade", args.isolation, cache,
                                                            cache_writable=True),
                           xla_flags=os.environ.get("XLA_FLAGS", GRADING_XLA_FLAGS), jobs=args.jobs,
                           log=lambda line: print(line, file=sys.stderr, flush=True))
    except (ImportError, OSError) as exc:  # no course checkout here (release/, the answers), or DIR not writable
        print(f"python -m autograder: --compile-cache {cache} not used: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    return cache


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    protect_this_process()
    if args.command == "merge":
        from .merge import merge_command

        return merge_command(args)
    return grade_command(args, mode=args.command)
