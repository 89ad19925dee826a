"""Lesson 11 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 11.1      # one exercise
    textclf check 11        # every exercise of lesson 11

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# ----- worked example: confidence and correctness of each prediction ---------------


def confidence_and_correct(probabilities: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-class probability of each prediction ``[n]`` and whether it was right ``[n]`` (bool)."""
    confidence, predicted = probabilities.max(dim=1)
    return confidence, predicted == targets


# ----- Exercise 11.1: expected calibration error by hand ---------------------------


def ece(confidence: torch.Tensor, correct: torch.Tensor, bins: int = 10) -> float:
    """Expected calibration error (Exercise 11.1).

    Split [0, 1] into ``bins`` equal-width bins; bin ``b`` holds the confidences in
    ``(b / bins, (b + 1) / bins]`` (a confidence of exactly 0 goes into the first bin). For each
    non-empty bin take ``|mean confidence - share correct|`` and weight it by the bin's share of all
    predictions; return the sum (0.0 when there are no predictions).
    """
    raise NotImplementedError("Exercise 11.1")


# ----- Exercise 11.2: fit a temperature ---------------------------------------------


def best_temperature(logits: torch.Tensor, targets: torch.Tensor, grid: list[float]) -> float:
    """The temperature in ``grid`` whose ``softmax(logits / T)`` gives the lowest mean negative
    log-likelihood of ``targets`` (Exercise 11.2). Ties: the first in ``grid``."""
    raise NotImplementedError("Exercise 11.2")


# ----- Exercise 11.3: accuracy by text length ----------------------------------------


def accuracy_by_length(lengths: list[int], correct: list[bool], edges: list[int]) -> list[tuple[str, int, float]]:
    """Accuracy per length bucket (Exercise 11.3).

    ``edges`` are increasing bucket starts, e.g. ``[0, 10, 20]`` gives the buckets ``"0-9"``, ``"10-19"``
    and ``"20+"``: a text of length ``L`` is in the last bucket whose start is ``<= L``. Return
    ``(name, count, accuracy)`` for every bucket in order, accuracy 0.0 for an empty bucket.
    """
    raise NotImplementedError("Exercise 11.3")
