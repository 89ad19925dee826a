"""Fixed, stratified, seeded train/valid/test splits.

Every class is shuffled with its own slice of one seeded generator and cut in
the same proportions, so each split keeps the class balance of the whole set.
The bundled datasets ship the split of every example (made by this function
in ``data/build_data.py``), so all lessons and benchmarks share one test set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPLITS = ("train", "valid", "test")


def stratified_split(
    labels: Sequence[str],
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> list[str]:
    """Return the split name (``train``/``valid``/``test``) of each example.

    >>> stratified_split(["a"] * 10 + ["b"] * 10, seed=0).count("test")
    2
    """
    if not (0 <= valid_fraction < 1 and 0 <= test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError(
            f"valid_fraction={valid_fraction} and test_fraction={test_fraction} must be in [0, 1) "
            "and leave some examples for training"
        )
    rng = np.random.default_rng(seed)
    assignment = [""] * len(labels)
    for label in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == label]
        order = rng.permutation(len(members))
        n_test = round(len(members) * test_fraction)
        n_valid = round(len(members) * valid_fraction)
        for rank, j in enumerate(order):
            split = "test" if rank < n_test else "valid" if rank < n_test + n_valid else "train"
            assignment[members[j]] = split
    return assignment
