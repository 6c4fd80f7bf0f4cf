"""nbgrader configuration for the course root (this folder): `nbgrader <command> workshop3`.

Decisions, documented in the README ("For instructors"):
- Gradebook: SQLite in ./gradebook.db unless WORKSHOP3_GRADEBOOK_URL gives another database URL
  (e.g. postgresql://user@host/workshop3) for a shared, multi-grader setup.
- Timeouts: one cell may run 300 s (train_mlp's hidden check trains a network on a CPU).
- stderr: nbgrader gives zero to a test cell that writes anything to stderr. JAX and XLA log
  warnings there (no GPU found, TfrtCpuClient, ptxas...), which must not cost a student points,
  so IgnorePattern drops stderr outputs that are only such warnings before grading.
- Order: the hidden test cells run after every student cell (autograder/nbgrader_bridge/order.py), so
  nbgrader grades what the notebook leaves defined, as the command line does.
- Files: data-like files a submission brings along (a forged gradebook.db or feedback.html) are
  not copied into autograded/ and feedback/; the assignment ships none.
- GPU speed cells on a CPU machine: the hidden speed checks fail with "speed not measured" and
  give zero; grade on a GPU machine to award them (README, "Grading on a GPU").
"""

import os

from nbgrader.converters import Autograde

from autograder.nbgrader_bridge.order import GradeCellsLast

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "scripts-to-software-workshop3"
c.CourseDirectory.db_url = os.environ.get(
    "WORKSHOP3_GRADEBOOK_URL", "sqlite:///" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "gradebook.db"))
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

c.Autograde.autograde_preprocessors = [
    GradeCellsLast, *Autograde.class_traits()["autograde_preprocessors"].default()]
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "*.db", "*.html", "*.csv", "*.json"]

c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True

# Lines JAX, XLA and absl write to stderr on their own; a stderr output made only of such lines
# is dropped (re.search over the output's text: every line must match for the whole output).
JAX_STDERR_PATTERN = (
    r"\A(?:(?:[WIE]\d{4} .*|WARNING:(?:absl|jax|root):.*|.*(?:jax|xla|XLA|CUDA|cuda|ptxas|Tfrt).*"
    r"(?:warn|Warn|WARN|fall|Fall|not installed|Unable|unable).*)?\n?)*\Z"
)
c.IgnorePattern.pattern = JAX_STDERR_PATTERN
c.IgnorePattern.enabled = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
