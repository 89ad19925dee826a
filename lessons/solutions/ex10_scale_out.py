"""Lesson 10 exercises — reference solutions.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

# ----- worked example: the global batches every rank builds ------------------------


def global_batches(lengths: list[int], batch_size: int, world_size: int) -> list[list[int]]:
    """Indices sorted by length, cut into global batches of ``batch_size * world_size`` texts.

    (textclf's ``BucketBatchSampler`` also shuffles, seeded by (seed, epoch), so every rank
    still builds the same list.)
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    size = batch_size * world_size
    return [order[i : i + size] for i in range(0, len(order), size)]


# ----- Exercise 10.1: this rank's slice of every global batch ----------------------


def shard(batches: list[list[int]], world_size: int, rank: int) -> list[list[int]]:
    """Rank ``rank``'s slice of each global batch (Exercise 10.1).

    Cut each global batch into ``world_size`` consecutive slices as equal as they can be and keep slice
    number ``rank``: with ``share, extra = divmod(len(batch), world_size)``, ranks ``0 .. extra-1`` take
    ``share + 1`` indices and the others ``share``, in order, so no index is left out. A rank whose slice
    would be empty (fewer indices than processes) gets ``batch[:1]`` instead — textclf trains on that
    stand-in at weight 0 — so every rank takes one step per global batch and none waits in an all-reduce.
    """
    slices = []
    for batch in batches:
        share, extra = divmod(len(batch), world_size)
        start = rank * share + min(rank, extra)
        piece = batch[start : start + share + (rank < extra)]
        slices.append(piece or batch[:1])
    return slices


# ----- Exercise 10.2: average the gradients of all processes -----------------------


def average_gradients(model: nn.Module) -> None:
    """Replace each parameter's ``.grad`` by its mean over all processes, in place (Exercise 10.2).

    Use ``dist.all_reduce`` (a sum over the processes, in place) and ``dist.get_world_size()``;
    skip parameters without a gradient. This is what DistributedDataParallel does during ``backward``.
    """
    world = dist.get_world_size()
    for parameter in model.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad)
            parameter.grad /= world


# ----- Exercise 10.3: N slices give the gradient of the whole batch ----------------


def sliced_gradient(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
                    world_size: int) -> dict[str, torch.Tensor]:
    """What ``world_size`` data-parallel processes compute, simulated in one (Exercise 10.3).

    Cut ``inputs``/``labels`` (``[n, ...]``, ``n`` divisible by ``world_size``) into ``world_size`` equal
    consecutive slices; for each slice, the gradient of the *mean* cross-entropy of ``model(slice)``;
    return the average of those gradients per parameter name (``{name: tensor}``). It equals the
    gradient of the mean loss over the whole batch: N processes x batch b train as 1 x batch N*b.
    """
    share = len(inputs) // world_size
    total = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    for rank in range(world_size):
        model.zero_grad()
        part = slice(rank * share, (rank + 1) * share)
        nn.functional.cross_entropy(model(inputs[part]), labels[part]).backward()
        for name, p in model.named_parameters():
            total[name] += p.grad / world_size
    model.zero_grad()
    return total
