"""Kernel entry point for a notebook under grading: ``python -c <this file's text> -f CONN``.

Sets the limits the student's code runs under, hides the graders' own packages from it, then
hands over to the ordinary IPython kernel. Limits are inherited by anything the notebook starts.

Run as source text, not as ``-m autograder.sandbox.kernel``: in the namespace jail
(sandbox/isolation.py) the autograder package is not there to import, and without the jail
nothing of the graders gets imported into the student's process. Standard library only.
"""

import importlib.abc
import os
import resource
import sys

# What a notebook under grading may not import: the oracles, reference answers and golden
# baselines (solutions) and the graders (autograder). The lessons' own package, course, stays
# importable. In the namespace jail these folders are not even there (sandbox/isolation.py);
# the blocker stays as a second line of defence and for --isolation none.
HIDDEN_MODULES = ("solutions", "autograder")


def is_hidden(fullname: str) -> bool:
    return any(fullname == m or fullname.startswith(m + ".") for m in HIDDEN_MODULES)


class HiddenPackageBlocker(importlib.abc.MetaPathFinder):
    """Refuses imports of the graders' packages, ahead of every other finder."""

    def find_spec(self, fullname, path=None, target=None):
        if is_hidden(fullname):
            raise ImportError(f"{fullname} is not available to a notebook under grading")
        return None


def apply_limits(memory_bytes: int, file_bytes: int) -> None:
    # RLIMIT_DATA caps heap and anonymous mappings: a memory bomb gets MemoryError, not the OOM
    # killer. (RLIMIT_AS would also count XLA's large virtual reservations and break JAX.)
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> None:
    apply_limits(int(os.environ["AUTOGRADER_MEMORY_BYTES"]), int(os.environ["AUTOGRADER_FILE_BYTES"]))
    for name in list(sys.modules):
        if is_hidden(name):
            del sys.modules[name]
    sys.meta_path.insert(0, HiddenPackageBlocker())
    from ipykernel import kernelapp
    from ipykernel.zmqshell import ZMQInteractiveShell

    # IPython's exit()/quit() stop the kernel's event loop a moment later, killing whichever
    # innocent cell runs then; while grading they do nothing.
    ZMQInteractiveShell.ask_exit = lambda self: None

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
