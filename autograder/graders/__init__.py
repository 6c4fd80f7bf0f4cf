"""The hidden graders: one pytest module per notebook, run against a sandboxed submission."""
