"""The 8x8 handwritten digits shipped in ``course/data/digits.npz`` (see its README.md)."""

from importlib import resources
from typing import NamedTuple

import numpy as np

PIXEL_MAX = 16  # the UCI images count "on" pixels in 4x4 blocks: 0..16


class Digits(NamedTuple):
    x_train: np.ndarray  # (1438, 64) float32 in [0, 1]
    y_train: np.ndarray  # (1438,) int32 in 0..9
    x_test: np.ndarray  # (359, 64) float32 in [0, 1]
    y_test: np.ndarray  # (359,) int32 in 0..9


def load_digits() -> Digits:
    """Fixed train/test split, pixels scaled to [0, 1] as float32, labels int32."""
    with resources.files("course").joinpath("data", "digits.npz").open("rb") as f:
        with np.load(f) as arrays:
            return Digits(
                x_train=(arrays["x_train"] / np.float32(PIXEL_MAX)).astype(np.float32),
                y_train=arrays["y_train"].astype(np.int32),
                x_test=(arrays["x_test"] / np.float32(PIXEL_MAX)).astype(np.float32),
                y_test=arrays["y_test"].astype(np.int32),
            )
