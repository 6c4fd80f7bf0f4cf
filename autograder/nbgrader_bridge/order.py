"""An nbgrader preprocessor that runs the hidden test cells after every student cell.

nbgrader runs each test cell where it stands; the command line grades what the notebook leaves
defined at its end. With the grade cells moved to the end before execution, a student cell
that later redefines a graded function wrongly costs the same points in both
(tests/test_nbgrader_roundtrip.py). The price: feedback shows the hidden checks at the end.
"""

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool


class GradeCellsLast(Preprocessor):
    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        def is_test(cell):
            meta = cell.metadata.get("nbgrader", {})
            return meta.get("grade") and not meta.get("solution")

        nb.cells = [c for c in nb.cells if not is_test(c)] + [c for c in nb.cells if is_test(c)]
        return nb, resources
