"""A JAX compilation cache shared by the notebooks of one grading run: written only by the
reference notebook's grading, read by the students' kernels.

Most of a notebook's grading time is XLA compiling: the lesson's own cells, every operation the
first time it runs op by op, each grader's shapes (benchmarks/results/grading-time-*.md). Those
programs are the same in every student's notebook, so a cache warmed once by grading the
instructor's complete notebook (``python -m instructor.samples``: release + answers) serves them all.

Trust: a cache entry is a compiled program that a later kernel loads and runs. A student's
kernel must never write one (it could plant a program for another student's grading), so it
sees the folder read-only, in its jail, and is told never to write (no warning per compile).
Without the jail (``--isolation none``) a student's kernel could write to the folder, so it gets
no cache at all. The warm-up kernels run only the instructor's notebook and the graders.
A stale entry is only a miss: JAX keys each entry on the program, the compile options and
flags, the device and the jax/jaxlib versions.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

# The variables that point JAX at a cache: the grader's own are never passed on to a kernel
# (an inherited, writable cache would let a student's kernel write to it).
CACHE_ENV = ("JAX_COMPILATION_CACHE_DIR", "JAX_ENABLE_COMPILATION_CACHE",
             "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
             "JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES")
STAMPS = "warmed"  # DIR/warmed/<stem>.<fingerprint>: the reference of that part was graded here


def kernel_env(directory: str, writable: bool) -> dict[str, str]:
    """The JAX settings of a kernel that uses the cache in ``directory``."""
    return {
        "JAX_COMPILATION_CACHE_DIR": directory,
        "JAX_ENABLE_COMPILATION_CACHE": "true",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",  # every entry, however small
        # Writing: every program, even a 10 ms one (op by op, those add up to seconds).
        # Reading only: a threshold no compilation reaches, so JAX never tries to write.
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0" if writable else "1e9",
        # XLA's own autotuning cache would write into the folder too; autotuning is off
        # (GRADING_XLA_FLAGS), and a read-only kernel must not try.
        "JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES": "xla_gpu_per_fusion_autotune_cache_dir" if writable else "none",
    }


def fingerprint(stem: str, reference: Path, xla_flags: str) -> str:
    """What a warm-up depends on: the reference notebook, the part's graders, the JAX build and
    the flags. When any changes the part is warmed again (old entries stay, as misses)."""
    h = hashlib.sha256()
    h.update(reference.read_bytes())
    h.update(resources.files("autograder.graders").joinpath(f"test_{stem}.py").read_bytes())
    for dist in ("jax", "jaxlib"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            h.update(f"{dist}={importlib.metadata.version(dist)}".encode())
    h.update(xla_flags.encode())
    h.update(os.environ.get("JAX_PLATFORMS", "").encode())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _locked(directory: Path):
    """One warm-up at a time per folder: two grading commands sharing it wait for each other."""
    with open(directory / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            locked = True
        except OSError:  # a file system without locks (some cluster mounts): each command warms alone
            locked = False
        try:
            yield
        finally:
            if locked:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _write_references(folder: Path, stems: list[str]) -> None:
    """The reference notebooks (release/ with the answers filled in: the sample student alice),
    written by the instructor's own command. Run as a command, not imported: this module is part
    of the engine that student repositories get (instructor/starter.py), which holds no
    instructor code; only `grade`, in the course's checkout, gets here."""
    proc = subprocess.run([sys.executable, "-m", "instructor.samples", str(folder), "--students", "alice",
                           "--stems", *stems], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise OSError(f"python -m instructor.samples could not write the reference notebooks: {why}")


def warm(directory: Path, stems: list[str], grade_reference, *, xla_flags: str, jobs: int, log) -> None:
    """Grade the reference notebook of each part in ``stems`` not yet warmed in ``directory``,
    ``jobs`` at once, with the cache writable. ``grade_reference(notebook, stem)`` grades one
    (a result dict; RuntimeError if the grader broke); ``log`` takes one line per part."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / STAMPS).mkdir(exist_ok=True)
    with _locked(directory), tempfile.TemporaryDirectory(prefix="autograder-warm-") as tmp:
        _write_references(Path(tmp), stems)
        todo = []
        for stem in stems:
            reference = Path(tmp) / "alice" / "workshop3" / f"{stem}.ipynb"
            stamp = directory / STAMPS / f"{stem}.{fingerprint(stem, reference, xla_flags)}"
            if not stamp.exists():
                todo.append((stem, reference, stamp))

        def one(stem: str, reference: Path, stamp: Path) -> None:
            started = time.monotonic()
            try:
                result = grade_reference(reference, stem)
            except RuntimeError as exc:  # the students are graded all the same, compiling as usual
                log(f"compile cache {directory}: warming {stem} failed, not cached: {str(exc).splitlines()[0]}")
                return
            stamp.write_text(f"{result['score']:g}/{result['max_score']:g}\n")
            log(f"compile cache {directory}: warmed by the reference {stem} "
                f"({result['score']:g}/{result['max_score']:g}, {time.monotonic() - started:.0f}s)")

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for fut in [pool.submit(one, *job) for job in todo]:
                fut.result()
        if todo and os.geteuid() == 0:  # a jailed warm-up wrote as nobody: the grader's again
            for path in [directory, *directory.rglob("*")]:
                os.chown(path, os.geteuid(), os.getegid(), follow_symlinks=False)
