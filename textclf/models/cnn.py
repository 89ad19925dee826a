"""A Kim-style CNN (Kim 2014): parallel 1-d convolutions of several widths, max-over-time pooling.

Each filter slides over the text and fires on an n-gram; max-over-time
pooling keeps its strongest firing anywhere in the text. Windows that reach
into padding are masked out before the max, so a text's logits do not depend on
how much padding its batch has. A text shorter than the widest kernel still
gets exactly one window per filter (the text, then zero vectors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from textclf.config import check_int, fail
from textclf.models.base import MAX_WIDTH, ClassifierConfig, ClassifierNet


@dataclass
class CNNConfig(ClassifierConfig):
    n_filters: int = 100
    kernel_sizes: list[int] = field(default_factory=lambda: [3, 4, 5])

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "n_filters", 1, MAX_WIDTH)
        sizes = self.kernel_sizes
        if not (isinstance(sizes, list) and sizes and all(isinstance(k, int) and not isinstance(k, bool)
                                                         and 1 <= k <= 64 for k in sizes)):
            fail(self, "kernel_sizes", "a non-empty list of whole numbers from 1 to 64")


class KimCNN(ClassifierNet):
    def __init__(self, config: CNNConfig, pretrained: torch.Tensor | None = None):
        super().__init__(config, pretrained)
        self.convs = nn.ModuleList(nn.Conv1d(config.embed_dim, config.n_filters, k) for k in config.kernel_sizes)
        self.out = nn.Linear(config.n_filters * len(config.kernel_sizes), config.n_classes)

    @property
    def min_length(self) -> int:
        return max(self.config.kernel_sizes)

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        widest = max(self.config.kernel_sizes)
        x = embedded * mask.unsqueeze(-1).to(embedded.dtype)  # [batch, seq_len, embed]: padding -> zeros
        if x.shape[1] < widest:
            x = F.pad(x, (0, 0, 0, widest - x.shape[1]))  # [batch, widest, embed]
        x = x.transpose(1, 2)  # [batch, embed, seq_len]
        lengths = mask.sum(dim=1)  # [batch]
        pooled = [max_over_time(F.relu(conv(x)), lengths, k) for conv, k in zip(self.convs, self.config.kernel_sizes)]
        return self.out(self.dropout(torch.cat(pooled, dim=1)))  # [batch, n_classes]


def max_over_time(features: torch.Tensor, lengths: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Max of ``features`` ``[batch, filters, windows]`` over each text's valid windows -> ``[batch, filters]``.

    A text of length L has ``max(L - k + 1, 1)`` windows that do not reach into batch padding.
    """
    windows = torch.arange(features.shape[2], device=features.device)  # [windows]
    valid = windows.unsqueeze(0) < (lengths - kernel_size + 1).clamp(min=1).unsqueeze(1)  # [batch, windows]
    masked = features.masked_fill(~valid.unsqueeze(1), float("-inf"))  # [batch, filters, windows]
    return masked.max(dim=2).values  # [batch, filters]
