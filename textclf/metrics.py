"""Accuracy, F1 and the confusion matrix, computed over a whole split.

Averaging per-batch accuracies is wrong when batches differ in size (the last
one usually does) and per-batch F1 is not even an average of anything, so
these functions take all predictions of a split at once.
F1 is the positive class's (label 1) for two classes, the macro average (every
class weighted equally) for more.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from textclf.printable import printable


def confusion_matrix(targets: Sequence[int] | torch.Tensor, predictions: Sequence[int] | torch.Tensor,
                     n_classes: int) -> torch.Tensor:
    """``[n_classes, n_classes]`` counts: row = true class, column = predicted class."""
    targets, predictions = torch.as_tensor(targets).long(), torch.as_tensor(predictions).long()
    flat = targets * n_classes + predictions  # [n] one cell index per example
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def accuracy(targets, predictions) -> float:
    targets, predictions = torch.as_tensor(targets), torch.as_tensor(predictions)
    return (targets == predictions).double().mean().item() if len(targets) else 0.0


def per_class_f1(matrix: torch.Tensor) -> torch.Tensor:
    """F1 of each class from a confusion matrix; 0 where a class is never true nor predicted."""
    true_pos = matrix.diag().double()
    predicted, actual = matrix.sum(dim=0).double(), matrix.sum(dim=1).double()
    denominator = predicted + actual
    return torch.where(denominator > 0, 2 * true_pos / denominator.clamp(min=1), torch.zeros_like(true_pos))


def f1_score(targets, predictions, n_classes: int) -> float:
    """Binary: F1 of class 1. Multi-class: macro F1."""
    scores = per_class_f1(confusion_matrix(targets, predictions, n_classes))
    return scores[1].item() if n_classes == 2 else scores.mean().item()


def f1_name(labels: Sequence[str]) -> str:
    """What ``f1_score`` measures for these labels, in words: the F1 of the second label for two classes
    (the "positive" one), the macro F1 (the mean over classes) for more."""
    return f"F1 of {labels[1]!r}" if len(labels) == 2 else "macro F1"


def classification_metrics(targets, predictions, n_classes: int) -> dict[str, float]:
    return {"accuracy": accuracy(targets, predictions), "f1": f1_score(targets, predictions, n_classes)}


def format_confusion(matrix: torch.Tensor, labels: Sequence[str]) -> str:
    labels = [printable(y) for y in labels]  # labels come from data: no control characters on the terminal
    width = max(6, *(len(y) for y in labels))
    lines = [" " * (width + 1) + " ".join(f"{y[:width]:>{width}}" for y in labels) + "   <- predicted"]
    for y, row in zip(labels, matrix.tolist()):
        lines.append(f"{y[:width]:>{width}} " + " ".join(f"{n:>{width}}" for n in row))
    return "\n".join(lines)
