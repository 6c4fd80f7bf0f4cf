"""nbgrader's way in: the hidden cells' ``check`` and the preprocessor that runs them last."""

from .hidden_cells import check

__all__ = ["check"]
