"""Lesson 13 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 13.1      # one exercise
    textclf check 13        # every exercise of lesson 13

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

# ----- worked example: the teacher's soft labels --------------------------------------


def soft_labels(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax(logits / T)`` over the last dimension: ``[batch, n_classes]`` -> rows of probabilities."""
    return torch.softmax(logits / temperature, dim=-1)


# ----- Exercise 13.1: the distillation loss's gradient by hand ------------------------


def distillation_gradient(student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor, alpha: float,
                          temperature: float) -> torch.Tensor:
    """The gradient of lesson 13's loss with respect to the student's logits, without autograd (Exercise 13.1).
    The loss is ``alpha * T^2 * KL(p_t || p_s) + (1 - alpha) * CE``, with ``p_t = softmax(teacher / T)``,
    ``p_s = softmax(student / T)``, the KL summed over the classes and averaged over the batch, and CE the mean
    cross-entropy of ``student`` (at T = 1) with the gold ``labels``. ``student``, ``teacher``:
    ``[batch, n_classes]`` logits; ``labels``: ``[batch]``. Returns ``[batch, n_classes]``, what
    ``torch.autograd.grad(loss, student)`` would give — derived, not computed with autograd."""
    raise NotImplementedError("Exercise 13.1")


# ----- Exercise 13.2: temperature's effect on the soft labels ------------------------


def temperature_for(logits: torch.Tensor, top: float, low: float = 0.01, high: float = 100.0) -> float:
    """The temperature at which the largest of ``softmax(logits / T)`` is ``top`` (Exercise 13.2), for one row
    of ``logits`` ``[n_classes]`` and ``1/n_classes < top < 1``. The top probability only falls as T grows, so
    halve the interval [low, high] (on a log scale) until it is narrower than 1e-6 relative; return its middle."""
    raise NotImplementedError("Exercise 13.2")


# ----- Exercise 13.3: a speed-up measured fairly ------------------------------------


def speedup(fast: Callable[[], object], slow: Callable[[], object], rounds: int = 5,
            clock: Callable[[], float] = time.perf_counter) -> float:
    """How many times faster ``fast`` is than ``slow`` (Exercise 13.3), timed fairly: call each once untimed
    (warm-up), then ``rounds`` rounds in which ``fast`` then ``slow`` run once each, timed with ``clock``;
    return the median of ``slow``'s times divided by the median of ``fast``'s."""
    raise NotImplementedError("Exercise 13.3")
