"""Execute a student's notebook, cell by cell, in a real Jupyter kernel under limits.

A cell that raises does not stop the run. A cell that overruns its time limit is interrupted
and the next cells still run. A cell that ignores the interrupt, or kills the kernel
(``os._exit``, ``exit()``, a crash), costs a restart: the kernel is started afresh and the
notebook replayed without that cell, so the functions defined above it keep their points.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import nbformat
import zmq
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from .. import compile_cache
from . import channel, isolation

MAX_MESSAGE_BYTES = 8 << 20  # far above the 20 000 characters kept; see test_sandbox

# Environment variables a notebook under grading may see: no tokens or CI secrets.
ENV_KEEP_PREFIXES = ("JAX_", "XLA_", "CUDA_", "NVIDIA_", "TF_CPP_", "LC_", "OPENBLAS_")
ENV_KEEP = {"PATH", "PYTHONPATH", "LANG", "LD_LIBRARY_PATH", "TZ", "TERM", "PYTHONHASHSEED"}


@dataclasses.dataclass(frozen=True)
class Limits:
    cell_timeout_s: int = 60  # one cell; a demo cell that trains for longer is cut off
    notebook_timeout_s: int = 300  # all cells together; later cells are not run after that
    interrupt_grace_s: int = 5  # how long an interrupted cell has to stop before a restart
    call_timeout_s: int = 120  # one grader request (a call, a trace, a timed race)
    memory_bytes: int = 6 << 30  # heap of the kernel process (RLIMIT_DATA)
    file_bytes: int = 64 << 20  # largest file the notebook may write
    output_chars: int = 20_000  # printed output kept per notebook; the rest is counted only
    max_restarts: int = 3
    isolation: str = "auto"  # auto | namespaces | none: see sandbox/isolation.py
    compile_cache: str | None = None  # a JAX compilation cache folder (autograder/compile_cache.py)
    compile_cache_writable: bool = False  # only for the reference notebook's grading (the warm-up)


@dataclasses.dataclass
class CellRun:
    index: int  # position among the notebook's code cells, from 0
    status: str  # ok | error | timeout | interrupted | killed | skipped | not-run (killed: replayed as skipped)
    message: str = ""


def unclean_cell_records(cells: list[CellRun]) -> list[dict]:
    """SPEC.md's ``cells``: the code cells that did not run cleanly, as plain records."""
    return [{"index": c.index, "status": c.status, "message": c.message} for c in cells if c.status != "ok"]


class _SandboxKernelManager(AsyncKernelManager):
    """An IPython kernel started through ``sandbox/kernel.py`` (limits, hidden imports), in the
    jail of ``sandbox/isolation.py`` when isolation is on, talking over Unix sockets (Jupyter's
    ``ipc`` transport: they cross into a network namespace, where TCP on 127.0.0.1 cannot)."""

    jail: isolation.Jail | None = None
    run_dir: Path | None = None

    def format_kernel_cmd(self, extra_arguments=None):
        kernel = [sys.executable, "-c", _source("kernel.py"), "-f", self.connection_file, *(extra_arguments or [])]
        return self.jail.command(kernel, self.run_dir)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        self.jail.grant(Path(self.connection_file))  # the kernel's user must read it

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        # The kernel decides how big one message is: zmq drops any larger than this before it
        # is read into the grader's memory (300 MB printed at once would otherwise arrive whole).
        kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return kc


class _CappedClient(NotebookClient):
    """Keeps error outputs and a bounded amount of printed text; counts the rest."""

    printed_chars = 0
    kept_chars = 0
    cap = 0
    timed_out = False
    last_reply: dict | None = None

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        # The reply says whether the cell failed even when its error output never arrived
        # (a MemoryError traceback that could not be sent, say).
        self.last_reply = exec_reply["content"] if exec_reply else None
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        content = msg["content"]
        if msg["msg_type"] == "stream":
            text = content.get("text", "")
            self.printed_chars += len(text)
            room = self.cap - self.kept_chars
            if room <= 0:
                return None
            self.kept_chars += min(room, len(text))
            content = {**content, "text": text[:room]}
            msg = {**msg, "content": content}
        elif msg["msg_type"] == "error":
            content = {**content, "traceback": content.get("traceback", [])[-3:]}
            msg = {**msg, "content": content}
        elif msg["msg_type"] in ("display_data", "execute_result"):
            return None  # plots and reprs are not graded and can be large
        return super().output(outs, msg, display_id, cell_index)


class _Restart(Exception):
    def __init__(self, cell_index: int, status: str, message: str):
        super().__init__(message)
        self.cell_index, self.status, self.message = cell_index, status, message


def protect_this_process() -> None:
    """Make this grading process non-dumpable: a kernel running as the same user can then
    neither open /proc/<this pid>/fd/1 (to print a fake "Points" line into our output) nor read
    /proc/<this pid>/environ (CI secrets). Linux only; as root it changes nothing, so CI runners
    should grade as an ordinary user."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_DUMPABLE = 4
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


# On a GPU, XLA compiles every new matrix-multiply shape to a Triton kernel and times several
# configurations of it: seconds per graded notebook (on the H200, 06 graded in 40 s with these off
# against 49 s with them on; 04 in 25 s against 31), for matrices far too small to gain from it.
# Both kernels of a race get the same flags, and the speed thresholds were calibrated with them
# (benchmarks/results/speed-calibration-h200.md). An XLA_FLAGS of the grader's own replaces them.
GRADING_XLA_FLAGS = "--xla_gpu_enable_triton_gemm=false --xla_gpu_autotune_level=0"


def uses_compile_cache(limits: Limits, jailed: bool) -> bool:
    """A kernel reads the cache only in its jail, where the folder is mounted read-only; the
    warm-up's (the reference notebook) writes it, jailed or not."""
    return bool(limits.compile_cache) and (jailed or limits.compile_cache_writable)


def _kernel_env(home: str, limits: Limits, jailed: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if (k in ENV_KEEP or k.startswith(ENV_KEEP_PREFIXES)) and k not in compile_cache.CACHE_ENV}
    env.setdefault("XLA_FLAGS", GRADING_XLA_FLAGS)
    if uses_compile_cache(limits, jailed):
        env.update(compile_cache.kernel_env(limits.compile_cache, limits.compile_cache_writable))
    env.update(
        HOME=home,
        TMPDIR=home,
        MPLBACKEND="Agg",
        PYTHONNOUSERSITE="1",
        XLA_PYTHON_CLIENT_PREALLOCATE="false",  # share the GPU with the baseline in one process
        AUTOGRADER_MEMORY_BYTES=str(limits.memory_bytes),
        AUTOGRADER_FILE_BYTES=str(limits.file_bytes),
    )
    return env


def _source(name: str) -> str:
    return resources.files("autograder.sandbox").joinpath(name).read_text()


class NotebookRun:
    """One notebook executed in a sandboxed kernel, then serving the graders' requests."""

    def __init__(self, code_cells: list[str], limits: Limits = Limits()):
        self.code_cells = code_cells
        self.limits = limits
        self.skipped: dict[int, CellRun] = {}  # cells left out of replays, and why
        self.cells: list[CellRun] = []
        self.restarts = 0
        self.timings: dict[str, float] = {}  # kernel_start_s, worker_boot_s (imports jax), cells_s
        self.printed_chars = 0
        self._client: _CappedClient | None = None
        # Decided before anything starts: "namespaces" impossible is IsolationUnavailable here.
        self.isolation = isolation.resolve(limits.isolation)
        self._workdir = tempfile.TemporaryDirectory(prefix="ag-", dir=isolation.short_temp_dir())
        # In the jail the cache folder is mounted (read-only but for the warm-up): see uses_compile_cache.
        cache_mount = ((limits.compile_cache, limits.compile_cache_writable)
                       if limits.compile_cache and self.isolation.mode == "namespaces" else None)
        self._jail = isolation.Jail(self.isolation, Path(self._workdir.name), cache_mount=cache_mount)
        self._run_dir: Path | None = None
        self._attr = "_grader_" + secrets.token_hex(8)
        self.channel: channel.Channel | None = None

    # ---- kernel lifecycle
    def _start_kernel(self) -> None:
        # nbclient writes each executed cell back into its notebook: one slot serves them all.
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
        client = _CappedClient(
            nb,
            kernel_manager_class=_SandboxKernelManager,
            kernel_name="python3",
            timeout=self.limits.cell_timeout_s,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "CellTimeout", "evalue": "", "traceback": []},
            allow_errors=True,
            startup_timeout=120,
            shutdown_kernel="immediate",
            iopub_timeout=5,
        )
        client.cap = self.limits.output_chars
        t0 = time.perf_counter()
        home = str(self._jail.home)
        self._run_dir = run_dir = self._jail.new_run_dir()
        km = client.create_kernel_manager()
        km.jail, km.run_dir = self._jail, run_dir
        km.transport, km.cache_ports = "ipc", False
        km.ip = str(run_dir / "k")  # the kernel's sockets: run_dir/k-<port>
        km.connection_file = str(run_dir / "kernel.json")
        # The kernel's own stdin/stdout/stderr go nowhere near ours: a notebook writing
        # "Points 100/100" straight to file descriptor 1 must not reach the grading log.
        try:
            client.start_new_kernel(cwd=home, env=_kernel_env(home, self.limits, self._jail.jailed),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            client.start_new_kernel_client()
        except RuntimeError as exc:  # nbclient has already cleaned up the kernel
            why = self._jail.launch_error(run_dir).splitlines()
            raise RuntimeError(f"the kernel did not start: {why[0] if why else exc}") from None
        self._client = client
        t1 = time.perf_counter()
        # The codec and the worker as text, run before any student cell (worker.py says why).
        boot = (
            "def _grader_boot(wire_src, worker_src, attr):\n"
            "    import sys, types\n"
            "    wire = types.ModuleType('grader_wire')\n"
            "    exec(compile(wire_src, '<grader wire>', 'exec'), wire.__dict__)\n"
            "    ns = {'__name__': 'grader_worker'}\n"
            "    exec(compile(worker_src, '<grader worker>', 'exec'), ns)\n"
            "    setattr(sys, attr, ns['Worker'](get_ipython().user_ns, wire))\n"
            f"_grader_boot({_source('wire.py')!r}, {_source('worker.py')!r}, {self._attr!r})\n"
            "del _grader_boot\n"
        )
        reply = self._execute(boot, -1, timeout=120)
        if reply.status != "ok":
            raise RuntimeError(f"the grading worker failed to start in the kernel: {reply.message}")
        # Where the time goes (benchmarks/grading_time.py): the last start counts.
        self.timings.update(kernel_start_s=t1 - t0, worker_boot_s=time.perf_counter() - t1)

    def _stop_kernel(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self._client is not None and self._client.km is not None:
            try:
                self._client._cleanup_kernel()
            except (RuntimeError, OSError):
                pass  # already dead: nothing to clean
        self._client = None
        if self._run_dir is not None:  # its sockets and connection file served that kernel only
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None

    def close(self) -> None:
        self._stop_kernel()
        self._workdir.cleanup()

    # ---- running cells
    def _execute(self, source: str, index: int, timeout: int) -> CellRun:
        """Run one cell; CellRun.status is ok, error or timeout. Raises DeadKernelError."""
        cell = nbformat.v4.new_code_cell(source)
        client = self._client
        client.timeout = timeout
        client.timed_out = False
        client.last_reply = None
        client.execute_cell(cell, 0, store_history=index >= 0)
        if client.timed_out:
            return CellRun(index, "timeout", f"ran past the {timeout}s limit for one cell and was interrupted")
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        reply = client.last_reply or {}
        if not errors and reply.get("status", "ok") == "ok":
            return CellRun(index, "ok")
        err = errors[-1] if errors else reply
        status = "interrupted" if err.get("ename") == "KeyboardInterrupt" else "error"
        return CellRun(index, status, f"{err.get('ename')}: {err.get('evalue')}"[:300])

    def _has_memory_left(self) -> bool:
        """After a MemoryError: can the kernel still allocate, or does the cell's data hold it all?"""
        probe = "_grader_probe = bytearray(256 << 20)\ndel _grader_probe"
        try:
            return self._execute(probe, -1, timeout=self.limits.interrupt_grace_s).status == "ok"
        except DeadKernelError:
            return False

    def _alive_and_idle(self) -> bool:
        """After an interrupt: does the kernel answer a trivial cell within the grace period?"""
        try:
            return self._execute("pass", -1, timeout=self.limits.interrupt_grace_s).status == "ok"
        except DeadKernelError:
            return False

    def _run_cells_once(self) -> None:
        self._start_kernel()
        self.cells = []
        deadline = time.monotonic() + self.limits.notebook_timeout_s
        t0 = time.perf_counter()
        spent: dict[int, float] = {}  # code cell -> seconds it ran
        for i, src in enumerate(self.code_cells):
            if i in self.skipped:
                self.cells.append(self.skipped[i])
                continue
            left = int(deadline - time.monotonic())
            if left <= 0:
                self.cells.append(CellRun(i, "not-run", "the notebook's total time limit was reached"))
                continue
            started = time.perf_counter()
            try:
                run = self._execute(src, i, timeout=min(self.limits.cell_timeout_s, left))
            except DeadKernelError:
                raise _Restart(i, "killed", "stopped the kernel (exit, os._exit, a crash or running out of memory)")
            if run.status == "timeout" and not self._alive_and_idle():
                raise _Restart(i, "killed", "ran past the time limit and ignored the interrupt")
            if run.status == "error" and "MemoryError" in run.message and not self._has_memory_left():
                raise _Restart(i, "killed", "ran out of memory and kept it, leaving the kernel unable to work")
            self.cells.append(run)
            spent[i] = time.perf_counter() - started
        self.printed_chars = self._client.printed_chars
        self.timings["cells_s"] = time.perf_counter() - t0
        # The slowest cells, by code-cell number from 1 (where a long grading spends its time).
        slowest = sorted(spent.items(), key=lambda item: -item[1])[:5]
        self.timings["slowest_cells_s"] = {str(i + 1): round(s, 2) for i, s in slowest}

    def run(self) -> "NotebookRun":
        """Execute every code cell, restarting past cells that hang or kill the kernel."""
        while True:
            try:
                self._run_cells_once()
                return self
            except _Restart as restart:
                self._stop_kernel()
                self.skipped[restart.cell_index] = CellRun(restart.cell_index, "skipped",
                                                           f"{restart.message}; skipped when the notebook was rerun")
                self.restarts += 1
                if self.restarts > self.limits.max_restarts:
                    raise RuntimeError(f"gave up after {self.restarts} kernel restarts") from None

    # ---- serving the graders
    def connect(self) -> channel.Channel:
        """Start the worker's request loop in the kernel and return the channel to it."""
        if self.channel is not None:
            return self.channel
        if self._client is None:
            self.run()
        # A Unix socket in this kernel's run folder, under a name the notebook cannot guess in
        # advance; the token proves that the worker is what connected.
        path = self._run_dir / f"g{secrets.token_hex(8)}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        self._jail.grant(path)  # connectable by the kernel's user
        listener.listen(1)
        listener.settimeout(60)
        token = secrets.token_hex(16)
        self._client.kc.execute(
            f"getattr(__import__('sys'), {self._attr!r}).serve({str(path)!r}, {token!r})",
            store_history=False,
        )
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            raise channel.WorkerLost("the kernel did not start answering (it died after the notebook ran?)") from None
        finally:
            listener.close()
            path.unlink(missing_ok=True)
        self.channel = channel.Channel(conn, token, self.limits.call_timeout_s)
        return self.channel

    def restart(self) -> None:
        """After the worker died or hung mid-request: a fresh kernel running the same cells."""
        self._stop_kernel()
        self.restarts += 1
        if self.restarts > self.limits.max_restarts:
            raise RuntimeError(f"gave up after {self.restarts} kernel restarts")
        self.run()


def code_cells_of(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]
