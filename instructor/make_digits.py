"""Build ``digits.npz`` from the copy of the UCI digits that ships inside a scikit-learn wheel.

Run once by a maintainer, never at test or grading time:

    pip download --no-deps scikit-learn==1.9.1 -d /tmp/skl
    python instructor/make_digits.py /tmp/skl/scikit_learn-1.9.1-*.whl

Only the wheel's ``sklearn/datasets/data/digits.csv.gz`` is read (as a zip member); scikit-learn
is never installed or imported. See README.md beside this file for the split it writes.
"""

import argparse
import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

CSV_MEMBER = "sklearn/datasets/data/digits.csv.gz"
# sha256 of the csv.gz in scikit-learn 1.9.1; another version's file must be checked by hand.
EXPECTED_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
SEED = 0
TEST_FRACTION = 0.2
OUT_PATH = Path(__file__).with_name("digits.npz")


def read_csv_from_wheel(wheel_path):
    """Return (pixels uint8 (1797, 64), labels uint8 (1797,)) in the file's row order."""
    with zipfile.ZipFile(wheel_path) as wheel:
        raw = wheel.read(CSV_MEMBER)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != EXPECTED_SHA256:
        print(f"warning: {CSV_MEMBER} has sha256 {digest}, not the documented one", file=sys.stderr)
    table = np.loadtxt(io.TextIOWrapper(gzip.GzipFile(fileobj=io.BytesIO(raw))), delimiter=",")
    pixels, labels = table[:, :64], table[:, 64]
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def stratified_split(labels, seed=SEED, test_fraction=TEST_FRACTION):
    """Row indices (train, test): per class, in increasing class order, a permutation of that
    class's rows; its first round(test_fraction * count) rows go to test. Both sets are then
    shuffled. One Generator drives every draw, so the split is a function of labels and seed."""
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for cls in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        n_test = round(test_fraction * rows.size)
        test_parts.append(rows[:n_test])
        train_parts.append(rows[n_test:])
    train = rng.permutation(np.concatenate(train_parts))
    test = rng.permutation(np.concatenate(test_parts))
    return train, test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="a downloaded scikit-learn wheel")
    parser.add_argument("--out", type=Path, default=OUT_PATH)
    args = parser.parse_args(argv)

    pixels, labels = read_csv_from_wheel(args.wheel)
    train, test = stratified_split(labels)
    np.savez_compressed(
        args.out,
        x_train=pixels[train], y_train=labels[train],
        x_test=pixels[test], y_test=labels[test],
        # Row numbers in digits.csv.gz, so anyone can re-derive and audit the split.
        train_index=train.astype(np.uint16), test_index=test.astype(np.uint16),
    )
    print(f"wrote {args.out}: {train.size} train, {test.size} test")


if __name__ == "__main__":
    main()
