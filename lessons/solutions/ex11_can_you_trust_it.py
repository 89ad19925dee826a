"""Lesson 11 exercises — reference solutions.
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
    n = len(confidence)
    if n == 0:
        return 0.0
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        in_bin = (confidence > low) & (confidence <= high)
        if b == 0:
            in_bin |= confidence == 0
        count = int(in_bin.sum())
        if count:
            gap = abs(float(confidence[in_bin].mean()) - float(correct[in_bin].float().mean()))
            total += count / n * gap
    return total


# ----- Exercise 11.2: fit a temperature ---------------------------------------------


def best_temperature(logits: torch.Tensor, targets: torch.Tensor, grid: list[float]) -> float:
    """The temperature in ``grid`` whose ``softmax(logits / T)`` gives the lowest mean negative
    log-likelihood of ``targets`` (Exercise 11.2). Ties: the first in ``grid``."""
    best, best_loss = grid[0], float("inf")
    for temperature in grid:
        loss = float(F.cross_entropy(logits / temperature, targets))
        if loss < best_loss:
            best, best_loss = temperature, loss
    return best


# ----- Exercise 11.3: accuracy by text length ----------------------------------------


def accuracy_by_length(lengths: list[int], correct: list[bool], edges: list[int]) -> list[tuple[str, int, float]]:
    """Accuracy per length bucket (Exercise 11.3).

    ``edges`` are increasing bucket starts, e.g. ``[0, 10, 20]`` gives the buckets ``"0-9"``, ``"10-19"``
    and ``"20+"``: a text of length ``L`` is in the last bucket whose start is ``<= L``. Return
    ``(name, count, accuracy)`` for every bucket in order, accuracy 0.0 for an empty bucket.
    """
    rows = []
    for i, start in enumerate(edges):
        end = edges[i + 1] if i + 1 < len(edges) else None
        name = f"{start}-{end - 1}" if end is not None else f"{start}+"
        picked = [c for length, c in zip(lengths, correct) if length >= start and (end is None or length < end)]
        rows.append((name, len(picked), sum(picked) / len(picked) if picked else 0.0))
    return rows
