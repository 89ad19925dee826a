"""Neural bag of words: the average of the word vectors, then a linear layer.

Word order is ignored, so this is the baseline every other model must beat.
The average is over real tokens only (the mask), so padding never changes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from textclf.models.base import ClassifierConfig, ClassifierNet, mean_pool


@dataclass
class NBoWConfig(ClassifierConfig):
    dropout: float = 0.3


class NBoW(ClassifierNet):
    def __init__(self, config: NBoWConfig, pretrained: torch.Tensor | None = None):
        super().__init__(config, pretrained)
        self.out = nn.Linear(config.embed_dim, config.n_classes)

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mean = mean_pool(embedded, mask)  # [batch, embed_dim]
        return self.out(self.dropout(mean))  # [batch, n_classes]
