"""Slow and hostile submissions, as data: tests/test_corpus.py grades them on CPU and
benchmarks/calibrate_speed.py times the speed-relevant ones on a GPU."""
