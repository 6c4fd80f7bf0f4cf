"""The shipped digits: shapes, dtypes, ranges, and the documented stratified split, re-derived
here from the labels and the seed as course/data/README.md describes it."""

from importlib import resources

import numpy as np
import pytest

from course.digits import Digits, load_digits

N_SOURCE_ROWS = 1797
TEST_FRACTION = 0.2


@pytest.fixture(scope="module")
def raw():
    with resources.files("course").joinpath("data", "digits.npz").open("rb") as f:
        with np.load(f) as arrays:
            return {name: arrays[name] for name in arrays.files}


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_loaded_shapes_dtypes_and_ranges(digits):
    assert isinstance(digits, Digits)
    n_train, n_test = digits.x_train.shape[0], digits.x_test.shape[0]
    assert n_train + n_test == N_SOURCE_ROWS
    assert digits.x_train.shape == (n_train, 64) and digits.x_test.shape == (n_test, 64)
    assert digits.y_train.shape == (n_train,) and digits.y_test.shape == (n_test,)
    for x in (digits.x_train, digits.x_test):
        assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
    for y in (digits.y_train, digits.y_test):
        assert y.dtype == np.int32
        assert set(np.unique(y)) == set(range(10))


def test_loading_is_the_stored_counts_over_16(raw, digits):
    for split in ("train", "test"):
        stored = raw[f"x_{split}"]
        assert stored.dtype == np.uint8 and stored.max() <= 16
        np.testing.assert_array_equal(getattr(digits, f"x_{split}"), stored / np.float32(16))
        np.testing.assert_array_equal(getattr(digits, f"y_{split}"), raw[f"y_{split}"])
    again = load_digits()
    for a, b in zip(digits, again):
        np.testing.assert_array_equal(a, b)


def test_split_is_disjoint_and_covers_every_source_row(raw, digits):
    train, test = raw["train_index"].astype(np.int64), raw["test_index"].astype(np.int64)
    assert len(set(train)) == train.size and len(set(test)) == test.size
    assert not set(train) & set(test)
    assert set(train) | set(test) == set(range(N_SOURCE_ROWS))
    # No image is in both sets (the source's 1,797 images are all distinct).
    train_images = {row.tobytes() for row in raw["x_train"]}
    assert not any(row.tobytes() in train_images for row in raw["x_test"])


def test_split_is_the_documented_seeded_stratified_one(raw):
    labels = np.empty(N_SOURCE_ROWS, dtype=np.int64)
    labels[raw["train_index"]] = raw["y_train"]
    labels[raw["test_index"]] = raw["y_test"]
    rng = np.random.default_rng(0)
    train_parts, test_parts = [], []
    for cls in range(10):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        n_test = round(TEST_FRACTION * rows.size)
        test_parts.append(rows[:n_test])
        train_parts.append(rows[n_test:])
    np.testing.assert_array_equal(raw["train_index"], rng.permutation(np.concatenate(train_parts)))
    np.testing.assert_array_equal(raw["test_index"], rng.permutation(np.concatenate(test_parts)))


def test_classes_are_balanced_across_the_split(digits):
    train_counts = np.bincount(digits.y_train, minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    totals = train_counts + test_counts
    assert np.all(np.abs(test_counts - TEST_FRACTION * totals) <= 0.5)
    # Shuffled, not sorted by class: every tenth of the training set holds several classes.
    for chunk in np.array_split(digits.y_train, 10):
        assert len(np.unique(chunk)) >= 5
