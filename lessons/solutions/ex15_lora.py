"""Lesson 15 exercises — reference solutions.
"""

from __future__ import annotations

import torch
from torch import nn

# ----- worked example: a Linear layer by hand -------------------------------------------


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``nn.Linear``'s output: ``x`` ``[..., in]``, ``weight`` ``[out, in]``, ``bias`` ``[out]`` -> ``[..., out]``."""
    return x @ weight.T + bias


# ----- Exercise 15.1: the LoRA forward ---------------------------------------------------


def lora_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                 alpha: float) -> torch.Tensor:
    """A frozen Linear layer plus its low-rank adapter (Exercise 15.1): ``W x + b + (alpha / r) · B A x``,
    where ``A`` is ``[r, in]``, ``B`` is ``[out, r]`` and the rank ``r`` is ``A``'s number of rows. ``x`` is
    ``[..., in]``; returns ``[..., out]``. Never form ``B A`` (``[out, in]``, as big as ``W``): go through the
    ``r`` numbers in the middle."""
    rank = A.shape[0]
    return linear(x, weight, bias) + (alpha / rank) * ((x @ A.T) @ B.T)  # [..., in] -> [..., r] -> [..., out]


# ----- Exercise 15.2: merging the adapter into the weight ----------------------------------


def merge(weight: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    """The weight of an ordinary Linear layer that computes what ``lora_forward`` computes (Exercise 15.2):
    ``W + (alpha / r) · B A``, ``[out, in]``. Do not change ``weight`` in place."""
    return weight + (alpha / A.shape[0]) * (B @ A)


# ----- Exercise 15.3: counting what LoRA trains ---------------------------------------------


def lora_trainable(model: nn.Module, targets: list[str], rank: int) -> int:
    """How many numbers LoRA trains in ``model`` (Exercise 15.3): for every ``nn.Linear`` below the head whose
    attribute name (the last part of its name in ``model.named_modules()``) is in ``targets``, an ``A``
    ``[rank, in_features]`` and a ``B`` ``[out_features, rank]``; plus every parameter of the head,
    ``model.out``, which learns in full. Count without changing ``model``."""
    adapters = sum(rank * (module.in_features + module.out_features) for name, module in model.named_modules()
                   if isinstance(module, nn.Linear) and module is not model.out and name.rsplit(".", 1)[-1] in targets)
    return adapters + sum(p.numel() for p in model.out.parameters())
