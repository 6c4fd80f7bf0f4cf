"""Splitting a class between jobs: ``--shard I/N`` grades the I-th of N equal slices.

The notebooks are sorted by path first, so every job of an Actions matrix or a Slurm array
(``--shard $SLURM_ARRAY_TASK_ID/$N``, with ``#SBATCH --array=1-N``) sees the same split
whatever order the shell expanded the arguments in; the slices are contiguous and differ in
size by at most one notebook.
"""

from __future__ import annotations

import argparse


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4); argparse reports anything else as a usage error (exit 2)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N, e.g. 2/4") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"{text!r}: I must be between 1 and N")
    return index, count


def shard_of(items: list, index: int, count: int) -> list:
    """The ``index``-th (from 1) of ``count`` contiguous, near-equal slices of the sorted items."""
    ordered = sorted(items, key=lambda item: str(item[0] if isinstance(item, tuple) else item))
    size, extra = divmod(len(ordered), count)
    start = (index - 1) * size + min(index - 1, extra)
    return ordered[start:start + size + (1 if index <= extra else 0)]
