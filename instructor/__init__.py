"""The instructor's tools: ``python -m instructor.<tool>`` (each module's docstring says how)."""
