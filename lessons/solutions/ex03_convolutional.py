"""Lesson 3 exercises — reference solutions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# ----- worked example: sliding windows ----------------------------------------------


def windows(x: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """All length-``kernel_size`` windows of ``x`` ``[batch, dim, seq_len]``.

    Returns ``[batch, n_windows, dim * kernel_size]`` with ``n_windows = seq_len - kernel_size + 1``;
    window ``t`` holds positions ``t .. t + kernel_size - 1``, flattened dim-major (as Conv1d's weight is).
    """
    unfolded = x.unfold(2, kernel_size, 1)  # [batch, dim, n_windows, kernel_size]
    return unfolded.permute(0, 2, 1, 3).flatten(2)  # [batch, n_windows, dim * kernel_size]


# ----- Exercise 3.1: a 1-d convolution by hand ---------------------------------------


def conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """What ``nn.Conv1d`` computes, as windows times a matrix (Exercise 3.1).

    ``x`` ``[batch, dim, seq_len]``, ``weight`` ``[filters, dim, kernel_size]``, ``bias`` ``[filters]``.
    Returns ``[batch, filters, seq_len - kernel_size + 1]``. Use ``windows``.
    """
    filters, _, kernel_size = weight.shape
    scores = windows(x, kernel_size) @ weight.reshape(filters, -1).T + bias  # [batch, n_windows, filters]
    return scores.transpose(1, 2)


# ----- Exercise 3.2: max-over-time pooling that ignores padding ------------------------


def max_over_time(features: torch.Tensor, lengths: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Each filter's largest value over the windows that lie inside the text (Exercise 3.2).

    ``features`` ``[batch, filters, n_windows]`` came from a width-``kernel_size`` convolution
    over a padded batch; text ``i`` has ``lengths[i]`` real tokens, so its windows
    ``0 .. lengths[i] - kernel_size`` are real — but always at least window 0, even for a
    text shorter than the kernel. Returns ``[batch, filters]``.
    """
    n_windows = features.shape[2]
    valid = torch.arange(n_windows)[None, :] < (lengths - kernel_size + 1).clamp(min=1)[:, None]
    return features.masked_fill(~valid[:, None, :], float("-inf")).max(dim=2).values


# ----- Exercise 3.3: texts shorter than the widest kernel -----------------------------


def pad_to_min_length(embedded: torch.Tensor, min_length: int) -> torch.Tensor:
    """Append zero vectors so that ``seq_len >= min_length`` (Exercise 3.3).

    ``embedded`` is ``[batch, seq_len, dim]``; return it unchanged when it is already long enough.
    """
    missing = min_length - embedded.shape[1]
    return F.pad(embedded, (0, 0, 0, missing)) if missing > 0 else embedded
