"""The student's kernel in its namespace jail (autograder/sandbox/isolation.py).

Each attack below is a notebook that works without the jail: where that is safe and cheap the
test shows it working with ``isolation="none"`` (so the test can fail), then fails inside the
jail with ``isolation="namespaces"``. These tests need Linux with util-linux ``unshare`` and
either root or unprivileged user namespaces, as CI has (root): they do not skip.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import isolation
from autograder.sandbox.notebook_run import Limits, NotebookRun
from autograder.submission import Submission
from course.digits import load_digits
from tests.conftest import REPO, write_notebook

pytestmark = pytest.mark.slow

JAILED = Limits(cell_timeout_s=30, notebook_timeout_s=120, interrupt_grace_s=2, call_timeout_s=30,
                memory_bytes=2 << 30, file_bytes=8 << 20, isolation="namespaces")
OPEN = dataclasses.replace(JAILED, isolation="none")
KERNEL_UID = 65534 if os.geteuid() == 0 else 0  # nobody as root; the mapped root of a user namespace otherwise
GRADER_FILES = [REPO / "autograder" / "graders" / "test_01_jax_intro.py", REPO / "solutions" / "oracles.py",
                REPO / "solutions" / "answers" / "jax_intro.py", REPO / "autograder" / "sandbox" / "worker.py"]

# Look for the reference answers wherever they could be and paste them in: sys.path, the
# folders named by the editable install's finder (it lists the repository's packages), the
# repository itself (a notebook could guess it), and the parents of all of these.
STEAL_ANSWERS = f'''
import glob, os, re, sys

def _places():
    places = {{p for p in sys.path if p}} | {{os.getcwd(), {str(REPO)!r}}}
    for finder in glob.glob(os.path.join(sys.prefix, "lib", "python*", "site-packages", "__editable__*finder.py")):
        places.update(re.findall(r"'(/[^']+)'", open(finder).read()))
    return {{up for p in places for up in (p, os.path.dirname(p), os.path.dirname(os.path.dirname(p)))}}

STOLEN = sorted({{f for p in _places() for f in glob.glob(os.path.join(p, "solutions", "answers", "*.py"))
                 if not f.endswith("__init__.py")}})
for _path in STOLEN:
    exec(compile(open(_path).read(), _path, "exec"), globals())
'''
# Print a fake score into the output of the grading processes above this kernel: the runner
# and the command line (their command lines name autograder; nothing further up is touched).
FAKE_STDOUT = '''
import os

def _grading_ancestors():
    pid, found = os.getpid(), []
    while True:
        try:
            pid = int(open(f"/proc/{pid}/status").read().split("PPid:")[1].split()[0])
            if pid <= 0 or b"autograder" not in open(f"/proc/{pid}/cmdline", "rb").read():
                return found
        except OSError:
            return found
        found.append(pid)

for _pid in _grading_ancestors():
    try:
        with open(f"/proc/{_pid}/fd/1", "w") as _out:
            _out.write("\\nPoints 100/100\\n")
    except OSError:
        pass
'''
PROBES = '''
import errno, os, socket


def read_file(path):
    try:
        with open(path) as fh:
            return fh.read(200)
    except OSError as exc:
        return type(exc).__name__


def try_write(path):
    try:
        with open(path, "a") as fh:
            fh.write("x")
        return "written"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, type(exc).__name__)


def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__


def processes():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())


def my_pid():
    return os.getpid()


def who():
    return [os.getuid(), os.getgid(), os.getgroups()]


def home_round_trip():
    path = os.path.join(os.environ["HOME"], "notes.txt")
    with open(path, "w") as fh:
        fh.write("kept")
    with open(path) as fh:
        return [fh.read(), os.getcwd() == os.environ["HOME"]]


def jax_computes():
    import jax
    import jax.numpy as jnp
    return [jax.devices()[0].platform, float(jnp.sum(jnp.arange(10.0) ** 2))]


def digits_shapes():
    from course.digits import load_digits
    d = load_digits()
    return [list(d.x_train.shape), list(d.x_test.shape), float(d.x_train.max())]


def connect_tcp(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return "connected"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, type(exc).__name__)


def loopback_echo():
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname(), timeout=3) as client:
            conn, _ = server.accept()
            client.sendall(b"ping")
            with conn:
                return conn.recv(4).decode()


def environ_values(name):
    """The values of variable ``name`` in the environment of every process this kernel sees."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                entries = open(f"/proc/{pid}/environ", "rb").read().split(b"\\0")
            except OSError:
                continue
            found += [e.split(b"=", 1)[1].decode() for e in entries if e.startswith(name.encode() + b"=")]
    return found


def cache_settings():
    return {k: os.environ.get(k) for k in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")}


def environ_of(pid):
    try:
        open(f"/proc/{pid}/environ", "rb").read()
        return "read"
    except OSError as exc:
        return type(exc).__name__


def can_signal(pid):
    try:
        os.kill(pid, 0)  # signal 0: "could I signal it?", without signalling
        return "reachable"
    except OSError as exc:
        return type(exc).__name__


def kill_runner_and_everyone(pid):
    import signal
    try:
        os.kill(pid, signal.SIGKILL)
        runner = "killed"
    except OSError as exc:
        runner = type(exc).__name__
    killed = []
    for other in processes():
        if other != os.getpid():
            try:
                os.kill(other, signal.SIGKILL)
                killed.append(other)
            except OSError:
                pass
    return [runner, killed]


def alive():
    return "alive"


def make_namespaces():
    """A new user namespace, by the unshare command and by the system call itself."""
    import subprocess
    command = subprocess.run(["unshare", "--user", "--map-root-user", "true"], capture_output=True).returncode
    try:
        os.unshare(os.CLONE_NEWUSER | os.CLONE_NEWNS)
        call = "made"
    except OSError as exc:
        call = errno.errorcode.get(exc.errno, type(exc).__name__)
    return [command, call]
'''


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def jailed():
    sub = Submission([PROBES], JAILED)
    yield sub
    sub.close()


@pytest.fixture(scope="module")
def opened():
    sub = Submission([PROBES], OPEN)
    yield sub
    sub.close()


# ---- the command line: the answers pasted in by path, a fake score written to its stdout


def grade_cli(tmp_path: Path, cells: list[str], mode: str):
    nb = write_notebook(tmp_path / mode / "01_jax_intro.ipynb", cells)
    result, summary, output = tmp_path / mode / "result.json", tmp_path / mode / "summary.md", tmp_path / mode / "out"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(nb), "--github", "--json", str(result),
                           "--isolation", mode], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc, json.loads(result.read_text())


def points_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("Points")]


@pytest.fixture(scope="module")
def attacks_graded(tmp_path_factory):
    """The same notebook (answers pasted in by path, a fake score written to the grading
    processes' stdout) graded by the command line without and with the jail."""
    tmp = tmp_path_factory.mktemp("attacks")
    return {mode: grade_cli(tmp, [STEAL_ANSWERS, FAKE_STDOUT], mode) for mode in ("none", "namespaces")}


def test_answers_read_by_path_score_nothing_in_the_jail(attacks_graded):
    _, open_result = attacks_graded["none"]
    assert open_result["score"] == open_result["max_score"] > 0  # the attack works without the jail
    assert open_result["isolation"] == {"mode": "none", "reason": "--isolation none was asked for"}
    _, jailed_result = attacks_graded["namespaces"]
    assert jailed_result["isolation"]["mode"] == "namespaces" and jailed_result["isolation"]["reason"]
    assert jailed_result["score"] == 0, [t for t in jailed_result["tests"] if t["score"]]
    assert all("is not defined" in t["output"] for t in jailed_result["tests"]), jailed_result["tests"]


def test_a_fake_score_cannot_reach_the_command_lines_output(attacks_graded):
    open_proc, _ = attacks_graded["none"]
    if os.geteuid() == 0:  # as another user PR_SET_DUMPABLE already stops it (autograder/README.md)
        assert "Points 100/100" in points_lines(open_proc.stdout), open_proc.stdout
    jailed_proc, jailed_result = attacks_graded["namespaces"]
    real = f"Points {jailed_result['score']:g}/{jailed_result['max_score']:g}"
    assert points_lines(jailed_proc.stdout) == [real], jailed_proc.stdout
    assert "isolation: none" not in jailed_proc.stdout  # said only when the jail is off
    assert "isolation: none (--isolation none was asked for)" in open_proc.stdout


# ---- files: the graders, oracles and answers are not there; what is there is read-only


def test_graders_oracles_and_answers_cannot_be_read_by_path(jailed, opened):
    for path in GRADER_FILES:
        assert opened.call("read_file", str(path)).value == path.read_text()[:200]  # readable without the jail
        assert jailed.call("read_file", str(path)).value == "FileNotFoundError", path


def test_the_repository_shows_only_the_course_package_and_the_venv(jailed):
    venv = Path(sys.prefix).resolve()
    shown = {"course"} | ({venv.relative_to(REPO).parts[0]} if venv.is_relative_to(REPO) else set())
    assert set(jailed.call("listing", str(REPO)).value) == shown
    for hidden in ("autograder", "solutions", "tests", "source", ".git", "instructor"):
        assert jailed.call("listing", str(REPO / hidden)).value == "FileNotFoundError", hidden
    # The grader's home shows at most the folders on the way to the Python installation.
    home = Path.home().resolve()
    pythons = [Path(p).resolve() for p in (sys.base_prefix, sys.prefix, sys.executable)]
    on_the_way = {p.relative_to(home).parts[0] for p in pythons if p.is_relative_to(home) and p != home}
    seen = jailed.call("listing", str(home)).value
    assert seen == "FileNotFoundError" or set(seen) <= on_the_way, seen


def test_the_venv_and_the_course_package_are_read_only(jailed):
    site = Path(np.__file__).parent
    targets = [site / "__init__.py", site / "planted.py", REPO / "course" / "__init__.py", REPO / "course" / "planted.py"]
    before = {p: file_digest(p) for p in targets if p.exists()}
    for path in targets:
        assert jailed.call("try_write", str(path)).value in ("EROFS", "EACCES"), path
    assert {p: file_digest(p) for p in targets if p.exists()} == before


def test_the_kernel_has_a_writable_home_the_lessons_data_and_jax(jailed):
    assert jailed.call("home_round_trip").value == ["kept", True]
    digits = load_digits()
    assert jailed.call("digits_shapes").value == [list(digits.x_train.shape), list(digits.x_test.shape),
                                                  float(digits.x_train.max())]
    platform, value = jailed.call("jax_computes").value
    assert value == 285.0 and platform in ("cpu", "gpu")
    assert platform == jailed.platform()["platform"]


def test_the_kernel_runs_as_an_unprivileged_user_and_sees_only_its_own_processes(jailed, opened):
    assert jailed.call("who").value == [KERNEL_UID, KERNEL_UID, []]
    # Its own PID namespace: PID 1 is the jail's launcher, which only waits; the kernel is 2.
    assert jailed.call("processes").value == [1, 2] == [1, jailed.call("my_pid").value]
    assert len(opened.call("processes").value) > 1


def test_the_kernel_cannot_make_namespaces_of_its_own(jailed):
    # Outside the jail root can (unshare, as tests/CI run it); inside, the seccomp filter says no.
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "true"], capture_output=True)
    assert probe.returncode == 0, probe.stderr
    assert jailed.call("make_namespaces").value == [1, "EPERM"]


# ---- the network: only the kernel's own loopback


def test_a_listener_outside_the_jail_is_out_of_reach(jailed, opened):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert opened.call("connect_tcp", "127.0.0.1", port).value == "connected"
        assert jailed.call("connect_tcp", "127.0.0.1", port).value == "ECONNREFUSED"
    assert jailed.call("connect_tcp", "192.0.2.1", 80).value == "ENETUNREACH"  # no route anywhere
    assert jailed.call("loopback_echo").value == "ping"  # its own loopback works


# ---- the runner's process: environment, signals (the runner is a separate Python process)


RUNNER = '''
import json, os, sys
from autograder.sandbox.notebook_run import Limits
from autograder.submission import Submission

cells, mode, calls = json.load(sys.stdin)
sub = Submission(cells, Limits(isolation=mode, cell_timeout_s=30, call_timeout_s=30))
out = []
for name, args in calls:
    args = [os.getpid() if a == "RUNNER_PID" else a for a in args]
    out.append(sub.call(name, *args).value)
sub.close()
print("RESULT " + json.dumps(out), flush=True)
'''
SECRET = "runner-secret-" + os.urandom(6).hex()


def in_runner(mode: str, calls: list) -> subprocess.CompletedProcess:
    """Grade PROBES in a runner process holding SECRET in its environment, make ``calls``."""
    return subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps([[PROBES, FAKE_STDOUT], mode, calls]),
                          capture_output=True, text=True, timeout=300, env={**os.environ, "GRADER_SECRET": SECRET})


def runner_result(proc: subprocess.CompletedProcess) -> list:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))[len("RESULT "):])


def test_the_runners_environment_signals_and_stdout_are_out_of_reach():
    calls = [("environ_values", ["GRADER_SECRET"]), ("environ_of", ["RUNNER_PID"]), ("can_signal", ["RUNNER_PID"])]
    opened = in_runner("none", calls)
    assert runner_result(opened) == [[SECRET], "read", "reachable"]  # all three work without the jail
    assert "Points 100/100" in opened.stdout  # FAKE_STDOUT wrote to the runner's stdout
    jailed = in_runner("namespaces", [*calls, ("kill_runner_and_everyone", ["RUNNER_PID"]), ("alive", [])])
    *found, (runner, others), after = runner_result(jailed)
    assert found == [[], "FileNotFoundError", "ProcessLookupError"] and runner == "ProcessLookupError"
    # The only other process in sight is the jail's PID 1, which Linux keeps from signals it
    # has no handler for: the kernel still answers and the grading finishes.
    assert set(others) <= {1} and after == "alive"
    assert "Points 100/100" not in jailed.stdout


def test_killing_the_kernel_kills_what_it_started_even_in_a_new_session():
    # A child that leaves the kernel's process group (setsid) outlives a plain kernel. In the
    # jail it dies with the kernel, and so does a kernel that left the group itself and
    # cleared its parent-death signal: PID 1 of the namespace, the launcher, is killed with the
    # group, and Linux then ends every process of the namespace.
    marker = "agt-orphan-" + os.urandom(4).hex()
    orphan = ("import subprocess, sys\n"
              f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', {marker!r}], start_new_session=True)")
    escape = "import ctypes, os\nos.setsid()\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG: none"

    def running(needle: str) -> list[int]:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if needle.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
        return found

    for limits, survives in ((OPEN, True), (JAILED, False)):
        sub = Submission([orphan, escape, "def alive():\n    return 'alive'"], limits)
        base = str(sub._transport.run._jail.base)  # in the kernel's and the launcher's command lines
        assert sub.call("alive").value == "alive" and running(marker) and running(base)
        jail_escape = sub.cells[1].status  # a plain kernel leads its session: setsid fails there
        sub.close()
        deadline = time.monotonic() + 10
        while (running(marker) or running(base)) and not survives and time.monotonic() < deadline:
            time.sleep(0.2)
        left = running(marker)
        for pid in left:  # the plain kernel's orphan: ours to clean up
            os.kill(pid, 9)
        assert bool(left) == survives, (limits.isolation, left)
        if not survives:
            assert jail_escape == "ok" and not running(base)


# ---- the compilation cache (autograder/compile_cache.py): read by a student's kernel, never written


def test_the_compile_cache_is_read_only_to_a_students_kernel_and_absent_without_the_jail(tmp_path):
    cache = tmp_path / "xla-cache"
    cache.mkdir()
    entry = cache / "jit_f-0123-cache"
    entry.write_bytes(b"a compiled program")
    cache.chmod(0o777)  # open to anyone: only the read-only mount stands in the way
    entry.chmod(0o666)
    before = file_digest(entry)
    sub = Submission([PROBES], dataclasses.replace(JAILED, compile_cache=str(cache)))
    try:
        assert sub.call("cache_settings").value == {"JAX_COMPILATION_CACHE_DIR": str(cache),
                                                     "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "1e9"}
        assert sub.call("read_file", str(entry)).value == "a compiled program"
        for target in (entry, cache / "jit_g-4567-cache"):  # replace an entry, plant a new one
            assert sub.call("try_write", str(target)).value == "EROFS", target
    finally:
        sub.close()
    assert file_digest(entry) == before and sorted(p.name for p in cache.iterdir()) == [entry.name]
    # Without the jail the folder would be writable: the kernel is not told of it at all.
    sub = Submission([PROBES], dataclasses.replace(OPEN, compile_cache=str(cache)))
    try:
        assert sub.call("cache_settings").value == {"JAX_COMPILATION_CACHE_DIR": None,
                                                     "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": None}
    finally:
        sub.close()


# ---- the second, clean kernel for reference baselines


def test_a_clean_kernel_for_baselines_starts_in_the_jail_without_cells():
    run = NotebookRun([], JAILED).run()
    try:
        assert run.cells == [] and run.isolation.mode == "namespaces"
        chan = run.connect()
        assert chan.request({"op": "platform"})["status"] == "ok"
        assert chan.request({"op": "load_baseline", "label": "ref", "source": "def f(x):\n    return x"})["status"] == "ok"
        assert set(run.timings) >= {"kernel_start_s", "worker_boot_s"}
    finally:
        run.close()


# ---- choosing the mode


def test_resolve_reports_a_mode_and_a_reason():
    auto = isolation.resolve("auto")
    assert auto.mode == "namespaces" and "namespaces" in auto.reason  # CI: root with unshare
    assert isolation.resolve("namespaces") == auto
    assert isolation.resolve("none") == ("none", "--isolation none was asked for")
    with pytest.raises(ValueError, match="auto, namespaces, none"):
        isolation.resolve("containers")


def test_without_unshare_auto_grades_unisolated_and_says_so_once(tmp_path):
    stub = "def set_boundary(u, value):\n    raise NotImplementedError()"
    nb = write_notebook(tmp_path / "01_jax_intro.ipynb", [stub])
    env = {**os.environ, "PATH": str(tmp_path / "no-such-bin")}
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(nb), "--json", str(tmp_path / "r.json")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    reason = "util-linux unshare is not on PATH"
    assert json.loads((tmp_path / "r.json").read_text())["isolation"] == {"mode": "none", "reason": reason}
    notes = [line for line in proc.stdout.splitlines() if line.startswith("isolation:")]
    assert notes == [f"isolation: none ({reason}): the notebook could read files on this machine"]
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(nb), "--isolation", "namespaces"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"python -m autograder: error: --isolation namespaces is not possible here: {reason}"]


def test_the_jail_of_an_unprivileged_user_namespace_holds_too():
    # What a grader that is not root gets (unshare --user --map-root-user): the kernel stays the
    # mapped user, root only over its own namespaces, without capabilities; read-only mounts
    # (not file permissions) keep it from the venv.
    prefix = isolation.unshare_prefix(shutil.which("unshare"), user_namespace=True)
    venv_file = Path(np.__file__)
    code = (f"import json, os\n"
            f"caps = [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')]\n"
            f"def write(p):\n"
            f"    try:\n"
            f"        open(p, 'a').close(); return 'written'\n"
            f"    except OSError as e:\n"
            f"        return e.strerror\n"
            f"print(json.dumps([os.getuid(), caps, sorted(os.listdir({str(REPO)!r})), write({str(venv_file)!r}),"
            f" os.path.exists({str(GRADER_FILES[0])!r}), sorted(p for p in os.listdir('/proc') if p.isdigit())]))")
    failure, out = isolation.probe(prefix, code)
    assert failure is None, failure
    uid, caps, repo, write, grader_there, pids = json.loads(out)
    assert (uid, caps, write, grader_there, pids) == (0, ["0000000000000000"], "Read-only file system", False,
                                                      ["1", "2"])  # the launcher and this Python
    assert "course" in repo and "autograder" not in repo and "solutions" not in repo

