"""Lesson 6 exercises — reference solutions.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from textclf.finetune import encoder_stages

# ----- worked example: attention scores ---------------------------------------------


def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``q kᵀ / √d`` for ``q, k`` ``[batch, heads, seq_len, head_dim]`` -> ``[batch, heads, queries, keys]``."""
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])


# ----- Exercise 6.1: the attention mask --------------------------------------------


def masked_attention_weights(scores: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the keys that are real tokens (Exercise 6.1).

    ``scores`` ``[batch, heads, queries, keys]``; ``key_mask`` ``[batch, keys]``, True at real tokens.
    Padding keys must get weight exactly 0 and every row must sum to 1. Hint: set their scores to
    ``-inf`` before the softmax; ``key_mask[:, None, None, :]`` lines the mask up with ``scores``.
    """
    return scores.masked_fill(~key_mask[:, None, None, :], float("-inf")).softmax(dim=-1)


# ----- Exercise 6.2: sinusoidal positional encoding ----------------------------------


def sinusoidal_positions(n_positions: int, dim: int) -> torch.Tensor:
    """The table of Vaswani et al., ``[n_positions, dim]`` for an even ``dim`` (Exercise 6.2).

    Column ``2i`` holds ``sin(pos / 10000 ** (2i / dim))``, column ``2i + 1`` the ``cos`` of the same angle.
    """
    position = torch.arange(n_positions, dtype=torch.float32)[:, None]  # [n_positions, 1]
    rates = 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # [dim / 2]
    table = torch.zeros(n_positions, dim)
    table[:, 0::2] = torch.sin(position * rates)
    table[:, 1::2] = torch.cos(position * rates)
    return table


# ----- Exercise 6.3: freezing by mode ---------------------------------------------


def freeze_by_mode(model: nn.Module, mode: str, k: int = 1) -> int:
    """Set ``requires_grad`` for fine-tuning and return the number of trainable parameters (Exercise 6.3).

    ``mode`` is ``"head"`` (only ``model.out`` learns), ``"last-k"`` (``model.out`` and the last ``k``
    groups of ``encoder_stages(model)``) or ``"full"`` (everything). Raise ``ValueError`` for any other mode.
    """
    stages = encoder_stages(model)  # lists of parameters, from input to output
    if mode not in ("head", "last-k", "full"):
        raise ValueError(f"unknown mode {mode!r}")
    learning = {"head": [], "last-k": stages[-k:], "full": stages}[mode]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in [*model.out.parameters(), *(p for stage in learning for p in stage)]:
        p.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
