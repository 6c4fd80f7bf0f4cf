"""Where the student's kernel runs: in a jail of Linux namespaces, or as a plain child process.

``resolve(requested)`` turns ``--isolation auto|namespaces|none`` into ``Isolation(mode,
reason)``. ``namespaces``: the kernel gets its own mount, PID, network, IPC and UTS
namespaces (util-linux ``unshare``), sees a read-only whitelist of the filesystem (the system,
the Python installation, the ``course`` package) plus its scratch folder, and runs as uid 65534
(or, for a grader that is not root, as the mapped root of an unprivileged user namespace) with
no capabilities. ``auto`` builds a throwaway jail once per process to learn whether that works
here, and grades with ``none`` otherwise, saying why.

``Jail.command`` wraps a kernel's command line in ``unshare`` and the launcher at the end of
this file. The launcher is this very file run as a script (``python -I -S -c <its text>``),
as PID 1 of the new namespaces and before any student code: it builds the new root on a
tmpfs, pivots into it, drops privileges, starts the kernel as its child and reaps. After the pivot the graders'
files are gone, so the launcher may use the standard library only and never imports the
``autograder`` package.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import glob
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import NamedTuple

MODES = ("auto", "namespaces", "none")
KERNEL_UID = 65534  # nobody: the kernel's user when the grader runs as root
# What the jail shows besides the Python installation: system folders (read-only) and a few
# devices. GPUs need their device nodes; /proc/driver/nvidia comes with the jail's own /proc.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
GPU_DEVICES = ("nvidia*", "nvidia-caps", "dxg")  # NVIDIA (and WSL's GPU), globbed in /dev
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}
# The instructor's packages: never shown. In a source checkout the whole checkout is hidden
# except the packages a notebook imports (course: timing helpers and the lessons' data).
HIDDEN_PACKAGES = ("autograder", "solutions", "instructor")
SHOWN_PACKAGES = ("course",)
TMPFS_SIZE = "512m"  # /tmp and /dev/shm each: memory, so bounded (RLIMIT_DATA does not count it)
IPC_PATH_MAX = 100  # a Unix socket path has 108 bytes; jupyter appends "-<port>"


class Isolation(NamedTuple):
    mode: str  # "namespaces" | "none"
    reason: str

    def as_json(self) -> dict:
        return {"mode": self.mode, "reason": self.reason}


class IsolationUnavailable(RuntimeError):
    """``--isolation namespaces`` was asked for where no jail can be built."""


def resolve(requested: str) -> Isolation:
    """The mode a kernel runs under for ``requested`` (auto | namespaces | none).

    Raises ``IsolationUnavailable`` (one line, with the reason) for ``namespaces`` where the
    operating system does not allow it."""
    if requested not in MODES:
        raise ValueError(f"isolation must be one of {', '.join(MODES)}, not {requested!r}")
    if requested == "none":
        return Isolation("none", "--isolation none was asked for")
    prefix, reason = _jail_support()
    if prefix is not None:
        return Isolation("namespaces", reason)
    if requested == "namespaces":
        raise IsolationUnavailable(f"--isolation namespaces is not possible here: {reason}")
    return Isolation("none", reason)


@functools.cache
def _jail_support() -> tuple[tuple[str, ...] | None, str]:
    """``unshare``'s arguments and a description where a jail works here, else (None, why not).

    Probed once per process by building a real jail and running Python in it (0.1-0.2 s)."""
    if not sys.platform.startswith("linux"):
        return None, f"namespaces need Linux, this is {platform.system()}"
    unshare = shutil.which("unshare")
    if unshare is None:
        return None, "util-linux unshare is not on PATH"
    as_root = os.geteuid() == 0
    prefix = unshare_prefix(unshare, user_namespace=not as_root)
    failure, _ = probe(prefix)
    if failure is not None:
        if not as_root:
            return None, f"unprivileged user namespaces are not available here ({failure})"
        return None, f"namespaces cannot be set up here ({failure})"
    who = f"uid {KERNEL_UID}" if as_root else "an unprivileged user namespace"
    return prefix, f"own mount, PID and network namespaces, read-only whitelist of files, {who}"


def unshare_prefix(unshare: str, user_namespace: bool) -> tuple[str, ...]:
    """``unshare``'s arguments: new namespaces, the launcher as PID 1, all killed with it.

    ``user_namespace``: for a grader that is not root (the user namespace makes it root over
    the new namespaces, nowhere else)."""
    prefix = [unshare, "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child"]
    if user_namespace:
        prefix += ["--user", "--map-root-user"]
    return tuple(prefix)


def probe(prefix: tuple[str, ...], code: str = "import os; os.listdir('/')") -> tuple[str | None, str]:
    """Build a jail with ``prefix`` and run Python ``code`` in it: (None, its output) if that
    worked, else (why not, '')."""
    with tempfile.TemporaryDirectory(prefix="ag-probe-", dir=short_temp_dir()) as tmp:
        jail = Jail(Isolation("namespaces", "probe"), Path(tmp), prefix=prefix)
        run_dir = jail.new_run_dir()
        cmd = jail.command([sys.executable, "-S", "-c", code], run_dir)
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=60, cwd=jail.home, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc), ""
        if proc.returncode == 0:
            return None, proc.stdout
        launch = jail.launch_error(run_dir).splitlines()  # the launcher's summary comes first
        crash = proc.stderr.strip().splitlines()  # Python's comes last
        return (launch[0] if launch else crash[-1] if crash else f"exit status {proc.returncode}"), ""


def short_temp_dir() -> str | None:
    """A temporary folder short enough for the kernel's Unix socket paths (None: the default)."""
    default = tempfile.gettempdir()
    if len(default) <= 40 or not os.path.isdir("/tmp"):
        return None
    return "/tmp"


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _package_dirs(names) -> list[str]:
    dirs = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            dirs += [os.path.realpath(d) for d in (spec.submodule_search_locations or [])]
    return dirs


def _hidden_and_shown() -> tuple[list[str], list[str]]:
    """Folders the kernel must not see, and folders inside them it must see."""
    hidden = _package_dirs(HIDDEN_PACKAGES)
    shown = _package_dirs(SHOWN_PACKAGES)
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "autograder").is_dir():
        # A source checkout: tests, sources, .git and the rest of it are the instructor's too.
        hidden.append(str(checkout))
        venv = os.path.realpath(sys.prefix)
        if _inside(venv, str(checkout)):
            shown.append(venv)
    return hidden, shown


def _python_dirs() -> list[str]:
    """Where the kernel's Python, its packages and its libraries live (unresolved paths)."""
    dirs = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))]
    cwd = os.path.realpath(os.getcwd())
    # sys.path[0] is the grader's script folder or working folder: not the kernel's business.
    listed = [*sys.path[1:], *os.environ.get("PYTHONPATH", "").split(os.pathsep),
              *os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)]
    for entry in listed:
        if entry and os.path.isabs(entry) and os.path.realpath(entry) != cwd:
            dirs.append(entry)
    return dirs


class Jail:
    """The folders of one notebook's kernels and the command line that starts each one.

    ``base`` (mode 700, the grader's) holds ``home`` (the kernel's HOME, TMPDIR and working
    folder, writable by it), ``root`` (where the launcher mounts the new root, in its own mount
    namespace only) and one ``run<N>`` folder per kernel start (connection file, the kernel's
    ipc sockets, the graders' socket)."""

    def __init__(self, isolation: Isolation, base: Path, prefix: tuple[str, ...] | None = None,
                 cache_mount: tuple[str, bool] | None = None):
        self.isolation = isolation
        # (folder, writable): the compilation cache, read-only to a student's kernel.
        self.cache_mount = cache_mount
        self.jailed = isolation.mode == "namespaces"
        self.base = Path(os.path.realpath(base))
        self._prefix = prefix if prefix is not None else (_jail_support()[0] if self.jailed else None)
        # As root the kernel becomes nobody; in a user namespace it stays the (mapped) grader.
        in_user_namespace = self._prefix is not None and "--user" in self._prefix
        self.kernel_uid = KERNEL_UID if self.jailed and os.geteuid() == 0 and not in_user_namespace else None
        self.home = self.base / "home"
        self.home.mkdir(mode=0o700)
        self.grant(self.home)
        self._root = self.base / "root"
        self._starts = 0
        if cache_mount is not None and cache_mount[1]:
            self.grant(Path(cache_mount[0]))  # the warm-up's kernel (as nobody) writes the entries
        if len(str(self.base / "run00" / "k-00000")) > IPC_PATH_MAX:
            raise RuntimeError(f"the scratch folder {self.base} is too long a path for the kernel's sockets")

    def grant(self, path: Path) -> None:
        """Make a file or folder the grader just created the kernel's own."""
        if self.kernel_uid is not None:
            os.chown(path, self.kernel_uid, self.kernel_uid)

    def new_run_dir(self) -> Path:
        """A fresh folder for one kernel start: nothing a previous kernel left can be in it.

        Jailed as root it is root's and sticky, like /tmp: the kernel can create its sockets
        there but cannot rename or replace the grader's files (connection file, socket)."""
        self._starts += 1
        run_dir = self.base / f"run{self._starts}"
        run_dir.mkdir(mode=0o700)
        if self.kernel_uid is not None:
            os.chmod(run_dir, 0o1777)
        return run_dir

    def launch_error(self, run_dir: Path) -> str:
        """What the launcher reported when it could not build the jail ('' if nothing)."""
        try:
            return (run_dir / "launch-error.txt").read_text().strip()
        except OSError:
            return ""

    def command(self, kernel_argv: list[str], run_dir: Path) -> list[str]:
        """The command line that starts ``kernel_argv`` under this isolation."""
        if not self.jailed:
            return list(kernel_argv)
        if not self._root.exists():
            self._root.mkdir(mode=0o700)
        plan = {
            "root": str(self._root),
            "error_file": str(run_dir / "launch-error.txt"),
            "mounts": self._mounts(run_dir),
            "uid": self.kernel_uid,
            "cwd": str(self.home),
        }
        launcher = Path(__file__).read_text()
        return [*self._prefix, sys.executable, "-I", "-S", "-c", launcher, json.dumps(plan), "--", *kernel_argv]

    def _mounts(self, run_dir: Path) -> list[dict]:
        """What the new root holds, parents before children (the launcher runs it in order)."""
        hidden, shown = _hidden_and_shown()
        ops: list[dict] = []
        visible: list[str] = []  # folders whose whole tree the kernel sees (read-only)

        def bind(src: str, dst: str | None = None, *, rw: bool = False, device: bool = False) -> None:
            ops.append({"op": "bind", "src": src, "dst": dst or src, "rw": rw, "device": device})

        for d in SYSTEM_DIRS:
            if os.path.islink(d):
                ops.append({"op": "symlink", "dst": d, "target": os.readlink(d)})
            elif os.path.isdir(d):
                bind(d)
                visible.append(d)
        # The Python installation, its packages and libraries, but never a folder that holds
        # the instructor's files (the checkout, a home folder, /) and nothing inside the hidden
        # folders except what is shown.
        homes = {os.path.realpath(os.path.expanduser("~")), "/root", "/home"}
        # Nor a folder holding temporary files (other gradings' scratch folders, this jail's).
        temps = {str(self.base), os.path.realpath(tempfile.gettempdir()), "/tmp", "/var/tmp", "/dev/shm", "/run"}
        chosen: list[tuple[str, str]] = []  # (as named, real path)
        for entry in _python_dirs():
            real = os.path.realpath(entry)
            if not os.path.exists(real):
                continue
            if any(_inside(h, real) for h in [*hidden, *homes, *temps, *shown]):
                continue  # an ancestor of what must stay hidden (or of what is bound anyway)
            if any(_inside(real, h) for h in hidden) and not any(_inside(real, s) for s in shown):
                continue
            chosen.append((entry, real))
        for s in shown:
            chosen.append((s, s))
        tops: list[str] = []
        for real in sorted({r for _, r in chosen}, key=len):
            if not any(_inside(real, t) for t in [*visible, *tops]):
                tops.append(real)
        for real in tops:
            bind(real)
        # Hidden folders that lie inside something shown get an empty read-only tmpfs on top
        # (an installed, not editable, autograder in site-packages, say).
        for h in hidden:
            if any(_inside(h, v) and h != v for v in [*visible, *tops]):
                ops.append({"op": "tmpfs", "dst": h, "mode": "755", "size": "64k", "ro": True})
        # The same paths as the grader's (the kernel command names them): links for aliases.
        for named, real in chosen:
            named = os.path.abspath(named)
            if named != real and not any(_inside(named, v) for v in [*visible, *tops]):
                ops.append({"op": "symlink", "dst": named, "target": real})
        # Devices: a few, bound one by one (no host /dev), and a private /dev/shm. The driver
        # makes /dev/nvidia-uvm on the first CUDA use; the jail cannot, so do it now, as
        # libcuda would (nvidia-modprobe comes with the driver).
        if glob.glob("/dev/nvidia[0-9]*") and not os.path.exists("/dev/nvidia-uvm") and shutil.which("nvidia-modprobe"):
            subprocess.run(["nvidia-modprobe", "-u", "-c", "0"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
        ops.append({"op": "tmpfs", "dst": "/dev", "mode": "755", "size": "64k", "ro": True})
        for pattern in (*DEVICES, *GPU_DEVICES):
            for node in sorted(glob.glob(os.path.join("/dev", pattern))):
                bind(node, device=True)
        for name, target in DEV_LINKS.items():
            ops.append({"op": "symlink", "dst": f"/dev/{name}", "target": target})
        ops.append({"op": "tmpfs", "dst": "/dev/shm", "mode": "1777", "size": TMPFS_SIZE, "ro": False})
        ops.append({"op": "proc", "dst": "/proc"})
        if os.path.isdir("/sys"):
            bind("/sys")
        ops.append({"op": "tmpfs", "dst": "/tmp", "mode": "1777", "size": TMPFS_SIZE, "ro": False})
        bind(str(self.home), rw=True)
        bind(str(run_dir), rw=True)
        if self.cache_mount is not None:
            bind(os.path.realpath(self.cache_mount[0]), rw=self.cache_mount[1])
        # Parents before children; symlinks last (their folders must exist, nothing goes below).
        mounts = [op for op in ops if op["op"] != "symlink"]
        mounts.sort(key=lambda op: Path(op["dst"]).parts)
        return mounts + [op for op in ops if op["op"] == "symlink"]


# ---- the launcher: runs as PID 1 of the new namespaces, as root there, before the kernel

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, ST_RELATIME = 1024, 2048, 1 << 21, 4096  # statvfs: same bits but relatime
MNT_DETACH = 2
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC = 1, 2, 4, 8
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (Linux 5.12+)
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_CAPBSET_DROP = 1, 4, 22, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 38, 47
PR_CAP_AMBIENT_CLEAR_ALL, SECCOMP_MODE_FILTER = 4, 2
# The seccomp filter's view of each architecture: its audit number and the system calls that
# make or join namespaces. Nested user namespaces are where most of Linux's privilege
# escalations are reached from, and a notebook has no use for them.
SECCOMP_ARCH = {
    "x86_64": (0xC000003E, {"clone": 56, "unshare": 272, "setns": 308, "clone3": 435}),
    "aarch64": (0xC00000B7, {"clone": 220, "unshare": 97, "setns": 268, "clone3": 435}),
}
CLONE_NEW_ANY = 0x7E020080  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

_libc = None


def _sys(name: str, *args) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    result = getattr(_libc, name)(*args)
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}{args[:3]}: {os.strerror(err)}")
    return result


def _mount(src, dst, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    _sys("mount", enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data))


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _restrict(path: str, rdonly: bool, nodev: bool) -> None:
    """Read-only (and nosuid, nodev) for a bind mount and everything mounted below it."""
    attr = _MountAttr(attr_set=(MOUNT_ATTR_RDONLY if rdonly else 0) | MOUNT_ATTR_NOSUID
                      | (MOUNT_ATTR_NODEV if nodev else 0))
    try:
        _sys("syscall", ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), path.encode(),
             ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    except OSError:  # an older kernel: the top mount only, keeping the flags that are locked
        st = os.statvfs(path).f_flag
        locked = st & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
        locked |= MS_RELATIME if st & ST_RELATIME else 0
        flags = MS_REMOUNT | MS_BIND | MS_NOSUID | locked | (MS_RDONLY if rdonly else 0) | (MS_NODEV if nodev else 0)
        _mount(None, path, None, flags)


def _apply(root: str, op: dict) -> str | None:
    """One entry of the plan; returns a tmpfs to make read-only once everything is in place."""
    dst = root + op["dst"]
    kind = op["op"]
    if kind == "symlink":
        os.makedirs(os.path.dirname(dst), mode=0o755, exist_ok=True)
        if not os.path.lexists(dst):
            os.symlink(op["target"], dst)
        return None
    if kind == "bind" and not os.path.isdir(op["src"]):
        os.makedirs(os.path.dirname(dst), mode=0o755, exist_ok=True)
        if not os.path.exists(dst):
            open(dst, "a").close()  # a mount point for a file or a device node
    else:
        os.makedirs(dst, mode=0o755, exist_ok=True)
    if kind == "bind":
        _mount(op["src"], dst, None, MS_BIND | MS_REC)
        _restrict(dst, rdonly=not op["rw"], nodev=not op["device"])
    elif kind == "tmpfs":
        _mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={op['mode']},size={op['size']}")
        return dst if op["ro"] else None
    elif kind == "proc":
        _mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    return None


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


def _pivot(root: str) -> None:
    os.chdir(root)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    try:
        if number is None:
            raise OSError("pivot_root: unknown system call number")
        _sys("syscall", ctypes.c_long(number), b".", b".")
        _sys("umount2", b".", ctypes.c_int(MNT_DETACH))  # the old root, stacked on ".": gone
    except OSError:
        pass  # chroot alone still confines a process without CAP_SYS_CHROOT
    os.chroot(".")
    os.chdir("/")


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def _no_namespaces_filter() -> None:
    """A seccomp filter: clone/unshare with a CLONE_NEW* flag and setns fail with EPERM, clone3
    with ENOSYS (its flags are out of the filter's sight; the C library falls back to clone),
    system calls of another architecture kill the process. All else is allowed."""
    arch = SECCOMP_ARCH.get(platform.machine())
    if arch is None:
        return  # an architecture we have no numbers for: the namespaces above still hold
    audit_arch, nr = arch
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | 1, 0x00050000 | 38
    # (code, k, label if true, label if false); labels name instructions further down.
    program = [
        ("arch", ld, 4, None, None), (None, jeq, audit_arch, "nr", "kill"),
        ("nr", ld, 0, None, None), (None, jge, 0x40000000, "eperm", None),  # x32 system calls
        (None, jeq, nr["clone3"], "enosys", None), (None, jeq, nr["setns"], "eperm", None),
        (None, jeq, nr["clone"], "flags", None), (None, jeq, nr["unshare"], "flags", "allow"),
        ("flags", ld, 16, None, None), (None, jset, CLONE_NEW_ANY, "eperm", "allow"),
        ("allow", ret, allow, None, None), ("eperm", ret, eperm, None, None),
        ("enosys", ret, enosys, None, None), ("kill", ret, kill, None, None),
    ]
    where = {label: i for i, (label, *_rest) in enumerate(program) if label}
    jump = lambda i, label: 0 if label is None else where[label] - i - 1  # noqa: E731
    filters = (_SockFilter * len(program))(*[_SockFilter(code, jump(i, t), jump(i, f), k & 0xFFFFFFFF)
                                            for i, (_label, code, k, t, f) in enumerate(program)])
    prog = _SockFprog(len(program), filters)
    _sys("prctl", PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0)


def _drop_privileges(uid: int | None) -> None:
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last_cap = int(fh.read())
    for cap in range(last_cap + 1):
        _sys("prctl", PR_CAPBSET_DROP, cap, 0, 0, 0)  # no exec can bring a capability back
    _sys("prctl", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _sys("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _no_namespaces_filter()
    # Changing user clears the parent-death signal unshare --kill-child set: set it again.
    _sys("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def launch(plan: dict, argv: list[str]) -> None:
    """Build the jail described by ``plan``, start ``argv`` in it and wait for it (never returns).

    This process stays PID 1 of the jail, without privileges, and only reaps: the kernel is its
    child, so the kernel cannot leave the jail's lifetime (``setsid``, clearing its parent-death
    signal); when PID 1 ends, Linux ends every process of the namespace."""
    errors = open(plan["error_file"], "w")  # the host's file; still ours after the pivot
    try:
        root = plan["root"]
        _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks to the host
        _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m")
        read_only = [root]
        for op in plan["mounts"]:
            made = _apply(root, op)
            if made:
                read_only.append(made)
        _loopback_up()
        for path in reversed(read_only):
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        _pivot(root)
        _drop_privileges(plan["uid"])
        os.chdir(plan["cwd"])
        env = {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"}  # the grader's pid
        kernel = os.fork()
        if kernel == 0:
            fd = errors.fileno()
            os.closerange(3, fd)
            os.closerange(fd + 1, 1 << 16)
            os.execve(argv[0], argv, env)  # errors is close-on-exec
    except BaseException as exc:
        errors.write(f"the kernel's jail could not be built: {type(exc).__name__}: {exc}\n")
        errors.write("".join(traceback.format_exception(exc)))
        errors.flush()
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        os._exit(127)
    errors.close()
    # PID 1 gets only the signals it has handlers for; Python's SIGINT handler would let the
    # runner's interrupts (sent to the whole process group) stop it, so those are ignored too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _sys("prctl", PR_SET_DUMPABLE, 0, 0, 0, 0)  # the kernel may not trace or read this process
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(127)
        if pid == kernel:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":  # the launcher: python -I -S -c <this file> PLAN -- KERNEL ARGV...
    _plan, _sep, *_argv = sys.argv[1:]
    launch(json.loads(_plan), _argv)
