"""How large a training batch fits: measure what one step keeps in memory, take the largest that fits.

``find_batch_size`` is what ``TextClassifier.finetune(batch_size=None)`` uses: memory = weights +
gradients + Adam's two moments (4 x the parameters) + the tensors autograd saves for the backward
pass, measured with saved-tensor hooks for batches of 2 and 4 (the difference is the cost of each
further example; some saved tensors, like weight matrices, do not grow with the batch).
"""

from __future__ import annotations

import os

import torch
from torch import nn


def saved_activation_bytes(model: nn.Module, batch_size: int, seq_len: int, vocab_size: int) -> int:
    """Bytes autograd keeps for the backward pass of one training step (measured with saved-tensor hooks)."""
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    ids = torch.randint(1, vocab_size, (batch_size, seq_len), device=next(model.parameters()).device)
    mask = torch.ones_like(ids, dtype=torch.bool)
    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(ids, mask).sum().backward()
    model.zero_grad(set_to_none=True)
    return total


def available_memory(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def find_batch_size(model: nn.Module, seq_len: int, device: torch.device | str = "cpu", *, share: float = 0.5,
                    largest: int = 256, smallest: int = 1) -> int:
    """The largest power of two up to ``largest`` whose training step fits in ``share`` of the free memory.

    Memory = weights + gradients + Adam's two moments (4 x the parameters) + the tensors autograd
    saves for the backward pass, measured for batches of 2 and 4 at ``seq_len``: the difference is
    the cost of each further example (some saved tensors, like weight matrices, do not grow).
    On CUDA the chosen size is then tried for real and halved while it runs out of memory.
    """
    device = torch.device(device)
    model.to(device)
    fixed = 4 * sum(p.numel() * p.element_size() for p in model.parameters())
    two, four = (saved_activation_bytes(model, n, seq_len, model.config.vocab_size) for n in (2, 4))
    per_example = (four - two) / 2
    budget = share * available_memory(device) - fixed - (two - 2 * per_example)
    size = largest
    while size > smallest and size * per_example > budget:
        size //= 2
    while device.type == "cuda" and size > smallest:
        try:
            saved_activation_bytes(model, size, seq_len, model.config.vocab_size)
            break
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            size //= 2
    return size
