"""``python -m autograder``: the command line, its input checks and its reports."""
